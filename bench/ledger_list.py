"""Benchmark: `GET /transactions` (the admin app's Payments tab) against the size of the ledger.

For each size (`--rows` x factor; the defaults reach a million transactions): a throwaway PostgreSQL store
migrated to revision 0014, then `transactions` rows written by SQL as the ledger projection writes them
(four payments in five are Payments, the rest Refunds and Payouts, between `--consultants` consultants and
`--users` users), then migrated to head: migration 0015 fills the list counters from those rows, as it
does for a store being upgraded. Then a real `consult serve` and, one request at a time, ABAB rounds of

- `GET /health` (the floor);
- `GET /transactions?limit=100` as the admin (the whole ledger, newest first, with its `total`);
- `GET /transactions?type=Payout&limit=10` as the admin;
- `GET /transactions?consultant=X&limit=10` as the admin (one party, as user or consultant).

    .venv/bin/python bench/ledger_list.py [--rows 62500 --factors 1 4 16 --requests 60]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
import psycopg  # noqa: E402
from alembic import command  # noqa: E402

from bench.common import (  # noqa: E402
    API,
    HEALTH,
    alternating_p50_ms,
    bench_admin_login,
    bench_store,
    consult_server,
    create_bench_admin,
    growth_report,
)

ROWS = """
INSERT INTO transactions (id, kind, status, user_id, consultant_id, amount_minor, net_minor, created_at, seq, document)
SELECT id, kind, 'Success', user_id, consultant_id, 150000, 135000, now(), i,
       json_build_object('_id', id, 'type', kind, 'status', 'Success', 'user', user_id, 'consultant', consultant_id,
                         'amount', 1500, 'netAmount', 1350, 'metadata', '{}'::json)::text
FROM (
    SELECT i, lpad(to_hex(i), 24, '0') AS id,
           (ARRAY['Payment', 'Payment', 'Payment', 'Payment', 'Refund', 'Payment', 'Payment', 'Payment',
                  'Payment', 'Payout'])[1 + i %% 10] AS kind,
           lpad(to_hex(16777216 + i %% %(users)s), 24, '0') AS user_id,
           lpad(to_hex(33554432 + i %% %(consultants)s), 24, '0') AS consultant_id
    FROM generate_series(1, %(rows)s) AS i
) AS t
"""


def consultant_id(n: int) -> str:
    return f"{33554432 + n:024x}"


def ledger_of(factor: int, args: argparse.Namespace) -> dict[str, float]:
    from infrastructure.migrations import alembic_config

    rows = args.rows * factor
    with contextlib.ExitStack() as stack:
        work, settings = stack.enter_context(bench_store("postgres", prefix="consult-bench-ledger-"))
        url = settings.database_url
        assert url is not None
        config = alembic_config(settings.sqlalchemy_url)
        command.upgrade(config, "0014")
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute(ROWS, {"rows": rows, "users": args.users, "consultants": args.consultants})
            pg.execute("VACUUM ANALYZE transactions")
        command.upgrade(config, "head")  # 0015 counts the rows into the counters
        print(f"  {rows:,} transactions written and migrated in {time.perf_counter() - started:.0f} s", flush=True)
        create_bench_admin(settings)
        served = stack.enter_context(consult_server(settings, work / "server.log", ready_timeout=600))
        client = stack.enter_context(httpx.Client(base_url=served.url, timeout=60))
        admin = bench_admin_login(client)
        totals: dict[str, int] = {}

        def listing(name: str, params: dict[str, str | int]) -> Callable[[], None]:
            def call() -> None:
                reply = client.get(API + "/transactions", params=params, headers=admin)
                assert reply.status_code == 200, reply.text
                totals[name] = reply.json()["total"]

            return call

        def health() -> None:
            client.get(HEALTH).raise_for_status()

        kinds: dict[str, Callable[[], None]] = {
            "health": health,
            "all": listing("all", {"limit": 100}),
            "payouts": listing("payouts", {"type": "Payout", "limit": 10}),
            "party": listing("party", {"consultant": consultant_id(1), "limit": 10}),
        }
        result = alternating_p50_ms(kinds, args.requests)
    assert totals["all"] == rows, totals
    print(f"  {factor}x ({rows:,} transactions): {result}, totals {totals}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=62_500, help="transactions at 1x")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--consultants", type=int, default=2_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=60, help="requests of each kind per size")
    args = parser.parse_args()
    rows = [
        ("all", "`GET /transactions?limit=100` (admin)"),
        ("payouts", "`GET /transactions?type=Payout&limit=10` (admin)"),
        ("party", "`GET /transactions?consultant=X&limit=10` (admin)"),
        ("health", "`GET /health`"),
    ]
    growth_report(
        "ledger_list.py", lambda factor: ledger_of(factor, args), args.factors, args.rows, "transactions", rows
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
