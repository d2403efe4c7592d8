"""Read the new events of several aggregates in one query (one round trip instead of one per aggregate).

`Marketplace.find_many` asks for `(aggregate id, version known)` pairs and gets every stored event
after that version, ordered by aggregate and version: with a version of 0 that is the whole
history, with the version of a cached copy only what was written since. One statement reads one
snapshot of the store, so the aggregates of a command are all as of the same instant."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent

Wanted = Sequence[tuple[UUID, int]]
Reader = Callable[[Wanted], list[StoredEvent]]
SnapshotsReader = Callable[[Sequence[UUID]], list[StoredEvent]]


def events_reader(recorder: Any) -> Reader:
    """The fastest reader the recorder allows (PostgreSQL, SQLite; one query per aggregate otherwise)."""
    modules = {cls.__module__ for cls in type(recorder).__mro__}  # subclasses of eventsourcing's recorders too
    if "eventsourcing.postgres" in modules and getattr(recorder.datastore, "originator_id_type", "uuid") == "uuid":
        return _postgres_reader(recorder)
    if "eventsourcing.sqlite" in modules:
        return _sqlite_reader(recorder)
    return lambda wanted: [e for uuid, version in wanted for e in recorder.select_events(uuid, gt=version)]


def events_statement(schema: str, table: str) -> Any:
    """The new events of several aggregates: for each `(id, version)` pair, an index range scan of
    the primary key `(originator_id, originator_version)`. The lateral subquery is fenced (`OFFSET 0`)
    so that the planner cannot flatten it into a join of the whole table: a prepared statement's
    generic plan, which estimates the array at 10 ids, chose a hash join over a sequential scan of
    every event for stores of up to about 17,000 events (each load of a command read them all)."""
    from psycopg.sql import SQL, Identifier

    return SQL(
        "SELECT e.originator_id, e.originator_version, e.topic, e.state "
        "FROM unnest(%s::uuid[], %s::bigint[]) AS k(id, v) CROSS JOIN LATERAL ("
        "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
        "WHERE originator_id = k.id AND originator_version > k.v OFFSET 0) AS e "
        "ORDER BY e.originator_id, e.originator_version"
    ).format(schema=Identifier(schema), table=Identifier(table))


def _postgres_reader(recorder: Any) -> Reader:
    statement = events_statement(recorder.datastore.schema, recorder.events_table_name)

    def read(wanted: Wanted) -> list[StoredEvent]:
        if not wanted:
            return []
        with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            # array literals as text: psycopg's per-element dumping of uuid[] costs more than the query
            ids = "{" + ",".join(str(u) for u, _ in wanted) + "}"
            versions = "{" + ",".join(str(int(v)) for _, v in wanted) + "}"
            # rows in binary: each state as its raw bytes (no hex text for the server to write and us to parse)
            cursor.execute(statement, (ids, versions), prepare=True, binary=True)
            return stored(cursor.fetchall())

    return read


def stored(rows: list[Any]) -> list[StoredEvent]:
    """Rows of an events table (originator_id, originator_version, topic, state) as stored events."""
    return [
        StoredEvent(
            originator_id=row["originator_id"],
            originator_version=row["originator_version"],
            topic=row["topic"],
            state=bytes(row["state"]),
        )
        for row in rows
    ]


def snapshots_reader(recorder: Any) -> SnapshotsReader:
    """The latest snapshot of each of several aggregates (those that have one) from the snapshot store's
    recorder: one query on PostgreSQL (a queue of holds by clients this process has not seen asked for
    each client's account snapshot in turn), one per aggregate otherwise."""
    modules = {cls.__module__ for cls in type(recorder).__mro__}
    if "eventsourcing.postgres" not in modules or getattr(recorder.datastore, "originator_id_type", "") != "uuid":
        return lambda uuids: [s for uuid in uuids for s in recorder.select_events(uuid, desc=True, limit=1)]
    statement = snapshots_statement(recorder.datastore.schema, recorder.events_table_name)

    def read(uuids: Sequence[UUID]) -> list[StoredEvent]:
        if not uuids:
            return []
        with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            ids = "{" + ",".join(str(u) for u in dict.fromkeys(uuids)) + "}"  # one row per aggregate, as asked
            cursor.execute(statement, (ids,), prepare=True)
            return stored(cursor.fetchall())

    return read


def snapshots_statement(schema: str, table: str) -> Any:
    """The latest snapshot of each id: one backward index scan that stops at the first row, however
    many snapshots the aggregate has had (`DISTINCT ON` read every snapshot of each aggregate)."""
    from psycopg.sql import SQL, Identifier

    return SQL(
        "SELECT s.originator_id, s.originator_version, s.topic, s.state "
        "FROM unnest(%s::uuid[]) AS k(id) CROSS JOIN LATERAL ("
        "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
        "WHERE originator_id = k.id ORDER BY originator_version DESC LIMIT 1) AS s"
    ).format(schema=Identifier(schema), table=Identifier(table))


def preloading(read: Callable[[Any], list[StoredEvent]], preload: Callable[[list[Any]], None]) -> Any:
    """`read`, then the personal-data keys of what it read (several events) in one query before they are
    decoded (`PersonalDataMapper.preload_keys`), instead of one query per person on the first event about
    them: a queue of holds by clients this process had not loaded read each client's key in turn."""

    def read_and_preload(wanted: Any) -> list[StoredEvent]:
        events = read(wanted)
        if len(events) > 1:
            preload(events)
        return events

    return read_and_preload


def _sqlite_reader(recorder: Any) -> Reader:
    table = recorder.events_table_name

    def read(wanted: Wanted) -> list[StoredEvent]:
        if not wanted:
            return []
        where = " OR ".join(["(originator_id=? AND originator_version>?)"] * len(wanted))
        params: list[Any] = []
        for uuid, version in wanted:
            params += [uuid.hex, version]
        with recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT originator_id, originator_version, topic, state FROM {table} WHERE {where} "
                "ORDER BY originator_id, originator_version",
                params,
            )
            return [
                StoredEvent(
                    originator_id=recorder.convert_originator_id(row["originator_id"]),
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
                for row in cursor.fetchall()
            ]

    return read
