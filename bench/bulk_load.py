"""A fast bulk loader of a large history into a PostgreSQL event store, for benchmarks at 10 M events.

`bench/analytics.py`'s loader saves every aggregate through `market.save()`: about 1,000 to 7,000
events/s, hours for 10 M events. This one writes the same history (same aggregates, same event
types and shapes, same proportions: per appointment five ledger transactions, one consultant per
100 appointments and one client per 10) in two parts:

1. The categories, consultants and clients through `market.save()` as `bench/analytics.py` does:
   accounts carry personal fields, which the application's mapper seals with a key per account,
   so they are written by the application itself (the read models project them as served).
2. Appointments (`Appointment.Created`) and ledger transactions (`Transaction.Recorded`), which seal
   nothing, from templates: for each shape (kind, status, method, category...) one aggregate is built
   with sentinel values and encoded by the application's own mapper (`market.mapper`); every event
   of that shape is then that encoding with the ids, instants and amounts put in. The rows
   (originator id, version 1, topic, state, notification id) go into the stored-events table by
   `COPY`, its two indexes dropped during the copy and rebuilt after (same definitions), the
   notification-id sequence moved past them. Every shape's first events, and one in `--check-every`
   after, are compared byte for byte with the mapper's encoding of the real aggregate built with
   the same values: the run stops on the first difference.

    .venv/bin/python bench/bulk_load.py --events 10000000     # prints the kept event store's URL
    .venv/bin/python bench/bulk_load.py --events 1000000 --check-every 1000

The store is kept (drop the database when done); the read models' position is moved past the bulk
rows (the overview never reads them; as in `bench/analytics.py --reuse`).
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import eventsourcing.domain  # noqa: E402
import psycopg  # noqa: E402

from bench.analytics import CATEGORIES, CHUNK, Clock, event_store  # noqa: E402
from bench.common import BENCH_ADMIN, bench_settings, machine, utc_stamp  # noqa: E402
from domain.accounts import Account  # noqa: E402
from domain.appointments import Appointment  # noqa: E402
from domain.catalogue import Category  # noqa: E402
from domain.ids import aggregate_id, new_object_id  # noqa: E402
from domain.ledger import Transaction  # noqa: E402
from domain.profiles import client_defaults, consultant_defaults  # noqa: E402

TABLE = "marketplace_events"
COPY_ROWS = 20_000
# sentinels: put in the template aggregate, found in its encoding, replaced by each event's values
S_IDS = {"a": "5e0000000000000000000a01", "c": "5e0000000000000000000c02", "k": "5e0000000000000000000b03"}
S_IDS["t"] = "5e0000000000000000000d04"
S_TS = datetime(2001, 2, 3, 4, 5, 6, 70809, tzinfo=UTC)
S_START = datetime(2002, 3, 4, 5, 6, 7, 80910, tzinfo=UTC)
S_END = datetime(2003, 4, 5, 6, 7, 8, 91011, tzinfo=UTC)
S_AMOUNT, S_FEE, S_NET, S_INT = Decimal(73100017), Decimal(73200027), Decimal(73300037), 73400047


def appointment(values: dict[str, Any], shape: tuple) -> Appointment:
    status, category = shape
    fields: dict[str, Any] = {"fee": values["fee"], "session": "Video Call"}
    if category is not None:
        fields["category"] = category
    return Appointment(
        appointment_id=values["a"],
        consultant_id=values["c"],
        client_id=values["k"],
        start=values["start"],
        end=values["end"],
        status=status,
        expires_at=None,
        fields=fields,
        created_by="Admin",
    )


def transaction(values: dict[str, Any], shape: tuple) -> Transaction:
    kind, status, method, linked, with_user = shape
    return Transaction(
        transaction_id=values["t"],
        kind=kind,
        status=status,
        amount=values["amount"],
        platform_fee=values["fee"],
        net_amount=values["net"],
        currency="INR",
        user_id=values["k"] if with_user else None,
        consultant_id=values["c"],
        appointment_id=values["a"] if linked else None,
        payment_method=method,
        reference={"Payment": "pay_", "Refund": "rfnd_"}.get(kind, "") + values["a"] if linked else "",
        metadata={},
        snapshots={},
    )


class Encoder:
    """The stored state of an event of a given shape: the mapper's encoding of a template aggregate
    with the values put in (checked against the mapper's encoding of the real aggregate)."""

    def __init__(self, mapper: Any, clock: Clock, check_every: int):
        self.mapper, self.clock, self.check_every = mapper, clock, check_every
        self.templates: dict[tuple, tuple[str, str]] = {}
        self.counts: dict[tuple, int] = {}
        self.checked = 0

    def real(self, build: Callable[[dict, tuple], Any], values: dict[str, Any], shape: tuple) -> Any:
        self.clock.moment = values["ts"]
        aggregate = build(values, shape)
        (event,) = aggregate.collect_events()
        return self.mapper.to_stored_event(event)

    def template(self, build: Callable[[dict, tuple], Any], shape: tuple) -> tuple[str, str]:
        if build is transaction:
            sentinel = {**S_IDS, "ts": S_TS, "amount": S_AMOUNT, "fee": S_FEE, "net": S_NET}
        else:
            sentinel = {name: S_IDS[name] for name in "ack"} | {
                "ts": S_TS,
                "start": S_START,
                "end": S_END,
                "fee": S_INT,
            }
        stored = self.real(build, sentinel, shape)
        text = stored.state.decode("ascii").replace("{", "{{").replace("}", "}}")
        for name, value in sentinel.items():
            mark = value.isoformat() if isinstance(value, datetime) else str(value)
            assert text.count(mark) >= (0 if name in ("k", "a") else 1), (name, shape)
            text = text.replace(mark, "{" + name + "}")
        return stored.topic, text

    def encode(self, build: Callable[[dict, tuple], Any], values: dict[str, Any], shape: tuple) -> tuple[str, bytes]:
        key = (build.__name__, *shape)
        if key not in self.templates:
            self.templates[key], self.counts[key] = self.template(build, shape), 0
        topic, text = self.templates[key]
        state = text.format(
            **{name: value.isoformat() if isinstance(value, datetime) else value for name, value in values.items()}
        ).encode()
        count = self.counts[key] = self.counts[key] + 1
        if count <= 20 or count % self.check_every == 0:
            stored = self.real(build, values, shape)
            if (stored.topic, stored.state) != (topic, state):
                raise AssertionError(f"template of {key} differs from the mapper:\n{state!r}\n{stored.state!r}")
            self.checked += 1
        return topic, state


def people(container: Any, consultants_wanted: int, rng: random.Random, clock: Clock, start: datetime) -> tuple:
    """Categories, consultants and clients through `market.save()` (as bench/analytics.py's loader)."""
    market, now, pending = container.market, datetime.now(UTC), []

    def flush(force: bool = False) -> None:
        if pending and (force or len(pending) >= CHUNK):
            market.save(*pending)
            pending.clear()

    def when() -> None:
        clock.moment = start + timedelta(seconds=rng.random() * (now - start).total_seconds())

    clock.moment = start - timedelta(days=1)
    for title in CATEGORIES:
        pending.append(Category(category_id=new_object_id(), fields={"title": title}, parent_id=None))
    consultants = []
    for index in range(consultants_wanted):
        when()
        first, second = rng.sample(CATEGORIES, 2)
        names = [first, second] if index % 3 == 0 else [first]
        entries = [{"categoryId": None, "categoryName": n, "subcategoryId": None, "subcategoryName": ""} for n in names]
        fees, percent = rng.choice((500, 800, 1000, 1500, 2000, 2500)), rng.choice((0, 10, 15, 20))
        profile = {
            **consultant_defaults(),
            **{"name": f"Consultant {index}", "displayName": f"Consultant {index}", "email": f"c{index}@bench.test"},
            **{"status": "Active" if index % 10 else "Pending", "category": {"name": first}, "categories": entries},
            **{"fees": fees, "commission": {"platformPercent": percent}},
        }
        account_id = new_object_id()
        pending.append(
            Account(kind="consultant", account_id=account_id, profile=profile, password_hash=None, channel="import")
        )
        consultants.append((account_id, fees, percent, names))
        flush()
    clients = []
    for index in range(10 * consultants_wanted):
        when()
        account_id = new_object_id()
        profile = {**client_defaults(), "fullName": f"Client {index}", "email": f"k{index}@bench.test"}
        pending.append(
            Account(kind="client", account_id=account_id, profile=profile, password_hash=None, channel="import")
        )
        clients.append(account_id)
        flush()
    flush(force=True)
    return consultants, clients


def history(
    encoder: Encoder, consultants: list, clients: list, appointments: int, transactions: int, rng: random.Random
) -> Iterator[tuple[str, str, bytes]]:
    """(originator id, topic, state) of the appointments and transactions, in the proportions and
    shapes of bench/analytics.py's loader."""
    now = datetime.now(UTC)
    start = now - timedelta(days=730)
    span = (now + timedelta(days=30) - start).total_seconds()
    made = 0

    def money(fees: int, percent: int) -> dict[str, Decimal]:
        fee = (Decimal(fees) * percent / 100).quantize(Decimal("1"))
        return {"amount": Decimal(fees), "fee": fee, "net": Decimal(fees) - fee}

    for _ in range(appointments):
        consultant, fees, percent, names = rng.choice(consultants)
        begin = start + timedelta(seconds=rng.random() * span)
        status = ("Cancelled" if rng.random() < 0.1 else "Completed") if begin < now else "Upcoming"
        category = rng.choice(names) if rng.random() < 0.8 else None
        values = {"a": new_object_id(), "c": consultant, "k": rng.choice(clients), "ts": begin - timedelta(days=3)}
        values |= {"start": begin, "end": begin + timedelta(hours=1), "fee": fees}
        yield values["a"], *encoder.encode(appointment, values, (status, category))
        refunded = status == "Cancelled" and rng.random() < 0.5
        payment = {**values, **money(fees, percent), "t": new_object_id()}
        shape = ("Payment", "Refunded" if refunded else "Success", "Razorpay", True, True)
        yield payment["t"], *encoder.encode(transaction, payment, shape)
        made += 1
        if refunded:
            refund = {**values, "amount": Decimal(fees), "fee": Decimal(0), "net": Decimal(0), "t": new_object_id()}
            yield refund["t"], *encoder.encode(transaction, refund, ("Refund", "Success", "Razorpay", True, True))
            made += 1
    while made < transactions:
        consultant, fees, percent, _ = rng.choice(consultants)
        values = {"c": consultant, "t": new_object_id(), "a": "", "k": ""}
        values["ts"] = start + timedelta(seconds=rng.random() * (now - start).total_seconds())
        if rng.random() < 0.03:
            amount = Decimal(rng.choice((1000, 5000, 10000)))
            values |= {"amount": amount, "fee": Decimal(0), "net": Decimal(0)}
            shape = ("Payout", "Success" if rng.random() < 0.9 else "Pending", "Manual", False, False)
        else:
            values |= {**money(fees, percent), "k": rng.choice(clients)}
            shape = ("Payment", rng.choice(("Success", "Success", "Success", "Pending", "Failed")), "Card", False, True)
        yield values["t"], *encoder.encode(transaction, values, shape)
        made += 1


def copy_rows(url: str, rows: Iterator[tuple[str, str, bytes]], progress: Callable[[int], None]) -> int:
    """COPY the rows after the table's last notification id, the indexes dropped meanwhile."""
    with psycopg.connect(url, autocommit=True) as pg:
        first = pg.execute(f"SELECT coalesce(max(notification_id), 0) + 1 FROM {TABLE}").fetchone()[0]
        indexes = pg.execute(
            "SELECT c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c WHERE c.conrelid = %s::regclass",
            (TABLE,),
        ).fetchall()
        others = pg.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            (TABLE, TABLE),
        ).fetchall()
        for name, _ in indexes:
            pg.execute(f'ALTER TABLE {TABLE} DROP CONSTRAINT "{name}"')
        for name, _ in others:
            pg.execute(f'DROP INDEX "{name}"')
        position = first
        with (
            pg.cursor() as cur,
            cur.copy(
                f"COPY {TABLE} (originator_id, originator_version, topic, state, notification_id) FROM STDIN"
            ) as copy,
        ):
            lines: list[str] = []
            for oid, topic, state in rows:
                text = state.decode("ascii")
                assert "\\" not in text and "\t" not in text and "\n" not in text
                lines.append(f"{aggregate_id(oid)}\t1\t{topic}\t{text}\t{position}\n")
                position += 1
                if len(lines) >= COPY_ROWS:
                    copy.write("".join(lines))
                    lines.clear()
                    progress(position - first)
            copy.write("".join(lines))
        started = time.perf_counter()
        for name, definition in indexes:
            pg.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
        for _, definition in others:
            pg.execute(definition)
        sequence = pg.execute("SELECT pg_get_serial_sequence(%s, 'notification_id')", (TABLE,)).fetchone()[0]
        pg.execute("SELECT setval(%s, %s)", (sequence, position - 1))
        pg.execute(f"UPDATE projection_tracking SET position = {position - 1} WHERE name IN ('read_models', 'people')")
        pg.execute(f"VACUUM ANALYZE {TABLE}")
        print(f"  indexes rebuilt, sequence moved, analysed in {time.perf_counter() - started:.0f} s", flush=True)
        return position - first


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000, help="about this many events in all")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--max-consultants", type=int, help="at most this many consultants (and ten times as many clients)"
    )
    parser.add_argument("--check-every", type=int, default=20_000, help="compare one event in N with the mapper")
    args = parser.parse_args()
    print(f"machine: {machine()}; {utc_stamp()}", flush=True)
    from infrastructure.bootstrap import build

    appointments = round(args.events / 6.11)  # + 5 transactions and 0.11 accounts per appointment
    rng = random.Random(args.seed)
    clock = Clock()
    with (
        contextlib.ExitStack() as stack,
        mock.patch.object(eventsourcing.domain, "datetime_now_with_tzinfo", clock),
    ):
        url = stack.enter_context(event_store(True, None))
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="consult-bulk-load-")))
        container = build(bench_settings(scratch / "var", url), run_projections=False)
        try:
            container.identity.create_first_admin(*BENCH_ADMIN)
            started = time.perf_counter()
            wanted = max(50, appointments // 100)
            if args.max_consultants:
                wanted = min(wanted, args.max_consultants)
            consultants, clients = people(container, wanted, rng, clock, datetime.now(UTC) - timedelta(days=730))
            accounts_seconds = time.perf_counter() - started
            print(
                f"accounts: {len(consultants)} consultants, {len(clients)} clients through market.save in "
                f"{accounts_seconds:.0f} s",
                flush=True,
            )
            started = time.perf_counter()
            for runner in container.runners:  # the read models hold the accounts, as served
                runner.catch_up()
            print(f"read models of the accounts caught up in {time.perf_counter() - started:.0f} s", flush=True)
            encoder = Encoder(container.market.mapper, clock, args.check_every)
            started, last = time.perf_counter(), [0.0]

            def progress(done: int) -> None:
                if time.perf_counter() - last[0] > 30:
                    last[0] = time.perf_counter()
                    print(f"  {done} rows copied, {done / (last[0] - started):.0f}/s", flush=True)

            rows = history(encoder, consultants, clients, appointments, appointments * 5, rng)
            copied = copy_rows(url, rows, progress)
            seconds = time.perf_counter() - started
        finally:
            container.close()
        with psycopg.connect(url) as pg:
            total = pg.execute(f"SELECT max(notification_id) FROM {TABLE}").fetchone()[0]
        print(
            f"bulk: {copied} events ({len(encoder.templates)} shapes, {encoder.checked} compared with the mapper) in "
            f"{seconds:.0f} s ({copied / seconds:.0f}/s); {total} events in the store; {url}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
