"""The PostgreSQL application recorder of the event store: eventsourcing's, with each write in one
round trip.

eventsourcing's recorder writes in a client-side transaction: BEGIN, then `LOCK TABLE ... IN
EXCLUSIVE MODE` (so notification ids are issued in commit order and a reader tailing the log never
passes over a gap that fills in later), the INSERT, and COMMIT, three round trips. The table lock
is held from the INSERT until the COMMIT arrives, so every writer's lock includes the time its
thread needs to get the interpreter back (the GIL) between the two. With several request threads
busy in Python that wait, not the database, bounds the write rate.

`OneTripRecorder` sends the same statements as one call of a server-side function, in autocommit:
the function takes the same table lock, notifies, inserts and returns the notification ids, and
the statement's implicit transaction commits at once. The lock is then held only for the time the
server needs; the guarantees (gap-free commit order, unique (originator id, version) per write,
all events of a write or none) are those of the stock recorder.

The store's connections plan their prepared statements once (`plan_cache_mode = force_generic_plan`).
A command's load (`event_reads.events_statement`) takes arrays whose contents the generic plan does
not know, so PostgreSQL's own choice (`auto`) kept planning it afresh at every execution (the custom
plan's cost looks lower): 0.08 to 0.1 ms of planning in each of the six loads of a paid booking. Every
statement these connections run (the loads, the latest snapshots, this write, the notification
log's reads) has one good plan whatever its parameters: one index range per aggregate or a range of
notification ids (tests/test_event_read_plans.py runs the loads' generic plans)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier

TOPIC = "infrastructure.event_store:OneTripRecorder"


class OneTripRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        generic = "-c plan_cache_mode=force_generic_plan"  # see the module's docstring; set before the
        if generic not in datastore.pool.kwargs.get("options", ""):  # pool's first connection (super's)
            datastore.pool.kwargs["options"] = f"{datastore.pool.kwargs.get('options', '')} {generic}".strip()
        super().__init__(datastore, events_table_name=events_table_name)
        function = Identifier(f"consult_insert_events_{datastore.originator_id_type}")
        schema = Identifier(datastore.schema)
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}(events {schema}.{event}[]) "
                "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ "
                "BEGIN "
                "SET LOCAL lock_timeout = '{lock_timeout}s'; "
                "LOCK TABLE {schema}.{table} IN EXCLUSIVE MODE; "
                "NOTIFY {channel}; "
                "RETURN QUERY INSERT INTO {schema}.{table} AS t (originator_id, originator_version, topic, state) "
                "SELECT originator_id, originator_version, topic, state FROM unnest(events) "
                "RETURNING notification_id; "
                "END; $BODY$"
            ).format(
                schema=schema,
                function=function,
                event=Identifier(self.stored_event_type_name),
                lock_timeout=datastore.lock_timeout,
                table=Identifier(self.events_table_name),
                channel=Identifier(self.channel_name),
            )
        )
        # `%b`: the events travel in PostgreSQL's binary format: each state as its raw bytes instead of
        # hex text escaped inside a composite array literal, half the bytes to send and no text for either
        # side to write or parse (a write of a booking's events took about twice as long as text)
        self._insert_call = SQL("SELECT * FROM {schema}.{function}((%b))").format(schema=schema, function=function)
        self._returned = f"consult_insert_events_{datastore.originator_id_type}"

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return None
        events = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            assert conn.autocommit  # the statement's implicit transaction is the write's transaction
            curs.execute(self._insert_call, (events,), prepare=True)
            return [row[self._returned] for row in curs.fetchall()]
