"""End to end: a PUT of availability reaches real Socket.IO clients (python-socketio and the apps'
JavaScript `socket.io-client`) as `availability:updated`, and a GET issued on receipt already shows
the new slots; across processes through Redis; and the slot read model survives a killed worker."""

from __future__ import annotations

import fcntl
import json
import queue
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
import sqlalchemy as sa

from tests.conftest import ROOT, Server, make_settings, postgres_database, rebuild, settings_env

API = "/api/v1"
JS_DIR = ROOT / "tests" / "js"
PASSWORD = "secret1"


def next_tuesday() -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=(1 - today.weekday()) % 7 + 7)


class Worker:
    """A real `consult worker` process (projections only)."""

    def __init__(self, env: dict[str, str], log: Path):
        self.env, self.log = env, log
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        starts = self.log.read_text().count("following the event log") if self.log.exists() else 0
        self.process = subprocess.Popen(
            [sys.executable, "-m", "interfaces.cli", "worker"],
            env=self.env,
            cwd=ROOT,
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while self.log.read_text().count("following the event log") == starts:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            assert time.monotonic() < deadline, "worker did not start"
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=15)


class Scenario:
    """An admin, an Active consultant and a client, created over HTTP on `base_url`."""

    def __init__(self, base_url: str):
        self.http = httpx.Client(base_url=base_url + API, timeout=30)
        unique = secrets.token_hex(4)
        admin = self.http.post(
            "/auth/create-admin",
            json={
                "fullName": "Admin",
                "email": f"admin{unique}@example.com",
                "password": "Adm1nPassword",
                "mobile": "9000000001",
            },
        )
        if admin.status_code == 403:  # the store already has its admin (a second scenario on one store)
            raise AssertionError("one scenario per store")
        self.admin = self.login(f"admin{unique}@example.com", "Adm1nPassword", "Admin")
        self.consultant_id, self.consultant = self.register("Consultant", unique)
        self.http.post(f"/consultants/{self.consultant_id}/approve", headers=self.auth(self.admin)).raise_for_status()
        self.client_id, self.client = self.register("Client", unique)

    def login(self, email: str, password: str, role: str) -> str:
        reply = self.http.post("/auth/login", json={"email": email, "password": password, "role": role})
        reply.raise_for_status()
        return str(reply.json()["data"]["token"])

    def register(self, role: str, unique: str) -> tuple[str, str]:
        reply = self.http.post(
            "/auth/signup",
            json={
                "fullName": f"{role} {unique}",
                "email": f"{role.lower()}{unique}@example.com",
                "mobile": "+9197" + str(int(unique, 16) % 10**8).zfill(8)
                if role == "Client"
                else "+9196" + str(int(unique, 16) % 10**8).zfill(8),
                "password": PASSWORD,
                "role": role,
            },
        )
        reply.raise_for_status()
        data = reply.json()["data"]
        return data["user"]["id"], data["token"]

    @staticmethod
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def put_availability(self, body: dict[str, Any], http: httpx.Client | None = None) -> httpx.Response:
        reply = (http or self.http).put(
            f"/consultant-settings/{self.consultant_id}/availability", json=body, headers=self.auth(self.consultant)
        )
        assert reply.status_code == 200, reply.text
        return reply

    def slots(self, day: date, http: httpx.Client | None = None) -> list[str]:
        reply = (http or self.http).get(
            "/appointments/available-slots",
            params={"consultant": self.consultant_id, "date": day.isoformat()},
            headers=self.auth(self.client),
        )
        reply.raise_for_status()
        return list(reply.json()["data"])


def thirty_minute_slots() -> dict[str, Any]:
    return {
        "sessionSettings": {"defaultDuration": 30, "bufferTime": 0},
        "workingHours": {"tuesday": {"enabled": True, "slots": [{"start": "10:00", "end": "12:00"}]}},
    }


EXPECTED_TUESDAY = ["10:00 - 10:30", "10:30 - 11:00", "11:00 - 11:30", "11:30 - 12:00"]


def listen_python(url: str, token: str, consultant_id: str, on_event: Any) -> socketio.Client:
    client = socketio.Client(reconnection=False)
    client.on(
        "availability:updated",
        lambda payload: on_event(payload) if payload.get("consultantId") == consultant_id else None,
    )
    client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    return client


def test_python_socket_gets_the_event_and_fresh_slots(server):
    scenario = Scenario(server.url)
    day = next_tuesday()
    received: queue.Queue[tuple[dict[str, Any], list[str]]] = queue.Queue()
    fetcher = httpx.Client(base_url=server.url + API, timeout=30)

    def on_event(payload: dict[str, Any]) -> None:
        received.put((payload, scenario.slots(day, fetcher)))  # refetch at once, as the apps do

    client = listen_python(server.url, scenario.client, scenario.consultant_id, on_event)
    try:
        assert scenario.slots(day) != EXPECTED_TUESDAY
        scenario.put_availability(thirty_minute_slots())
        payload, slots = received.get(timeout=10)
        assert payload["consultantId"] == scenario.consultant_id
        assert payload["targetUserId"] == scenario.consultant_id
        assert payload["reason"] == "availability"
        assert slots == EXPECTED_TUESDAY
    finally:
        client.disconnect()


@pytest.fixture(scope="session")
def socket_io_client_js() -> Path:
    """The JavaScript client the apps use, installed with npm. Missing node or npm fails the test."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are required for the socket.io-client end-to-end test")
    with open(JS_DIR / ".npm-install.lock", "w") as lock:  # pytest-xdist workers install it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (JS_DIR / "node_modules" / "socket.io-client").exists():
            result = subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, capture_output=True, text=True, timeout=300
            )
            if result.returncode != 0:
                pytest.fail(f"npm ci failed: {result.stdout}\n{result.stderr}")
    return JS_DIR / "listen.js"


def test_javascript_socket_io_client_gets_the_event_and_fresh_slots(server, socket_io_client_js):
    scenario = Scenario(server.url)
    day = next_tuesday()
    node = subprocess.Popen(
        ["node", str(socket_io_client_js), server.url, scenario.client, scenario.consultant_id, day.isoformat()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert node.stdout is not None
        first = json.loads(node.stdout.readline())
        assert first == {"connected": True}, first
        scenario.put_availability(thirty_minute_slots())
        line = node.stdout.readline()
        assert line, node.stderr.read() if node.stderr else ""
        result = json.loads(line)
        assert result["event"]["consultantId"] == scenario.consultant_id
        assert result["slots"] == EXPECTED_TUESDAY
    finally:
        node.kill()
        node.wait()


def test_unauthorised_sockets_are_refused(server):
    scenario = Scenario(server.url)
    registration = scenario.http.post("/auth/send-otp", json={"mobile": "+919811112222"}).json()["data"]["otp"]
    token = scenario.http.post("/auth/verify-otp", json={"mobile": "+919811112222", "otp": registration}).json()[
        "data"
    ]["registrationToken"]
    import jwt

    no_role = jwt.encode(
        {"id": scenario.client_id, "typ": "access", "exp": int(time.time()) + 60},
        settings_env_secret(server),
        algorithm="HS256",
    )
    for auth, message in (
        ({}, "Authentication error: No token provided"),
        ({"token": "garbage"}, "Authentication error: Invalid token"),
        ({"token": token}, "Authentication error: Invalid token"),
        ({"token": no_role}, "Authentication error: Invalid token"),
    ):
        client = socketio.Client(reconnection=False)
        refusals: list[Any] = []
        client.on("connect_error", refusals.append)
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(server.url, auth=auth, transports=["websocket"], wait_timeout=10)
        assert refusals and refusals[0]["message"] == message, refusals
    # the Bearer prefix is accepted, and `?token=` in the URL too
    client = socketio.Client(reconnection=False)
    client.connect(server.url, auth={"token": "Bearer " + scenario.client}, transports=["websocket"])
    client.disconnect()
    client = socketio.Client(reconnection=False)
    client.connect(f"{server.url}?token={scenario.client}", transports=["websocket"])
    client.disconnect()


def settings_env_secret(server: Server) -> str:
    return server.env["JWT_SECRET"]


# -- several processes: Postgres + Redis -------------------------------------------------------


@pytest.fixture
def cluster(tmp_path, redis_url):
    """Two API processes that run no projections and one worker, sharing Postgres and Redis."""
    with postgres_database(cluster=True) as url:
        settings = make_settings(tmp_path, url, redis_url=redis_url, read_your_writes_timeout=2.0)
        extra = {"SOCKETIO_CHANNEL": "consult-test-" + secrets.token_hex(4), "CONSULT_RUN_PROJECTIONS": "0"}
        first = Server(settings, extra_env=extra)
        second = Server(settings, extra_env=extra)
        worker = Worker({**settings_env(settings), **extra}, tmp_path / "worker.log")
        try:
            yield first, second, worker, settings
        finally:
            first.stop()
            second.stop()
            if worker.process and worker.process.poll() is None:
                worker.stop()


@pytest.mark.postgres
@pytest.mark.redis
def test_event_from_a_put_on_one_process_reaches_a_socket_on_another(cluster):
    first, second, _, _ = cluster
    scenario = Scenario(first.url)
    day = next_tuesday()
    on_second = httpx.Client(base_url=second.url + API, timeout=30)
    received: queue.Queue[tuple[dict[str, Any], list[str]]] = queue.Queue()
    client = listen_python(
        second.url,
        scenario.client,
        scenario.consultant_id,
        lambda payload: received.put((payload, scenario.slots(day, on_second))),
    )
    try:
        time.sleep(0.5)  # let process B's Redis listener subscribe
        scenario.put_availability(thirty_minute_slots())  # sent to process A
        payload, slots = received.get(timeout=15)
        assert payload["consultantId"] == scenario.consultant_id
        assert slots == EXPECTED_TUESDAY
    finally:
        client.disconnect()


@pytest.mark.postgres
@pytest.mark.redis
def test_a_put_waits_for_a_stopped_worker_then_slots_catch_up(cluster):
    first, _, worker, _ = cluster
    scenario = Scenario(first.url)
    day = next_tuesday()
    worker.stop()
    started = time.monotonic()
    scenario.put_availability(thirty_minute_slots())
    assert time.monotonic() - started >= 1.5  # waited for the bound (2 s), then answered 2xx
    assert scenario.slots(day) != EXPECTED_TUESDAY
    worker.start()
    deadline = time.monotonic() + 20
    while scenario.slots(day) != EXPECTED_TUESDAY:
        assert time.monotonic() < deadline, "slots never caught up after the worker came back"
        time.sleep(0.1)


@pytest.mark.postgres
@pytest.mark.redis
def test_killed_worker_resumes_exactly_where_it_stopped(cluster, tmp_path):
    first, second, worker, settings = cluster
    scenario = Scenario(first.url)
    stop = threading.Event()
    last_response: list[dict[str, Any]] = []
    errors: list[str] = []

    def stream() -> None:
        apis = [httpx.Client(base_url=first.url + API, timeout=30), httpx.Client(base_url=second.url + API, timeout=30)]
        for index in range(60):
            if stop.is_set():
                break
            end = f"{12 + index % 6:02d}:00"
            try:
                reply = scenario.put_availability(
                    {
                        "workingHours": {"tuesday": {"enabled": True, "slots": [{"start": "09:00", "end": end}]}},
                        "sessionSettings": {"maxSessionsPerDay": 1 + index % 40},
                    },
                    http=apis[index % 2],
                )
                last_response[:] = [reply.json()["data"]]
            except AssertionError as error:
                errors.append(str(error))

    sender = threading.Thread(target=stream)
    sender.start()
    time.sleep(2.0)
    worker.stop(signal.SIGKILL)  # in the middle of the stream
    time.sleep(1.0)
    worker.start()
    sender.join(timeout=300)
    stop.set()
    assert not errors, errors
    engine = sa.create_engine(settings.sqlalchemy_url)
    try:
        deadline = time.monotonic() + 30
        while True:
            with engine.connect() as conn:
                position = conn.execute(
                    sa.text("SELECT position FROM projection_tracking WHERE name = 'read_models'")
                ).scalar()
                latest = conn.execute(sa.text("SELECT max(notification_id) FROM marketplace_events")).scalar()
            if position == latest:
                break
            assert time.monotonic() < deadline, (position, latest)
            time.sleep(0.2)
        live = read_models(engine)
        assert json.loads(live["consultant_settings"][scenario.consultant_id])["availability"] == last_response[0]
        worker.stop()
        first.stop()
        second.stop()
        rebuild(settings)
        assert read_models(engine) == live
    finally:
        engine.dispose()


def read_models(engine: sa.Engine) -> dict[str, dict[str, str]]:
    with engine.connect() as conn:
        return {
            "consultant_settings": dict(
                conn.execute(sa.text("SELECT consultant_id, document FROM consultant_settings")).all()
            ),
            "accounts": dict(conn.execute(sa.text("SELECT id, document FROM accounts")).all()),
        }
