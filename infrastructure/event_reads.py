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


def events_reader(recorder: Any) -> Reader:
    """The fastest reader the recorder allows (PostgreSQL, SQLite; one query per aggregate otherwise)."""
    modules = {cls.__module__ for cls in type(recorder).__mro__}  # subclasses of eventsourcing's recorders too
    if "eventsourcing.postgres" in modules and getattr(recorder.datastore, "originator_id_type", "uuid") == "uuid":
        return _postgres_reader(recorder)
    if "eventsourcing.sqlite" in modules:
        return _sqlite_reader(recorder)
    return lambda wanted: [e for uuid, version in wanted for e in recorder.select_events(uuid, gt=version)]


def _postgres_reader(recorder: Any) -> Reader:
    from psycopg.sql import SQL, Identifier

    statement = SQL(
        "SELECT e.originator_id, e.originator_version, e.topic, e.state FROM {schema}.{table} e "
        "JOIN unnest(%s::uuid[], %s::bigint[]) AS k(id, v) ON e.originator_id = k.id AND e.originator_version > k.v "
        "ORDER BY e.originator_id, e.originator_version"
    ).format(schema=Identifier(recorder.datastore.schema), table=Identifier(recorder.events_table_name))

    def read(wanted: Wanted) -> list[StoredEvent]:
        if not wanted:
            return []
        with recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            # array literals as text: psycopg's per-element dumping of uuid[] costs more than the query
            ids = "{" + ",".join(str(u) for u, _ in wanted) + "}"
            versions = "{" + ",".join(str(int(v)) for _, v in wanted) + "}"
            # rows in binary: each state as its raw bytes (no hex text for the server to write and us to parse)
            cursor.execute(statement, (ids, versions), prepare=True, binary=True)
            return [
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in cursor.fetchall()
            ]

    return read


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
