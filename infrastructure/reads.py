"""Hot read-model reads written once, as a plan of statements, and run by a sync or an async driver.

A plan is a generator: it yields `(statement, parameters)` and is sent back the rows of that
statement (a sequence of tuples), and its return value is the answer. The same plan therefore runs

- through SQLAlchemy on one pooled connection (`run_plan`): SQLite, and PostgreSQL off the event loop;
- on PostgreSQL, through psycopg's async connections on the event loop itself, lent by psycopg_pool
  (`AsyncReads`), so a request waits for its reads without a thread-pool hop or the rollback round
  trip SQLAlchemy sends when it returns a connection.

Plans read rows by position only (SQLAlchemy rows and psycopg's tuples both unpack), and datetimes
come back aware in UTC from both drivers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator, Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.dialects.postgresql.psycopg import PGDialect_psycopg
from sqlalchemy.sql.expression import Executable

T = TypeVar("T")
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
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


class AsyncReads:
    """Read-model reads on the event loop, on PostgreSQL, through psycopg_pool's `AsyncConnectionPool`:
    autocommit connections (each statement reads the latest committed state, as under READ COMMITTED;
    no transaction to begin or roll back) with server-side prepared statements, in UTC.

    The pool keeps `size` connections open from start to shutdown (`min_size == max_size`: no growing
    or shrinking under a burst) and lends them with `getconn`/`putconn`: no check on loan, no reset on
    return (an autocommit connection comes back idle); the pool closes and replaces a connection that
    comes back broken or mid-statement (a plan cancelled while psycopg could not cancel its query).
    Plans queue at a semaphore of `size` places, not in the pool: a waiter there is one future, while
    the pool's own queue (a condition, a lock and a `wait_for` task per waiter) cost about 110 Python
    calls more per loan, and 64 concurrent requests queue for a handful of connections all the time
    (docs/BENCHMARKS.md, "psycopg_pool for the event-loop reads"). So the pool itself waits only while
    it replaces a broken connection.

    The connections belong to the event loop that opened them (the server's, in the app's lifespan);
    a request running on any other loop (a test client without lifespan, say) is not served here
    and takes the blocking path instead (`serves_this_loop`)."""

    def __init__(self, conninfo: str, size: int):
        self.conninfo = conninfo
        self.size = size
        self._pool: AsyncConnectionPool[Any] | None = None
        self._places: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lookups: dict[Callable[..., Any], Lookups[Any, Any]] = {}

    async def open(self) -> None:
        """Open the pool's connections and serve the running loop from now on; a no-op while another
        loop is served. Fails (and serves nothing) if the connections cannot be opened in time."""
        if self._pool is not None:
            return
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            self.conninfo,
            min_size=self.size,
            max_size=self.size,
            open=False,
            name=APPLICATION_NAME,
            kwargs={"autocommit": True, "prepare_threshold": 0, "application_name": APPLICATION_NAME},
            configure=_in_utc,
        )
        await pool.open(wait=True)
        self._pool, self._places, self._loop = pool, asyncio.Semaphore(self.size), asyncio.get_running_loop()
        self._lookups = {}

    async def close(self) -> None:
        """Stop serving and close the pool, if the running loop is the one served (connections lent
        out are closed when they come back)."""
        if self._pool is not None and self.serves_this_loop():
            pool, self._pool, self._places, self._loop = self._pool, None, None, None
            await pool.close()

    def serves_this_loop(self) -> bool:
        return self._loop is asyncio.get_running_loop() and self._pool is not None

    async def run(self, plan: Plan[T]) -> T:
        pool, places = self._pool, self._places
        assert pool is not None and places is not None
        async with places:
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

    def lookups(self, many: Callable[[list[K]], Plan[Mapping[K, V]]]) -> Lookups[K, V]:
        """The coalesced lookups of the served loop made by the plan `many` (see `Lookups`)."""
        found = self._lookups.get(many)
        if found is None:
            found = self._lookups[many] = Lookups(self, many)
        return found


class Lookups(Generic[K, V]):
    """Lookups of one kind by key on the served event loop, coalesced: at most one query runs at a
    time, and the keys asked while it runs are read together by the next one (`many(keys)` answers
    a mapping; a key it lacks reads as None). Under a burst (200 requests authenticating at once)
    a handful of queries replace one per request; alone, a lookup runs at once.

    Each lookup is answered by a query that starts after it was asked, so it sees every change
    committed before the request asked, as its own query would (the principal's status check
    relies on this: a blocked account is refused at once)."""

    def __init__(self, reads: AsyncReads, many: Callable[[list[K]], Plan[Mapping[K, V]]]):
        self.reads = reads
        self.many = many
        self._asked: dict[K, list[asyncio.Future[V | None]]] = {}
        self._draining: asyncio.Task[None] | None = None

    async def get(self, key: K) -> V | None:
        answer: asyncio.Future[V | None] = asyncio.get_running_loop().create_future()
        self._asked.setdefault(key, []).append(answer)
        if self._draining is None:
            self._draining = asyncio.ensure_future(self._drain())
        return await answer

    async def _drain(self) -> None:
        try:
            while self._asked:
                batch, self._asked = self._asked, {}
                try:
                    found = await self.reads.run(self.many(list(batch)))
                except Exception as error:  # each lookup of this query fails as its own query would have
                    for answers in batch.values():
                        for answer in answers:
                            if not answer.done():
                                answer.set_exception(error)
                    continue
                for key, answers in batch.items():
                    for answer in answers:
                        if not answer.done():  # a request that gave up (disconnected) is skipped
                            answer.set_result(found.get(key))
        finally:
            self._draining = None


async def _in_utc(conn: Any) -> None:
    """Once per new connection: timestamps come back aware in UTC, as from the blocking driver."""
    await conn.execute("SET TIME ZONE 'UTC'")
