"""A runner none of whose projectors needs a command's events (the people projection and a hold)
passes them without a transaction: the command's read-your-writes wait ends with the runner past
them, its tracking row follows with its next batch that writes (claimed from the committed
position) or when the background loop catches up, and a worker that projects the same events
meanwhile makes that claim fail: nothing is applied twice, and the read models equal a rebuild."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from application.bookings import Caller
from application.marketplace import NoBarrier
from infrastructure import parking
from infrastructure.bootstrap import Container, build
from infrastructure.people_tables import PEOPLE_TABLES
from infrastructure.tables import READ_MODEL_TABLES
from tests.conftest import signed_up

IST = ZoneInfo("Asia/Kolkata")


def hold(container: Container, consultant: str, client: str) -> None:
    """A hold at 09:00 on the Monday two weeks ahead (a default open slot)."""
    today = datetime.now(UTC).astimezone(IST).date()
    monday = today + timedelta(days=14 - today.weekday())
    start = datetime.combine(monday, datetime.strptime("09:00", "%H:%M").time(), tzinfo=IST)
    container.bookings.hold(Caller(client, "Client"), consultant, client, start, start + timedelta(hours=1))


def rows(container: Container) -> dict[str, list[Any]]:
    with container.engine.connect() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(sa.select(table))))
            for table in (*READ_MODEL_TABLES, *PEOPLE_TABLES)
        }


def test_events_no_projector_needs_are_passed_without_a_transaction(container: Container) -> None:
    people = container.people_runner
    assert people is not None
    consultant, client = signed_up(container, "Consultant"), signed_up(container, "Client")
    committed = people.committed_position()
    assert committed == people.position  # the registrations were applied (the people projection needs them)

    hold(container, consultant, client)
    head = container.market.recorder.max_notification_id()
    assert people.position == head  # the command's wait ended with the runner past its events
    assert people.committed_position() == committed  # without a transaction
    assert container.runner.committed_position() == head  # the read models of the hold were written

    people.catch_up()  # the background loop: the tracking row follows
    assert people.committed_position() == head


def test_a_claim_from_the_committed_position_refuses_what_another_worker_applied(settings: Any) -> None:
    container = build(settings, run_projections=True)
    other = build(settings, run_projections=False)  # a second worker of the same projections, driven below
    other.market.barrier = NoBarrier()
    try:
        people = container.people_runner
        assert people is not None and other.people_runner is not None
        consultant, client = signed_up(container, "Consultant"), signed_up(container, "Client")
        committed = people.committed_position()
        hold(container, consultant, client)
        assert people.committed_position() == committed < people.position  # passed in memory only

        other.people_runner.catch_up()  # claims the passed events, and goes on
        signed_up(other, "Client")  # an account the people projection needs, projected by the other worker
        other.people_runner.catch_up()
        assert people.committed_position() > people.position

        also = signed_up(container, "Client")  # this runner's claim from `committed` fails: it moves on from there
        head = container.market.recorder.max_notification_id()
        assert also and people.position == people.committed_position() == head
        assert parking.count(container.engine) == 0  # no event failed (a notice inserted twice would)
        projected = rows(container)
        assert len(projected["inbox"]) >= 2  # the registrations' admin notices (late's, also's among them)

        people.reset()
        container.runner.reset()
        people.catch_up()
        container.runner.catch_up()
        assert rows(container) == projected  # nothing applied twice or lost: what a rebuild projects
    finally:
        container.close()
        other.close()
