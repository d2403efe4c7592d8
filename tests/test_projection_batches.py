"""A projection batch queues its updates and deletes (`Batch.write`) and keeps the documents it
changed in memory (`Batch.documents`): projecting a history in one batch, or one event per batch
(every document read back from its table), gives the same rows as the live system, and on the
path of a request no batch falls back to applying its events one by one."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import sqlalchemy as sa

from infrastructure.people_tables import PEOPLE_TABLES
from infrastructure.tables import READ_MODEL_TABLES
from tests.test_appointments import next_weekday
from tests.test_payments import Money


def rows(container: Any) -> dict[str, list[Any]]:
    with container.engine.connect() as conn:
        return {
            table.name: sorted(map(tuple, conn.execute(sa.select(table))))
            for table in (*READ_MODEL_TABLES, *PEOPLE_TABLES)
        }


def fallbacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "applying it in parts" in r.getMessage()]


def test_whole_batches_and_one_event_batches_project_the_same_rows(api: Any, caplog: Any) -> None:
    caplog.set_level(logging.WARNING, logger="infrastructure.projection_runner")
    world = Money(api)
    paid, free, client = world.paid_consultant(), world.consultant(), world.client()
    day = next_weekday(2)
    # paid: the order's transaction, then its success, invoice and the earnings in the confirmation's batch
    first = world.paid_booking(client, paid, day, "09:00", "10:00")
    world.paid_booking(client, paid, day, "10:15", "11:15")
    world.book(client, free, day, "09:00", "10:00")
    held = world.hold(client, free, day, "10:15", "11:15")
    assert held.status_code == 200, held.text
    # a cancellation refunds: the transaction's document changes again, the slot opens
    assert world.patch(paid, first["hold"], {"status": "Cancelled"}).status_code == 200
    assert fallbacks(caplog) == []  # every batch applied whole (its queued writes pipelined on PostgreSQL)

    container = world.container
    live = rows(container)
    assert live["transactions"] and live["consultant_balances"] and live["slot_bookings"] and live["inbox_counters"]
    for size in (1, 10_000):  # one event per batch: every document from its table; all in one batch
        for runner in container.runners:
            runner.batch_size = size
            runner.reset()
            runner.catch_up()
        assert rows(container) == live, size
    assert fallbacks(caplog) == []
