"""Benchmark: the `sessions` of a consultant's client list (`GET /client-consultants/consultant/:id/clients`,
the Consultant app's client table and client pickers) against the consultant's appointment history.

For each size (`--appointments` x factor): a throwaway PostgreSQL store migrated to 0018, the consultant's
appointments written by SQL as the appointments projection writes them (over `--clients` clients, an hour
apart, three in five Completed), then migrated to head (0019 counts `client_sessions` from them). Then, in
this process on the service's read engine, ABAB rounds of

- `SELECT 1` (the floor: a round trip through the same engine);
- `LinkQueries.sessions` of the consultant, as the route asks for it (the kept rows);
- the same answer counted from the appointments, as the route computed it before migration 0019.

    .venv/bin/python bench/client_sessions.py [--appointments 2000 --factors 1 4 16 --requests 60]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from alembic import command  # noqa: E402

from bench.common import alternating_p50_ms, bench_store, growth_report  # noqa: E402

CONSULTANT = "a" * 24
ROWS = """
INSERT INTO appointments (id, consultant_id, client_id, status, start_at, end_at, search_text, document)
SELECT lpad(to_hex(i), 24, '0'), %(consultant)s, lpad(to_hex(16777216 + i %% %(clients)s), 24, '0'),
       (ARRAY['Completed', 'Upcoming', 'Completed', 'Cancelled', 'Completed'])[1 + i %% 5],
       timestamptz '2020-01-01' + make_interval(hours => i),
       timestamptz '2020-01-01' + make_interval(hours => i) + interval '45 minutes', '',
       json_build_object('_id', lpad(to_hex(i), 24, '0'), 'reason', repeat('x', 400))::text
FROM generate_series(1, %(rows)s) AS i
"""


def sessions_of(factor: int, args: argparse.Namespace) -> dict[str, float]:
    from infrastructure.database import create_read_engine
    from infrastructure.link_queries import LinkQueries
    from infrastructure.migrations import alembic_config
    from infrastructure.tables import appointments

    rows = args.appointments * factor
    with contextlib.ExitStack() as stack:
        _, settings = stack.enter_context(bench_store("postgres", prefix="consult-bench-sessions-"))
        assert settings.database_url is not None
        config = alembic_config(settings.sqlalchemy_url)
        command.upgrade(config, "0018")
        started = time.perf_counter()
        with psycopg.connect(settings.database_url, autocommit=True) as pg:
            pg.execute(ROWS, {"rows": rows, "clients": args.clients, "consultant": CONSULTANT})
            pg.execute("VACUUM ANALYZE appointments")
        command.upgrade(config, "head")  # 0019 counts the sessions
        print(f"  {rows:,} appointments written and migrated in {time.perf_counter() - started:.0f} s", flush=True)
        engine = create_read_engine(settings)
        stack.callback(engine.dispose)
        queries = LinkQueries(engine, ZoneInfo(settings.business_timezone))
        counted = (
            sa.select(appointments.c.client_id, sa.func.count(), sa.func.max(appointments.c.start_at))
            .where(appointments.c.consultant_id == CONSULTANT, appointments.c.status == "Completed")
            .group_by(appointments.c.client_id)
        )
        answers: dict[str, dict[str, tuple[int, object]]] = {}

        def floor() -> None:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1")).all()

        def kept() -> None:
            answers["kept"] = dict(queries.sessions(CONSULTANT))

        def before() -> None:
            with engine.connect() as conn:
                answers["counted"] = {row[0]: (int(row[1]), row[2]) for row in conn.execute(counted)}

        result = alternating_p50_ms({"health": floor, "kept": kept, "counted": before}, args.requests)
    assert answers["kept"] == answers["counted"] and answers["kept"], "the answers differ"
    print(f"  {factor}x ({rows:,} appointments): {result}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appointments", type=int, default=2_000, help="the consultant's appointments at 1x")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--clients", type=int, default=307, help="prime to 5: each has Completed ones")
    parser.add_argument("--requests", type=int, default=60, help="calls of each kind per size")
    args = parser.parse_args()
    rows = [
        ("kept", "`sessions` of its 307 clients (kept rows)"),
        ("counted", "the same counted from its appointments (before 0019)"),
        ("health", "`SELECT 1` on the same engine"),
    ]
    growth_report(
        "client_sessions.py",
        lambda factor: sessions_of(factor, args),
        args.factors,
        args.appointments,
        "the consultant's appointments",
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
