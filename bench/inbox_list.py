"""Benchmark: `GET /notifications` (the bell's list) against the number of notifications its reader has.

For each size (`--notifications` x factor): a throwaway PostgreSQL store and a real `consult serve` with
an admin, a consultant and a client created over HTTP; then that many personal notifications of the
consultant written by SQL into the `inbox` read model as the people projection writes them (unread, with
the reader's unread counter raised to match); then, one request at a time in ABAB rounds, `GET /health`
and the consultant's `GET /notifications?limit=20` (the first page, newest first, with `pagination.total`
and `unreadCount`).

    .venv/bin/python bench/inbox_list.py [--notifications 2500 --factors 1 4 16 --requests 60]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.common import (  # noqa: E402
    HEALTH,
    Scenario,
    alternating_p50_ms,
    bearer,
    bench_store,
    consult_server,
    growth_table,
    machine,
    utc_stamp,
)

ROWS = """
INSERT INTO inbox (id, recipient, recipient_role, is_global, name, type, category, priority, read_at,
                   created_at, updated_at, expires_at, seq, document)
SELECT id, %(reader)s::varchar, NULL, false, 'Appointment booked', 'booking', 'appointment', 'medium', NULL,
       at, at, NULL, 1000000000 + i,
       json_build_object('_id', id, 'recipient', %(reader)s::text, 'title', 'Appointment booked', 'type', 'booking',
                         'category', 'appointment', 'priority', 'medium', 'createdAt', at, 'updatedAt', at)::text
FROM (
    SELECT i, lpad(to_hex(268435456 + i), 24, '0') AS id, now() - make_interval(mins => (%(rows)s - i)::int) AS at
    FROM generate_series(1, %(rows)s) AS i
) AS t
"""
COUNTER = (
    "INSERT INTO inbox_counters (key, n) VALUES (%(key)s, %(rows)s) "
    "ON CONFLICT (key) DO UPDATE SET n = inbox_counters.n + excluded.n"
)


def inbox_of(factor: int, args: argparse.Namespace) -> dict[str, float]:
    rows = args.notifications * factor
    with contextlib.ExitStack() as stack:
        work, settings = stack.enter_context(bench_store("postgres", prefix="consult-bench-inbox-"))
        url = settings.database_url
        assert url is not None
        served = stack.enter_context(consult_server(settings, work / "server.log", ready_timeout=600))
        scenario = Scenario(served.url)
        stack.callback(scenario.close)
        reader = scenario.consultant_id
        with psycopg.connect(url, autocommit=True) as pg:
            pg.execute(ROWS, {"reader": reader, "rows": rows})
            pg.execute(COUNTER, {"key": f"user:{reader}", "rows": rows})
            pg.execute("VACUUM ANALYZE inbox")
        headers = bearer(scenario.consultant)
        seen: dict[str, int] = {}

        def notifications() -> None:
            reply = scenario.http.get("/notifications", params={"limit": 20}, headers=headers)
            assert reply.status_code == 200, reply.text
            data = reply.json()["data"]
            seen["total"], seen["unread"] = data["pagination"]["total"], data["unreadCount"]

        def health() -> None:
            scenario.http.get(HEALTH.removeprefix("/api/v1")).raise_for_status()

        result = alternating_p50_ms({"health": health, "list": notifications}, args.requests)
    assert seen["total"] >= rows and seen["unread"] >= rows, seen
    print(f"  {factor}x ({rows:,} notifications): {result}, {seen}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notifications", type=int, default=2_500, help="the reader's notifications at 1x")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=60, help="requests of each kind per size")
    args = parser.parse_args()
    results = {factor: inbox_of(factor, args) for factor in args.factors}
    print()
    print(f"{utc_stamp()}, `bench/inbox_list.py {' '.join(sys.argv[1:])}`".rstrip() + f", {machine()}")
    print()
    sizes = "the reader's notifications: " + " / ".join(f"{args.notifications * f:,}" for f in args.factors)
    rows = [("list", "`GET /notifications?limit=20` (the consultant)"), ("health", "`GET /health`")]
    print("\n".join(growth_table(sizes, results, rows)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
