"""Benchmark: `GET /api/v1/appointments/available-slots?consultant=&date=` against `GET /api/v1/health`.

A real `consult serve` process (one uvicorn process, projections in-process, rate limits lifted)
holds an admin, an Active consultant whose settings were PUT once (30-minute sessions, so a Tuesday
has 16 slots) and a client, all created over HTTP. This process is the load generator: asyncio +
aiohttp, a fixed number of persistent connections in a closed loop, the client's bearer token on
every request, the two routes in alternating rounds (ABBA) so both see the same machine noise. It
reports requests/s and p50/p99 latency per route and the ratios slots / health.

Every status is counted and every slots answer is compared with the first one; any non-2xx answer,
transport error or differing body makes the run invalid (exit status 1). Exit status 2: a valid run
that misses the target (throughput ratio below --target).

    .venv/bin/python bench/available_slots.py                      # SQLite (embedded default)
    .venv/bin/python bench/available_slots.py --backend postgres   # throwaway database, dropped after
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
import httpx  # noqa: E402

from bench.common import (  # noqa: E402
    API,
    HEALTH,
    POSTGRES_ADMIN_URL,
    Scenario,
    all_2xx,
    bearer,
    bench_settings,
    consult_server,
    cpu_seconds,
    database,
    machine,
    median,
    percentile,
    statuses_text,
    utc_stamp,
    weekday_two_weeks_ahead,
)

SLOTS = API + "/appointments/available-slots"


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)  # seconds
    statuses: Counter[str] = field(default_factory=Counter)
    wrong_bodies: int = 0
    elapsed: float = 0.0
    server_cpu: float = 0.0  # seconds of the server process's CPU during the run
    database_cpu: float = 0.0  # seconds of CPU of the PostgreSQL backends serving the bench database


async def drive(
    url: str,
    headers: dict[str, str],
    duration: float,
    concurrency: int,
    expected: bytes | None,
    server_pid: int | None = None,
    database_cpu: Callable[[], dict[int, float]] | None = None,
) -> Run:
    """`concurrency` keep-alive connections, each sending the next request as soon as the previous
    answer is read, for `duration` seconds."""
    run = Run()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60), headers=headers
    ) as session:
        cpu_before = cpu_seconds(server_pid) if server_pid else 0.0
        database_before = database_cpu() if database_cpu else {}
        start = time.perf_counter()
        deadline = start + duration

        async def connection() -> None:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                try:
                    async with session.get(url) as response:
                        body = await response.read()
                        status = str(response.status)
                except (TimeoutError, aiohttp.ClientError) as error:
                    status, body = type(error).__name__, b""
                run.latencies.append(time.perf_counter() - sent)
                run.statuses[status] += 1
                if expected is not None and status == "200" and body != expected:
                    run.wrong_bodies += 1

        await asyncio.gather(*(connection() for _ in range(concurrency)))
        run.elapsed = time.perf_counter() - start
        run.server_cpu = cpu_seconds(server_pid) - cpu_before if server_pid else 0.0
        run.database_cpu = cpu_delta(database_before, database_cpu()) if database_cpu else 0.0
    return run


def backends_cpu(database_url: str, stack: contextlib.ExitStack) -> Callable[[], dict[int, float]]:
    """CPU seconds so far of each PostgreSQL backend connected to the database of `database_url`
    (PostgreSQL runs on this machine), by pid. See `cpu_delta`."""
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    admin = stack.enter_context(psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5))

    def by_pid() -> dict[int, float]:
        pids = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
        ).fetchall()
        seconds = {}
        for (pid,) in pids:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                seconds[pid] = cpu_seconds(pid)
        return seconds

    return by_pid


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """The CPU the backends alive at the end used since `before` (a backend started during the run
    counts whole; one that disconnected during it is missed, so this is a lower bound: the server's
    pooled connections stay open)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


@dataclass
class Summary:
    route: str
    runs: list[Run]

    @property
    def latencies(self) -> list[float]:
        return [value for run in self.runs for value in run.latencies]

    @property
    def requests(self) -> int:
        return sum(len(run.latencies) for run in self.runs)

    @property
    def rps(self) -> float:
        return self.requests / sum(run.elapsed for run in self.runs)

    @property
    def p50_ms(self) -> float:
        return median(self.latencies) * 1000

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies, 0.99) * 1000

    @property
    def cpu_ms(self) -> float:
        """Server CPU milliseconds per request."""
        return 1000 * sum(run.server_cpu for run in self.runs) / self.requests

    @property
    def database_cpu_ms(self) -> float:
        """CPU milliseconds of the database backends per request."""
        return 1000 * sum(run.database_cpu for run in self.runs) / self.requests

    @property
    def statuses(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for run in self.runs:
            total.update(run.statuses)
        return total

    @property
    def wrong_bodies(self) -> int:
        return sum(run.wrong_bodies for run in self.runs)

    @property
    def valid(self) -> bool:
        return all_2xx(self.statuses) and self.wrong_bodies == 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per route per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds; each drives both routes (ABBA order)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds per route before measuring")
    parser.add_argument("--target", type=float, default=0.5, help="required slots/health throughput ratio")
    parser.add_argument(
        "--pause",
        action="store_true",
        help="after the warm-up print the server's pid and wait for Enter (to attach py-spy)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"machine: {machine()}", flush=True)
    command = ".venv/bin/python bench/available_slots.py " + " ".join(sys.argv[1:] if argv is None else argv)
    day = weekday_two_weeks_ahead()
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="consult-bench-slots-")))
        database_url = stack.enter_context(database(args.backend))
        settings = bench_settings(work, database_url)
        database_cpu = backends_cpu(database_url, stack) if database_url else None
        served = stack.enter_context(consult_server(settings, work / "server.log"))
        scenario = Scenario(served.url)
        stack.callback(scenario.close)
        scenario.http.put(
            f"/consultant-settings/{scenario.consultant_id}/availability",
            json={"sessionSettings": {"defaultDuration": 30, "bufferTime": 0}},
            headers=bearer(scenario.consultant),
        ).raise_for_status()
        headers = bearer(scenario.client)
        slots_url = f"{served.url}{SLOTS}?consultant={scenario.consultant_id}&date={day.isoformat()}"
        probe = httpx.get(slots_url, headers=headers, timeout=30)
        probe.raise_for_status()
        slots = probe.json()["data"]
        print(
            f"probe: {day.isoformat()} ({day.strftime('%A')}) has {len(slots)} open slots "
            f"({slots[0]} .. {slots[-1]}), {len(probe.content)} bytes",
            flush=True,
        )
        if len(slots) != 16:
            print("INVALID: expected 16 half-hour slots from 09:00 to 17:00", file=sys.stderr)
            return 1

        routes = {"health": (served.url + HEALTH, None), "available-slots": (slots_url, probe.content)}
        for url, expected in routes.values():  # warm-up: imports, thread pool, connection pools, page cache
            warm = asyncio.run(drive(url, headers, args.warmup, args.concurrency, expected))
            if not all_2xx(warm.statuses) or warm.wrong_bodies:
                print(
                    f"INVALID warm-up on {url}: {statuses_text(warm.statuses)}, {warm.wrong_bodies} wrong bodies",
                    file=sys.stderr,
                )
                return 1
        if args.pause:
            input(f"server pid {served.process.pid}; attach a profiler, then press Enter ")
        runs: dict[str, list[Run]] = {route: [] for route in routes}
        order = list(routes)
        for number in range(args.rounds):
            for route in order if number % 2 == 0 else list(reversed(order)):
                url, expected = routes[route]
                run = asyncio.run(
                    drive(url, headers, args.duration, args.concurrency, expected, served.process.pid, database_cpu)
                )
                runs[route].append(run)
                print(
                    f"round {number + 1} {route}: {len(run.latencies) / run.elapsed:.0f} req/s, "
                    f"{statuses_text(run.statuses)}, wrong bodies {run.wrong_bodies}",
                    flush=True,
                )

    health, slots_summary = Summary("health", runs["health"]), Summary("available-slots", runs["available-slots"])
    ratio = slots_summary.rps / health.rps
    print()
    print(
        f"{utc_stamp()}, `{command}`, {args.backend}, {args.concurrency} connections, "
        f"{args.rounds} rounds x {args.duration:g} s per route (ABBA), date {day.isoformat()}"
    )
    print()
    print(
        "| route | requests | req/s | p50 ms | p99 ms | server CPU ms / request | database CPU ms / request "
        "| statuses | valid |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for summary, label in ((health, f"`GET {HEALTH}`"), (slots_summary, f"`GET {SLOTS}?consultant=&date=`")):
        database_ms = f"{summary.database_cpu_ms:.2f}" if database_cpu else "-"
        print(
            f"| {label} | {summary.requests} | {summary.rps:.0f} | {summary.p50_ms:.1f} | {summary.p99_ms:.1f} | "
            f"{summary.cpu_ms:.2f} | {database_ms} | {statuses_text(summary.statuses)} | "
            f"{'yes' if summary.valid else 'NO'} |"
        )
    print(
        f"| ratio slots / health | | **{ratio:.2f}** | {slots_summary.p50_ms / health.p50_ms:.2f}x | "
        f"{slots_summary.p99_ms / health.p99_ms:.2f}x | {slots_summary.cpu_ms / health.cpu_ms:.2f}x | | | |"
    )
    per_round = [
        len(s.latencies) / s.elapsed / (len(h.latencies) / h.elapsed)
        for s, h in zip(runs["available-slots"], runs["health"], strict=True)
    ]
    print()
    print("Per-round throughput ratios: " + ", ".join(f"{value:.2f}" for value in per_round))
    met = ratio >= args.target
    print(f"Target: throughput ratio >= {args.target}: {'met' if met else 'MISSED'} ({ratio:.2f}).")
    if not (health.valid and slots_summary.valid):
        print("INVALID: some answers were not 2xx or had an unexpected body (see the statuses)", file=sys.stderr)
        return 1
    return 0 if met else 2


if __name__ == "__main__":
    sys.exit(main())
