"""What `infrastructure.event_store.OneTripRecorder` (and the batch reader of
`infrastructure.event_reads`) take from eventsourcing beyond its public API. These tests fail when an
upgrade of eventsourcing changes one of those internals: then re-read the recorder against the new
`eventsourcing.postgres.PostgresApplicationRecorder` before changing the test (README, "Event store").

- the recorder is chosen through the library's public setting `APPLICATION_RECORDER_TOPIC`;
- it subclasses `PostgresApplicationRecorder`, overriding `insert_events` with the same signature, and
  uses its `sql_create_statements`, `stored_event_type_name`, `channel_name`, `events_table_name`,
  `construct_pg_stored_event` and the datastore's `schema`, `originator_id_type`, `lock_timeout`,
  `get_connection` (autocommit connections);
- its server-side function sends the statements of the stock write path (`lock_table_statements`, the
  NOTIFY of `_notify_channel`, the INSERT of the stock function) and so keeps its guarantees;
- the stock one-round-trip path (`POSTGRES_ENABLE_DB_FUNCTIONS`) still takes no table lock: the day it
  does, the library's own setting replaces this recorder."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore

from infrastructure.database import event_store_env
from infrastructure.event_store import TOPIC, OneTripRecorder
from tests.conftest import make_settings, postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[OneTripRecorder]:
    with postgres_database() as url:
        env = event_store_env(make_settings(tmp_path, url), create_tables=True)
        app = Application(env=env)
        assert env["APPLICATION_RECORDER_TOPIC"] == TOPIC
        assert type(app.recorder) is OneTripRecorder  # chosen through the library's public setting
        yield app.recorder
        app.close()


def flat(sql: Any, conn: Any) -> str:
    return re.sub(r"\(\s+", "(", re.sub(r"\s+", " ", sql.as_string(conn))).strip()


def parameters(function: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


def test_the_overridden_and_used_members_keep_their_signatures() -> None:
    assert OneTripRecorder.__mro__[1] is PostgresApplicationRecorder
    assert parameters(PostgresApplicationRecorder.__init__) == parameters(OneTripRecorder.__init__)
    stock_insert = inspect.unwrap(PostgresApplicationRecorder.insert_events)
    assert parameters(stock_insert) == parameters(inspect.unwrap(OneTripRecorder.insert_events))
    assert [name for name, *_ in parameters(PostgresApplicationRecorder.construct_pg_stored_event)] == [
        "self",
        "originator_id",
        "originator_version",
        "topic",
        "state",
    ]
    datastore = parameters(PostgresDatastore.__init__)
    assert {"lock_timeout", "schema", "originator_id_type", "enable_db_functions"} <= {name for name, *_ in datastore}
    # the stock write path: lock, notify, insert (what the one-trip function reproduces)
    body = inspect.getsource(PostgresApplicationRecorder._insert_stored_events)
    assert body.index("self._lock_table(curs)") < body.index("self._notify_channel(curs)")
    assert "for lock_statement in self.lock_table_statements" in inspect.getsource(
        PostgresApplicationRecorder._lock_table
    )
    assert "NOTIFY {0}" in inspect.getsource(PostgresApplicationRecorder._notify_channel)


def test_the_one_trip_function_sends_the_stock_statements(recorder: OneTripRecorder) -> None:
    datastore = recorder.datastore
    assert (datastore.originator_id_type, datastore.lock_timeout) == ("uuid", 10)
    with datastore.get_connection() as conn:
        assert conn.autocommit  # the function's statement is the write's whole transaction
        ours = flat(recorder.sql_create_statements[-1], conn)
        stock_function = flat(recorder.sql_create_pg_function_insert_events, conn)
        lock_timeout, lock_table = (flat(s, conn) for s in recorder.lock_table_statements)
        stock_insert = stock_function[stock_function.index("INSERT INTO") : stock_function.index("RETURNING")]
        notify = f'NOTIFY "{recorder.channel_name}"'
        stored_event_type = f'"{recorder.stored_event_type_name}"'
    assert lock_timeout == "SET LOCAL lock_timeout = '10s'" and "IN EXCLUSIVE MODE" in lock_table
    assert f'"{recorder.events_table_name}"' in lock_table
    for statement in (lock_timeout, lock_table, notify, stock_insert.strip()):
        assert statement in ours, statement
    assert ours.index(lock_table) < ours.index(notify) < ours.index(stock_insert.strip())
    assert stored_event_type + "[]" in ours and "RETURNING notification_id" in ours
    assert "LOCK TABLE" not in stock_function  # the library's own one-trip path still takes no lock
    assert recorder.stored_event_type_name == "stored_event_uuid"


def test_the_events_table_has_the_columns_the_custom_statements_read(recorder: OneTripRecorder) -> None:
    with recorder.datastore.get_connection() as conn:
        columns = conn.execute(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            (recorder.events_table_name,),
        ).fetchall()
    assert [(row["column_name"], row["data_type"]) for row in columns] == [
        ("originator_id", "uuid"),
        ("originator_version", "bigint"),
        ("topic", "text"),
        ("state", "bytea"),
        ("notification_id", "bigint"),
    ]
