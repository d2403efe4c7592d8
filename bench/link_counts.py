"""Benchmark: the consultant lists' `clientsCount` (`Directory.clients_counts`) against the number of links.

Every consultant list (`GET /consultants/public`, the one every visitor opens; `GET /consultants`, the
active ones, a consultant's profile) and the catalogue's client counts need each listed consultant's
Active links. For each size (`--links` x factor): a throwaway PostgreSQL store migrated to 0017, `links`
rows written by SQL as the people projection writes them (three in four Active, between `--consultants`
consultants and as many clients as links), then migrated to head (0018 fills `link_counters` from them).
Then, in this process on the service's read engine, ABAB rounds of

- `SELECT 1` (the floor: a round trip through the same engine);
- `clients_counts` of the `--listed` first consultants, as the lists ask for it (the counters);
- the same answer counted from the links, as the lists computed it before migration 0018 (the reference).

    .venv/bin/python bench/link_counts.py [--links 20000 --factors 1 4 16 --requests 60]
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from alembic import command  # noqa: E402

from bench.common import alternating_p50_ms, bench_store, growth_report  # noqa: E402

ROWS = """
INSERT INTO links (id, client_id, consultant_id, status, notes, linked_at, created_at, updated_at)
SELECT lpad(to_hex(i), 24, '0'), lpad(to_hex(16777216 + i), 24, '0'),
       lpad(to_hex(33554432 + i %% %(consultants)s), 24, '0'),
       CASE WHEN i %% 4 = 0 THEN 'Inactive' ELSE 'Active' END, '', now(), now(), now()
FROM generate_series(1, %(links)s) AS i
"""


def counts_of(factor: int, args: argparse.Namespace) -> dict[str, float]:
    from infrastructure.database import create_read_engine
    from infrastructure.directory import Directory
    from infrastructure.migrations import alembic_config
    from infrastructure.people_tables import links

    rows = args.links * factor
    with contextlib.ExitStack() as stack:
        _, settings = stack.enter_context(bench_store("postgres", prefix="consult-bench-links-"))
        assert settings.database_url is not None
        config = alembic_config(settings.sqlalchemy_url)
        command.upgrade(config, "0017")
        started = time.perf_counter()
        with psycopg.connect(settings.database_url, autocommit=True) as pg:
            pg.execute(ROWS, {"links": rows, "consultants": args.consultants})
            pg.execute("VACUUM ANALYZE links")
        command.upgrade(config, "head")  # 0018 counts the links into the counters
        print(f"  {rows:,} links written and migrated in {time.perf_counter() - started:.0f} s", flush=True)
        engine = create_read_engine(settings)
        stack.callback(engine.dispose)
        directory = Directory(engine)
        listed = [f"{33554432 + n:024x}" for n in range(args.listed)]
        counted = (
            sa.select(links.c.consultant_id, sa.func.count())
            .where(links.c.status == "Active", links.c.consultant_id.in_(listed))
            .group_by(links.c.consultant_id)
        )
        answers: dict[str, dict[str, int]] = {}

        def floor() -> None:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1")).all()

        def kept() -> None:
            answers["kept"] = directory.clients_counts(listed)

        def before() -> None:
            with engine.connect() as conn:
                answers["counted"] = {row[0]: int(row[1]) for row in conn.execute(counted)}

        result = alternating_p50_ms({"health": floor, "kept": kept, "counted": before}, args.requests)
    kept_n = {consultant: n for consultant, n in answers["kept"].items() if n}  # a counter may be at 0
    assert kept_n == answers["counted"] and len(answers["kept"]) == args.listed, "the answers differ"
    print(f"  {factor}x ({rows:,} links): {result}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--links", type=int, default=20_000, help="links at 1x")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--consultants", type=int, default=500)
    parser.add_argument("--listed", type=int, default=450, help="consultants in the list")
    parser.add_argument("--requests", type=int, default=60, help="calls of each kind per size")
    args = parser.parse_args()
    rows = [
        ("kept", "`clients_counts` of 450 consultants (counters)"),
        ("counted", "the same counted from the links (before 0018)"),
        ("health", "`SELECT 1` on the same engine"),
    ]
    growth_report("link_counts.py", lambda factor: counts_of(factor, args), args.factors, args.links, "links", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
