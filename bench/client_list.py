"""Benchmark: `GET /clients` (`Directory.clients`) as a consultant (its linked clients) and as the admin
(every client, or one status), against the number of client accounts.

For each size (`--clients` x factor): a throwaway PostgreSQL store migrated to 0019, client accounts
written by SQL as the directory projection writes them (one in fifty `Blocked`, the rest `Active`), about as
many Active links spread over `--consultants` consultants besides a consultant with `--own` clients and one
with none, then migrated to head (0020 counts the accounts into `account_counters`). Then, in this process
on the service's read engine, ABAB rounds of

- `SELECT 1` (the floor: a round trip through the same engine);
- the first page (10) with its total: of each of the two consultants' clients; of every client, and of the
  `Blocked` ones, as the admin asks for them;
- the same through the statements used before (for a consultant, the links as a sub-select of the
  accounts' query: the planner walked every client account newest first, testing each for a link; for the
  admin, a count of the accounts, and a walk of them all in order for one status).

    .venv/bin/python bench/client_list.py [--clients 12500 --factors 1 4 16 --requests 40]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from alembic import command  # noqa: E402

from bench.common import alternating_p50_ms, bench_store, growth_report  # noqa: E402

ACCOUNTS = """
INSERT INTO accounts (id, kind, role, email, status, created_at, seq, document)
SELECT lpad(to_hex(i), 24, '0'), 'client', 'Client', 'client' || i || '@bench.example.com',
       CASE WHEN i %% 50 = 0 THEN 'Blocked' ELSE 'Active' END, '2026-01-01',
       i, json_build_object('_id', lpad(to_hex(i), 24, '0'), 'fullName', 'Client ' || i)::text
FROM generate_series(1, %(clients)s) AS i
"""
# links of the other consultants (a client per link, spread by a step prime to the number of clients), then
# the measured consultant's own
LINKS = """
INSERT INTO links (id, client_id, consultant_id, status, notes, linked_at, created_at, updated_at)
SELECT lpad(to_hex(900000000 + i), 24, '0'), lpad(to_hex(1 + (i * 7919) %% %(clients)s), 24, '0'),
       CASE WHEN i <= %(own)s THEN %(consultant)s ELSE lpad(to_hex(800000000 + i %% %(consultants)s), 24, '0') END,
       'Active', '', now(), now(), now()
FROM generate_series(1, %(links)s) AS i
"""
OWN = "b" * 24
NONE = "c" * 24


def clients_of(factor: int, args: argparse.Namespace) -> dict[str, float]:
    from infrastructure.database import create_read_engine
    from infrastructure.directory import Directory
    from infrastructure.migrations import alembic_config
    from infrastructure.people_tables import links
    from infrastructure.tables import accounts

    clients = args.clients * factor
    with contextlib.ExitStack() as stack:
        _, settings = stack.enter_context(bench_store("postgres", prefix="consult-bench-clients-"))
        assert settings.database_url is not None
        config = alembic_config(settings.sqlalchemy_url)
        command.upgrade(config, "0019")
        started = time.perf_counter()
        with psycopg.connect(settings.database_url, autocommit=True) as pg:
            pg.execute(ACCOUNTS, {"clients": clients})
            every = {"clients": clients, "consultants": args.consultants, "own": args.own, "consultant": OWN}
            pg.execute(LINKS, {**every, "links": clients - 1})  # fewer than the clients: no pair twice
            pg.execute("VACUUM ANALYZE")
        command.upgrade(config, "head")  # 0020 counts the accounts
        print(f"  {clients:,} clients and their links written in {time.perf_counter() - started:.0f} s", flush=True)
        engine = create_read_engine(settings)
        stack.callback(engine.dispose)
        directory = Directory(engine)

        def before(consultant: str | None, status: str | None = None) -> tuple[list[str], int]:
            """The route's two statements as they were: the total, and the page of documents."""
            where = [accounts.c.kind == "client"]
            if consultant is not None:
                linked = sa.select(links.c.client_id).where(
                    links.c.consultant_id == consultant, links.c.status == "Active"
                )
                where.append(accounts.c.id.in_(linked))
            if status is not None:
                where.append(accounts.c.status == status)
            page = sa.select(accounts.c.document).where(*where).order_by(accounts.c.seq.desc()).limit(10)
            with engine.connect() as conn:
                total = conn.execute(sa.select(sa.func.count()).select_from(accounts).where(*where)).scalar_one()
                return [json.loads(doc)["_id"] for doc in conn.execute(page).scalars()], int(total)

        def now(consultant: str | None, status: str | None = None) -> tuple[list[str], int]:
            found, total = directory.clients(None, status, consultant, 1, 10)
            return [doc["_id"] for doc in found], total

        for consultant, own in ((OWN, args.own), (NONE, 0), (None, clients), (None, clients // 50)):
            status = "Blocked" if own == clients // 50 else None
            assert now(consultant, status) == before(consultant, status), consultant
            assert now(consultant, status)[1] == own, (consultant, status)

        def floor() -> None:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1")).all()

        kinds: dict[str, Callable[[], Any]] = {
            "health": floor,
            "own": lambda: now(OWN),
            "own_before": lambda: before(OWN),
            "none": lambda: now(NONE),
            "none_before": lambda: before(NONE),
            "all": lambda: now(None),
            "all_before": lambda: before(None),
            "blocked": lambda: now(None, "Blocked"),
            "blocked_before": lambda: before(None, "Blocked"),
        }
        result = alternating_p50_ms(kinds, args.requests)
    print(f"  {factor}x ({clients:,} clients): {result}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=12_500, help="client accounts at 1x")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--consultants", type=int, default=500, help="the other consultants")
    parser.add_argument("--own", type=int, default=30, help="clients of the measured consultant")
    parser.add_argument("--requests", type=int, default=40, help="calls of each kind per size")
    args = parser.parse_args()
    rows = [
        ("own", "a consultant's first page of its 30 clients"),
        ("own_before", "the same, the statements before"),
        ("none", "a consultant with no client"),
        ("none_before", "the same, the statements before"),
        ("all", "the admin's first page of every client"),
        ("all_before", "the same, the statements before"),
        ("blocked", "the admin's first page of the Blocked clients (1 in 50)"),
        ("blocked_before", "the same, the statements before (with the new index)"),
        ("health", "`SELECT 1` on the same engine"),
    ]
    growth_report(
        "client_list.py",
        lambda factor: clients_of(factor, args),
        args.factors,
        args.clients,
        "client accounts",
        rows,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
