"""A projection runner's tracking row: its committed position and the claim that advances it.

The claim is a compare-and-set inside the batch's transaction that locks the row until the commit,
so two workers never both apply a batch. On PostgreSQL a batch sends the statements it queued (new
rows, updates, deletes: `Batch.write`) and COMMIT in one pipeline, one round trip, together with its
claim when nothing of the batch read the database before.

That COMMIT does not wait for the WAL to reach the disk (`synchronous_commit` off for the batch's
transaction only): a read model is derived from the events, which are committed durably before any
batch applies them. The commit is visible to every session at once, as any commit (read-your-writes
holds), and still atomic: a crash can only lose the last such batches whole, rows and tracking
position together (PostgreSQL replays its log in order), and the runner then applies their events
again from the durable log (exactly once, as after any rolled-back batch). What a command waits for
is one disk flush fewer (a flush costs more than the round trip here)."""

from __future__ import annotations

import contextlib
from typing import Any

import psycopg
import sqlalchemy as sa

from infrastructure.projector import Batch, Prefetch
from infrastructure.tables import projection_tracking

# Advances the tracking row from `start` to `end`, or fails (division by zero) when the row is not at
# `start`, which aborts its transaction: the claim of a batch sent together with its inserts and COMMIT.
CLAIM_OR_FAIL = (
    "WITH claimed AS (UPDATE projection_tracking SET position = %(end)s "
    "WHERE name = %(name)s AND position = %(start)s RETURNING 1) "
    "SELECT 1 / count(*) FROM claimed"
)


class Moved(Exception):
    """Another worker moved the tracking position since this runner last saw it: the batch is rolled back."""

    def __init__(self, position: int):
        super().__init__(position)
        self.position = position


def _processed(row: dict[str, Any], processors: dict[str, Any]) -> dict[str, Any]:
    if not processors:
        return row
    return {k: processors[k](v) if k in processors else v for k, v in row.items()}


class Tracking:
    def __init__(self, name: str, engine: sa.Engine):
        self.name = name
        self.engine = engine
        self._select_position = sa.select(projection_tracking.c.position).where(projection_tracking.c.name == name)
        self._claim_statement = (
            projection_tracking.update()
            .where(projection_tracking.c.name == name, projection_tracking.c.position == sa.bindparam("b_start"))
            .values(position=sa.bindparam("b_end"))
        )
        self._statements: dict[Any, tuple[str, dict[str, Any], dict[str, Any]]] = {}
        self._selects: dict[Any, str] = {}

    def ensure_row(self) -> None:
        """Create the tracking row unless it exists (processes starting together agree)."""
        with self.engine.begin() as conn:
            if conn.execute(self._select_position).first() is not None:
                return
            try:
                with conn.begin_nested():
                    conn.execute(projection_tracking.insert().values(name=self.name, position=0))
            except sa.exc.IntegrityError:
                pass  # another process created it first

    def committed_position(self, conn: sa.Connection | None = None) -> int:
        if conn is not None:
            return int(conn.execute(self._select_position).scalar() or 0)
        with self.engine.connect() as own:
            return int(own.execute(self._select_position).scalar() or 0)

    def rewind(self, conn: sa.Connection) -> None:
        """Back to the start of the log (for a rebuild, in its transaction)."""
        conn.execute(projection_tracking.update().where(projection_tracking.c.name == self.name).values(position=0))

    def claim(self, conn: sa.Connection, start: int, end: int) -> None:
        """Advance the tracking row from `start` to `end` in this transaction, which locks it until
        the commit; raise `Moved` when another worker moved it."""
        if conn.execute(self._claim_statement, {"b_start": start, "b_end": end}).rowcount != 1:
            raise Moved(self.committed_position(conn))

    def claim_and_prefetch(self, conn: sa.Connection, batch: Batch, reads: list[Prefetch]) -> None:
        """PostgreSQL: claim the batch and read the documents its projectors will change in one
        round trip (BEGIN, the claim and the reads pipelined), before any event is applied."""
        claims_and_prefetch(conn, [(self, batch)], [(batch, read) for read in reads])

    def _select_sql(self, conn: sa.Connection, statement: Any) -> str:
        found = self._selects.get(statement)
        if found is None:
            found = self._selects[statement] = str(statement.compile(dialect=conn.dialect))
        return found

    def claim_insert_commit(self, conn: sa.Connection, batch: Batch) -> None:
        """PostgreSQL: the batch's queued statements and COMMIT go out in one pipeline, one round trip;
        when nothing claimed the batch yet (no projector read the database), BEGIN and the claim go out
        first in the same pipeline. A failed claim aborts the transaction before anything of it is
        committed; a failed statement rolls it back and raises, as it would have raised unpipelined."""
        claims_writes_commit(conn, [(self, batch)])

    def _compiled(
        self, conn: sa.Connection, statement: Any, keys: tuple[str, ...]
    ) -> tuple[str, dict[str, Any], dict[str, Any]]:
        """The driver's SQL of `statement` for rows of these columns (and bind parameters), the
        columns' bind processors (what SQLAlchemy would apply to the values), and the values of the
        statement's own literals (`n == 0` binds its 0), sent with every row."""
        found = self._statements.get((statement, keys))
        if found is None:
            columns = statement.table.c
            processors = {key: columns[key].type.bind_processor(conn.dialect) for key in keys if key in columns}
            compiled = statement.compile(dialect=conn.dialect, column_keys=list(keys))
            found = self._statements[(statement, keys)] = (
                str(compiled),
                {k: p for k, p in processors.items() if p},
                {k: v for k, v in compiled.params.items() if k not in keys},
            )
        return found


def claims_and_prefetch(
    conn: sa.Connection, claims: list[tuple[Tracking, Batch]], reads: list[tuple[Batch, Prefetch]]
) -> None:
    """`Tracking.claim_and_prefetch` for the batches of one transaction (`infrastructure/joint_batch.py`):
    BEGIN, every claim (in the order given) and the reads pipelined, one round trip; each read's
    documents go to the batch that asked for them."""
    raw = conn.connection.driver_connection
    assert raw is not None and all(batch.claim is not None for _, batch in claims)
    tracking = claims[0][0]
    statements = [(tracking._select_sql(conn, read.statement), batch, read) for batch, read in reads]
    try:
        with raw.pipeline() as pipeline:
            for own, batch in claims:
                raw.cursor().execute(CLAIM_OR_FAIL, {"name": own.name, "start": batch.start, "end": batch.end})
            cursors = []
            for sql, batch, read in statements:
                cursor = raw.cursor()
                cursor.execute(sql, {"b_ids": read.ids})
                cursors.append((cursor, batch, read))
            pipeline.sync()
            for cursor, batch, read in cursors:
                with cursor:
                    for row in cursor.fetchall():
                        batch.documents[(read.table, row[0])] = read.load(row)
    except psycopg.errors.DivisionByZero:
        raise Moved(tracking.committed_position()) from None  # the transaction rolls back as it leaves
    for _, batch in claims:
        batch.claim = None


def claims_writes_commit(conn: sa.Connection, claims: list[tuple[Tracking, Batch]]) -> None:
    """`Tracking.claim_insert_commit` for the batches of one transaction (`infrastructure/joint_batch.py`):
    BEGIN and the claims when nothing claimed them yet, then every batch's queued statements (in the
    order given), then COMMIT, in one pipeline."""
    raw = conn.connection.driver_connection
    assert raw is not None
    claim = any(batch.claim is not None for _, batch in claims)
    if claim:
        assert all(batch.claim is not None for _, batch in claims)  # claimed together or not at all
        assert raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE  # nothing ran
    statements = [
        (own._compiled(conn, statement, tuple(rows[0])), rows)
        for own, batch in claims
        for statement, rows in batch.inserts
    ]
    # BEGIN is sent in the pipeline instead of by the driver, a round trip earlier; the COMMIT too,
    # so the connection's own commit (leaving `engine.begin()`) finds nothing to do.
    if claim:
        raw.autocommit = True
    try:
        with raw.pipeline(), raw.cursor() as cursor:
            if claim:
                cursor.execute("BEGIN")
                for own, batch in claims:
                    cursor.execute(CLAIM_OR_FAIL, {"name": own.name, "start": batch.start, "end": batch.end})
            for (sql, processors, literals), rows in statements:
                cursor.executemany(sql, [{**literals, **_processed(row, processors)} for row in rows])
            cursor.execute("SET LOCAL synchronous_commit TO off")  # see the module's docstring
            cursor.execute("COMMIT")
    except Exception as error:
        with contextlib.suppress(psycopg.Error):
            raw.execute("ROLLBACK")
        if isinstance(error, psycopg.errors.DivisionByZero):
            raise Moved(claims[0][0].committed_position()) from None
        raise
    finally:
        if claim:
            raw.autocommit = False
    for _, batch in claims:
        batch.claim = None
        batch.inserts = []
