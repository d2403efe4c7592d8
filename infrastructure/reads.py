"""Hot read-model reads written once, as a plan of statements, and run by a sync or an async driver.

A plan is a generator: it yields `(statement, parameters)` and is sent back the rows of that
statement (a sequence of tuples), and its return value is the answer. The same plan therefore runs

- through SQLAlchemy on one pooled connection (`run_plan`): SQLite, and PostgreSQL off the event loop;
- on PostgreSQL, through psycopg's async connections on the event loop itself (`AsyncReads`, lent
  by psycopg_pool's `AsyncConnectionPool`), so a request waits for its reads without a thread-pool
  hop, a SQLAlchemy pool checkout, or the rollback round trip SQLAlchemy sends when it returns a
  connection (autocommit: nothing to roll back).

Plans read rows by position only (SQLAlchemy rows and psycopg's tuples both unpack), and datetimes
come back aware in UTC from both drivers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.sql.expression import Executable

T = TypeVar("T")
Plan = Generator[tuple[Executable, Mapping[str, Any]], Sequence[Sequence[Any]], T]


def run_plan(engine: sa.Engine, plan: Plan[T]) -> T:
    """Run a plan on one connection of `engine` (blocking)."""
    with engine.connect() as conn:
        rows: Any = None  # a generator's first send must be None
        try:
            while True:
                statement, parameters = plan.send(rows)
                rows = conn.execute(statement, parameters).all()
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


_DIALECT = PGDialect_psycopg()
APPLICATION_NAME = "consult read models (event loop)"  # in pg_stat_activity
_SQL: dict[Executable, tuple[str, dict[str, Any]]] = {}


def postgres_sql(statement: Executable) -> tuple[str, dict[str, Any]]:
    """The psycopg SQL text of a Core statement and its fixed parameters (literals in the statement),
    compiled once: the plans' statements are module constants."""
    found = _SQL.get(statement)
    if found is None:
        compiled = statement.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
        found = _SQL[statement] = (str(compiled), dict(compiled.params))
    return found


async def _configure(conn: Any) -> None:
    await conn.execute("SET TIME ZONE 'UTC'")


def loop_pool(conninfo: str, size: int, wait_timeout: float = 30.0) -> AsyncConnectionPool:
    """psycopg_pool's pool of `size` async connections (made closed: `open` it on the loop it serves):
    autocommit, server-side prepared statements from the first use, UTC. A connection given back
    inside a transaction is rolled back, one given back broken or mid-statement (a plan cancelled)
    is discarded and replaced by the pool."""
    return AsyncConnectionPool(
        conninfo,
        min_size=size,
        max_size=size,
        timeout=wait_timeout,
        kwargs={"autocommit": True, "prepare_threshold": 0, "application_name": APPLICATION_NAME},
        configure=_configure,
        open=False,
        name="read models",
    )


class AsyncReads:
    """Read-model reads on the event loop, on PostgreSQL, through psycopg_pool's `AsyncConnectionPool`: autocommit
    connections (each statement reads the latest committed state, as under READ COMMITTED; no
    transaction to begin or roll back) with server-side prepared statements.

    The connections belong to the event loop that opened them (the server's, in the app's lifespan);
    a request running on any other loop (a test client without lifespan, say) is not served here
    and takes the blocking path instead (`serves_this_loop`)."""

    def __init__(self, conninfo: str, size: int):
        self.conninfo = conninfo
        self.size = size
        self.pool: AsyncConnectionPool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening: asyncio.Task[None] | None = None

    def open(self) -> None:
        """Serve the running loop from now on; a no-op while another loop is served. The pool opens
        (and starts its connections) in a task of that loop, which the first plan waits for."""
        if self.pool is None:
            self.pool, self._loop = loop_pool(self.conninfo, self.size), asyncio.get_running_loop()
            self._opening = self._loop.create_task(self.pool.open())

    async def close(self) -> None:
        """Stop serving, if the running loop is the one served."""
        if self.pool is not None and self.serves_this_loop():
            pool, opening, self.pool, self._loop, self._opening = self.pool, self._opening, None, None, None
            if opening is not None:
                await opening
            await pool.close()

    def serves_this_loop(self) -> bool:
        return self._loop is asyncio.get_running_loop() and self.pool is not None

    async def run(self, plan: Plan[T]) -> T:
        pool = self.pool
        assert pool is not None
        if self._opening is not None:
            await self._opening
            self._opening = None
        conn = await pool.getconn()
        try:
            rows: Any = None
            try:
                while True:
                    statement, parameters = plan.send(rows)
                    sql, fixed = postgres_sql(statement)
                    cursor = await conn.execute(sql, {**fixed, **parameters})
                    rows = await cursor.fetchall()
            except StopIteration as done:
                return done.value  # type: ignore[no-any-return]
        finally:
            await pool.putconn(conn)
