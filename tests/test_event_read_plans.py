"""The loads of a command read only the events they return, whatever the size of the store.

Both readers run as prepared statements, and after five executions PostgreSQL may keep a generic plan,
made without the arrays' contents (it estimates 10 ids). The join written plainly got a hash join over
a sequential scan of the whole events table from such a plan in stores of up to about 17,000 events:
every load of every command read every event. These tests ask for the generic plan outright and look
at what it scans, and check what the readers return against the recorder's own per-aggregate reads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.application import Application
from eventsourcing.persistence import StoredEvent

from infrastructure.database import event_store_env
from infrastructure.event_reads import events_reader, events_statement, snapshots_reader, snapshots_statement
from tests.conftest import make_settings, postgres_database

pytestmark = pytest.mark.postgres

AGGREGATES = 100
EVENTS_EACH = 40  # 4,000 events: inside the range where the plain join's generic plan scanned them all


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Application[Any], list[UUID]]]:
    with postgres_database() as url:
        env = event_store_env(make_settings(tmp_path_factory.mktemp("plans"), url), create_tables=True)
        app: Application[Any] = Application(env=env)
        ids = [uuid4() for _ in range(AGGREGATES)]
        for originator in ids:
            app.recorder.insert_events(
                [StoredEvent(originator, v, "tests:Event", b"x" * 200) for v in range(1, EVENTS_EACH + 1)]
            )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("ANALYZE")
        try:
            yield url, app, ids
        finally:
            app.close()


def rows_read(url: str, statement: Any, table: str, *arrays: str) -> dict[str, int]:
    """Executed once with the generic plan of `statement` (as the readers prepare it): the rows each kind
    of node read from `table` (actual rows times loops, from EXPLAIN ANALYZE)."""
    with psycopg.connect(url, autocommit=True) as conn:
        text = statement.as_string(conn)
        for index in range(len(arrays)):
            text = text.replace("%s", f"${index + 1}", 1)
        conn.execute(f"PREPARE probe AS {text}")
        conn.execute("SET plan_cache_mode = force_generic_plan")
        literals = ", ".join("'" + a + "'" for a in arrays)
        row = conn.execute(f"EXPLAIN (FORMAT JSON, ANALYZE) EXECUTE probe({literals})").fetchone()
        assert row is not None
        plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    read: dict[str, int] = {}

    def walk(node: dict[str, Any]) -> None:
        if node.get("Relation Name") == table:
            kind = node["Node Type"]
            read[kind] = read.get(kind, 0) + node["Actual Rows"] * node["Actual Loops"]
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    assert read, plan  # the plan reads the table at all
    return read


def test_a_load_reads_only_the_events_it_returns(store: tuple[str, Application[Any], list[UUID]]) -> None:
    url, app, ids = store
    table = app.recorder.events_table_name  # type: ignore[attr-defined]
    wanted = ids[:6]
    read = rows_read(
        url,
        events_statement("public", table),
        table,
        "{" + ",".join(map(str, wanted)) + "}",
        "{" + ",".join(str(EVENTS_EACH - 2) for _ in wanted) + "}",
    )
    assert "Seq Scan" not in read, read
    assert sum(read.values()) == 2 * len(wanted), read  # the two newest events of each, and no other row


def test_the_latest_snapshots_read_one_row_each(store: tuple[str, Application[Any], list[UUID]]) -> None:
    """However many snapshots an aggregate has had (any table of stored events stands in here)."""
    url, app, ids = store
    table = app.recorder.events_table_name  # type: ignore[attr-defined]
    read = rows_read(url, snapshots_statement("public", table), table, "{" + ",".join(map(str, ids[:6])) + "}")
    assert "Seq Scan" not in read, read
    assert sum(read.values()) == 6, read


def test_the_readers_return_what_the_recorder_reads_one_by_one(store: tuple[str, Application[Any], list[UUID]]) -> None:
    _, app, ids = store
    recorder = app.recorder
    read, latest = events_reader(recorder), snapshots_reader(recorder)
    wanted = [(ids[0], 0), (ids[1], 5), (ids[2], EVENTS_EACH), (uuid4(), 0), (ids[3], 7)]
    for _ in range(8):  # past the executions after which the server may keep a generic plan
        got = read(wanted)
        expected = [e for uuid, version in sorted(wanted) for e in recorder.select_events(uuid, gt=version)]
        assert [(e.originator_id, e.originator_version, e.state) for e in got] == [
            (e.originator_id, e.originator_version, e.state) for e in expected
        ]
        assert len(got) == EVENTS_EACH + (EVENTS_EACH - 5) + (EVENTS_EACH - 7)
        last = latest([ids[4], uuid4(), ids[5]])
        assert sorted((e.originator_id, e.originator_version) for e in last) == sorted(
            [(ids[4], EVENTS_EACH), (ids[5], EVENTS_EACH)]
        )


def test_the_store_plans_each_statement_once(store: tuple[str, Application[Any], list[UUID]]) -> None:
    """Every connection of the store keeps a statement's generic plan: PostgreSQL's own choice re-planned
    each load at every execution (infrastructure/event_store.py): 0.1 ms in each of a paid booking's six loads."""
    _, app, ids = store
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    table = app.recorder.events_table_name  # type: ignore[attr-defined]
    with ExitStack() as held:
        connections = [held.enter_context(datastore.get_connection()) for _ in range(datastore.pool.max_size)]
        for conn in connections:  # the pool's first connections (made before the recorder was) as well
            row = conn.execute("SHOW plan_cache_mode").fetchone()
            assert row is not None and row["plan_cache_mode"] == "force_generic_plan"
        conn = connections[0]
        for _ in range(8):  # as the reader runs it: past the executions after which `auto` may keep a plan
            ids_text = "{" + f"{ids[0]},{ids[1]}" + "}"
            conn.execute(events_statement("public", table), (ids_text, "{38,38}"), prepare=True, binary=True)
        plans = conn.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements").fetchall()
    assert plans and all(p["custom_plans"] == 0 for p in plans), plans
