"""What a booking's requests wait for: a confirmation answers with the document its own projection
batch committed (the request drove the runner: read-your-writes), without reading it back from the
table (the same document a read of the table gives, as the answer to confirming again shows); a
create-order reads the event store twice (the booking with the consultant it names, then the
order's claim in its write attempt)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.test_appointments import World, next_weekday
from tests.test_payments import Money


def quiet(api: Any) -> Any:
    """The in-process container with its background loops stopped: each request's own barrier
    applies its events, and nothing else reads the store meanwhile."""
    container = api.app.state.container
    container._stop.set()
    for thread in container._threads:
        thread.join(timeout=10)
    return container


def test_a_confirmation_answers_the_document_its_projection_wrote(api: Any) -> None:
    container = quiet(api)
    world = World(api)
    consultant, client = world.consultant(), world.client()
    day = next_weekday(1)
    held = world.hold(client, consultant, day, "09:00", "10:00")
    assert held.status_code == 200, held.text
    hold_id = held.json()["data"]["holdId"]

    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(container.engine, "before_cursor_execute", record)
    try:
        confirmed = world.confirm(client, consultant, day, "09:00", "10:00", hold_id, notes="bring reports")
    finally:
        sa.event.remove(container.engine, "before_cursor_execute", record)
    assert confirmed.status_code == 201, confirmed.text
    assert not [s for s in statements if "FROM appointments" in s]  # not read back

    again = world.confirm(client, consultant, day, "09:00", "10:00", hold_id, notes="bring reports")
    assert again.status_code == 200 and again.json()["message"] == "Appointment already confirmed"
    assert confirmed.json()["data"] == again.json()["data"]  # read from the table this time
    document = confirmed.json()["data"]
    assert (document["_id"], document["status"], document["notes"]) == (hold_id, "Upcoming", "bring reports")
    assert "expiresAt" not in document


def test_a_create_order_reads_the_store_twice(api: Any) -> None:
    container = quiet(api)
    world = Money(api)
    consultant, client = world.paid_consultant(), world.client()
    hold_id = world.held(client, consultant, next_weekday(2), "09:00", "10:00")
    reads: list[list[Any]] = []
    read = container.market.read_events
    container.market.read_events = lambda wanted: reads.append(list(wanted)) or read(wanted)
    try:
        order = world.order(client, consultant, hold_id)
    finally:
        container.market.read_events = read
    assert order.status_code == 200, order.text
    assert len(reads) == 2  # the hold and its consultant; then the order's claim (and the hold, afresh)
    again = world.order(client, world.paid_consultant(), hold_id)  # another consultant named: refused as before
    assert again.status_code == 400 and again.json()["message"] == "Consultant does not match the booking"
