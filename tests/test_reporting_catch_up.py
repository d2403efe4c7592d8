"""The reporting store's catch-up under a steady stream of commands: it stops at the end of the log as
its last read found it, instead of catching up one command at a time while commands keep coming."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from infrastructure.settings import Settings
from interfaces.http.app import create_app
from tests.conftest import bearer, create_admin
from tests.test_analytics_consistency import store_from_events

API = "/api/v1"


def test_a_catch_up_stops_at_the_end_it_read_while_commands_keep_coming(settings: Settings, tmp_path: Path) -> None:
    """Each read of the log is followed by one more command, as when bookings keep arriving while the
    background loop catches up: the catch-up applies what the log held when it was read and returns
    (the next one, a second later, takes the rest), where it used to go on batch after tiny batch,
    paying each batch's fixed costs (a DuckDB transaction over a dozen tables) for each command."""
    with TestClient(create_app(settings)) as api:
        admin = bearer(create_admin(api))
        container = api.app.state.container
        store = store_from_events(container, tmp_path / "second.duckdb")
        store.batch_size = 10_000
        try:
            reads, streaming = 0, True
            read = store._read

            def read_then_command(start: int, limit: int) -> list[Any]:
                nonlocal reads
                reads += 1
                found = read(start, limit)
                if streaming and reads <= 5:  # a command lands after each read, while the batch is applied
                    reply = api.post(f"{API}/categories", headers=admin, json={"title": f"Streamed {reads}"})
                    assert reply.status_code == 201, reply.text
                return found

            store._read = read_then_command
            batches = 0
            process = store._process_batch

            def counted(*args: Any, **kwargs: Any) -> int:
                nonlocal batches
                batches += 1
                return process(*args, **kwargs)

            store._process_batch = counted  # type: ignore[method-assign]
            head = container.market.recorder.max_notification_id()
            assert store.catch_up() == head  # the log's end when read, not the commands written since
            assert batches == 1
            assert container.market.recorder.max_notification_id() > head  # a command came meanwhile
            streaming = False
            store.catch_up()  # the next catch-up takes what came since, in one batch
            assert batches == 2
            assert store.position == container.market.recorder.max_notification_id()
        finally:
            store.close()
