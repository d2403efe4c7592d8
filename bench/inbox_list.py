"""Benchmark: the inbox's reads (`GET /notifications`, a category tab of it, `GET /notifications/grouped`)
against the number of notifications their reader sees.

For each size (`--notifications` x factor): a throwaway PostgreSQL store and a real `consult serve` with
an admin, a consultant and a client created over HTTP; then that many notifications the consultant sees,
written by SQL into the `inbox` read model as the people projection writes them, with the counters it
keeps (`inbox_counters`): eight in ten personal, one in ten broadcast to consultants, one in ten to
everyone; half of them
`appointments`, a quarter `payments`, the rest spread over the four other categories; none read. Then,
one request at a time in ABAB rounds, `GET /health` and the consultant's three reads: the bell's list
(`?limit=20`: newest first, with `pagination.total` and `unreadCount`), the Notifications page's tab
(`?limit=50&category=payments`) and the tabs' badges (`/grouped`). With `--cleared`: broadcasts only,
all of them hidden by the reader's "clear all" before the reads (an inbox just cleared: every read is
empty, and used to step over every hidden broadcast).

    .venv/bin/python bench/inbox_list.py [--notifications 2500 --factors 1 4 16 --requests 60] [--cleared]
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
    growth_report,
)

ROWS = """
INSERT INTO inbox (id, recipient, recipient_role, is_global, name, type, category, priority, read_at,
                   created_at, updated_at, expires_at, seq, document)
SELECT id, recipient, role, everyone, 'Appointment booked', 'appointment', category, 'normal', NULL,
       at, at, NULL, 1000000000 + i,
       json_build_object('_id', id, 'recipient', recipient, 'recipientRole', role, 'name', 'Appointment booked',
                         'type', 'appointment', 'category', category, 'priority', 'normal', 'createdAt', at,
                         'updatedAt', at)::text
FROM (
    SELECT i, lpad(to_hex(268435456 + i), 24, '0') AS id, now() - make_interval(mins => (%(rows)s - i)::int) AS at,
           CASE WHEN %(broadcasts)s OR i %% 10 IN (0, 5) THEN NULL ELSE %(reader)s::varchar END AS recipient,
           CASE WHEN (%(broadcasts)s AND i %% 2 = 0) OR (NOT %(broadcasts)s AND i %% 10 = 0) THEN 'Consultant' END
           AS role, (%(broadcasts)s AND i %% 2 = 1) OR (NOT %(broadcasts)s AND i %% 10 = 5) AS everyone,
           (ARRAY['appointments', 'appointments', 'appointments', 'appointments', 'appointments', 'appointments',
                  'appointments', 'appointments', 'payments', 'payments', 'payments', 'payments', 'general',
                  'messages', 'system', 'reminders'])[i %% 16 + 1] AS category
    FROM generate_series(1, %(rows)s) AS i
) AS t
"""
# the counters the people projection keeps for those rows: unread (`user:`) and all (`mine:`) personal
# ones, the role's broadcasts; each whole and per category
COUNTERS = """
INSERT INTO inbox_counters (key, n)
SELECT key, count(*) FROM (
    SELECT unnest(CASE WHEN is_global THEN ARRAY['global', 'global:' || category]
                  WHEN recipient IS NULL
                  THEN ARRAY['role:' || recipient_role, 'role:' || recipient_role || ':' || category]
                  ELSE ARRAY['user:' || recipient, 'user:' || recipient || ':' || category,
                             'mine:' || recipient, 'mine:' || recipient || ':' || category] END) AS key
    FROM inbox WHERE seq >= 1000000000
) AS counted GROUP BY key
ON CONFLICT (key) DO UPDATE SET n = inbox_counters.n + excluded.n
"""
READS = {
    "list": ({"limit": 20}, "`GET /notifications?limit=20` (the bell)"),
    "tab": ({"limit": 50, "category": "payments"}, "`GET /notifications?limit=50&category=payments` (a tab)"),
    "grouped": (None, "`GET /notifications/grouped` (the tabs' badges)"),
}


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
            pg.execute(ROWS, {"reader": reader, "rows": rows, "broadcasts": args.cleared})
            pg.execute(COUNTERS)
            pg.execute("VACUUM ANALYZE inbox")
        headers = bearer(scenario.consultant)
        if args.cleared:  # every one of them hidden for the reader, as the app's "clear all" does
            scenario.http.delete("/notifications/all", headers=headers, timeout=600).raise_for_status()
            with psycopg.connect(url, autocommit=True) as pg:
                pg.execute("VACUUM ANALYZE inbox_states")
        seen: dict[str, int] = {}

        def read(name: str) -> None:
            params, _ = READS[name]
            path = "/notifications" if params is not None else "/notifications/grouped"
            reply = scenario.http.get(path, params=params, headers=headers)
            assert reply.status_code == 200, reply.text
            data = reply.json()["data"]
            if name == "grouped":
                seen["grouped"] = sum(group["count"] for group in data)
            else:
                seen[name], seen["unread"] = data["pagination"]["total"], data["unreadCount"]

        def health() -> None:
            scenario.http.get(HEALTH.removeprefix("/api/v1")).raise_for_status()

        kinds = {"health": health, **{name: lambda name=name: read(name) for name in READS}}
        result = alternating_p50_ms(kinds, args.requests)
    if args.cleared:
        assert seen == {"list": 0, "unread": 0, "tab": 0, "grouped": 0}, seen
    else:
        assert seen["list"] >= rows and seen["unread"] >= rows and seen["grouped"] >= rows, seen
        assert seen["tab"] >= rows // 5, seen
    print(f"  {factor}x ({rows:,} notifications): {result}, {seen}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notifications", type=int, default=2_500, help="the reader's notifications at 1x")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=60, help="requests of each kind per size")
    parser.add_argument(
        "--cleared",
        action="store_true",
        help="broadcasts only (half to consultants, half global), all hidden by the reader's `DELETE "
        "/notifications/all` before the reads: an inbox just cleared",
    )
    args = parser.parse_args()
    rows = [*((name, label) for name, (_, label) in READS.items()), ("health", "`GET /health`")]
    growth_report(
        "inbox_list.py",
        lambda factor: inbox_of(factor, args),
        args.factors,
        args.notifications,
        "the reader's notifications",
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
