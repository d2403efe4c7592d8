"""The projector's side of the runner: what it implements, sees while applying a batch, and handles.

`Projector` is what it implements, `Batch` what it sees while the runner applies a batch, and
`Handles` declares the events it handles, so that the runner decodes no others for it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

import sqlalchemy as sa
from eventsourcing.utils import get_topic
from sqlalchemy.dialects import postgresql, sqlite

from infrastructure.json_text import loads
from infrastructure.pushes import Emit


@dataclass
class Batch:
    """What projectors see while applying a batch: the connection and the pushes to send.

    A statement whose result nobody reads (a new row: `insert`; an update or delete: `write`) is
    queued and run at the end of the batch, in its transaction (on PostgreSQL in one pipeline with
    the claim, when nothing was read, and the COMMIT: one round trip); a read goes through `conn`.
    The first use of `conn` claims the batch (locks the tracking row: see `ProjectionRunner`) and
    runs the statements queued so far, so a statement always sees every row projected before it.

    `documents` keeps the read-model documents this batch read or wrote, by (table, id), so a row
    changed by several events of the batch is read once (a projector that rewrites another's
    documents, as an erasure does, clears it)."""

    connection: sa.Connection
    emits: list[Emit] = field(default_factory=list)
    pending: dict[str, Any] = field(default_factory=dict)  # projectors' write-behind state, flushed before commit
    start: int = 0  # the committed position this batch follows
    end: int = 0  # the position of its last event
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    inserts: list[tuple[Any, list[dict[str, Any]]]] = field(default_factory=list)  # queued statements, in order
    documents: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    claim: Callable[[], None] | None = None  # set by the runner; None once claimed
    rewritten: bool = False  # a projector rewrote documents through `conn` (the runner keeps none of this batch)

    @property
    def conn(self) -> sa.Connection:
        if self.claim is not None:
            claim, self.claim = self.claim, None
            claim()
        if self.inserts:
            inserts, self.inserts = self.inserts, []
            for statement, rows in inserts:
                self.connection.execute(statement, rows)
        return self.connection

    def document(
        self, table: str, key: str, select: Any, load: Callable[[Any], dict[str, Any]] = lambda row: loads(row[0])
    ) -> dict[str, Any] | None:
        """The document `key` of `table`: the one this batch already holds, or the row read by `select`
        (its id bound as `b_id`; by default its first column is the JSON document) made one by `load`
        and kept; None when there is no such row."""
        found = self.documents.get((table, key))
        if found is None:
            row = self.conn.execute(select, {"b_id": key}).first()
            if row is None:
                return None
            found = self.documents[(table, key)] = load(row)
        return found

    def insert(self, statement: sa.Insert, row: dict[str, Any]) -> None:
        """Insert `row` (a new row: nothing of this batch reads or changes it before) with `statement`."""
        self.write(statement, row)

    def write(self, statement: sa.Insert | sa.Update | sa.Delete, row: dict[str, Any]) -> None:
        """Queue `statement` with the parameters `row` (values by column key; `b_`-prefixed names for
        the WHERE clause's bind parameters), after every statement queued before it."""
        if self.inserts and self.inserts[-1][0] is statement and self.inserts[-1][1][0].keys() == row.keys():
            self.inserts[-1][1].append(row)  # one executemany
        else:
            self.inserts.append((statement, [row]))


class CounterAdds:
    """Adds to counter rows of `table` (its primary key and an `n` column), each created at its first
    change, queued on a batch (`Batch.write`) so they go out with the batch's other writes, in the
    order of their keys (two batches that change the same counters lock them in the same order). On
    PostgreSQL the whole batch's changes are one statement (arrays unnested into an upsert); SQLite
    takes them a row at a time. A counter that fell is deleted if it is back at zero: a rebuild, whose
    batches net the changes out, leaves no row there either (a counter counts rows, never below zero,
    so one that gained cannot be at zero: no delete is sent for it)."""

    def __init__(self, table: sa.Table):
        self.keys = [column.name for column in table.primary_key.columns]
        self.drop_zero = table.delete().where(
            *(table.c[name] == sa.bindparam(f"b_{name}") for name in self.keys), table.c.n == 0
        )
        by_row = sqlite.insert(table)
        self.sqlite = by_row.on_conflict_do_update(index_elements=self.keys, set_={"n": table.c.n + by_row.excluded.n})
        arrays = [
            sa.func.unnest(sa.bindparam(f"a_{name}", type_=postgresql.ARRAY(table.c[name].type)))
            for name in [*self.keys, "n"]
        ]
        together = postgresql.insert(table).from_select([*self.keys, "n"], sa.select(*arrays))
        self.postgres = together.on_conflict_do_update(
            index_elements=self.keys, set_={"n": table.c.n + together.excluded.n}
        )

    def queue(self, batch: Batch, changes: dict[Any, int]) -> None:
        """Queue the nonzero `changes` (by key: the primary key's value, a tuple when it has several
        columns); none, or all zero, queue nothing."""
        rows = [(key if isinstance(key, tuple) else (key,), n) for key, n in sorted(changes.items()) if n]
        if not rows:
            return
        if batch.connection.dialect.name == "postgresql":
            arrays = {f"a_{name}": [key[i] for key, _ in rows] for i, name in enumerate(self.keys)}
            batch.write(self.postgres, {**arrays, "a_n": [n for _, n in rows]})
        else:
            for key, n in rows:
                batch.write(self.sqlite, {**dict(zip(self.keys, key, strict=True)), "n": n})
        for key, n in rows:
            if n < 0:
                batch.write(self.drop_zero, {f"b_{name}": value for name, value in zip(self.keys, key, strict=True)})


_written: ContextVar[dict[tuple[str, str], dict[str, Any]] | None] = ContextVar("written_documents", default=None)


@contextmanager
def written_documents() -> Iterator[dict[tuple[str, str], dict[str, Any]]]:
    """The documents (`Batch.documents`, by table and id) of the batches committed in this context
    (threads started from it with a copied context included), as they committed them: a command that
    answers with its own document takes it from here instead of reading it back. A batch the
    background loop committed is not here: the reader then reads the table."""
    documents: dict[tuple[str, str], dict[str, Any]] = {}
    token = _written.set(documents)
    try:
        yield documents
    finally:
        _written.reset(token)


def keep_written(batch: Batch) -> None:
    """After `batch` committed: hand its documents to the enclosing `written_documents()`, if any."""
    documents = _written.get()
    if documents is not None:
        documents.update(batch.documents)


@dataclass(frozen=True)
class Prefetch:
    """Documents a batch is about to read and change (a projector's `prefetch(notifications)`): on
    PostgreSQL they are read in the round trip of the batch's claim, into `Batch.documents`, so the
    projector finds them there instead of reading each one when its event comes."""

    table: str  # the first part of the `Batch.documents` key
    statement: sa.Select[Any]  # rows (id, ...) of the ids bound as the array parameter `b_ids`
    ids: list[str]
    load: Callable[[Any], dict[str, Any]]  # a row: the document kept


def changed_ids(notifications: list[Any], event_class: type, created: type, width: int = 24) -> list[str]:
    """The ids of the aggregates whose existing document the notifications of `event_class` change
    (not the ones they create), as the read model keys them (the first `width` hex digits)."""
    prefix = get_topic(event_class)[: -len("Event")]
    skip = get_topic(created)
    return sorted(
        {n.originator_id.hex[:width] for n in notifications if n.topic.startswith(prefix) and n.topic != skip}
    )


class Handles:
    """The events a projector handles, by class, and the notification topics they have: an
    aggregate's `Event` base class stands for every event of that aggregate. A projector that has
    one applies nothing else (`covers(event)` first in `apply`) and tells the runner which
    notifications it does not need, so they are not decoded unless another projector needs them."""

    def __init__(self, *classes: type):
        self.classes = classes
        topics = [get_topic(cls) for cls in classes]
        self._prefixes = tuple(t[: -len("Event")] for t in topics if t.endswith(".Event"))
        self._exact = frozenset(t for t in topics if not t.endswith(".Event"))

    def covers(self, event: Any) -> bool:
        return isinstance(event, self.classes)

    def unneeded(self, notifications: list[Any]) -> set[int]:
        return {n.id for n in notifications if n.topic not in self._exact and not n.topic.startswith(self._prefixes)}


class HandlesDeclared:
    """Base of a projector that declares the events it handles in `handles`: the runner decodes no
    other notification for it."""

    handles: Handles

    def unneeded(self, notifications: list[Any]) -> set[int]:
        return self.handles.unneeded(notifications)


class Projector(Protocol):
    """May also have `unneeded(notifications) -> set of ids` that it would ignore (see `Handles`)."""

    def apply(self, batch: Batch, event: Any, position: int) -> None: ...
    def flush(self, batch: Batch) -> None: ...
    def reset(self, conn: sa.Connection) -> None: ...
