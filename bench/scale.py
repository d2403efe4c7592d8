"""Benchmark: what each path costs as the store grows (issue 17, "Cost growth").

Every path is measured at 1x, 4x and 16x of the data it could grow with (`--factors`), each size in
throwaway stores, each figure beside a floor measured in the same run:

- available slots and holds grow with a consultant's past bookings: `--bookings` x factor Completed
  appointments in the past per consultant (saved through the application, projected into the read
  models as served). Holds: `container.bookings.hold` as served on distinct slots of those
  consultants, in alternating rounds with raw `eventsourcing` saves (bench/booking.py's loop and
  baseline). Slots: `GET /appointments/available-slots` of one of them against `GET /health` on a
  real `consult serve` (bench/available_slots.py's closed loop, ABBA rounds).
- a paid booking grows with the consultant's payments: `--payments` x factor Success payments of
  Completed appointments already counted in the consultant's earnings (appended to its `Earnings`
  aggregate and projected, in chunks), then bench/money.py's paid booking (hold + create-order +
  confirm with a signed gateway response) and a payout of that consultant (`POST /transactions/payout`,
  which checks the remaining balance) against `GET /health` on a real `consult serve`, one request at a
  time, alternating.
- DuckDB ingestion, the analyst snapshot refresh and the overview grow with events:
  `--transactions` x factor ledger transactions and a fifth as many appointments (bench/analytics.py's
  loader) in a PostgreSQL event store. Ingestion: a fresh DuckDB store catching up from position 0
  against the raw notification-log read. Overview: `GET /api/v1/analytics/overview` (monthly) one
  request at a time against `GET /health` on a real `consult serve`, and the serving process's
  resident memory (VmRSS at the end, VmHWM = its peak). Snapshot refresh: bench/snapshot.py's
  `measure` (its own SQLite store of the same size): an incremental refresh after one command
  against the full copy.

It prints one markdown table (and writes it with `--write FILE`): the cost at each size and the
16x / 1x growth of each. A path that needs only recent data should stay flat.

    .venv/bin/python bench/scale.py                       # about 10 minutes on a quiet 2-core machine
    .venv/bin/python bench/scale.py --bookings 200 --transactions 10000 --write report.md
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from bench.analytics import load, raw_read_rate, timed_http, wait_for_snapshot  # noqa: E402
from bench.available_slots import SLOTS  # noqa: E402
from bench.booking import People, Probe, Slot, closed_loop, distinct_slots, interval, stock_store, weekdays  # noqa: E402
from bench.common import (  # noqa: E402
    API,
    BENCH_ADMIN,
    HEALTH,
    alternating_p50_ms,
    bearer,
    bench_admin_login,
    bench_store,
    consult_server,
    machine,
    median,
    utc_stamp,
    weekday_two_weeks_ahead,
)
from bench.load import Summary, drive  # noqa: E402
from bench.money import Money  # noqa: E402
from bench.snapshot import measure as snapshot_refresh  # noqa: E402

IST = ZoneInfo("Asia/Kolkata")
CHUNK = 500
# a server start on a shared, loaded machine can take minutes (120 s was not enough at load 30)
READY_TIMEOUT = 600


def memory_mib(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of a process in MiB: its resident memory now and at its peak."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


# -- bookings per consultant: holds and slots ----------------------------------------------------


def past_bookings(container: Any, consultants: list[str], client: str, per_consultant: int) -> None:
    """`per_consultant` Completed one-hour appointments in the past for each consultant, six a day
    going back from yesterday, saved through the application and projected (as served)."""
    from domain.appointments import Appointment
    from domain.ids import new_object_id

    today = datetime.now(IST).replace(hour=9, minute=0, second=0, microsecond=0)
    pending: list[Any] = []
    for consultant in consultants:
        for index in range(per_consultant):
            start = today - timedelta(days=1 + index // 6, hours=-(index % 6))
            pending.append(
                Appointment(
                    appointment_id=new_object_id(),
                    consultant_id=consultant,
                    client_id=client,
                    start=start,
                    end=start + timedelta(hours=1),
                    status="Completed",
                    expires_at=None,
                    fields={"fee": 0, "session": "Video Call"},
                    created_by="Admin",
                )
            )
            if len(pending) >= CHUNK:
                container.market.save(*pending)
                pending.clear()
    if pending:
        container.market.save(*pending)
    container.runner.catch_up()


def holds_against_raw_saves(container: Any, consultants: list[str], client: str, args: argparse.Namespace) -> dict:
    """Holds as served on distinct slots of `consultants` and raw eventsourcing saves, alternating."""
    from application.bookings import Caller

    caller = Caller(client, "Client")
    slots = distinct_slots(
        consultants, weekdays(-(-2 * args.hold_ops * args.hold_rounds // (6 * len(consultants))) + 2)
    )
    stock = stock_store(container.settings)
    counter = iter(range(10**9))

    def raw(_: Any) -> None:
        stock.save(Probe(n=next(counter)))

    def hold(slot: Slot) -> None:
        start, end = interval(slot.day, slot.start)
        container.bookings.hold(caller, slot.consultant, client, start, end)

    try:
        closed_loop(args.threads, list(range(args.threads * 4)), raw)  # warm-up: connections, caches
        closed_loop(args.threads, slots[: args.threads * 2], hold)
        cursor, totals = args.threads * 2, {"raw": [0, 0.0], "hold": [0, 0.0]}
        latencies: list[float] = []
        for _ in range(args.hold_rounds):
            rate = closed_loop(args.threads, list(range(args.hold_ops)), raw)
            totals["raw"][0] += rate.ops
            totals["raw"][1] += rate.seconds
            rate = closed_loop(args.threads, slots[cursor : cursor + args.hold_ops], hold)
            cursor += args.hold_ops
            totals["hold"][0] += rate.ops
            totals["hold"][1] += rate.seconds
            latencies += rate.latencies
    finally:
        stock.close()
    raw_rate, hold_rate = (totals[k][0] / totals[k][1] for k in ("raw", "hold"))
    return {"holds_per_s": hold_rate, "raw_per_s": raw_rate, "hold_p50_ms": median(latencies) * 1000}


def slots_against_health(url: str, token: str, consultant: str, args: argparse.Namespace) -> dict:
    day = weekday_two_weeks_ahead()
    headers = bearer(token)
    slots_url = f"{url}{SLOTS}?consultant={consultant}&date={day.isoformat()}"
    probe = httpx.get(slots_url, headers=headers, timeout=30)
    probe.raise_for_status()
    routes = {"health": (url + HEALTH, None), "slots": (slots_url, probe.content)}
    for address, expected in routes.values():
        asyncio.run(drive(address, args.warmup, args.concurrency, headers, expected))
    runs: dict[str, list[Any]] = {name: [] for name in routes}
    for number in range(args.slot_rounds):
        for name in list(routes) if number % 2 == 0 else list(reversed(routes)):
            address, expected = routes[name]
            runs[name].append(asyncio.run(drive(address, args.duration, args.concurrency, headers, expected)))
    health, slots = Summary("health", runs["health"]), Summary("slots", runs["slots"])
    if not (health.valid and slots.valid):
        raise RuntimeError(f"invalid slots run: {health.statuses} {slots.statuses} {slots.wrong_bodies} wrong bodies")
    return {"slots_p50_ms": slots.p50_ms, "slots_ratio": slots.rps / health.rps, "open": len(probe.json()["data"])}


def rows_visited(url: str, consultant: str) -> int:
    """Rows of `slot_bookings` that PostgreSQL visits for the slot read's bookings of one day (its
    join condition, by EXPLAIN ANALYZE after ANALYZE): the rows the index range returns plus the
    ones a filter then drops. Not timing: what the read's cost grows with."""
    day = weekday_two_weeks_ahead()
    start = datetime(day.year, day.month, day.day, tzinfo=IST) - timedelta(minutes=120)
    end = start + timedelta(hours=28)
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute("ANALYZE slot_bookings")
        plan = pg.execute(
            "EXPLAIN (ANALYZE, FORMAT JSON) SELECT start_at, end_at, client_id, is_hold, expires_at "
            "FROM slot_bookings WHERE consultant_id = %s AND start_at < %s AND end_at > %s",
            (consultant, end, start),
        ).fetchone()[0]  # type: ignore[index]

    def visited(node: dict[str, Any]) -> int:  # table-level scans only (a bitmap's index part is not counted twice)
        own = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0) if "Relation Name" in node else 0
        return int(own) + sum(visited(child) for child in node.get("Plans", []))

    return visited(plan[0]["Plan"])


def booking_paths(factor: int, args: argparse.Namespace) -> dict:
    from infrastructure.bootstrap import build

    with contextlib.ExitStack() as stack:
        work, settings = stack.enter_context(bench_store("postgres", prefix="consult-bench-scale-"))
        container = build(settings, run_projections=True)
        try:
            people = People(container)
            consultants = [people.make("Consultant")[0] for _ in range(args.consultants)]
            client, token = people.make("Client")
            started = time.perf_counter()
            past_bookings(container, consultants, client, args.bookings * factor)
            print(f"  {args.bookings * factor} past bookings per consultant in {time.perf_counter() - started:.0f} s")
            result = holds_against_raw_saves(container, consultants, client, args)
            result["rows_visited"] = rows_visited(str(settings.database_url), consultants[0])
        finally:
            container.close()
        served = stack.enter_context(consult_server(settings, work / "server.log", ready_timeout=READY_TIMEOUT))
        result |= slots_against_health(served.url, token, consultants[0], args)
    print(f"  {factor}x bookings: {result}", flush=True)
    return result


def past_payments(settings: Any, consultant: str, count: int) -> None:
    """`count` Success payments of Completed appointments in the consultant's earnings, saved in chunks
    through the application and projected (the balance read model included)."""
    from decimal import Decimal

    from domain.ids import earnings_id, new_object_id
    from domain.ledger import Earnings
    from infrastructure.bootstrap import build

    container = build(settings, run_projections=True)
    try:
        for first in range(0, count, CHUNK // 2):
            earnings = container.market.find(earnings_id(consultant)) or Earnings(consultant_id=consultant)
            for _ in range(min(CHUNK // 2, count - first)):
                appointment = new_object_id()
                earnings.count_payment(new_object_id(), appointment, Decimal("1350.00"))
                earnings.set_completed(appointment, True)
            container.market.save(earnings)
            container.runner.catch_up()
    finally:
        container.close()


def succeeding(name: str, call: Callable[[], int]) -> Callable[[], None]:
    """`call`, refusing any answer but 200 or 201."""

    def checked() -> None:
        status = call()
        if status not in (200, 201):
            raise RuntimeError(f"{name}: {status}")

    return checked


def payment_paths(factor: int, args: argparse.Namespace) -> dict:
    with contextlib.ExitStack() as stack:
        work, settings = stack.enter_context(bench_store("postgres", prefix="consult-bench-scale-"))
        served = stack.enter_context(consult_server(settings, work / "server.log", ready_timeout=READY_TIMEOUT))
        scenario = Money(served.url, settings.resolved_razorpay_secret)
        started = time.perf_counter()
        past_payments(settings, scenario.paid_id, args.payments * factor)
        print(f"  {args.payments * factor} past payments in {time.perf_counter() - started:.0f} s")
        kinds = {"paid": scenario.paid_booking, "payout": scenario.payout, "health": scenario.health}
        # five untimed rounds first: connections, caches, the earnings loaded once
        p50 = alternating_p50_ms({name: succeeding(name, call) for name, call in kinds.items()}, args.paid_rounds)
    result = {
        "paid_p50_ms": p50["paid_ms"],
        "payout_p50_ms": p50["payout_ms"],
        "paid_health_p50_ms": p50["health_ms"],
    }
    print(f"  {factor}x payments: {result}", flush=True)
    return result


# -- events: ingestion, snapshot refresh, overview -----------------------------------------------


def event_paths(factor: int, args: argparse.Namespace) -> dict:
    from infrastructure.bootstrap import build
    from reporting.store import SNAPSHOT_FILE
    from reporting.wiring import open_store

    result: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        work, settings = stack.enter_context(bench_store("postgres", prefix="consult-bench-scale-"))
        url = settings.database_url
        assert url is not None
        container = build(settings, run_projections=True)
        try:
            container.identity.create_first_admin(*BENCH_ADMIN)
            transactions = args.transactions * factor
            loaded = load(container, transactions, transactions // 5, random.Random(args.seed))
            events = loaded["events"]
            with psycopg.connect(url, autocommit=True) as pg:  # the bulk data is never read by the overview
                pg.execute(f"UPDATE projection_tracking SET position = {events} WHERE name = 'read_models'")
            read_count, read_seconds = raw_read_rate(container)
            store = open_store(settings, container)
            try:
                started = time.perf_counter()
                store.catch_up()
                ingest_seconds = time.perf_counter() - started
                store.publish_snapshot(force=True)
            finally:
                store.close()
        finally:
            container.close()
        result |= {
            "events": events,
            "ingest_per_s": events / ingest_seconds,
            "ingest_ratio": (events / ingest_seconds) / (read_count / read_seconds),
        }
        served = stack.enter_context(consult_server(settings, work / "server.log", ready_timeout=READY_TIMEOUT))
        client = stack.enter_context(httpx.Client(base_url=served.url, timeout=60))
        headers = bench_admin_login(client)
        today = datetime.now(IST)
        params = {"viewType": "monthly", "year": today.year, "month": today.month}
        for _ in range(10):
            timed_http(client, API + "/analytics/overview", params, headers)
        wait_for_snapshot(work / "var" / SNAPSHOT_FILE, events)
        health: list[float] = []
        overview: list[float] = []
        for _ in range(args.requests):
            health.append(timed_http(client, HEALTH, {}, {}))
            overview.append(timed_http(client, API + "/analytics/overview", params, headers))
        rss, peak = memory_mib(served.process.pid)
    result |= {
        "overview_p50_ms": median(overview) * 1000,
        "health_p50_ms": median(health) * 1000,
        "rss_mib": rss,
        "peak_mib": peak,
    }
    refresh = snapshot_refresh(args.transactions * factor, args.snapshot_rounds, args.seed)
    result |= {"refresh_p50_ms": refresh["incremental_median"] * 1000, "full_ms": refresh["full"] * 1000}
    print(f"  {factor}x events: {result}", flush=True)
    return result


# -- the table -----------------------------------------------------------------------------------


def table(
    factors: list[int],
    bookings: dict[int, dict],
    events: dict[int, dict],
    args: argparse.Namespace,
    payments: dict[int, dict] | None = None,
) -> list[str]:
    first, last = factors[0], factors[-1]
    per_consultant = "past bookings per consultant: " + " / ".join(f"{args.bookings * f:,}" for f in factors)
    stored = "events: " + " / ".join(f"{events[f]['events']:,}" for f in factors) if events else ""
    rows: list[tuple[str, str, Callable[[dict], str], str, dict[int, dict]]] = []
    if bookings:
        rows += [
            (
                "available slots, `GET /appointments/available-slots` p50 (throughput / health)",
                per_consultant,
                lambda r: f"{r['slots_p50_ms']:.1f} ms ({r['slots_ratio']:.2f})",
                "slots_p50_ms",
                bookings,
            ),
            (
                "the slot read's bookings: rows of `slot_bookings` PostgreSQL visits (EXPLAIN ANALYZE)",
                per_consultant,
                lambda r: f"{r['rows_visited']:,}",
                "rows_visited",
                bookings,
            ),
            (
                f"holds as served, in process, {args.threads} threads: holds/s (/ raw eventsourcing saves)",
                per_consultant,
                lambda r: f"{r['holds_per_s']:.0f}/s ({r['holds_per_s'] / r['raw_per_s']:.2f})",
                "holds_per_s",
                bookings,
            ),
        ]
    if payments:
        per_payments = "payments per consultant: " + " / ".join(f"{args.payments * f:,}" for f in factors)
        rows += [
            (
                "paid booking over HTTP (hold + create-order + confirm), p50 (x health)",
                per_payments,
                lambda r: f"{r['paid_p50_ms']:.1f} ms ({r['paid_p50_ms'] / r['paid_health_p50_ms']:.1f}x)",
                "paid_p50_ms",
                payments,
            ),
            (
                "payout of that consultant over HTTP (`POST /transactions/payout`), p50 (x health)",
                per_payments,
                lambda r: f"{r['payout_p50_ms']:.1f} ms ({r['payout_p50_ms'] / r['paid_health_p50_ms']:.1f}x)",
                "payout_p50_ms",
                payments,
            ),
        ]
    if events:
        rows += [
            (
                "DuckDB ingestion from position 0: events/s (/ raw notification-log read)",
                stored,
                lambda r: f"{r['ingest_per_s']:,.0f}/s ({r['ingest_ratio']:.2f})",
                "ingest_per_s",
                events,
            ),
            (
                "analyst snapshot refresh after one command, p50 (full copy; same sizes on SQLite)",
                stored,
                lambda r: f"{r['refresh_p50_ms']:.1f} ms ({r['full_ms']:.0f} ms)",
                "refresh_p50_ms",
                events,
            ),
            (
                "`GET /analytics/overview` monthly p50 (health p50)",
                stored,
                lambda r: f"{r['overview_p50_ms']:.1f} ms ({r['health_p50_ms']:.1f} ms)",
                "overview_p50_ms",
                events,
            ),
            (
                "memory of the serving process after the overview rounds: RSS (peak)",
                stored,
                lambda r: f"{r['rss_mib']:.0f} MiB ({r['peak_mib']:.0f} MiB)",
                "rss_mib",
                events,
            ),
        ]
    lines = [
        "| path | grows with | " + " | ".join(f"{f}x" for f in factors) + f" | {last}x / {first}x |",
        "|---|---|" + "---:|" * (len(factors) + 1),
    ]
    for path, growth, cell, key, source in rows:
        cells = " | ".join(cell(source[f]) for f in factors)
        growth_ratio = f"{source[last][key] / source[first][key]:.2f}" if source[first][key] else "-"
        lines.append(f"| {path} | {growth} | {cells} | {growth_ratio} |")
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument(
        "--paths",
        choices=("bookings", "payments", "events"),
        nargs="+",
        default=["bookings", "payments", "events"],
        help="which rows to measure",
    )
    parser.add_argument("--bookings", type=int, default=150, help="past bookings per consultant at 1x")
    parser.add_argument("--consultants", type=int, default=8)
    parser.add_argument("--payments", type=int, default=500, help="past payments of the paid consultant at 1x")
    parser.add_argument("--paid-rounds", type=int, default=40, help="paid bookings (and health requests) per size")
    parser.add_argument("--threads", type=int, default=4, help="in-process workers for holds and raw saves")
    parser.add_argument("--hold-ops", type=int, default=150, help="holds (and raw saves) per round")
    parser.add_argument("--hold-rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16, help="HTTP connections for slots and health")
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per route per slots round")
    parser.add_argument("--slot-rounds", type=int, default=2)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--transactions", type=int, default=2500, help="ledger transactions at 1x")
    parser.add_argument("--requests", type=int, default=60, help="overview (and health) requests per size")
    parser.add_argument("--snapshot-rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write", type=Path, help="also write the report (markdown) to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    command = ".venv/bin/python bench/scale.py " + " ".join(sys.argv[1:] if argv is None else argv)
    header = [f"{utc_stamp()}, `{command.strip()}`", "", f"Machine: {machine()}", ""]
    print("\n".join(header), flush=True)
    bookings = {factor: booking_paths(factor, args) for factor in args.factors} if "bookings" in args.paths else {}
    payments = {factor: payment_paths(factor, args) for factor in args.factors} if "payments" in args.paths else {}
    events = {factor: event_paths(factor, args) for factor in args.factors} if "events" in args.paths else {}
    report = "\n".join(header + table(args.factors, bookings, events, args, payments)) + "\n"
    print(report)
    if args.write:
        args.write.write_text(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
