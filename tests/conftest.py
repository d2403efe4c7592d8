"""Shared fixtures.

Backends: every test that takes `settings` runs on SQLite and, when a server is reachable
(TEST_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/postgres), on PostgreSQL, each in a
database of its own that is dropped afterwards. With CONSULT_REQUIRE_SERVICES=1 (as in CI) a
missing Postgres or Redis fails the run instead of skipping.

That database starts as a copy of one the run migrated once (`migrate`, from empty: so every
migration still runs in every run): a PostgreSQL database created from that template, or for
SQLite a copy of its file. Migrating at startup then finds the schema current, as a restarted
service does; a test that needs an empty store makes its own (`postgres_database`, `make_settings`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from infrastructure.settings import Settings
from tests.databases import (
    ADMIN_DB_URL,
    REQUIRE_SERVICES,
    LaterDrops,
    create_database,
    drop_database,
    postgres_database,
    unavailable,
    url_of,
)

__all__ = ["ADMIN_DB_URL", "REQUIRE_SERVICES", "postgres_database"]  # imported by tests from here

ROOT = Path(__file__).resolve().parent.parent
# Under pytest-xdist each worker ("gw0", "gw1", ...) runs its tests beside the others': its Redis keys (rate
# limits, attempt budgets) go to a database of its own and its Socket.IO messages to a channel of its own
# (Redis pub/sub ignores the database number), so no test counts another worker's requests or events.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
if WORKER:
    REDIS_URL = urlsplit(REDIS_URL)._replace(path=f"/{int(WORKER.removeprefix('gw')) % 15 + 1}").geturl()
SOCKETIO_CHANNEL = f"consult-test-{os.environ.get('PYTEST_XDIST_TESTRUNUID', os.getpid())}-{WORKER or 'main'}"
ADMIN_PASSWORD = "Adm1nPassword"


def make_settings(tmp_path: Path, database_url: str | None = None, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "var",
        "database_url": database_url,
        "jwt_secret": "test-secret-" + "x" * 32,
        "password_hash_rounds": 4,
        "allow_otp_in_response": True,
        "rate_limit_max": 1_000_000,
        "auth_rate_limit_max": 1_000_000,
        "read_your_writes_timeout": 10.0,
        "socketio_channel": SOCKETIO_CHANNEL,
    }
    values.update(overrides)
    return Settings(**values)


class MigratedTemplates:
    """The stores migrated once per run, made on first use: a SQLite file and a Postgres database."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._sqlite: Path | None = None
        self._postgres: str | None = None
        self.drops = LaterDrops()  # the test databases made from the Postgres one

    def sqlite(self) -> Path:
        if self._sqlite is None:
            from infrastructure.bootstrap import migrate

            settings = make_settings(self.directory)
            migrate(settings)
            self._sqlite = settings.sqlite_path
        return self._sqlite

    def postgres(self) -> str:
        if self._postgres is None:
            from infrastructure.bootstrap import migrate

            self._postgres = create_database("consult_template_")
            migrate(make_settings(self.directory, url_of(self._postgres)))  # closes its engines
        return self._postgres

    def drop(self) -> None:
        self.drops.join()
        if self._postgres is not None:
            drop_database(self._postgres)


@pytest.fixture(scope="session")
def migrated_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MigratedTemplates]:
    templates = MigratedTemplates(tmp_path_factory.mktemp("migrated"))
    yield templates
    templates.drop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, migrated_templates: MigratedTemplates) -> Iterator[str | None]:
    """The DATABASE_URL of the backend under test (None = embedded SQLite), its store migrated."""
    if request.param == "sqlite":
        yield None
    else:
        with postgres_database(migrated_templates.postgres(), migrated_templates.drops) as url:
            yield url


@pytest.fixture
def settings(tmp_path: Path, backend: str | None, migrated_templates: MigratedTemplates) -> Settings:
    made = make_settings(tmp_path, backend)
    if backend is None:
        made.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(migrated_templates.sqlite(), made.sqlite_path)
    return made


@pytest.fixture
def container(settings: Settings) -> Iterator[Any]:
    """The application in-process, projections included, on the backend of the test's parameter."""
    from infrastructure.bootstrap import build

    built = build(settings, run_projections=True)
    yield built
    built.close()


@pytest.fixture
def api(settings: Settings) -> Iterator[Any]:
    """An in-process client of the whole ASGI app (lifespan run)."""
    from fastapi.testclient import TestClient

    from interfaces.http.app import create_app

    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as error:  # noqa: BLE001
        unavailable("Redis", error)
    return REDIS_URL


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def settings_env(settings: Settings) -> dict[str, str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATA_DIR": str(settings.data_dir),
        "JWT_SECRET": settings.resolved_jwt_secret,
        "PASSWORD_HASH_ROUNDS": str(settings.password_hash_rounds),
        "ALLOW_OTP_IN_RESPONSE": "true",
        "RATE_LIMIT_MAX": str(settings.rate_limit_max),
        "AUTH_RATE_LIMIT_MAX": str(settings.auth_rate_limit_max),
        "READ_YOUR_WRITES_TIMEOUT": str(settings.read_your_writes_timeout),
        "SOCKETIO_CHANNEL": settings.socketio_channel,
    }
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    else:
        env.pop("DATABASE_URL", None)
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    return env


def run_cli(settings: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """`consult <args>` run to its end in a process of its own on these settings, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "interfaces.cli", *args],
        env=settings_env(settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def rebuild(settings: Settings, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """`consult rebuild` (read models and reporting store from the events), which must succeed."""
    done = run_cli(settings, "rebuild", timeout=timeout)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


class Server:
    """A real `consult serve` process (uvicorn) on a free port."""

    def __init__(self, settings: Settings, *args: str, extra_env: dict[str, str] | None = None):
        self.env = {**settings_env(settings), **(extra_env or {})}
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(3):  # a port found free may be taken before the server binds it (another worker's)
            self.start(settings, args)
            try:
                self.wait_ready()
                return
            except BaseException:
                self.stop()
                if attempt == 2 or "address already in use" not in self.log.read_text():
                    raise

    def start(self, settings: Settings, args: tuple[str, ...]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = settings.data_dir.parent / f"server-{self.port}.log"
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "interfaces.cli",
                "serve",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                *args,
            ],
            env=self.env,
            cwd=ROOT,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stop() leaves no worker child behind
        )

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready: {self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(ProcessLookupError):  # a child the server did not stop in time
            os.killpg(self.process.pid, signal.SIGKILL)


@pytest.fixture
def server(settings: Settings) -> Iterator[Server]:
    running = Server(settings)
    yield running
    running.stop()


# -- helpers for tests that drive the API ------------------------------------------------------


def create_admin(api: Any, email: str = "admin@example.com") -> str:
    reply = api.post(
        "/api/v1/auth/create-admin",
        json={"fullName": "Site Admin", "email": email, "password": ADMIN_PASSWORD, "mobile": "9000000001"},
    )
    assert reply.status_code == 201, reply.text
    return login(api, email, ADMIN_PASSWORD, "Admin")


def login(api: Any, email: str, password: str, role: str | None = None) -> str:
    body = {"email": email, "password": password}
    if role:
        body["role"] = role
    reply = api.post("/api/v1/auth/login", json=body)
    assert reply.status_code == 200, reply.text
    return str(reply.json()["data"]["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def signup(api: Any, role: str = "Client", **fields: Any) -> dict[str, Any]:
    unique = secrets.token_hex(4)
    body = {
        "fullName": f"{role} {unique}",
        "email": f"{role.lower()}.{unique}@example.com",
        "mobile": "+9198" + str(int(unique, 16) % 10**8).zfill(8),
        "password": "secret1",
        "role": role,
        **fields,
    }
    reply = api.post("/api/v1/auth/signup", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()["data"]  # type: ignore[no-any-return]


def ok(reply: Any, status: int, message: str) -> Any:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["success"] is True and body["message"] == message, body
    return body.get("data")


def refused(reply: Any, status: int, message: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["success"] is False and body["message"] == message, body
    return body  # type: ignore[no-any-return]


def employee_token(api: Any, admin: dict[str, str]) -> str:
    unique = secrets.token_hex(3)
    mobile = "97" + str(int(unique, 16)).zfill(8)
    created = api.post(
        "/api/v1/users",
        headers=admin,
        json={
            "userId": f"EMP{unique}",
            "fullName": "Emma Employee",
            "email": f"emp.{unique}@example.com",
            "mobile": mobile,
            "role": "Employee",
        },
    )
    assert created.status_code == 201, created.text
    otp = api.post("/api/v1/auth/send-otp", json={"mobile": mobile}).json()["data"]["otp"]
    reply = api.post("/api/v1/auth/verify-otp", json={"mobile": mobile, "otp": otp, "role": "Employee"})
    assert reply.status_code == 200, reply.text
    return str(reply.json()["data"]["token"])


def signed_up(container: Any, role: str) -> str:
    """A new account made through the identity service of an in-process container (Consultants approved)."""
    unique = secrets.token_hex(4)
    data = container.identity.signup(
        {
            "fullName": f"{role} {unique}",
            "email": f"{role.lower()}.{unique}@example.com",
            "mobile": "+9194" + str(int(unique, 16) % 10**8).zfill(8),
            "password": "secret1",
            "role": role,
        }
    )
    account_id = str(data["user"]["id"])
    if role == "Consultant":
        container.people.set_consultant_status(account_id, "approve")
    return account_id
