"""Benchmark: the accounts' text searches (the admin's `GET /clients?search=`: name, email or mobile; the
public consultant list's `q`: name) with and without the trigram indexes of migration 0021, against the
number of accounts; and what the indexes cost an account's writes.

For each size (`--accounts` x factor): a throwaway PostgreSQL store migrated to 0019, accounts written by SQL
as the directory projection writes them (one in ten a consultant; names from 20 first and 10 last names, one
in ten a Kumar, and about one in a thousand a Quarrington; the email made of the name and number, a mobile
of eight digits), migrated to 0020 (which counts them) and vacuumed; then a copy of that database migrated
to head (0021 builds the indexes) and vacuumed too: the two stores differ by the indexes alone. Then, in
this process on the service's read engines, ABAB rounds of

- `SELECT 1` (the floor: a round trip through the same engine);
- the admin's first page (10) of clients with its total, searching a rare needle (`quarrington`: about 0.1%
  of the accounts) and a common one (`kumar`: 10%), and the public consultants with `q`, the same two
  needles; each on the store with the indexes, and on the one without through the statements used before
  (for the clients' page, always newest first: the planner could walk every client in that order);
- an account's writes, each in its own transaction: a signup's insert, and a login's update of the row
  (the directory projection rewrites the columns and the document), with the indexes and without.

    .venv/bin/python bench/account_search.py [--accounts 12500 --factors 1 4 16 --requests 30]
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from alembic import command  # noqa: E402

from bench.common import POSTGRES_ADMIN_URL, alternating_p50_ms, bench_store, growth_report  # noqa: E402

FIRST = (
    "Asha Ravi Meera Arjun Kavya Rohan Priya Vikram Neha Karan Anil Divya Suresh Pooja Rahul Sneha Amit Lata Vijay Gita"
)
LAST = "Sharma Patel Iyer Reddy Nair Gupta Khan Kumar Menon Joshi"
RARE, COMMON = "quarrington", "kumar"
# account i: a consultant when i % 10 = 0; a Quarrington in the ten accounts from 10 of every 9,970
ACCOUNTS = """
INSERT INTO accounts (id, kind, role, email, mobile, status, name, created_at, seq, document, public_document)
SELECT id, kind, initcap(kind), email, mobile, 'Active', name, '2026-01-01', i,
       json_build_object('_id', id, 'fullName', name, 'email', email, 'mobile', mobile, 'status', 'Active')::text,
       CASE WHEN kind = 'consultant' THEN json_build_object('_id', id, 'fullName', name)::text END
FROM (
    SELECT i, id, kind, name, lower(replace(name, ' ', '.')) || i || '@example.com' AS email, mobile
    FROM (
        SELECT i, lpad(to_hex(i), 24, '0') AS id,
               CASE WHEN i %% 10 = 0 THEN 'consultant' ELSE 'client' END AS kind,
               (string_to_array(%(first)s, ' '))[1 + i %% 20] || ' ' ||
               CASE WHEN i %% 9970 BETWEEN 10 AND 19 THEN 'Quarrington'
                    ELSE (string_to_array(%(last)s, ' '))[1 + (i / 20) %% 10] END AS name,
               '+9198' || lpad((i::bigint * 7919 %% 100000000)::text, 8, '0') AS mobile
        FROM generate_series(1, %(accounts)s) AS i
    ) AS named
) AS made
"""


@contextlib.contextmanager
def copy_of(database_url: str) -> Iterator[str]:
    """A copy of the database at `database_url` (no connection may be open on it), dropped afterwards."""
    source = database_url.rsplit("/", 1)[1]
    name = source + "_copy"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    try:
        yield database_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def vacuum(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as pg:
        pg.execute("VACUUM ANALYZE accounts")


def searches_of(factor: int, args: argparse.Namespace) -> dict[str, float]:
    from infrastructure.database import create_read_engine
    from infrastructure.directory import Directory
    from infrastructure.migrations import alembic_config
    from infrastructure.tables import accounts

    size = args.accounts * factor
    with contextlib.ExitStack() as stack:
        _, settings = stack.enter_context(bench_store("postgres", prefix="consult-bench-search-"))
        assert settings.database_url is not None
        config = alembic_config(settings.sqlalchemy_url)
        command.upgrade(config, "0019")
        started = time.perf_counter()
        with psycopg.connect(settings.database_url, autocommit=True) as pg:
            pg.execute(ACCOUNTS, {"accounts": size, "first": FIRST, "last": LAST})
        command.upgrade(config, "0020")  # counts the accounts into `account_counters`
        vacuum(settings.database_url)
        written = time.perf_counter() - started
        indexed_url = stack.enter_context(copy_of(settings.database_url))
        indexed_settings = settings.model_copy(update={"database_url": indexed_url})
        started = time.perf_counter()
        command.upgrade(alembic_config(indexed_settings.sqlalchemy_url), "head")  # 0021 builds the indexes
        built = time.perf_counter() - started
        vacuum(indexed_url)
        print(f"  {size:,} accounts written in {written:.0f} s; migration 0021 took {built:.1f} s", flush=True)
        engines = {}
        for name, store in (("", indexed_settings), ("_before", settings)):
            engines[name] = create_read_engine(store)
            stack.callback(engines[name].dispose)
            writer = sa.create_engine(store.sqlalchemy_url)
            stack.callback(writer.dispose)
            engines["write" + name] = writer

        kinds: dict[str, Callable[[], Any]] = {"health": lambda: floor(engines[""])}
        for suffix in ("", "_before"):
            directory = Directory(engines[suffix])
            for needle in (RARE, COMMON):
                if suffix:
                    kinds[f"clients_{needle}{suffix}"] = lambda e=engines[suffix], n=needle: clients_before(e, n)
                else:
                    kinds[f"clients_{needle}{suffix}"] = lambda d=directory, n=needle: clients(d, n)
                kinds[f"public_{needle}{suffix}"] = lambda d=directory, n=needle: d.public_consultants_json(None, n)
        for needle in (RARE, COMMON):  # the same answers from both stores
            for kind in ("clients", "public"):
                assert kinds[f"{kind}_{needle}"]() == kinds[f"{kind}_{needle}_before"](), (kind, needle)
        rare_clients = kinds[f"clients_{RARE}"]()[1]
        print(f"  matches: {rare_clients} clients for {RARE!r}, {kinds[f'clients_{COMMON}']()[1]} for {COMMON!r}")
        new_ids = itertools.count(10**9)
        existing = itertools.cycle(range(1, size, 7))
        for suffix in ("", "_before"):
            writer = engines["write" + suffix]
            kinds["signup" + suffix] = lambda w=writer: signup(w, accounts, next(new_ids))
            kinds["login" + suffix] = lambda w=writer: login(w, accounts, next(existing))
        result = alternating_p50_ms(kinds, args.requests)
    print(f"  {factor}x ({size:,} accounts): {result}", flush=True)
    return result


def floor(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1")).all()


def clients(directory: Any, needle: str) -> tuple[list[str], int]:
    found, total = directory.clients(needle, None, None, 1, 10)
    return [doc["_id"] for doc in found], total


def clients_before(engine: sa.Engine, needle: str) -> tuple[list[str], int]:
    """The admin's client search as its two statements were: the count, and the page newest first (which the
    planner may read by a walk of the clients in that order)."""
    from infrastructure.directory import contains
    from infrastructure.tables import accounts, folded

    pattern = contains(needle)
    matches = sa.or_(
        *(
            folded(column).like(pattern, escape="\\")
            for column in (accounts.c.name, accounts.c.email, accounts.c.mobile)
        )
    )
    where = [accounts.c.kind == "client", matches]
    page = sa.select(accounts.c.document).where(*where).order_by(accounts.c.seq.desc()).limit(10).offset(0)
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(accounts).where(*where)).scalar_one()
        return [json.loads(doc)["_id"] for doc in conn.execute(page).scalars()], int(total)


def signup(engine: sa.Engine, accounts: sa.Table, n: int) -> None:
    """A client's registration as the directory projection inserts it."""
    account_id = f"{n:024x}"
    name, email, mobile = f"Neha Kumar{n}", f"neha.kumar{n}@example.com", f"+9197{n % 10**8:08d}"
    document = {"_id": account_id, "fullName": name, "email": email, "mobile": mobile, "status": "Active"}
    row = {"id": account_id, "kind": "client", "role": "Client", "email": email, "mobile": mobile}
    row |= {"status": "Active", "name": name, "created_at": "2026-01-01", "seq": n, "document": json.dumps(document)}
    with engine.begin() as conn:
        conn.execute(accounts.insert(), row)


def login(engine: sa.Engine, accounts: sa.Table, n: int) -> None:
    """A login as the directory projection writes it: the row's columns again, the document with `lastLogin`."""
    account_id = f"{n:024x}"
    with engine.begin() as conn:
        row = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).one()
        document = {**json.loads(row.document), "lastLogin": time.time()}
        columns = {key: getattr(row, key) for key in ("role", "email", "phone", "mobile", "status", "name")}
        conn.execute(
            accounts.update().where(accounts.c.id == account_id).values(**columns, document=json.dumps(document))
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=12_500, help="accounts at 1x (one in ten a consultant)")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=30, help="calls of each kind per size")
    args = parser.parse_args()
    rows = []
    for needle, share in ((RARE, "about 0.1%"), (COMMON, "10%")):
        rows += [
            (f"clients_{needle}", f"the admin's clients, first page and total, `search={needle}` ({share})"),
            (f"clients_{needle}_before", "the same without the trigram indexes"),
            (f"public_{needle}", f"the public consultants, `q={needle}` ({share})"),
            (f"public_{needle}_before", "the same without the trigram indexes"),
        ]
    rows += [
        ("signup", "a signup's insert of an account (its own transaction)"),
        ("signup_before", "the same without the trigram indexes"),
        ("login", "a login's update of an account's row (its own transaction)"),
        ("login_before", "the same without the trigram indexes"),
        ("health", "`SELECT 1` on the same engine"),
    ]
    growth_report(
        "account_search.py", lambda factor: searches_of(factor, args), args.factors, args.accounts, "accounts", rows
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
