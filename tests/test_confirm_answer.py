"""A confirmation answers with the document its own projection batch committed (the request drove
the runner: read-your-writes), without reading it back from the table; the same document a read of
the table gives, as the answer to confirming again (which writes nothing) shows."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from tests.test_appointments import World, next_weekday


def test_a_confirmation_answers_the_document_its_projection_wrote(api: Any) -> None:
    container = api.app.state.container
    container._stop.set()  # no background loop: this request's own barrier applies its events
    for thread in container._threads:
        thread.join(timeout=10)
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
