"""Hot read-model reads written once, as a plan of statements, and run by a sync or an async driver.

A plan is a generator: it yields `(statement, parameters)` and is sent back the rows of that
statement (a sequence of tuples), and its return value is the answer. The same plan therefore runs

- through SQLAlchemy on one pooled connection (`run_plan`): SQLite, and PostgreSQL off the event loop;
- on PostgreSQL, through psycopg's async connections on the event loop itself (`AsyncReads`), so a
  request waits for its reads without a thread-pool hop, a SQLAlchemy pool checkout, or the
  rollback round trip SQLAlchemy sends when it returns a connection.

Plans read rows by position only (SQLAlchemy rows and psycopg's tuples both unpack), and datetimes
come back aware in UTC from both drivers.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Generator, Hashable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from psycopg.pq import TransactionStatus
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
IDLE = TransactionStatus.IDLE
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


class LoopConnections:
    """At most `size` psycopg async connections of one event loop, each lent to one plan at a time.

    Lending is a list pop, waiting a bare future (psycopg_pool's `AsyncConnectionPool` costs about
    25 us more per loan here, and more when it must queue a waiter). A connection comes back only
    if it is idle outside a transaction; anything else (a broken connection, a statement cut short
    by cancellation) is closed, and its place passes to the oldest waiter, which opens a new one.
    """

    def __init__(self, conninfo: str, size: int, wait_timeout: float = 30.0):
        self.conninfo = conninfo
        self.size = size
        self.wait_timeout = wait_timeout
        self._idle: list[Any] = []
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self._count = 0  # connections open, being opened, or promised to a waiter
        self._closed = False

    async def _connect(self) -> Any:
        import psycopg

        conn = await psycopg.AsyncConnection.connect(
            self.conninfo, autocommit=True, prepare_threshold=0, application_name=APPLICATION_NAME
        )
        await conn.execute("SET TIME ZONE 'UTC'")
        return conn

    async def borrow(self) -> Any:
        if self._closed:
            raise RuntimeError("read-model connections closed")
        if self._idle:
            return self._idle.pop()
        if self._count < self.size:
            self._count += 1
        else:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout(self.wait_timeout):
                    conn = await waiter
            except BaseException:
                if waiter.done() and not waiter.cancelled():  # handed over all the same: pass it on
                    self._hand_over(waiter.result())
                waiter.cancel()
                raise
            if conn is not None:
                return conn
        try:  # a place of our own (None from a waiter's future means the same)
            return await self._connect()
        except BaseException:
            self._hand_over(None)
            raise

    async def give_back(self, conn: Any) -> None:
        if self._closed or conn.pgconn.transaction_status != IDLE:
            await conn.close()
            conn = None
        self._hand_over(conn)

    def _hand_over(self, conn: Any) -> None:
        """A connection (or, None, the place of one that is gone) to the oldest waiter, else kept."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return
        if conn is None:
            self._count -= 1
        else:
            self._idle.append(conn)

    async def close(self) -> None:
        """Close the idle connections; the ones lent out are closed when they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        self._count -= len(idle)
        for conn in idle:
            await conn.close()


class AsyncReads:
    """Read-model reads on the event loop, on PostgreSQL, through `LoopConnections`: autocommit
    connections (each statement reads the latest committed state, as under READ COMMITTED; no
    transaction to begin or roll back) with server-side prepared statements.

    The connections belong to the event loop that opened them (the server's, in the app's lifespan);
    a request running on any other loop (a test client without lifespan, say) is not served here
    and takes the blocking path instead (`serves_this_loop`)."""

    def __init__(self, conninfo: str, size: int):
        self.conninfo = conninfo
        self.size = size
        self._connections: LoopConnections | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lookups: dict[Callable[..., Any], Lookups[Any, Any]] = {}

    def open(self) -> None:
        """Serve the running loop from now on; a no-op while another loop is served."""
        if self._connections is None:
            self._connections, self._loop = LoopConnections(self.conninfo, self.size), asyncio.get_running_loop()
            self._lookups = {}

    async def close(self) -> None:
        """Stop serving, if the running loop is the one served."""
        if self._connections is not None and self.serves_this_loop():
            connections, self._connections, self._loop = self._connections, None, None
            await connections.close()

    def serves_this_loop(self) -> bool:
        return self._loop is asyncio.get_running_loop() and self._connections is not None

    async def run(self, plan: Plan[T]) -> T:
        connections = self._connections
        assert connections is not None
        conn = await connections.borrow()
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
            await connections.give_back(conn)

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
