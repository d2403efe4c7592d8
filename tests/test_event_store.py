"""The event store's one-round-trip recorder (infrastructure.event_store) keeps the guarantees of
eventsourcing's own: ids in order, all events of a write or none, conflicts refused, the table
lock taken. And the projection runner takes this process's committed notifications from memory
only as an unbroken run: an event of another process is read from the log."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import psycopg
import pytest
import sqlalchemy as sa
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError, StoredEvent

from application.marketplace import NoBarrier
from infrastructure.bootstrap import Container, build
from infrastructure.database import event_store_env
from infrastructure.event_reads import events_reader
from infrastructure.event_store import OneTripRecorder
from infrastructure.tables import accounts
from tests.conftest import make_settings, postgres_database, signed_up

pytestmark = pytest.mark.postgres


class Counter(Aggregate):
    @event("Started")
    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    @event("Counted")
    def up(self) -> None:
        self.count += 1


@pytest.fixture
def database() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture
def container(tmp_path: Any, database: str) -> Iterator[Container]:
    built = build(make_settings(tmp_path, database), run_projections=True)
    yield built
    built.close()


def test_a_write_records_all_its_events_in_order_or_none(container: Container) -> None:
    market = container.market
    assert isinstance(market.recorder, OneTripRecorder)
    first, second = Counter("a"), Counter("b")
    first.up()
    recordings = market.save(first, second)
    ids = [r.notification.id for r in recordings]
    assert ids == list(range(ids[0], ids[0] + 3))  # one id per event, consecutive, in the order given
    logged = market.recorder.select_notifications(ids[0], 10)
    assert [(n.id, n.originator_id, n.originator_version) for n in logged] == [
        (ids[0], first.id, 1),
        (ids[1], first.id, 2),
        (ids[2], second.id, 1),
    ]

    stale = market.repository.get(second.id)  # two writers of one version: the second is refused
    fresh = market.repository.get(second.id)
    fresh.up()
    market.save(fresh)
    third = Counter("c")
    stale.up()
    before = market.recorder.max_notification_id()
    with pytest.raises(IntegrityError):
        market.save(third, stale)  # one write: the new aggregate is not recorded either
    assert market.recorder.max_notification_id() == before
    assert not market.recorder.select_events(third.id)


def test_a_write_waits_for_the_table_lock(container: Container, database: str) -> None:
    """Notification ids follow commit order because every write takes the table's EXCLUSIVE lock."""
    market = container.market
    done = threading.Event()
    with psycopg.connect(database) as other:
        other.execute(f"LOCK TABLE {market.recorder.events_table_name} IN EXCLUSIVE MODE")
        writer = threading.Thread(target=lambda: (market.save(Counter("late")), done.set()))
        writer.start()
        time.sleep(0.5)
        assert not done.is_set()  # blocked behind the other transaction's lock
        other.rollback()
    writer.join(timeout=10)
    assert done.is_set()


def test_a_notification_of_another_process_is_read_from_the_log(
    container: Container, tmp_path: Any, database: str
) -> None:
    runner = container.runner
    reads: list[tuple[int, int]] = []
    read = runner._read
    runner._read = lambda start, limit: reads.append((start, limit)) or read(start, limit)  # type: ignore[method-assign]
    own = signed_up(container, "Client")  # committed here: projected from memory
    assert reads == []
    other = build(make_settings(tmp_path / "other", database), run_projections=False)
    other.market.barrier = NoBarrier()  # no projection worker runs for it: do not wait for one
    try:
        stranger = signed_up(other, "Client")  # another process: nothing offered for its ids
    finally:
        other.close()
    also_own = signed_up(container, "Client")  # waits for the runner, which reads the stranger's events
    assert reads, "the runner must read what it was not offered"
    with container.engine.connect() as conn:
        projected = set(conn.execute(sa.select(accounts.c.id)).scalars())
    assert {own, stranger, also_own} <= projected
    assert runner.position == container.market.recorder.max_notification_id()


def test_an_unknown_id_is_never_taken_from_memory(container: Container) -> None:
    runner = container.runner
    start = runner.position
    fake = type("N", (), {"id": start + 2, "topic": "x", "originator_id": uuid4()})()
    runner.offer([fake])  # id start + 1 is missing: nothing is taken
    assert runner._take_offered(start) == []


def test_the_events_of_a_write_and_of_a_read_travel_in_binary(tmp_path: Any, database: str) -> None:
    """The states travel as their raw bytes (format code 1 in the Bind message: the write's parameter,
    the read's result columns), not as hex text (inside a composite array literal, for the write):
    half the bytes, and no text for either side to write or parse."""
    env = event_store_env(make_settings(tmp_path, database), create_tables=True)
    env.update(POSTGRES_POOL_SIZE="1", POSTGRES_MAX_OVERFLOW="0")  # the one connection traced below
    app = Application(env=env)
    recorder = app.recorder
    state = bytes(range(256)) * 8
    wire = tmp_path / "wire.log"
    originator = uuid4()
    try:
        with wire.open("w") as log:
            with recorder.datastore.get_connection() as conn:
                conn.pgconn.trace(log.fileno())
                conn.pgconn.set_trace_flags(psycopg.pq.Trace.SUPPRESS_TIMESTAMPS | psycopg.pq.Trace.REGRESS_MODE)
            recorder.insert_events([StoredEvent(originator, 1, "tests:Event", state)])
            read = events_reader(recorder)([(originator, 0)])
            with recorder.datastore.get_connection() as conn:
                conn.pgconn.untrace()
    finally:
        app.close()
    assert [(e.originator_id, e.originator_version, e.topic, e.state) for e in read] == [
        (originator, 1, "tests:Event", state)  # every byte value kept
    ]
    write, read_bind = [line.split("\t") for line in wire.read_text().splitlines() if "\tBind\t" in line]
    # Bind: portal, statement, parameter format codes (count, codes), parameters, result format codes
    assert write[3].split()[2:4] == ["1", "1"]  # the write's one parameter: binary
    assert int(write[1]) < len(state) * 3 // 2  # not hex text (two characters a byte)
    assert read_bind[3].split()[-2:] == ["1", "1"]  # the read's results: binary
