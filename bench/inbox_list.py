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
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402

from bench.common import (  # noqa: E402
    HEALTH,
    Scenario,
    bearer,
    bench_settings,
    consult_server,
    database,
    machine,
    median,
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
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="consult-bench-inbox-")))
        url = stack.enter_context(database("postgres"))
        assert url is not None
        settings = bench_settings(work, url)
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

        kinds = {"health": health, "list": notifications}
        times: dict[str, list[float]] = {name: [] for name in kinds}
        for _ in range(5):
            for call in kinds.values():
                call()
        for _ in range(args.requests):
            for name, call in kinds.items():
                began = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - began)
    assert seen["total"] >= rows and seen["unread"] >= rows, seen
    result = {name + "_ms": median(values) * 1000 for name, values in times.items()}
    print(f"  {factor}x ({rows:,} notifications): {result}, {seen}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notifications", type=int, default=2_500, help="the reader's notifications at 1x")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=60, help="requests of each kind per size")
    args = parser.parse_args()
    results = {factor: inbox_of(factor, args) for factor in args.factors}
    first, last = args.factors[0], args.factors[-1]
    print()
    print(f"{utc_stamp()}, `bench/inbox_list.py {' '.join(sys.argv[1:])}`".rstrip() + f", {machine()}")
    print()
    sizes = " / ".join(f"{args.notifications * f:,}" for f in args.factors)
    print(f"| request (p50, x health) | the reader's notifications: {sizes} | {last}x / {first}x |")
    print("|---|---|---:|")
    for key, label in (("list", "`GET /notifications?limit=20` (the consultant)"), ("health", "`GET /health`")):
        cells = " / ".join(
            f"{r[key + '_ms']:.1f} ms ({r[key + '_ms'] / r['health_ms']:.1f}x)" for r in results.values()
        )
        print(f"| {label} | {cells} | {results[last][key + '_ms'] / results[first][key + '_ms']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
