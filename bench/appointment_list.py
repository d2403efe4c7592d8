"""Benchmark: `GET /appointments` as the admin (the admin app's Appointments page) against the number of
appointments in the store.

For each size (`--rows` x factor): a throwaway PostgreSQL store, then `appointments` rows written by SQL as
the appointments projection writes them (one in five a `Hold`, the rest `Completed`, `Upcoming` or
`Cancelled`, between `--consultants` consultants and `--clients` clients, an hour apart; none the
server's scheduler would take up: no `Upcoming` in the past, every hold live for a day, as these rows
have no events behind them and the scheduler's commands would fail on each of them every ten seconds,
beside the requests measured), then a real
`consult serve` and, one request at a time, ABAB rounds of

- `GET /health` (the floor);
- `GET /appointments?limit=20` as the admin (every appointment but the holds, oldest first);
- `GET /appointments` as the admin, as the admin app asks for it (no parameters: the first 1,000);
- `GET /appointments?q=` as the admin: a needle in five appointments at every size (the app's default
  limit, 1,000), and one in every appointment (a page of 20).

    .venv/bin/python bench/appointment_list.py [--rows 12500 --factors 1 4 16 --requests 40]
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
INSERT INTO appointments (id, consultant_id, client_id, status, start_at, end_at, search_text, document)
SELECT id, consultant_id, client_id, status, at, at + interval '45 minutes',
       'follow-up consultation' || CASE WHEN i %% (%(rows)s / 5) = 7 THEN ' zygomatic' ELSE '' END || E'\n',
       json_strip_nulls(json_build_object('_id', id, 'client', client_id, 'consultant', consultant_id, 'status', status,
                         'session', 'Video Call', 'startAt', at, 'endAt', at + interval '45 minutes',
                         'reason', 'Follow-up consultation', 'notes', '', 'fee', 500,
                         'payment', json_build_object('amount', 500, 'status', 'Success', 'method', 'Razorpay'),
                         'expiresAt', CASE WHEN status = 'Hold' THEN now() + interval '1 day' END,
                         'createdAt', at, 'updatedAt', at))::text
FROM (
    SELECT i, lpad(to_hex(i), 24, '0') AS id, timestamptz '2020-01-01' + make_interval(hours => i) AS at,
           CASE WHEN i %% 5 = 1 AND timestamptz '2020-01-01' + make_interval(hours => i) < now() THEN 'Completed'
                ELSE (ARRAY['Completed', 'Upcoming', 'Cancelled', 'Completed', 'Hold'])[1 + i %% 5] END AS status,
           lpad(to_hex(16777216 + i %% %(clients)s), 24, '0') AS client_id,
           lpad(to_hex(33554432 + i %% %(consultants)s), 24, '0') AS consultant_id
    FROM generate_series(1, %(rows)s) AS i
) AS t
"""


def appointments_of(factor: int, args: argparse.Namespace) -> dict[str, float]:

    rows = args.rows * factor
    with contextlib.ExitStack() as stack:
        work, settings = stack.enter_context(bench_store("postgres", prefix="consult-bench-appointments-"))
        url = settings.database_url
        assert url is not None
        create_bench_admin(settings)
        started = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute(ROWS, {"rows": rows, "clients": args.clients, "consultants": args.consultants})
            pg.execute("VACUUM ANALYZE appointments")
        print(f"  {rows:,} appointments written in {time.perf_counter() - started:.0f} s", flush=True)
        served = stack.enter_context(consult_server(settings, work / "server.log", ready_timeout=600))
        client = stack.enter_context(httpx.Client(base_url=served.url, timeout=60))
        admin = bench_admin_login(client)
        counted: dict[str, int] = {}

        def listing(name: str, params: dict[str, int]) -> Callable[[], None]:
            def call() -> None:
                reply = client.get(API + "/appointments", params=params, headers=admin)
                assert reply.status_code == 200, reply.text
                counted[name] = len(reply.json()["data"]["data"])

            return call

        def health() -> None:
            client.get(HEALTH).raise_for_status()

        kinds: dict[str, Callable[[], None]] = {
            "health": health,
            "page": listing("page", {"limit": 20}),
            "app": listing("app", {}),
            "rare": listing("rare", {"q": "zygomatic"}),
            "common": listing("common", {"q": "consultation", "limit": 20}),
        }
        result = alternating_p50_ms(kinds, args.requests)
    assert counted == {"page": 20, "app": min(1_000, rows * 4 // 5), "rare": 5, "common": 20}, counted
    print(f"  {factor}x ({rows:,} appointments): {result}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=12_500, help="appointments at 1x")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--consultants", type=int, default=500)
    parser.add_argument("--clients", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=40, help="requests of each kind per size")
    args = parser.parse_args()
    rows = [
        ("page", "`GET /appointments?limit=20` (admin)"),
        ("app", "`GET /appointments` (admin, the app's call: 1,000)"),
        ("rare", "`GET /appointments?q=zygomatic` (admin; in 5 appointments at every size)"),
        ("common", "`GET /appointments?q=consultation&limit=20` (admin; in every appointment)"),
        ("health", "`GET /health`"),
    ]
    growth_report(
        "appointment_list.py",
        lambda factor: appointments_of(factor, args),
        args.factors,
        args.rows,
        "appointments",
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
