"""Benchmark: the analytics overview over HTTP on a large history, against plain SQL over PostgreSQL
tables holding the same rows, and DuckDB ingestion against the raw notification-log read rate.

1. Load: `--transactions` ledger transactions and `--appointments` appointments (with consultants,
   clients and categories) enter as events through the application (`market.save()` of many
   aggregates per call) into a throwaway PostgreSQL event store, spread over the last 24 months
   (each event stamped with its scripted instant). Appointments of the past are Completed (some
   Cancelled, their payment Refunded with a Refund transaction), later ones Upcoming; one in five
   carries no category (legacy data); the remaining transactions are payments without appointment
   and payouts.
2. Ingestion, in one process: the raw notification-log read rate (`select_notifications` in batches
   of 5000, no decoding), then a fresh DuckDB reporting store catching up from position 0 (read,
   skip by topic, decode, project, track), then the raw read again.
3. A real `consult serve` process on that store (read models fast-forwarded past the bulk data,
   which the overview never reads; the DuckDB store is already at the end of the log), then
   `GET /api/v1/analytics/overview` (monthly and yearly view of the current month/year), one request
   at a time, beside `GET /api/v1/health` in the same rounds; the rounds start once the server has
   published the analyst snapshot of the position its login reached (steady state).
4. The same numbers computed by a benchmark-only query set over PostgreSQL tables that hold the
   same rows (copied from the store, indexed, analysed), timed from Python over one connection;
   its numbers must equal those of the HTTP answer, or the run is invalid (exit status 1).

    .venv/bin/python bench/analytics.py                                  # 1,000,000 / 200,000
    .venv/bin/python bench/analytics.py --transactions 100000 --appointments 20000
    .venv/bin/python bench/analytics.py --load-only --keep     # load once, keep the event store ...
    .venv/bin/python bench/analytics.py --reuse postgresql://postgres@127.0.0.1:5432/consult_bench_...  # ... measure
    .venv/bin/python bench/analytics.py --reuse postgresql://... --ingest-only  # steps 1 (reused) and 2 only
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import eventsourcing.domain  # noqa: E402
import httpx  # noqa: E402
import psycopg  # noqa: E402

from bench.common import (  # noqa: E402
    API,
    BENCH_ADMIN,
    HEALTH,
    bench_admin_login,
    bench_settings,
    consult_server,
    database,
    machine,
    median,
    percentile,
    utc_stamp,
)
from domain.accounts import Account  # noqa: E402
from domain.appointments import Appointment  # noqa: E402
from domain.catalogue import Category  # noqa: E402
from domain.ids import new_object_id  # noqa: E402
from domain.ledger import Transaction  # noqa: E402
from domain.profiles import client_defaults, consultant_defaults  # noqa: E402

IST = ZoneInfo("Asia/Kolkata")
CATEGORIES = ["Legal", "Finance", "Health", "Career", "Tax", "Property", "Education", "Wellness"]
CHUNK = 2000


class Clock:
    """Events created while `moment` is set are stamped with it."""

    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment


def load(container: Any, transactions: int, appointments: int, rng: random.Random) -> dict[str, int]:
    market = container.market
    clock = Clock()
    now = datetime.now(UTC)
    start = now - timedelta(days=730)
    span = (now + timedelta(days=30) - start).total_seconds()
    pending: list[Any] = []
    saved = {"events": 0}

    def stamp(moment: datetime) -> None:
        clock.moment = moment

    def flush(force: bool = False) -> None:
        if pending and (force or len(pending) >= CHUNK):
            market.save(*pending)
            pending.clear()

    def when(lo: datetime = start) -> datetime:
        return lo + timedelta(seconds=rng.random() * max(1.0, (now - lo).total_seconds()))

    with mock.patch.object(eventsourcing.domain, "datetime_now_with_tzinfo", clock):
        stamp(start - timedelta(days=1))
        for title in CATEGORIES:
            pending.append(Category(category_id=new_object_id(), fields={"title": title}, parent_id=None))
        consultants = []
        for index in range(max(50, appointments // 100)):
            stamp(when())
            first, second = rng.sample(CATEGORIES, 2)
            entries = [{"categoryId": None, "categoryName": first, "subcategoryId": None, "subcategoryName": ""}]
            if index % 3 == 0:
                entries.append(
                    {"categoryId": None, "categoryName": second, "subcategoryId": None, "subcategoryName": ""}
                )
            account_id = new_object_id()
            fees = rng.choice((500, 800, 1000, 1500, 2000, 2500))
            percent = rng.choice((0, 10, 15, 20))
            profile = {
                **consultant_defaults(),
                "name": f"Consultant {index}",
                "displayName": f"Consultant {index}",
                "email": f"c{index}@bench.test",
                "status": "Active" if index % 10 else "Pending",
                "category": {"name": first},
                "categories": entries,
                "fees": fees,
                "commission": {"platformPercent": percent},
            }
            pending.append(
                Account(kind="consultant", account_id=account_id, profile=profile, password_hash=None, channel="import")
            )
            consultants.append((account_id, fees, percent, [e["categoryName"] for e in entries]))
            flush()
        clients = []
        for index in range(max(100, appointments // 10)):
            stamp(when())
            account_id = new_object_id()
            pending.append(
                Account(
                    kind="client",
                    account_id=account_id,
                    profile={**client_defaults(), "fullName": f"Client {index}", "email": f"k{index}@bench.test"},
                    password_hash=None,
                    channel="import",
                )
            )
            clients.append(account_id)
            flush()
        made = 0
        for _ in range(appointments):
            consultant_id, fees, percent, names = rng.choice(consultants)
            client_id = rng.choice(clients)
            begin = start + timedelta(seconds=rng.random() * span)
            created = begin - timedelta(days=3)
            if begin < now:
                status = "Cancelled" if rng.random() < 0.1 else "Completed"
            else:
                status = "Upcoming"
            fields: dict[str, Any] = {"fee": fees, "session": "Video Call"}
            if rng.random() < 0.8:
                fields["category"] = rng.choice(names)
            appointment_id = new_object_id()
            stamp(created)
            pending.append(
                Appointment(
                    appointment_id=appointment_id,
                    consultant_id=consultant_id,
                    client_id=client_id,
                    start=begin,
                    end=begin + timedelta(hours=1),
                    status=status,
                    expires_at=None,
                    fields=fields,
                    created_by="Admin",
                )
            )
            fee = (Decimal(fees) * percent / 100).quantize(Decimal("1"))
            refunded = status == "Cancelled" and rng.random() < 0.5
            payment = Transaction(
                transaction_id=new_object_id(),
                kind="Payment",
                status="Refunded" if refunded else "Success",
                amount=Decimal(fees),
                platform_fee=fee,
                net_amount=Decimal(fees) - fee,
                currency="INR",
                user_id=client_id,
                consultant_id=consultant_id,
                appointment_id=appointment_id,
                payment_method="Razorpay",
                reference=f"pay_{appointment_id}",
                metadata={},
                snapshots={},
            )
            pending.append(payment)
            made += 1
            if refunded:
                pending.append(
                    Transaction(
                        transaction_id=new_object_id(),
                        kind="Refund",
                        status="Success",
                        amount=Decimal(fees),
                        platform_fee=Decimal(0),
                        net_amount=Decimal(0),
                        currency="INR",
                        user_id=client_id,
                        consultant_id=consultant_id,
                        appointment_id=appointment_id,
                        payment_method="Razorpay",
                        reference=f"rfnd_{appointment_id}",
                        metadata={},
                        snapshots={},
                    )
                )
                made += 1
            flush()
        while made < transactions:
            consultant_id, fees, percent, _ = rng.choice(consultants)
            stamp(when())
            if rng.random() < 0.03:
                pending.append(
                    Transaction(
                        transaction_id=new_object_id(),
                        kind="Payout",
                        status="Success" if rng.random() < 0.9 else "Pending",
                        amount=Decimal(rng.choice((1000, 5000, 10000))),
                        platform_fee=Decimal(0),
                        net_amount=Decimal(0),
                        currency="INR",
                        user_id=None,
                        consultant_id=consultant_id,
                        appointment_id=None,
                        payment_method="Manual",
                        reference="",
                        metadata={},
                        snapshots={},
                    )
                )
            else:
                fee = (Decimal(fees) * percent / 100).quantize(Decimal("1"))
                pending.append(
                    Transaction(
                        transaction_id=new_object_id(),
                        kind="Payment",
                        status=rng.choice(("Success", "Success", "Success", "Pending", "Failed")),
                        amount=Decimal(fees),
                        platform_fee=fee,
                        net_amount=Decimal(fees) - fee,
                        currency="INR",
                        user_id=rng.choice(clients),
                        consultant_id=consultant_id,
                        appointment_id=None,
                        payment_method="Card",
                        reference="",
                        metadata={},
                        snapshots={},
                    )
                )
            made += 1
            flush()
        flush(force=True)
    saved["events"] = market.recorder.max_notification_id() or 0
    saved["consultants"], saved["clients"], saved["transactions"] = len(consultants), len(clients), made
    return saved


def raw_read_rate(container: Any) -> tuple[int, float]:
    recorder = container.market.recorder
    started, count, position = time.perf_counter(), 0, 0
    while True:
        batch = recorder.select_notifications(position + 1, 5000)
        if not batch:
            break
        count += len(batch)
        position = batch[-1].id
    return count, time.perf_counter() - started


# -- the benchmark-only PostgreSQL query set -----------------------------------------------------------

PG_TABLES = {
    "consultants": "id text primary key, name text, status text, primary_category text, primary_subcategory text,"
    " created_local timestamp, deleted boolean",
    "clients": "id text primary key, status text, created_local timestamp, deleted boolean",
    "appointments": "id text primary key, consultant_id text, status text, start_at timestamp, start_local timestamp,"
    " fee numeric(18,2), category text, deleted boolean",
    "transactions": "id text primary key, kind text, status text, amount numeric(18,2), platform_fee numeric(18,2),"
    " net_amount numeric(18,2), consultant_id text, appointment_id text, created_local timestamp",
}
PG_INDEXES = [
    "CREATE INDEX ON bench_transactions (kind, status, created_local)",
    "CREATE INDEX ON bench_transactions (appointment_id)",
    "CREATE INDEX ON bench_appointments (start_local)",
    "CREATE INDEX ON bench_appointments (status, start_local)",
]
FACTS = """(SELECT a.*, coalesce(nullif(nullif(a.category, ''), 'General'), nullif(c.primary_category, ''), 'General')
             AS category_resolved FROM bench_appointments a LEFT JOIN bench_consultants c ON c.id = a.consultant_id
             WHERE NOT a.deleted)"""


def copy_to_postgres(store_path: Path, url: str, work: Path) -> None:
    import duckdb

    con = duckdb.connect(str(store_path), read_only=True)
    with psycopg.connect(url, autocommit=True) as pg:
        for table, columns in PG_TABLES.items():
            names = [part.split()[0] for part in columns.replace("(18,2)", "").split(",")]
            pg.execute(f"DROP TABLE IF EXISTS bench_{table}")
            pg.execute(f"CREATE TABLE bench_{table} ({columns})")
            out = work / f"{table}.csv"
            con.execute(f"COPY (SELECT {', '.join(names)} FROM {table}) TO '{out}' (HEADER false)")
            with (
                pg.cursor() as cur,
                cur.copy(f"COPY bench_{table} ({', '.join(names)}) FROM STDIN WITH (FORMAT csv)") as copy,
                out.open("rb") as source,
            ):
                while chunk := source.read(1 << 20):
                    copy.write(chunk)
            out.unlink()
        for statement in PG_INDEXES:
            pg.execute(statement)
        for table in PG_TABLES:
            pg.execute(f"VACUUM ANALYZE bench_{table}")
    con.close()


def month_start(year: int, month: int) -> datetime:
    year += (month - 1) // 12
    return datetime(year, (month - 1) % 12 + 1, 1)


def postgres_overview(pg: Any, year: int, month: int, yearly: bool) -> dict[str, Any]:
    """The overview's numbers from plain SQL over the copied rows (the same rules as the store)."""
    if yearly:
        period, previous = (
            (datetime(year, 1, 1), datetime(year + 1, 1, 1)),
            (datetime(year - 1, 1, 1), datetime(year, 1, 1)),
        )
        trend = [(month_start(year, m), month_start(year, m + 1)) for m in range(1, 13)]
    else:
        period = (month_start(year, month), month_start(year, month + 1))
        previous = (month_start(year, month - 1), month_start(year, month))
        trend = [(month_start(year, month + k), month_start(year, month + k + 1)) for k in range(-5, 1)]
    out: dict[str, Any] = {}
    out["cards"] = pg.execute(f"""SELECT
        (SELECT count(*) FROM bench_consultants WHERE NOT deleted AND status = 'Active'),
        (SELECT count(*) FROM {FACTS} f WHERE status NOT IN ('Hold', 'Expired')),
        (SELECT count(*) FROM bench_clients WHERE NOT deleted AND status = 'Active')""").fetchone()
    out["money"] = pg.execute(
        """SELECT date_trunc('month', created_local)::date, sum(amount), sum(platform_fee),
        sum(net_amount), count(*) FROM bench_transactions WHERE kind = 'Payment' AND status = 'Success'
        AND created_local >= %s AND created_local < %s GROUP BY 1 ORDER BY 1""",
        (datetime(year - 1, 1, 1), max(datetime(year + 1, 1, 1), period[1])),
    ).fetchall()
    out["appt"] = pg.execute(
        f"""SELECT date_trunc('month', start_local)::date, count(*) FROM {FACTS} f
        WHERE status NOT IN ('Hold', 'Expired') AND start_local >= %s AND start_local < %s GROUP BY 1 ORDER BY 1""",
        (trend[0][0], trend[-1][1]),
    ).fetchall()
    out["cumulative"] = pg.execute(
        """SELECT e, (SELECT count(*) FROM bench_consultants WHERE NOT deleted
        AND created_local < e), (SELECT count(*) FROM bench_clients WHERE NOT deleted AND created_local < e)
        FROM unnest(%s::timestamp[]) AS e ORDER BY e""",
        ([w[1] for w in trend],),
    ).fetchall()
    out["topCategories"] = pg.execute(f"""SELECT category_resolved, count(*) AS n FROM {FACTS} f
        WHERE status NOT IN ('Cancelled', 'Hold', 'Expired') GROUP BY 1 ORDER BY n DESC, 1 LIMIT 5""").fetchall()
    out["categoryPerformance"] = pg.execute(
        f"""SELECT category_resolved,
        coalesce(sum(fee) FILTER (WHERE status = 'Completed' AND start_local >= %(p0)s), 0),
        count(*) FILTER (WHERE status = 'Completed' AND start_local >= %(p0)s),
        coalesce(sum(fee) FILTER (WHERE status = 'Completed' AND start_local < %(p0)s), 0)
        FROM {FACTS} f WHERE status IN ('Completed', 'Upcoming') AND start_local >= %(q0)s AND start_local < %(p1)s
        GROUP BY 1 ORDER BY 2 DESC, 1""",
        {"p0": period[0], "p1": period[1], "q0": previous[0]},
    ).fetchall()
    out["topConsultants"] = pg.execute(
        f"""SELECT coalesce(nullif(c.name, ''), 'Unknown Consultant') AS name,
        sum(f.fee) AS revenue, count(*) AS sessions FROM {FACTS} f LEFT JOIN bench_consultants c
        ON c.id = f.consultant_id WHERE f.status = 'Completed' AND f.start_local >= %s AND f.start_local < %s
        GROUP BY f.consultant_id, 1 ORDER BY revenue DESC, sessions DESC, name, f.consultant_id LIMIT 5""",
        period,
    ).fetchall()
    unit = "month" if yearly else "day"
    out["activity"] = pg.execute(
        f"""SELECT date_trunc('{unit}', start_local)::date, count(*) FROM {FACTS} f
        WHERE status IN ('Upcoming', 'Completed') AND start_local >= %s AND start_local < %s GROUP BY 1 ORDER BY 1""",
        period,
    ).fetchall()
    out["payout"] = pg.execute("""SELECT
        (SELECT coalesce(sum(t.net_amount), 0) FROM bench_transactions t LEFT JOIN bench_appointments a
           ON a.id = t.appointment_id WHERE t.kind = 'Payment' AND t.status = 'Success'
           AND (t.appointment_id IS NULL OR a.id IS NULL OR a.deleted OR a.status = 'Completed')),
        (SELECT coalesce(sum(amount), 0) FROM bench_transactions WHERE kind = 'Payout' AND status = 'Success')""").fetchone()
    out["_windows"] = (period, trend)
    return out


def num(value: Any) -> Any:
    value = Decimal(str(value or 0))
    return int(value) if value == value.to_integral_value() else float(value)


def same_numbers(http: dict[str, Any], pg: dict[str, Any]) -> list[str]:
    """The fields where the HTTP answer and the PostgreSQL query set disagree."""
    wrong = []
    period, trend = pg["_windows"]
    money = {row[0]: row[1:] for row in pg["money"]}

    def total(window: tuple[datetime, datetime], column: int) -> Any:
        return num(sum((v[column] for m, v in money.items() if window[0].date() <= m < window[1].date()), 0))

    cards = http["cards"]
    if [cards["totalConsultants"], cards["totalAppointments"], cards["activeClients"]] != list(pg["cards"]):
        wrong.append("cards")
    rev = http["revenueBreakdown"]
    if [
        rev["monthlyGmv"],
        rev["monthlyPlatformRevenue"],
        rev["monthlyConsultantPayouts"],
        rev["monthlyTransactions"],
    ] != [total(period, c) for c in range(4)]:
        wrong.append("revenueBreakdown")
    appt = {row[0]: row[1] for row in pg["appt"]}
    cumulative = [(row[1], row[2]) for row in pg["cumulative"]]
    expected_trends = [
        (total(w, 0), total(w, 1), total(w, 2), appt.get(w[0].date(), 0), *cumulative[i]) for i, w in enumerate(trend)
    ]
    got_trends = [
        (t["gmv"], t["revenue"], t["consultantPayouts"], t["appt"], t["consultants"], t["clients"])
        for t in http["monthlyTrends"]
    ]
    if got_trends != expected_trends:
        wrong.append("monthlyTrends")
    if [(c["title"], c["appointmentCount"]) for c in http["topCategories"]] != [tuple(r) for r in pg["topCategories"]]:
        wrong.append("topCategories")
    if [(c["name"], c["revenue"], c["sessions"]) for c in http["categoryPerformance"]] != [
        (r[0], num(r[1]), r[2]) for r in pg["categoryPerformance"]
    ]:
        wrong.append("categoryPerformance")
    if [(c["name"], c["revenue"], c["sessions"]) for c in http["topConsultants"]] != [
        (r[0], num(r[1]), r[2]) for r in pg["topConsultants"]
    ]:
        wrong.append("topConsultants")
    if sum(http["activityTrend"]) != sum(r[1] for r in pg["activity"]):
        wrong.append("activityTrend")
    pay = http["payoutSummary"]
    if [pay["totalEarnings"], pay["totalPaidOut"]] != [num(pg["payout"][0]), num(pg["payout"][1])]:
        wrong.append("payoutSummary")
    return wrong


@contextlib.contextmanager
def event_store(keep: bool, reuse: str | None) -> Any:
    if reuse:
        yield reuse
        return
    if not keep:
        with database("postgres") as url:
            yield url
        return
    from bench.common import POSTGRES_ADMIN_URL

    name = f"consult_bench_kept_{int(time.time())}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    print(f"event store kept at {url} (drop it when done)", flush=True)
    yield url


def wait_for_snapshot(path: Path, events: int, timeout: float = 300) -> float:
    """Wait until the server's analyst snapshot holds its latest position: the login wrote events, so
    the server copies the whole store (`COPY FROM DATABASE`, seconds for this size) once; the rounds
    measure the overview in the steady state, without that copy running beside them."""
    import duckdb

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with contextlib.suppress(duckdb.Error, OSError):
            snapshot = duckdb.connect(str(path), read_only=True)
            try:
                position = snapshot.execute("SELECT position FROM reporting_tracking").fetchone()
            finally:
                snapshot.close()
            if position and position[0] > events:
                return time.perf_counter() - started
        time.sleep(0.5)
    raise RuntimeError(f"no snapshot past position {events} within {timeout} s")


def timed_http(client: httpx.Client, path: str, params: dict[str, Any], headers: dict[str, str]) -> float:
    started = time.perf_counter()
    reply = client.get(path, params=params, headers=headers)
    elapsed = time.perf_counter() - started
    assert reply.status_code == 200, reply.text
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=1_000_000)
    parser.add_argument("--appointments", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the throwaway event store (prints its URL)")
    parser.add_argument("--load-only", action="store_true", help="stop after loading the events")
    parser.add_argument("--reuse", help="an event store loaded by an earlier --keep run: skip the load")
    parser.add_argument("--ingest-only", action="store_true", help="stop after the ingestion figures (step 2)")
    parser.add_argument(
        "--pg-rounds", type=int, help="rounds of the PostgreSQL query set (default: requests / 10, at least 5)"
    )
    args = parser.parse_args()
    print(f"machine: {machine()}; {utc_stamp()}", flush=True)
    from infrastructure.bootstrap import build
    from reporting.store import LIVE_FILE, SNAPSHOT_FILE
    from reporting.wiring import open_store

    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as scratch, event_store(args.keep, args.reuse) as url:
        work = Path(scratch)
        settings = bench_settings(work, url)
        if args.reuse:  # the bulk data is never read by the overview: read models skip past it
            with psycopg.connect(url, autocommit=True) as pg:
                pg.execute(
                    "UPDATE projection_tracking SET position = (SELECT max(notification_id) FROM "
                    "marketplace_events) WHERE name = 'read_models'"
                )
        container = build(settings, run_projections=True)
        if args.reuse:
            loaded = {"events": container.market.recorder.max_notification_id() or 0}
            print(f"reusing {args.reuse}: {loaded['events']} events", flush=True)
        else:
            container.identity.create_first_admin(*BENCH_ADMIN)
            started = time.perf_counter()
            loaded = load(container, args.transactions, args.appointments, rng)
            load_seconds = time.perf_counter() - started
            print(
                f"loaded {json.dumps(loaded)} in {load_seconds:.0f} s "
                f"({loaded['events'] / load_seconds:.0f} events/s through market.save)",
                flush=True,
            )
        if args.load_only:
            container.close()
            return 0
        with container.write_engine.begin() as conn:  # the bulk data is never read by the overview
            conn.exec_driver_sql(
                f"UPDATE projection_tracking SET position = {loaded['events']} WHERE name = 'read_models'"
            )
        read_count, read_seconds = raw_read_rate(container)
        store = open_store(settings, container)
        started = time.perf_counter()
        store.catch_up()
        ingest_seconds = time.perf_counter() - started
        assert store.position == loaded["events"], (store.position, loaded["events"])
        started = time.perf_counter()
        store.publish_snapshot(force=True)
        snapshot_seconds = time.perf_counter() - started
        store.close()
        read_again, read_again_seconds = raw_read_rate(container)
        container.close()
        print(
            f"raw log read: {read_count} notifications in {read_seconds:.1f} s ({read_count / read_seconds:.0f}/s); "
            f"again: {read_again / read_again_seconds:.0f}/s",
            flush=True,
        )
        print(
            f"DuckDB ingestion: {loaded['events']} notifications in {ingest_seconds:.1f} s "
            f"({loaded['events'] / ingest_seconds:.0f}/s) = "
            f"{(loaded['events'] / ingest_seconds) / (read_count / read_seconds):.2f} x the raw read rate; "
            f"snapshot publish {snapshot_seconds:.1f} s, store file "
            f"{(work / 'var' / LIVE_FILE).stat().st_size / 1e6:.0f} MB",
            flush=True,
        )
        if args.ingest_only:
            return 0

        with (
            consult_server(settings, work / "server.log") as served,
            httpx.Client(base_url=served.url, timeout=60) as client,
        ):
            headers = bench_admin_login(client)
            today = datetime.now(IST)
            views = {
                "monthly": {"viewType": "monthly", "year": today.year, "month": today.month},
                "yearly": {"viewType": "yearly", "year": today.year},
            }
            answers = {
                name: client.get(API + "/analytics/overview", params=params, headers=headers).json()["data"]
                for name, params in views.items()
            }
            for _ in range(10):
                for params in views.values():
                    timed_http(client, API + "/analytics/overview", params, headers)
            waited = wait_for_snapshot(work / "var" / SNAPSHOT_FILE, loaded["events"])
            print(f"analyst snapshot of the login's position published {waited:.1f} s after the warm-up", flush=True)
            times: dict[str, list[float]] = {"health": [], "monthly": [], "yearly": []}
            for _ in range(args.requests):
                times["health"].append(timed_http(client, HEALTH, {}, {}))
                for name, params in views.items():
                    times[name].append(timed_http(client, API + "/analytics/overview", params, headers))
        copy_to_postgres(work / "var" / LIVE_FILE, url, work)
        pg_times: dict[str, list[float]] = {"monthly": [], "yearly": []}
        wrong: dict[str, list[str]] = {}
        with psycopg.connect(url) as pg:
            for name in views:
                for _ in range(3):  # warm
                    postgres_overview(pg, today.year, today.month, name == "yearly")
            for _ in range(args.pg_rounds or max(5, args.requests // 10)):
                for name in views:
                    started = time.perf_counter()
                    result = postgres_overview(pg, today.year, today.month, name == "yearly")
                    pg_times[name].append(time.perf_counter() - started)
                    wrong[name] = same_numbers(answers[name], result)
    for name in ("monthly", "yearly"):
        p50, p95 = median(times[name]) * 1000, percentile(times[name], 0.95) * 1000
        pg50 = median(pg_times[name]) * 1000
        print(
            f"overview {name}: HTTP p50 {p50:.1f} ms, p95 {p95:.1f} ms; health p50 "
            f"{median(times['health']) * 1000:.1f} ms; PostgreSQL query set p50 {pg50:.1f} ms "
            f"(= {pg50 / p50:.1f} x the HTTP overview); numbers equal: {not wrong[name]} {wrong[name] or ''}",
            flush=True,
        )
    if any(wrong.values()):
        return 1
    return 0 if median(times["monthly"]) < 0.05 and median(times["yearly"]) < 0.05 else 2


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
