"""Issue 12 §5: `consult serve --workers N` supervises its projection/reporting worker child: a
child that dies is started again, and `GET /api/v1/health` shows each projection's lag (the event
log's head minus its tracking position) meanwhile."""

from __future__ import annotations

import dataclasses
import os
import secrets
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_PASSWORD, Server, make_settings, postgres_database


def worker_children(parent: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if (
            ppid == parent
            and b"interfaces.cli" in argv
            and b"worker" in argv
            and not stat.rsplit(")", 1)[1].split()[0] == "Z"
        ):
            found.append(int(entry.name))
    return found


def eventually(check: Any, timeout: float = 60, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout}s: {what}")


def lag(http: httpx.Client) -> dict[str, int]:
    reply = http.get("/health")
    assert reply.status_code == 200, reply.text
    return dict(reply.json()["data"]["projectionLag"])


def test_health_reports_projection_lag_in_one_process(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from interfaces.http.app import create_app

    with TestClient(create_app(make_settings(tmp_path))) as api:
        created = api.post(
            "/api/v1/auth/create-admin",
            json={"fullName": "Admin", "email": "a@example.com", "password": ADMIN_PASSWORD, "mobile": "9000000001"},
        )
        assert created.status_code == 201, created.text
        time.sleep(1.1)  # the figures are re-read at most once a second
        body = api.get("/api/v1/health").json()["data"]
        assert body["status"] == "up"
        assert body["projectionLag"]["read_models"] == 0
        assert body["projectionLag"]["reporting"] >= 0


def test_health_reads_the_store_at_most_once_a_second(tmp_path: Path) -> None:
    """Load balancers poll health: a fresh reading is answered from memory, with no statement."""
    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    from interfaces.http import health
    from interfaces.http.app import create_app

    with TestClient(create_app(make_settings(tmp_path))) as api:
        container = api.app.state.container
        statements: list[str] = []
        sa.event.listen(container.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        health._cache.clear()
        assert api.get("/api/v1/health").json()["data"]["status"] == "up"
        read = [s for s in statements if "parked_events" in s]
        assert len(read) == 1  # the first answer reads
        cached = health._cache[id(container)]
        for _ in range(20):  # each within a second of the reading (made so: a loaded machine may take longer)
            health._cache[id(container)] = dataclasses.replace(cached, at=time.monotonic())
            assert api.get("/api/v1/health").status_code == 200
        assert [s for s in statements if "parked_events" in s] == read  # the next ones, within a second, do not
        health._cache[id(container)] = dataclasses.replace(health._cache[id(container)], at=time.monotonic() - 2)
        api.get("/api/v1/health")
        assert len([s for s in statements if "parked_events" in s]) == 2  # a stale one is read again


@pytest.mark.postgres
@pytest.mark.redis
def test_a_dead_worker_child_is_restarted_and_the_lag_shows_meanwhile(tmp_path: Path, redis_url: str) -> None:
    with postgres_database(cluster=True) as url:
        settings = make_settings(tmp_path, url, redis_url=redis_url, read_your_writes_timeout=1.0)
        server = Server(settings, "--workers", "2", extra_env={"SOCKETIO_CHANNEL": "consult-" + secrets.token_hex(4)})
        try:
            http = httpx.Client(base_url=server.url + "/api/v1", timeout=30)
            first = eventually(lambda: worker_children(server.process.pid), what="the worker child")
            assert len(first) == 1
            os.kill(first[0], signal.SIGSTOP)  # frozen: nothing follows the log
            created = http.post(
                "/auth/create-admin",
                json={
                    "fullName": "Admin",
                    "email": "a@example.com",
                    "password": ADMIN_PASSWORD,
                    "mobile": "9000000001",
                },
            )
            assert created.status_code == 201, created.text  # durable; answered after the bounded wait
            eventually(lambda: lag(http).get("read_models", 0) > 0, 10, "a lag while no worker runs")
            os.kill(first[0], signal.SIGKILL)  # the worker dies
            again = eventually(
                lambda: [pid for pid in worker_children(server.process.pid) if pid != first[0]], what="a new worker"
            )
            assert len(again) == 1
            eventually(  # every projection of the worker (read models, people) back at the head of the log
                lambda: (figures := lag(http)).get("read_models") == 0 and not any(figures.values()),
                60,
                "the new worker caught up",
            )
            login = http.post(
                "/auth/login", json={"email": "a@example.com", "password": ADMIN_PASSWORD, "role": "Admin"}
            )
            assert login.status_code == 200, login.text
            token = {"Authorization": f"Bearer {login.json()['data']['token']}"}
            overview = eventually(
                lambda: (reply := http.get("/analytics/overview", headers=token)).status_code == 200 and reply,
                30,
                "analytics served by the restarted reporting worker",
            )
            assert overview.json()["success"] is True
            assert "restarting" in server.log.read_text()
        finally:
            server.stop()
        assert worker_children(server.process.pid) == []
