"""On PostgreSQL a command whose events concern both runners (a confirmation: the read models and the
people projection) has them applied in ONE transaction (`infrastructure/joint_batch.py`): both tracking
rows move together, the command's read-your-writes holds when it returns, and under many concurrent
commands with the background loops running every event is applied exactly once (the rows equal a
rebuild, nothing parked). A joint transaction that finds a tracking row moved by another worker
commits nothing and the runners go on, each on its own, from where the row is."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from application.bookings import Caller
from application.marketplace import NoBarrier
from domain.accounts import CLIENT
from infrastructure import parking
from infrastructure.bootstrap import Container, build
from infrastructure.people_tables import PEOPLE_TABLES, inbox, links
from infrastructure.tables import (
    READ_MODEL_TABLES,
    appointments,
    projection_tracking,
    transactions,
)
from tests.conftest import signed_up

IST = ZoneInfo("Asia/Kolkata")
SLOTS = ["09:00", "10:15", "11:30", "12:45", "14:00", "15:15"]


def at(days_ahead: int, hhmm: str) -> datetime:
    """A default open slot: a weekday `days_ahead` weekdays after the Monday two weeks ahead."""
    today = datetime.now(UTC).astimezone(IST).date()
    monday = today + timedelta(days=14 - today.weekday())
    day = monday + timedelta(days=days_ahead % 5 + 7 * (days_ahead // 5))
    return datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), tzinfo=IST)


def book(container: Container, consultant: str, client: str, start: datetime, **changes: Any) -> str:
    """Hold and confirm (fee 0); returns the appointment id."""
    caller, end = Caller(client, "Client"), start + timedelta(hours=1)
    hold_id = container.bookings.hold(caller, consultant, client, start, end)[0]
    return container.bookings.confirm(caller, hold_id, consultant, client, start, end, changes)[0]


def rows(container: Container) -> dict[str, list[Any]]:
    with container.engine.connect() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(sa.select(table))))
            for table in (*READ_MODEL_TABLES, *PEOPLE_TABLES)
        }


def visible(container: Container, appointment_id: str, client: str, consultant: str) -> bool:
    """What a query right after the confirmation sees: the appointment Upcoming, both parties'
    notices in the inbox, and their link."""
    with container.engine.connect() as conn:
        status = conn.execute(sa.select(appointments.c.status).where(appointments.c.id == appointment_id)).scalar()
        notices = conn.execute(
            sa.select(sa.func.count())
            .select_from(inbox)
            .where(inbox.c.recipient.in_([client, consultant]), inbox.c.document.contains(appointment_id))
        ).scalar()
        linked = conn.execute(
            sa.select(sa.func.count()).where(links.c.client_id == client, links.c.consultant_id == consultant)
        ).scalar()
    return status == "Upcoming" and notices == 2 and linked == 1


def kept_documents_are_the_rows(container: Container) -> bool:
    """Every document a runner keeps for its next batch (`DocumentMemory`) is its row's, as committed."""
    selects = {
        "appointments": sa.select(appointments.c.document).where(appointments.c.id == sa.bindparam("k")),
        "transactions": sa.select(transactions.c.document).where(transactions.c.id == sa.bindparam("k")),
    }
    with container.engine.connect() as conn:
        for (table, key), kept in container.runner.memory.kept().items():
            found = json.loads(conn.execute(selects[table], {"k": key}).scalar_one())
            if found != kept:
                return False
    return True


def rebuilt_equal(container: Container, live: dict[str, list[Any]]) -> bool:
    for runner in container.runners:
        runner.reset()
        runner.catch_up()
    return rows(container) == live


def test_a_confirmation_moves_both_tracking_rows_in_one_transaction(container: Container) -> None:
    consultant, client = signed_up(container, "Consultant"), signed_up(container, "Client")
    appointment_id = book(container, consultant, client, at(0, "09:00"))
    assert visible(container, appointment_id, client, consultant)  # read-your-writes
    head = container.market.recorder.max_notification_id()
    assert [r.committed_position() for r in container.runners] == [head, head]
    if container.engine.dialect.name == "postgresql":
        with container.engine.connect() as conn:
            writers = conn.execute(sa.text("SELECT DISTINCT xmin::text FROM projection_tracking")).scalars().all()
        assert len(writers) == 1  # the same transaction wrote both rows (two on `main`: one per runner)


def test_concurrent_bookings_with_the_background_loops_apply_every_event_once(container: Container) -> None:
    consultants = [signed_up(container, "Consultant") for _ in range(2)]
    clients = [signed_up(container, "Client") for _ in range(4)]
    stop = threading.Event()
    loops = [threading.Thread(target=r.run_forever, args=(stop, 0.001), daemon=True) for r in container.runners]
    failures: list[str] = []

    def client_books(n: int) -> None:
        client = clients[n]
        for k in range(6):  # both consultants, interleaved with the other clients' bookings (retries on days)
            consultant = consultants[k % 2]
            start = at(k // 2 + 3 * (n // 2), SLOTS[(n % 2) * 3 + k // 2])
            try:
                appointment_id = book(container, consultant, client, start)
            except Exception as error:  # noqa: BLE001  (reported below)
                failures.append(f"{n}/{k}: {error!r}")
                continue
            if not visible(container, appointment_id, client, consultant):
                failures.append(f"{n}/{k}: not visible when the command returned")

    for loop in loops:
        loop.start()
    workers = [threading.Thread(target=client_books, args=(n,)) for n in range(len(clients))]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(120)
    finally:
        stop.set()
        for loop in loops:
            loop.join(10)
    assert failures == []
    for runner in container.runners:
        runner.catch_up()
    head = container.market.recorder.max_notification_id()
    assert [r.committed_position() for r in container.runners] == [head, head]
    assert parking.count(container.engine) == 0
    live = rows(container)
    assert len(live["appointments"]) == 24 and len(live["links"]) == 8
    assert kept_documents_are_the_rows(container)
    assert rebuilt_equal(container, live)  # nothing applied twice or lost


@pytest.mark.postgres
def test_a_joint_claim_that_finds_a_row_moved_commits_nothing(settings: Any, caplog: Any) -> None:
    if settings.database_url is None:
        pytest.skip("one transaction for both runners is PostgreSQL's")
    caplog.set_level(logging.INFO, logger="infrastructure.projection_runner")
    container = build(settings, run_projections=True)
    other = build(settings, run_projections=False)  # a second worker of the same projections, driven below
    other.market.barrier = NoBarrier()
    try:
        consultant, client = signed_up(container, "Consultant"), signed_up(container, "Client")
        barrier, container.market.barrier = container.market.barrier, NoBarrier()
        appointment_id = book(container, consultant, client, at(0, "09:00"))  # offered, not projected here
        container.market.barrier = barrier
        head = container.market.recorder.max_notification_id()
        assert all(r.position < head for r in container.runners)
        other.runner.catch_up()  # the other worker applies the same events: both rows move
        other.people_runner.catch_up()

        container.market.barrier.wait_for(head)  # the joint claim fails: rolled back, then runner by runner
        assert any("one transaction failed" in r.getMessage() for r in caplog.records)
        assert [r.position for r in container.runners] == [head, head]
        assert visible(container, appointment_id, client, consultant)
        assert parking.count(container.engine) == 0  # a notice inserted twice would have been parked
        with container.engine.connect() as conn:
            assert set(conn.execute(sa.select(projection_tracking.c.position)).scalars()) == {head}
        live = rows(container)
        assert len(live["inbox"]) == 4  # two admin notices of the signups, the booking's two notices
        assert rebuilt_equal(container, live)
    finally:
        container.close()
        other.close()


def test_only_a_counter_that_fell_is_checked_for_zero() -> None:
    """The people batch of a confirmation adds to two counters: no zero-counter delete is queued for
    them (a counter counts rows, so one that gained is above zero); one that fell gets it."""
    from collections import Counter

    from infrastructure.people_projection import COUNTER_ADDS, PeopleProjector
    from infrastructure.projector import Batch

    with sa.create_engine("sqlite://").connect() as conn:
        batch = Batch(conn)
        batch.pending["inbox_counters"] = Counter({"user:a": 2, "user:b": -1, "user:c": 0})
        PeopleProjector().flush(batch)
    assert [(statement, [row.get("key", row.get("b_key")) for row in rows]) for statement, rows in batch.inserts] == [
        (COUNTER_ADDS.sqlite, ["user:a", "user:b"]),
        (COUNTER_ADDS.drop_zero, ["user:b"]),
    ]


@pytest.mark.postgres
def test_a_confirmation_reads_no_document_its_holds_batch_committed(container: Container, monkeypatch: Any) -> None:
    """The hold's batch kept the appointment document it wrote (`DocumentMemory`): the confirmation's
    batch reads nothing before its writes (claim, writes and COMMIT in one round trip)."""
    if container.engine.dialect.name != "postgresql":
        pytest.skip("the documents' prefetch is PostgreSQL's")
    import infrastructure.joint_batch
    import infrastructure.projection_tracking

    consultant, client = signed_up(container, "Consultant"), signed_up(container, "Client")
    book(container, consultant, client, at(0, "09:00"))  # the first batches: nothing kept yet
    reads: list[Any] = []
    real = infrastructure.projection_tracking.claims_and_prefetch
    spy = lambda conn, claims, wanted: (reads.append(wanted), real(conn, claims, wanted))  # noqa: E731
    monkeypatch.setattr(infrastructure.projection_tracking, "claims_and_prefetch", spy)
    monkeypatch.setattr(infrastructure.joint_batch, "claims_and_prefetch", spy)
    appointment_id = book(container, consultant, client, at(0, "10:15"))
    assert reads == []  # `main` read the hold's document in the claim's round trip
    assert visible(container, appointment_id, client, consultant)
    live = rows(container)
    assert rebuilt_equal(container, live)


@pytest.mark.postgres
def test_kept_documents_are_dropped_when_another_worker_changed_them(settings: Any) -> None:
    """Another worker projects a change of a document this runner kept: this runner's claim from its
    own position fails, it goes on from the row's position with nothing kept, and the next change of
    that document starts from the other worker's version (the rows equal a rebuild)."""
    if settings.database_url is None:
        pytest.skip("the documents' prefetch is PostgreSQL's")
    container = build(settings, run_projections=True)
    other = build(settings, run_projections=False)  # a second worker of the same projections, driven below
    other.market.barrier = NoBarrier()
    try:
        consultant, client = signed_up(container, "Consultant"), signed_up(container, "Client")
        appointment_id = book(container, consultant, client, at(0, "09:00"))  # kept by this process's runner
        caller = Caller(client, "Client")
        other.bookings.change(caller, appointment_id, None, None, None, {"notes": "from the other worker"})
        other.runner.catch_up()
        other.people_runner.catch_up()
        container.bookings.change(caller, appointment_id, None, None, "Cancelled", {})
        head = container.market.recorder.max_notification_id()
        assert [r.position for r in container.runners] == [head, head]
        with container.engine.connect() as conn:
            found = conn.execute(sa.select(appointments.c.document).where(appointments.c.id == appointment_id))
            document = json.loads(found.scalar_one())
        assert document["status"] == "Cancelled" and document["notes"] == "from the other worker"
        assert kept_documents_are_the_rows(container)
        assert parking.count(container.engine) == 0
        live = rows(container)
        assert rebuilt_equal(container, live)
    finally:
        container.close()
        other.close()


@pytest.mark.postgres
def test_an_erasure_leaves_no_kept_document_behind(container: Container) -> None:
    """The erasers rewrite documents through the connection (`Batch.rewritten`): the runner keeps
    none of that batch, so what it keeps is still what the tables hold."""
    if container.engine.dialect.name != "postgresql":
        pytest.skip("the documents' prefetch is PostgreSQL's")
    consultant, client = signed_up(container, "Consultant"), signed_up(container, "Client")
    book(container, consultant, client, at(0, "09:00"), notes="the client's own words")
    book(container, consultant, client, at(0, "10:15"), notes="more of them")
    assert container.runner.memory.kept()  # the bookings' documents (the erasers scrub their notes)
    assert container.privacy is not None
    container.privacy.erase(client, CLIENT, "Client", "secret1")  # cancels both, then the erasure
    assert kept_documents_are_the_rows(container)
    live = rows(container)
    assert rebuilt_equal(container, live)
