"""The accounts' text searches on PostgreSQL read the trigram indexes of migration 0021, not every account of
the kind: the admin's `GET /clients?search=` (name, email or mobile) and the consultant lists' `q` (name),
for a needle few accounts contain, looked at in the plans of the statements `Directory` runs, on 12,500
accounts shaped as bench/account_search.py writes them (on these, guessing a rare name common, the planner
walked every client newest first for the page: `Directory._few_matches`). The migration on SQLite (nothing)
and PostgreSQL and its downgrade; and a store made from the declarations (`metadata.create_all`) has the
indexes of a migrated one."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from infrastructure import (  # noqa: F401  (every read-model table in `metadata`)
    document_tables,
    parking_tables,
    people_tables,
    platform_tables,
    privacy_tables,
)
from infrastructure.directory import Directory
from infrastructure.tables import account_counters, accounts, metadata
from tests.databases import postgres_database, store_at

ROWS = 12_500
FIRST = (
    "Asha Ravi Meera Arjun Kavya Rohan Priya Vikram Neha Karan Anil Divya Suresh Pooja Rahul Sneha Amit Lata".split()
)
FIRST += ["Vijay", "Gita"]  # twenty, as in bench/account_search.py
LAST = ("Sharma", "Patel", "Iyer", "Reddy", "Nair", "Gupta", "Khan", "Kumar", "Menon", "Joshi")
TRIGRAM_INDEXES = {"ix_accounts_name_trgm", "ix_accounts_email_trgm", "ix_accounts_mobile_trgm"}


def rare(n: int) -> bool:
    return n % 9_970 in range(10, 20)


def account(n: int) -> dict[str, Any]:
    """Every 10th a consultant; Quarringtons in ten accounts of every 9,970 (from 10), their emails at
    `zenquist.example`; mobiles `+9198` and eight digits, one of them (n = 1234) `+919855501234`."""
    kind = "consultant" if n % 10 == 0 else "client"
    name = f"{FIRST[n % 20]} {'Quarrington' if rare(n) else LAST[n // 20 % len(LAST)]}"
    email = f"{name.replace(' ', '.').lower()}{n}@{'zenquist.example' if rare(n) else 'example.com'}"
    mobile = "+919855501234" if n == 1234 else f"+9198{n * 7919 % 10**8:08d}"
    document = {"_id": f"{n:024x}", "fullName": name, "email": email, "mobile": mobile, "status": "Active"}
    return {
        "id": f"{n:024x}",
        "kind": kind,
        "role": kind.title(),
        "email": email,
        "mobile": mobile,
        "status": "Active",
        "name": name,
        "created_at": "2026-12-04T10:00:00.000Z",
        "seq": n,
        "document": json.dumps(document),
        "public_document": json.dumps({"_id": f"{n:024x}", "fullName": name}),
    }


def fill(engine: sa.Engine, rows: range) -> None:
    with engine.begin() as conn:
        conn.execute(accounts.insert(), [account(n) for n in rows])
        conn.execute(account_counters.delete())  # as the directory projection keeps them
        counted = sa.select(accounts.c.kind, accounts.c.status, sa.func.count()).group_by("kind", "status")
        conn.execute(account_counters.insert().from_select(["kind", "status", "n"], counted))
    if engine.dialect.name == "postgresql":
        # as autovacuum leaves the table: statistics, and the GIN indexes' pending entries merged (the
        # planner prices a scan of a long pending list above a scan of these few thousand accounts)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE accounts")


@contextlib.contextmanager
def statements_of(engine: sa.Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements (with their parameters) run on `engine` inside the block."""
    ran: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        ran.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield ran
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def accounts_read(conn: sa.Connection, statement: str, parameters: Any) -> tuple[int, set[str]]:
    """PostgreSQL: the rows of `accounts` the plan of `statement` read (returned, filtered out, or dropped
    by the recheck of a bitmap), and the indexes it used."""
    (plan,) = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + statement, parameters).scalar_one()
    read, indexes = 0, set()

    def walk(node: dict[str, Any]) -> None:
        nonlocal read
        if node.get("Relation Name") == "accounts":
            dropped = node.get("Rows Removed by Filter", 0) + node.get("Rows Removed by Index Recheck", 0)
            read += (node["Actual Rows"] + dropped) * node["Actual Loops"]
        if "Index Name" in node:
            indexes.add(node["Index Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan["Plan"])
    return read, indexes


def searches(directory: Directory) -> dict[str, tuple[Any, list[str]]]:
    """Per search: a call of the directory and the ids it must answer (newest first)."""
    quarringtons = [f"{n:024x}" for n in range(ROWS, 0, -1) if rare(n)]
    clients = [i for i in quarringtons if int(i, 16) % 10]
    consultants = [i for i in quarringtons if int(i, 16) % 10 == 0]
    return {
        "the admin's clients, a name": (lambda: directory.clients("QUARRING", None, None, 1, 10), clients[:10]),
        "the admin's clients, an email": (lambda: directory.clients("ZenQuist", None, None, 2, 10), clients[10:]),
        "the admin's clients, a mobile": (lambda: directory.clients("9855501234", None, None, 1, 10), [f"{1234:024x}"]),
        "the consultants' q": (lambda: directory.consultants(None, None, "quarrington"), consultants),
        "the public consultants' q": (lambda: directory.public_consultants_json(None, "Quarr"), consultants),
    }


def ids_of(answer: Any) -> list[str]:
    documents = answer[0] if isinstance(answer, tuple) else answer
    return [json.loads(doc)["_id"] if isinstance(doc, str) else doc["_id"] for doc in documents]


@pytest.mark.postgres
def test_a_search_for_a_rare_needle_reads_the_trigram_indexes(tmp_path: Path) -> None:
    with store_at(tmp_path, "postgres", "head") as (_, engine):
        fill(engine, range(1, ROWS + 1))
        directory = Directory(engine)
        for name, (search, expected) in searches(directory).items():
            with statements_of(engine) as ran:
                assert ids_of(search()) == expected, name
            searched = [(statement, parameters) for statement, parameters in ran if " LIKE " in statement]
            assert searched, name
            with engine.connect() as conn:
                for statement, parameters in searched:
                    read, indexes = accounts_read(conn, statement, parameters)
                    # the accounts holding the needle's trigrams, not the 12,500 (or the 11,250 clients) of a scan
                    assert read <= 20, (name, read, statement)
                    assert indexes & TRIGRAM_INDEXES, (name, indexes)


def index_names(engine: sa.Engine) -> set[str]:
    return {str(index["name"]) for index in sa.inspect(engine).get_indexes("accounts")}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0021_indexes_the_searches_on_postgresql_only(tmp_path: Path, kind: str) -> None:
    with store_at(tmp_path, kind, "0020") as (config, engine):
        fill(engine, range(100))
        before = index_names(engine)
        directory = Directory(engine)
        quarrington = [f"{n:024x}" for n in range(19, 10, -1)]  # the clients of 10 to 19
        assert ids_of(directory.clients("Quarrington", None, None, 1, 10)) == quarrington
        command.upgrade(config, "0021")
        assert index_names(engine) - before == (TRIGRAM_INDEXES if kind == "postgres" else set())
        assert directory.clients("Quarrington", None, None, 1, 10)[1] == 9
        assert ids_of(directory.clients("Quarrington", None, None, 1, 10)) == quarrington
        command.downgrade(config, "0020")
        assert index_names(engine) == before


def indexes_of(engine: sa.Engine) -> dict[str, str]:
    """Every index of the store by name: its definition (PostgreSQL) or table, columns and uniqueness."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            rows = conn.exec_driver_sql("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
            return {name: definition for name, definition in rows if name != "alembic_version_pkc"}
        inspector = sa.inspect(conn)
        return {
            str(index["name"]): f"{table} {index['column_names']} {index['unique']}"
            for table in inspector.get_table_names()
            for index in inspector.get_indexes(table)
        }


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_store_made_from_the_declarations_has_the_migrated_indexes(tmp_path: Path, kind: str) -> None:
    with contextlib.ExitStack() as stack:
        _, migrated = stack.enter_context(store_at(tmp_path, kind, "head"))
        url = f"sqlite:///{tmp_path / 'declared.db'}" if kind == "sqlite" else stack.enter_context(postgres_database())
        declared = sa.create_engine(url)
        stack.callback(declared.dispose)
        metadata.create_all(declared)  # on PostgreSQL with the extension the trigram indexes need
        assert indexes_of(declared) == indexes_of(migrated)
        if kind == "postgres":
            assert TRIGRAM_INDEXES <= set(indexes_of(declared))
