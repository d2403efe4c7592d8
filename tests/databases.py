"""The tests' PostgreSQL databases: made for one test and dropped afterwards (at once, or by
`LaterDrops` beside the next test). With CONSULT_REQUIRE_SERVICES=1 (as in CI) a server that cannot
be reached fails the test instead of skipping it."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ADMIN_DB_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REQUIRE_SERVICES = os.environ.get("CONSULT_REQUIRE_SERVICES") == "1"


def unavailable(what: str, error: Exception) -> None:
    message = f"{what} not reachable: {error}"
    if REQUIRE_SERVICES:
        pytest.fail(message)
    pytest.skip(message)


def postgres_admin() -> Any:
    import psycopg

    return psycopg.connect(ADMIN_DB_URL, autocommit=True, connect_timeout=3)


def create_database(prefix: str, template: str | None = None) -> str:
    """A new database (empty, or a copy of the database `template`); its name."""
    try:
        admin = postgres_admin()
    except Exception as error:  # noqa: BLE001
        unavailable("PostgreSQL", error)
    name = prefix + secrets.token_hex(6)
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    return name


def url_of(name: str) -> str:
    return ADMIN_DB_URL.rsplit("/", 1)[0] + "/" + name


def drop_database(name: str) -> None:
    with postgres_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class LaterDrops:
    """Drops databases in a thread of its own, beside the next test: a drop keeps the server busy
    for a while, and nothing of the next test waits for it (its database has another name)."""

    def __init__(self) -> None:
        self._names: queue.Queue[str | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def __call__(self, name: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="drop-test-databases", daemon=True)
            self._thread.start()
        self._names.put(name)

    def _run(self) -> None:
        while (name := self._names.get()) is not None:
            with contextlib.suppress(Exception):  # a database left behind is no test's failure
                drop_database(name)

    def join(self) -> None:
        if self._thread is not None:
            self._names.put(None)
            self._thread.join()


@contextlib.contextmanager
def postgres_database(
    template: str | None = None, drop: Callable[[str], None] = drop_database, *, cluster: bool = False
) -> Iterator[str]:
    """A fresh Postgres database for one test (empty, or a copy of the database `template`); dropped
    afterwards (by `drop`). `cluster`: the test starts several server processes on it (see
    `one_cluster_at_a_time`)."""
    with one_cluster_at_a_time() if cluster else contextlib.nullcontext():
        name = create_database("consult_test_", template)
        try:
            yield url_of(name)
        finally:
            drop(name)


CLUSTER_LOCK_KEY = 7_264_099  # an advisory lock of the admin database, taken by tests only


@contextlib.contextmanager
def one_cluster_at_a_time() -> Iterator[None]:
    """Hold a lock that every test starting several server processes on one PostgreSQL database
    takes: each such process keeps up to 28 connections, so two of these tests side by side (pytest-xdist
    workers, or two runs at once) could pass the server's default 100, while one of them beside any
    other test stays well under it (55 seen). The lock is PostgreSQL's own, so it is shared by every
    process of every run and goes with a process that dies."""
    try:
        admin = postgres_admin()
    except Exception as error:  # noqa: BLE001
        unavailable("PostgreSQL", error)
    with admin:
        admin.execute("SET lock_timeout = '20min'")  # a holder that hangs fails the waiting test, not the run
        admin.execute("SELECT pg_advisory_lock(%s)", (CLUSTER_LOCK_KEY,))
        yield  # the session's lock ends with the connection


@contextlib.contextmanager
def store_at(directory: Path, kind: str, revision: str) -> Iterator[tuple[Any, Any]]:
    """(alembic config, engine) of a throwaway store migrated to `revision`: a SQLite file in `directory`
    (`kind` "sqlite") or a PostgreSQL database, dropped afterwards (`kind` "postgres")."""
    import sqlalchemy as sa
    from alembic import command

    from infrastructure.migrations import alembic_config

    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{directory / 'store.db'}" if kind == "sqlite" else stack.enter_context(postgres_database())
        config = alembic_config(url)
        command.upgrade(config, revision)
        engine = sa.create_engine(url)
        stack.callback(engine.dispose)
        yield config, engine


def rows_read(conn: Any, statement: Any, relation: str, params: dict[str, Any] | None = None) -> int:
    """PostgreSQL: the rows of table `relation` the plan of `statement` (a SQLAlchemy statement, run with
    `params` over its own bound values) read, returned or filtered out, over all its loops."""
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    bound = compiled.construct_params(params or {})
    (plan,) = conn.exec_driver_sql("EXPLAIN (ANALYZE, FORMAT JSON) " + str(compiled), bound).scalar_one()
    return _read(plan["Plan"], relation)


def _read(node: dict[str, Any], relation: str) -> int:
    """The rows of `relation` a plan node and those below it read, returned or filtered out."""
    own = 0
    if node.get("Relation Name") == relation:
        own = (node["Actual Rows"] + node.get("Rows Removed by Filter", 0)) * node["Actual Loops"]
    return own + sum(_read(child, relation) for child in node.get("Plans", []))


def rows_read_generic(conn: Any, statement: Any, relation: str) -> int:
    """PostgreSQL: as `rows_read`, for the generic plan of `statement` (its parameters unknown to the
    planner), which the server may settle on for a statement a connection has prepared (psycopg prepares
    one run five times) and runs with every later parameter."""
    import psycopg
    from psycopg import sql

    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    bound = compiled.construct_params()
    names: list[str] = []

    def number(match: Any) -> str:
        names.append(match.group(1))
        return f"${len(names)}"

    text = re.sub(r"%\((\w+)\)s", number, str(compiled)).replace("%%", "%")
    raw: psycopg.Connection[Any] = conn.connection.driver_connection
    values = sql.SQL(", ").join(sql.Literal(bound[name]) for name in names)
    raw.execute("SET plan_cache_mode = force_generic_plan")
    raw.execute(sql.SQL("PREPARE generic_probe AS {}").format(sql.SQL(text)))  # type: ignore[arg-type]
    try:
        explain = sql.SQL("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE generic_probe ({})").format(values)
        row = raw.execute(explain).fetchone()
    finally:
        raw.execute("DEALLOCATE generic_probe")
        raw.execute("RESET plan_cache_mode")
    assert row is not None
    return _read(row[0][0]["Plan"], relation)
