"""Benchmark: the cost of crypto-shredding on the booking path, in process.

The events one booking writes (hold: `Appointment.Created`, `ConsultantDay` reservations; confirmation
with a free-text reason: `Appointment.Confirmed`, `ClientLink.Linked`, two personal `Notification.Sent`)
are taken from real commands on a throwaway SQLite store, then encoded (`to_stored_event`) and decoded
(`to_domain_event`) by the service's mapper, alternating rounds (ABAB...) with the personal-data sealer
attached (as served) and detached (eventsourcing's plain mapper behaviour), in the same process. Keys are
cached after the first use, as in a running service; a cold key costs one SELECT per person and process.

    .venv/bin/python bench/privacy_mapper.py [--bookings 50] [--rounds 6]

Prints microseconds per booking (encode, decode) for both modes and their ratio."""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from application.bookings import Caller  # noqa: E402
from bench.common import bench_settings  # noqa: E402
from infrastructure.bootstrap import build  # noqa: E402

IST = ZoneInfo("Asia/Kolkata")


def booking_events(container: Any, bookings: int) -> tuple[list[list[Any]], list[list[Any]]]:
    """The domain events of `bookings` real hold and confirm commands: (per hold, per confirmation)."""
    identity, market = container.identity, container.market
    consultant = identity.signup(
        {
            "fullName": "Bench Consultant",
            "email": "c@bench.example",
            "mobile": "+919811100000",
            "password": "x1Abcdef",
            "role": "Consultant",
        }
    )["user"]["id"]
    container.people.set_consultant_status(consultant, "approve")
    holds: list[list[Any]] = []
    confirmations: list[list[Any]] = []
    day = datetime.now(IST).date() + timedelta(days=2)
    made = 0
    while made < bookings:
        day += timedelta(days=1)
        if day.weekday() >= 5:
            continue
        for hour, minute in ((9, 0), (10, 15), (11, 30), (12, 45), (14, 0), (15, 15)):
            if made == bookings:
                break
            client = identity.signup(
                {
                    "fullName": f"Bench Client {made}",
                    "email": f"k{made}@bench.example",
                    "mobile": f"+9197{made:08d}",
                    "password": "x1Abcdef",
                    "role": "Client",
                }
            )["user"]["id"]
            start = datetime(day.year, day.month, day.day, hour, minute, tzinfo=IST).astimezone(UTC)
            before = market.recorder.max_notification_id() or 0
            hold_id, _, _ = container.bookings.hold(
                Caller(client, "Client"), consultant, client, start, start + timedelta(hours=1)
            )
            middle = market.recorder.max_notification_id() or 0
            container.bookings.confirm(
                Caller(client, "Client"),
                hold_id,
                consultant,
                client,
                start,
                start + timedelta(hours=1),
                {"reason": f"reason of booking {made}", "notes": ""},
            )
            stored = market.recorder.select_notifications(before + 1, 1000)
            holds.append([market.mapper.to_domain_event(n) for n in stored if n.id <= middle])
            confirmations.append([market.mapper.to_domain_event(n) for n in stored if n.id > middle])
            made += 1
    return holds, confirmations


def timed(mapper: Any, bookings: list[list[Any]]) -> tuple[float, float]:
    """Seconds to encode, then to decode, every booking's events once."""
    started = time.perf_counter()
    stored = [[mapper.to_stored_event(e) for e in events] for events in bookings]
    encoded = time.perf_counter() - started
    started = time.perf_counter()
    for events in stored:
        for item in events:
            mapper.to_domain_event(item)
    return encoded, time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bookings", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-privacy-"))
    container = build(bench_settings(work, None), run_projections=True)
    try:
        holds, confirmations = booking_events(container, args.bookings)
        mapper = container.market.mapper
        sealer = mapper.sealer
        parts = {"hold": holds, "confirmation": confirmations}
        results: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for events in parts.values():
            timed(mapper, events)  # warm-up (keys cached, as in a running service)
        for _ in range(args.rounds):
            for mode in ("plain", "sealed"):
                mapper.sealer = sealer if mode == "sealed" else None
                for part, events in parts.items():
                    results.setdefault((part, mode), []).append(timed(mapper, events))
        mapper.sealer = sealer
    finally:
        container.close()
    print(f"{args.bookings} bookings, {args.rounds} rounds (medians, microseconds per command's events)")
    for part, events in parts.items():
        count = sum(len(e) for e in events) / len(events)
        medians = {}
        for mode in ("plain", "sealed"):
            runs = results[(part, mode)]
            medians[mode] = (
                statistics.median(r[0] for r in runs) / len(events) * 1e6,
                statistics.median(r[1] for r in runs) / len(events) * 1e6,
            )
        plain, sealed = medians["plain"], medians["sealed"]
        print(
            f"  {part:<12} ({count:.1f} events): encode plain {plain[0]:7.1f} sealed {sealed[0]:7.1f} "
            f"({sealed[0] / plain[0]:.2f}x); decode plain {plain[1]:7.1f} sealed {sealed[1]:7.1f} "
            f"({sealed[1] / plain[1]:.2f}x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
