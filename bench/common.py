"""Shared pieces of the HTTP benchmarks: the machine line, throwaway databases, a real `consult
serve` process with the rate limits lifted, the HTTP scenario (admin, Active consultant, client),
and small statistics helpers (the closed-loop load is `bench.load`).

Each benchmark imports this module as `bench.common` (the scripts put the repository root on
`sys.path` first, so they run as `.venv/bin/python bench/<name>.py` from the repository root)."""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from infrastructure.settings import Settings  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
API = "/api/v1"
HEALTH = API + "/health"
JWT_SECRET = "bench-secret-" + "x" * 40
NO_LIMIT = "1000000000"
PASSWORD = "secret1"
ADMIN_PASSWORD = "Adm1nPassword"
# the first admin of a store a bench fills directly (`identity.create_first_admin`'s arguments)
BENCH_ADMIN = ("Bench Admin", "admin@bench.example.com", ADMIN_PASSWORD, "9000000001")


# -- the machine ---------------------------------------------------------------------------------


def machine() -> str:
    load = os.getloadavg()
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"`nproc` {len(os.sched_getaffinity(0))}, {cpu}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, load average before the run {load[0]:.2f}"
    )


def utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def revision(root: Path = ROOT) -> str:
    """The commit measured (of the tree at `root`: this one, or the code a bench imports from another
    tree), marked `+dirty` when that working tree has uncommitted changes."""
    try:
        git = ["git", "-C", str(root)]
        commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(
            [*git, "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


# -- stores and servers --------------------------------------------------------------------------


@contextlib.contextmanager
def database(backend: str) -> Iterator[str | None]:
    """The DATABASE_URL to use (None = embedded SQLite under DATA_DIR); a Postgres database is
    created for this run and dropped afterwards."""
    if backend == "sqlite":
        yield None
        return
    import psycopg

    name = "consult_bench_" + secrets.token_hex(6)
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench_settings(work: Path, database_url: str | None) -> Settings:
    return Settings(
        data_dir=work / "var",
        database_url=database_url,
        jwt_secret=JWT_SECRET,
        password_hash_rounds=4,
        rate_limit_max=int(NO_LIMIT),
        auth_rate_limit_max=int(NO_LIMIT),
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, process: subprocess.Popen[Any], log_path: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited:\n{log_path.read_text()[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"server not ready:\n{log_path.read_text()[-3000:]}")
        time.sleep(0.1)


def stop_process(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class Served:
    url: str
    process: subprocess.Popen[Any]


@contextlib.contextmanager
def consult_server(
    settings: Settings,
    log_path: Path,
    workers: int = 1,
    redis_url: str | None = None,
    ready_timeout: float = 120,
) -> Iterator[Served]:
    """A real `consult serve` process (one uvicorn process, projections in-process; or with
    `workers` > 1 the production shape: N API processes, a projection worker child, Redis), rate
    limits lifted; yields its base URL and process (for a profiler to attach to)."""
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATA_DIR": str(settings.data_dir),
        "JWT_SECRET": JWT_SECRET,
        "RATE_LIMIT_MAX": NO_LIMIT,
        "AUTH_RATE_LIMIT_MAX": NO_LIMIT,
        "PASSWORD_HASH_ROUNDS": str(settings.password_hash_rounds),
    }
    for name in ("DATABASE_URL", "REDIS_URL", "CONSULT_RUN_PROJECTIONS"):
        env.pop(name, None)
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "interfaces.cli",
                "serve",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--workers",
                str(workers),
            ],
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + HEALTH, process, log_path, ready_timeout)
        yield Served(url, process)
    finally:
        stop_process(process)


@contextlib.contextmanager
def bench_store(backend: str, prefix: str = "consult-bench-", keep: bool = False) -> Iterator[tuple[Path, Settings]]:
    """A work directory (removed afterwards unless `keep`) and the settings of a throwaway store in it
    on `backend` (see `database`)."""
    with contextlib.ExitStack() as stack:
        if keep:
            work = Path(tempfile.mkdtemp(prefix=prefix))
        else:
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
        yield work, bench_settings(work, stack.enter_context(database(backend)))


@contextlib.contextmanager
def scenario_server(settings: Settings, work: Path) -> Iterator[tuple[Served, Scenario]]:
    """`consult_server` on these settings (its log in `work`) with the admin, consultant and client
    of a `Scenario` created over HTTP."""
    with consult_server(settings, work / "server.log") as served:
        scenario = Scenario(served.url)
        try:
            yield served, scenario
        finally:
            scenario.close()


# -- the HTTP scenario ---------------------------------------------------------------------------


class Scenario:
    """An admin, an Active consultant (approved by the admin) and a client, created over HTTP, as in
    tests/test_realtime_availability.py."""

    def __init__(self, base_url: str):
        self.http = httpx.Client(base_url=base_url + API, timeout=60)
        unique = secrets.token_hex(4)
        self.http.post(
            "/auth/create-admin",
            json={
                "fullName": "Bench Admin",
                "email": f"admin{unique}@example.com",
                "password": ADMIN_PASSWORD,
                "mobile": "9000000001",
            },
        ).raise_for_status()
        self.admin = self.login(f"admin{unique}@example.com", ADMIN_PASSWORD, "Admin")
        self.consultant_id, self.consultant = self.register("Consultant", "+9196", unique)
        self.http.post(f"/consultants/{self.consultant_id}/approve", headers=bearer(self.admin)).raise_for_status()
        self.client_id, self.client = self.register("Client", "+9197", unique)

    def login(self, email: str, password: str, role: str) -> str:
        reply = self.http.post("/auth/login", json={"email": email, "password": password, "role": role})
        reply.raise_for_status()
        return str(reply.json()["data"]["token"])

    def register(self, role: str, prefix: str, unique: str) -> tuple[str, str]:
        reply = self.http.post(
            "/auth/signup",
            json={
                "fullName": f"Bench {role} {unique}",
                "email": f"{role.lower()}{unique}@example.com",
                "mobile": prefix + str(int(unique, 16) % 10**8).zfill(8),
                "password": PASSWORD,
                "role": role,
            },
        )
        reply.raise_for_status()
        data = reply.json()["data"]
        return str(data["user"]["id"]), str(data["token"])

    def availability_path(self) -> str:
        return f"{API}/consultant-settings/{self.consultant_id}/availability"

    def close(self) -> None:
        self.http.close()


def create_bench_admin(settings: Settings) -> None:
    """Migrate the store of `settings` and create its first admin (`BENCH_ADMIN`), before a server runs."""
    from infrastructure.bootstrap import build

    container = build(settings, run_projections=True)
    try:
        container.identity.create_first_admin(*BENCH_ADMIN)
    finally:
        container.close()


def bench_admin_login(client: httpx.Client) -> dict[str, str]:
    """The bearer header of `BENCH_ADMIN`, logged in over HTTP (`client` on the server's root)."""
    _, email, password, _ = BENCH_ADMIN
    login = client.post(API + "/auth/login", json={"email": email, "password": password, "role": "Admin"})
    login.raise_for_status()
    return bearer(login.json()["data"]["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def weekday_two_weeks_ahead() -> date:
    """A Tuesday 14 to 20 days ahead: inside the default booking horizon, a default working day."""
    today = datetime.now(UTC).date()
    return today + timedelta(days=14 + (1 - today.weekday()) % 7)


def availability_patch(variant: int) -> dict[str, Any]:
    """Two alternating Tuesday windows, so every PUT really changes the slots."""
    end = "12:00" if variant % 2 == 0 else "13:00"
    return {
        "sessionSettings": {"defaultDuration": 30, "bufferTime": 0},
        "workingHours": {"tuesday": {"enabled": True, "slots": [{"start": "10:00", "end": end}]}},
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- statistics ----------------------------------------------------------------------------------


def percentile(values: Iterable[float], fraction: float) -> float:
    """Nearest-rank percentile (fraction in [0, 1])."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def median(values: Iterable[float]) -> float:
    values = list(values)
    return statistics.median(values) if values else float("nan")


def alternating_p50_ms(kinds: dict[str, Callable[[], None]], rounds: int, warmup: int = 5) -> dict[str, float]:
    """Each call once per round, in the given order (ABAB...: load changes hit every kind alike), after
    `warmup` untimed rounds; the median milliseconds of each kind, as `<name>_ms`."""
    for _ in range(warmup):
        for call in kinds.values():
            call()
    times: dict[str, list[float]] = {name: [] for name in kinds}
    for _ in range(rounds):
        for name, call in kinds.items():
            began = time.perf_counter()
            call()
            times[name].append(time.perf_counter() - began)
    return {name + "_ms": median(values) * 1000 for name, values in times.items()}


def growth_table(sizes: str, results: dict[int, dict[str, float]], rows: Iterable[tuple[str, str]]) -> list[str]:
    """A markdown table of p50s (`<key>_ms` of each factor's results) with their ratio to the same
    factor's `health_ms`, one row per (key, label), and the growth from the first factor to the last."""
    factors = list(results)
    first, last = factors[0], factors[-1]
    lines = [f"| request (p50, x health) | {sizes} | {last}x / {first}x |", "|---|---|---:|"]
    for key, label in rows:
        ms = key + "_ms"
        cells = " / ".join(f"{r[ms]:.1f} ms ({r[ms] / r['health_ms']:.1f}x)" for r in results.values())
        lines.append(f"| {label} | {cells} | {results[last][ms] / results[first][ms]:.2f} |")
    return lines


def growth_report(
    script: str, measure: Callable[[int], dict[str, float]], factors: list[int], base: int, unit: str, rows: Any
) -> None:
    """`measure` at each factor of the data (`base` x factor `unit`), then the run's line and the growth
    table (`growth_table`) of `rows`, as the scale benches of `docs/BENCHMARKS.md` print them."""
    results = {factor: measure(factor) for factor in factors}
    print()
    print(f"{utc_stamp()}, `bench/{script} {' '.join(sys.argv[1:])}`".rstrip() + f", {machine()}")
    print()
    sizes = f"{unit}: " + " / ".join(f"{base * factor:,}" for factor in factors)
    print("\n".join(growth_table(sizes, results, rows)))


def statuses_text(statuses: Counter[str]) -> str:
    return ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))


def all_2xx(statuses: Counter[str]) -> bool:
    return bool(statuses) and all(s.isdigit() and 200 <= int(s) < 300 for s in statuses)


def in_process_app(url: str, settings: Settings) -> Any:
    """The ASGI app loaded as an ASGI server loads it (`consult serve` too: the settings from the
    environment), in this process, on this store and data directory, without Redis."""
    from uvicorn.importer import import_from_string

    os.environ.update(
        DATABASE_URL=str(url),
        DATA_DIR=str(settings.data_dir),
        JWT_SECRET=JWT_SECRET,
        RATE_LIMIT_MAX=NO_LIMIT,
        AUTH_RATE_LIMIT_MAX=NO_LIMIT,
        PASSWORD_HASH_ROUNDS="4",
    )
    os.environ.pop("REDIS_URL", None)
    return import_from_string("interfaces.asgi:create")()
