"""Benchmark: projection catch-up rate over consultant-settings events, against reading the log.

The store gets `--consultants` consultant-settings aggregates with `--updates` events each (one
`Created`, then `AvailabilityUpdated` events with real merged and validated availabilities from
`application.availability.effective_availability`), written in-process through `market.save()` in
large batches, interleaved across consultants as real traffic would be (no HTTP). Then, in one
process and alternating in rounds, it times:

- read: `market.recorder.select_notifications(start, batch)` over the whole log, in batches of the
  runner's batch size (what the runner cannot go below);
- read + decode: the same plus `market.mapper.to_domain_event` for every notification;
- catch-up: `runner.reset()` then `runner.catch_up()` from position 0 (read, decode, project, track,
  one transaction per batch).

After every catch-up the read model is checked: one row per consultant, each holding the
availability of that consultant's last event, and the tracking position at the end of the log;
a mismatch makes the run invalid (exit status 1). Exit status 2: a valid run below --target.

    .venv/bin/python bench/projection_catchup.py                      # SQLite (embedded default)
    .venv/bin/python bench/projection_catchup.py --backend postgres   # throwaway database, dropped after
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bench.common import bench_settings, database, machine, median, utc_stamp  # noqa: E402

PATCHES: list[dict[str, Any]] = [
    {"workingHours": {"tuesday": {"enabled": True, "slots": [{"start": "10:00", "end": "12:00"}]}}},
    {
        "workingHours": {"tuesday": {"enabled": True, "slots": [{"start": "10:00", "end": "13:00"}]}},
        "sessionSettings": {"defaultDuration": 30, "bufferTime": 0},
    },
    {"breakTimes": [{"start": "13:00", "end": "14:00", "days": ["monday", "wednesday"]}], "currentStatus": "busy"},
    {
        "timeOff": [{"startDate": "2030-01-01", "endDate": "2030-01-05", "reason": "holiday", "type": "vacation"}],
        "currentStatus": "available",
    },
]


@dataclass
class Store:
    events: int
    expected: dict[str, dict[str, Any]]  # consultant id -> availability of its last event
    write_seconds: float


def populate(container: Any, consultants: int, updates: int, save_rounds: int) -> Store:
    """`consultants` settings aggregates, each with one Created and `updates - 1` AvailabilityUpdated
    events; every `save_rounds` rounds of one update per consultant are saved in one atomic write."""
    from application.availability import _with_ids, effective_availability
    from domain.availability import default_settings
    from domain.ids import new_object_id
    from domain.settings import ConsultantSettings

    started = time.perf_counter()
    aggregates = []
    variants: list[list[dict[str, Any]]] = []
    for _ in range(consultants):
        document = default_settings()
        document["availability"] = _with_ids(document["availability"], {})
        settings = ConsultantSettings(consultant_id=new_object_id(), settings_id=new_object_id(), document=document)
        aggregates.append(settings)
        # The real merge of each patch onto the previous result (ids kept or generated, slots regenerated);
        # the results are reused cyclically so that writing 100,000 events stays fast.
        chain, current = [], settings.availability
        for patch in PATCHES:
            current = effective_availability(current, patch)
            chain.append(current)
        variants.append(chain)
    events = consultants
    for number in range(1, updates):
        for settings, chain in zip(aggregates, variants, strict=True):
            settings.update_availability(PATCHES[number % len(PATCHES)], chain[number % len(PATCHES)])
            events += 1
        if number % save_rounds == 0 or number == updates - 1:
            container.market.save(*aggregates)
    if updates == 1:
        container.market.save(*aggregates)
    expected = {s.consultant_id: copy.deepcopy(s.availability) for s in aggregates}
    return Store(events, expected, time.perf_counter() - started)


def read_log(container: Any, batch_size: int, decode: bool) -> tuple[int, float]:
    recorder, mapper = container.market.recorder, container.market.mapper
    started = time.perf_counter()
    count, start = 0, 1
    while True:
        notifications = list(recorder.select_notifications(start, batch_size))
        if not notifications:
            break
        if decode:
            for notification in notifications:
                mapper.to_domain_event(notification)
        count += len(notifications)
        start = notifications[-1].id + 1
    return count, time.perf_counter() - started


def catch_up(container: Any) -> tuple[int, float]:
    runner = container.runner
    runner.reset()
    started = time.perf_counter()
    counted = [0]
    runner.catch_up(progress=lambda n: counted.__setitem__(0, counted[0] + n))
    return counted[0], time.perf_counter() - started


def check(container: Any, store: Store) -> list[str]:
    from infrastructure.tables import consultant_settings

    problems = []
    last = container.market.recorder.max_notification_id()
    if container.runner.committed_position() != last:
        problems.append(f"tracking position {container.runner.committed_position()} != log end {last}")
    with container.engine.connect() as conn:
        rows = {r.consultant_id: json.loads(r.document) for r in conn.execute(sa.select(consultant_settings))}
    if len(rows) != len(store.expected):
        problems.append(f"{len(rows)} settings rows, expected {len(store.expected)}")
    wrong = sum(
        1
        for cid, availability in store.expected.items()
        if cid not in rows or rows[cid]["availability"] != availability
    )
    if wrong:
        problems.append(f"{wrong} consultants' availability differs from their last event")
    return problems


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--consultants", type=int, default=100)
    parser.add_argument("--updates", type=int, default=1000, help="events per consultant (1 Created + updates-1)")
    parser.add_argument(
        "--save-rounds",
        type=int,
        default=10,
        help="rounds (one update per consultant) per atomic write while populating",
    )
    parser.add_argument("--rounds", type=int, default=2, help="measurement rounds (ABC then CBA order)")
    parser.add_argument("--target", type=float, default=0.35, help="required catch-up / raw read rate ratio")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"machine: {machine()}", flush=True)
    command = ".venv/bin/python bench/projection_catchup.py " + " ".join(sys.argv[1:] if argv is None else argv)
    from infrastructure.bootstrap import build

    rates: dict[str, list[float]] = {"read": [], "read + decode": [], "catch-up": []}
    problems: list[str] = []
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="consult-bench-catchup-")))
        settings = bench_settings(work, stack.enter_context(database(args.backend)))
        container = build(settings, run_projections=False)
        stack.callback(container.close)
        store = populate(container, args.consultants, args.updates, args.save_rounds)
        batch_size = container.runner.batch_size
        log_end = container.market.recorder.max_notification_id()
        print(
            f"setup: {store.events} events ({args.consultants} consultants x {args.updates}) written in "
            f"{store.write_seconds:.1f} s ({store.events / store.write_seconds:.0f} events/s), log ends at "
            f"{log_end}; runner batch size {batch_size}",
            flush=True,
        )
        if log_end != store.events:
            problems.append(f"log holds {log_end} notifications, expected {store.events}")
        gc.collect()
        read_log(container, batch_size, decode=False)  # warm-up: page cache, statement caches
        steps = {
            "read": lambda: read_log(container, batch_size, decode=False),
            "read + decode": lambda: read_log(container, batch_size, decode=True),
            "catch-up": lambda: catch_up(container),
        }
        order = list(steps)
        for number in range(args.rounds):
            for name in order if number % 2 == 0 else list(reversed(order)):
                gc.collect()
                count, seconds = steps[name]()
                if count != store.events:
                    problems.append(f"{name} saw {count} events, expected {store.events}")
                rates[name].append(count / seconds)
                print(
                    f"round {number + 1} {name}: {count} events in {seconds:.2f} s, {count / seconds:.0f} events/s",
                    flush=True,
                )
                if name == "catch-up":
                    problems += check(container, store)

    read, decoded, caught = (median(rates[name]) for name in order)
    ratio = caught / read
    print()
    print(
        f"{utc_stamp()}, `{command}`, {args.backend}, {store.events} consultant-settings events "
        f"({args.consultants} consultants x {args.updates}), batch size {batch_size}, {args.rounds} rounds "
        "(ABC, CBA), median of rounds"
    )
    print()
    print("| pass | events/s (median) | per round | vs raw read |")
    print("|---|---:|---|---:|")
    for name, value in (
        ("read `select_notifications`", read),
        ("read + `to_domain_event`", decoded),
        ("catch-up (`reset` + `catch_up`)", caught),
    ):
        key = {"read `select_notifications`": "read", "read + `to_domain_event`": "read + decode"}.get(name, "catch-up")
        print(f"| {name} | {value:,.0f} | {', '.join(f'{r:,.0f}' for r in rates[key])} | {value / read:.2f} |")
    print()
    met = ratio >= args.target
    print(
        f"Target: catch-up >= {args.target} x raw read rate: {'met' if met else 'MISSED'} ({ratio:.2f}); "
        f"catch-up / (read + decode) = {caught / decoded:.2f}."
    )
    if problems:
        for problem in problems:
            print(f"INVALID: {problem}", file=sys.stderr)
        return 1
    return 0 if met else 2


if __name__ == "__main__":
    sys.exit(main())
