"""Benchmark: `consult import` of a generated mongoexport dump against the raw event-store save rate.

1. A dump of `--appointments` appointments (past ones Completed with a Success payment, the last
   tenth Upcoming in the future), one payment and one notification to the client each (read for
   past bookings), a payout every 1,500 bookings, 50 consultants, 2,000 clients and their links is
   written line by line (never held in memory).
2. The import runs into a fresh store (SQLite by default, `--postgres URL` for a fresh PostgreSQL
   database created and dropped by the script) and its rate is measured in events per second.
3. In the same run, a second fresh store receives the same number of events as plain one-event
   aggregates saved through the same application in batches of the same size (`Marketplace.save`):
   the raw save rate. Both stores are opened as the service opens them (personal-data mapper attached). The ratio import/raw is the figure (target: at least 0.5). The peak resident
   memory of the process is reported too (the dump is streamed).

    .venv/bin/python bench/import.py                        # 100,000 appointments, SQLite
    .venv/bin/python bench/import.py --appointments 20000 --postgres postgresql://postgres@127.0.0.1:5432/postgres
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from domain.accounts import UniqueKey  # noqa: E402
from infrastructure.mongo_import import writer  # noqa: E402
from infrastructure.mongo_import.importer import Importer  # noqa: E402
from infrastructure.mongo_import.store import open_market  # noqa: E402
from infrastructure.mongo_import.values import Report  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402


def oid(n: int, when: datetime) -> str:
    return f"{int(when.timestamp()):08x}{n:016x}"


def date(moment: datetime) -> dict[str, str]:
    return {"$date": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")}


def write_dump(directory: Path, appointments: int, now: datetime) -> None:
    counter = iter(range(1, 10**9))
    start = now - timedelta(days=720)
    consultants = [oid(next(counter), start) for _ in range(50)]
    clients = [oid(next(counter), start) for _ in range(2000)]
    with (directory / "consultants.json").open("w") as out:
        for n, ident in enumerate(consultants):
            doc = {"_id": {"$oid": ident}, "name": f"C {n}", "email": f"c{n}@bench.example", "mobile": f"97{n:08d}",
                   "status": "Active", "fees": 1500, "createdAt": date(start), "updatedAt": date(start)}  # fmt: skip
            out.write(json.dumps(doc) + "\n")
    with (directory / "clients.json").open("w") as out:
        for n, ident in enumerate(clients):
            doc = {"_id": {"$oid": ident}, "fullName": f"K {n}", "email": f"k{n}@bench.example", "mobile": f"96{n:08d}",
                   "status": "Active", "createdAt": date(start), "updatedAt": date(start)}  # fmt: skip
            out.write(json.dumps(doc) + "\n")
    span = (now + timedelta(days=60) - start) / appointments
    files = ("appointments", "transactions", "notifications")
    with contextlib.ExitStack() as stack:
        booked, money, notices = (stack.enter_context((directory / f"{f}.json").open("w")) for f in files)
        for n in range(appointments):
            consultant = consultants[n % 50]
            slot = start + span * n
            at = slot.replace(minute=0, second=0, microsecond=0)
            ident = oid(next(counter), at)
            status = "Completed" if at + timedelta(hours=1) < now else "Upcoming"
            doc = {"_id": {"$oid": ident}, "client": {"$oid": clients[n % 2000]}, "consultant": {"$oid": consultant},
                   "startAt": date(at), "endAt": date(at + timedelta(minutes=50)), "status": status, "fee": 1500,
                   "createdAt": date(at - timedelta(days=1)), "updatedAt": date(at)}  # fmt: skip
            booked.write(json.dumps(doc) + "\n")
            read = {"read": True, "readAt": date(at)} if status == "Completed" else {"read": False}
            notice = {"_id": {"$oid": oid(next(counter), at)}, "name": "Appointment Confirmed", "message": "Booked.",
                      "recipient": {"$oid": clients[n % 2000]}, "type": "appointment", "category": "appointments",
                      "priority": "high", "createdAt": date(at - timedelta(days=1)), "updatedAt": date(at), **read}  # fmt: skip
            notices.write(json.dumps(notice) + "\n")
            pay = {"_id": {"$oid": oid(next(counter), at)}, "user": {"$oid": clients[n % 2000]},
                   "consultant": {"$oid": consultant}, "appointment": {"$oid": ident}, "amount": 1500,
                   "platformFee": 150, "netAmount": 1350, "currency": "INR", "type": "Payment", "status": "Success",
                   "paymentMethod": "Razorpay", "transactionId": f"pay_{n}", "createdAt": date(at - timedelta(days=1)),
                   "updatedAt": date(at)}  # fmt: skip
            money.write(json.dumps(pay) + "\n")
            if n % 1500 == 0:
                payout = {"_id": {"$oid": oid(next(counter), at)}, "user": {"$oid": consultants[0]},
                          "consultant": {"$oid": consultant}, "appointment": None, "amount": 1000, "currency": "INR",
                          "type": "Payout", "status": "Success", "paymentMethod": "Manual",
                          "createdAt": date(at), "updatedAt": date(at)}  # fmt: skip
                money.write(json.dumps(payout) + "\n")

    with (directory / "clientconsultants.json").open("w") as out:  # client k books consultant k % 50
        for n, client in enumerate(clients):
            link = {"_id": {"$oid": oid(next(counter), start)}, "client": {"$oid": client},
                    "consultant": {"$oid": consultants[n % 50]}, "status": "Active", "linkedAt": date(start),
                    "notes": "Auto-linked via appointment booking", "createdAt": date(start), "updatedAt": date(start)}  # fmt: skip
            out.write(json.dumps(link) + "\n")


def store(root: Path, name: str, postgres: str | None) -> tuple[Settings, str | None]:
    if postgres is None:
        return Settings(data_dir=root / name), None
    import psycopg

    database = f"consult_bench_import_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    return Settings(data_dir=root / name, database_url=postgres.rsplit("/", 1)[0] + "/" + database), database


def drop(postgres: str | None, database: str | None) -> None:
    if postgres and database:
        import psycopg

        with psycopg.connect(postgres, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--appointments", type=int, default=100_000)
    parser.add_argument("--postgres", default=None, help="a maintenance database URL (fresh databases are made)")
    args = parser.parse_args()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        dump = root / "dump"
        dump.mkdir()
        write_dump(dump, args.appointments, now)
        made = []
        try:
            settings, database = store(root, "imported", args.postgres)
            made.append(database)
            market, close = open_market(settings)
            began = time.perf_counter()
            importer = Importer(market, dump, Report(), now=now)
            importer.run()
            imported_seconds = time.perf_counter() - began
            events = int(market.recorder.max_notification_id() or 0)
            close()

            settings, database = store(root, "raw", args.postgres)
            made.append(database)
            market, close = open_market(settings)
            began = time.perf_counter()
            batch = []
            for n in range(events):
                batch.append(UniqueKey(key=f"bench:{n}", owner="x"))
                if len(batch) == writer.BATCH_EVENTS:
                    market.save(*batch)
                    batch = []
            if batch:
                market.save(*batch)
            raw_seconds = time.perf_counter() - began
            close()
        finally:
            for database in made:
                drop(args.postgres, database)
    import_rate, raw_rate = events / imported_seconds, events / raw_seconds
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"store: {'PostgreSQL' if args.postgres else 'SQLite'}; appointments: {args.appointments}; events: {events}")
    print(f"import: {imported_seconds:.1f} s, {import_rate:,.0f} events/s")
    print(f"raw save: {raw_seconds:.1f} s, {raw_rate:,.0f} events/s")
    print(f"ratio import/raw: {import_rate / raw_rate:.2f}; peak RSS of the process: {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
