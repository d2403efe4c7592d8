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


def booking_events(container: Any, bookings: int) -> list[list[Any]]:
    """The domain events of `bookings` real hold + confirm commands, one list per booking."""
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
    per_booking: list[list[Any]] = []
    day = datetime.now(IST).date() + timedelta(days=14)
    made = 0
    while made < bookings:
        day += timedelta(days=1)
        if day.weekday() >= 5:
            continue
        for hour in (9, 11, 13, 15):
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
            start = datetime(day.year, day.month, day.day, hour, tzinfo=IST).astimezone(UTC)
            before = market.recorder.max_notification_id() or 0
            hold_id, _, _ = container.bookings.hold(
                Caller(client, "Client"), consultant, client, start, start + timedelta(hours=1)
            )
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
            per_booking.append([market.mapper.to_domain_event(n) for n in stored])
            made += 1
    return per_booking


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
        bookings = booking_events(container, args.bookings)
        mapper = container.market.mapper
        sealer = mapper.sealer
        results: dict[str, list[tuple[float, float]]] = {"plain": [], "sealed": []}
        timed(mapper, bookings)  # warm-up (keys cached, as in a running service)
        for _ in range(args.rounds):
            for mode in ("plain", "sealed"):
                mapper.sealer = sealer if mode == "sealed" else None
                results[mode].append(timed(mapper, bookings))
        mapper.sealer = sealer
    finally:
        container.close()
    events = sum(len(b) for b in bookings)
    print(f"{len(bookings)} bookings, {events} events ({events / len(bookings):.1f} per booking), {args.rounds} rounds")
    medians = {}
    for mode, runs in results.items():
        encode = statistics.median(r[0] for r in runs) / len(bookings) * 1e6
        decode = statistics.median(r[1] for r in runs) / len(bookings) * 1e6
        medians[mode] = (encode, decode)
        print(f"  {mode:<6} encode {encode:8.1f} us/booking   decode {decode:8.1f} us/booking")
    for index, what in enumerate(("encode", "decode")):
        print(f"  sealed/plain {what}: {medians['sealed'][index] / medians['plain'][index]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
