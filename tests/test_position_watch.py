"""Read-your-writes across processes over LISTEN/NOTIFY (`infrastructure.position_watch`): an API
container that does not run the projections waits for a projection worker's commit, which wakes it;
the worker wakes on the API's writes. The fallback polls are set far beyond the read-your-writes
bound here, so only notifications can make these waits end in time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from infrastructure.barrier import Barrier
from infrastructure.bootstrap import build
from infrastructure.position_watch import PositionWatch
from infrastructure.tables import accounts
from tests.conftest import make_settings, signed_up
from tests.databases import postgres_database

pytestmark = pytest.mark.postgres

NEVER = 120.0  # a fallback poll that never comes within a test


@pytest.fixture
def store(tmp_path, migrated_templates) -> Iterator[Any]:
    with postgres_database(migrated_templates.postgres(), migrated_templates.drops, cluster=True) as url:
        yield make_settings(tmp_path, url, read_your_writes_timeout=20.0)  # two containers, 16 threads


@pytest.fixture
def api_and_worker(store, monkeypatch) -> Iterator[tuple[Any, Any]]:
    """An API container (no projections: its barriers wait on the watch) and a projection worker whose
    runners follow the log in threads, woken only by the watch's notifications."""
    monkeypatch.setattr(Barrier, "REREAD", NEVER)
    worker = build(store, run_projections=True)
    api = build(store, run_projections=False)
    assert api.watch is not None
    woken = api.waits = []  # how each of the API's waits for the worker ended: True when a notification woke it
    wait_for = api.watch.wait_for
    api.watch.wait_for = lambda *args: woken.append(wait_for(*args)) or woken[-1]
    watch = PositionWatch(store.database_url, worker.market.recorder.channel_name).start()
    stop = threading.Event()
    threads = [
        threading.Thread(target=runner.run_forever, args=(stop, NEVER, watch.waker()), daemon=True)
        for runner in worker.runners
    ]
    for thread in threads:
        thread.start()
    try:
        yield api, worker
    finally:
        stop.set()
        watch._wake()  # the runners leave their wait
        for thread in threads:
            thread.join(timeout=10)
        watch.close()
        api.close()
        worker.close()


def test_a_command_answers_once_the_worker_projected_it_and_its_read_sees_it(api_and_worker):
    api, _ = api_and_worker
    for role in ("Client", "Consultant", "Client"):
        account = signed_up(api, role)  # signup, and for a consultant its approval: each waits for the worker
        assert api.directory.by_id(role.lower(), account) is not None
    assert False not in api.waits  # none ended at its bound (20 s) instead


def test_many_concurrent_commands_each_read_their_own_write(api_and_worker):
    api, _ = api_and_worker

    def sign_up(index: int) -> bool:
        account = signed_up(api, "Client")
        return api.directory.by_id("client", account) is not None

    with ThreadPoolExecutor(16) as pool:
        seen = list(pool.map(sign_up, range(48)))
    assert seen == [True] * 48
    assert False not in api.waits
    with api.engine.connect() as conn:  # each signup projected once: one row per account
        assert conn.execute(sa.select(sa.func.count()).select_from(accounts)).scalar() == 48


def test_a_notification_arrives_only_when_the_tracking_row_commits(store):
    watch = PositionWatch(store.database_url, "unused_channel").start()
    try:
        assert watch.wait_for("anything", 1, 0) is False
        with psycopg.connect(store.database_url) as conn:
            deadline = time.monotonic() + 10
            while (
                not watch.listening and time.monotonic() < deadline
            ):  # its thread connects (slowly, on a busy machine)
                time.sleep(0.05)
            assert watch.listening
            conn.execute("INSERT INTO projection_tracking (name, position) VALUES ('probe', 0)")
            conn.commit()
            conn.execute("UPDATE projection_tracking SET position = 7 WHERE name = 'probe'")
            assert watch.wait_for("probe", 7, 0.5) is False  # not committed yet: nothing is heard
            conn.commit()
            assert watch.wait_for("probe", 7, 30) is True
            assert watch.heard("probe") == 7
            conn.execute("UPDATE projection_tracking SET position = 0 WHERE name = 'probe'")  # a rebuild's rewind
            conn.commit()
            conn.execute("UPDATE projection_tracking SET position = 9 WHERE name = 'probe'")
            conn.commit()
            assert watch.wait_for("probe", 9, 30) is True
            assert watch.heard("probe") == 9
    finally:
        watch.close()


def test_without_notifications_the_wait_falls_back_to_polling(store):
    """A watch that never connects (a wrong address): the API's barriers poll the tracking row as before."""
    worker = build(store, run_projections=True)
    api = build(store, run_projections=False)
    assert api.watch is not None
    api.watch.close()
    deaf = PositionWatch("postgresql://postgres@127.0.0.1:1/none", "x", reconnect_delay=60).start()
    for barrier in api.market.barrier.barriers:
        barrier.watch = deaf
    stop = threading.Event()
    threads = [threading.Thread(target=runner.run_forever, args=(stop, 0.02), daemon=True) for runner in worker.runners]
    for thread in threads:
        thread.start()
    try:
        account = signed_up(api, "Client")
        assert api.directory.by_id("client", account) is not None
        assert not deaf.listening
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        deaf.close()
        api.close()
        worker.close()
