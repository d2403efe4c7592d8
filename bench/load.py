"""The closed-loop HTTP load of the benchmarks: `drive` keeps a fixed number of keep-alive
connections busy on one route for a while (each sends its next request as soon as the previous answer
is read) and returns a `Run`; a `Summary` takes a route's runs together (requests/s, p50/p99, server
and database CPU per request, statuses, validity).

Imported as `bench.load` (the scripts put the repository root on `sys.path` first)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bench.common import all_2xx, cpu_seconds, median, percentile


@dataclass
class Run:
    """One route driven for one period."""

    latencies: list[float] = field(default_factory=list)  # seconds
    statuses: Counter[str] = field(default_factory=Counter)
    wrong_bodies: int = 0
    elapsed: float = 0.0
    server_cpu: float = 0.0  # seconds of the server process's CPU during the run
    database_cpu: float = 0.0  # seconds of CPU of the database backends (see `drive`)

    @property
    def valid(self) -> bool:
        return all_2xx(self.statuses) and self.wrong_bodies == 0


async def drive(
    url: str,
    duration: float,
    concurrency: int,
    headers: dict[str, str] | None = None,
    expected: bytes | None = None,
    server_pid: int | None = None,
    database_cpu: Callable[[], dict[int, float]] | None = None,
) -> Run:
    """`concurrency` keep-alive connections (aiohttp), each sending the next GET as soon as the previous
    answer is read, for `duration` seconds. Every status is counted; a 200 whose body is not `expected`
    (when given) is a wrong body. With `server_pid` the server's CPU during the run is read, with
    `database_cpu` (CPU seconds by backend pid) that of the backends alive at the end."""
    import aiohttp

    run = Run()
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:
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
        if database_cpu:  # backends that disconnected meanwhile are missed: a lower bound
            run.database_cpu = sum(s - database_before.get(pid, 0.0) for pid, s in database_cpu().items())
    return run


@dataclass
class Summary:
    """The runs of one route, taken together."""

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
        return bool(self.runs) and all(run.valid for run in self.runs)


def per_round_ratios(numerator: list[Run], denominator: list[Run]) -> list[float]:
    """Throughput of each run of one route over that of the other route's run of the same round."""
    return [
        (len(n.latencies) / n.elapsed) / (len(d.latencies) / d.elapsed)
        for n, d in zip(numerator, denominator, strict=True)
    ]


def alternate(
    routes: dict[str, Callable[[], Awaitable[Run]]], rounds: int, report: Callable[[int, str, Run], None] | None = None
) -> dict[str, list[Run]]:
    """`rounds` rounds each driving every route once (each entry makes a fresh `drive` coroutine), the
    order reversed every other round (ABBA: a drift of the machine's load hits every route alike);
    `report(round, route, run)` after each run. The runs by route."""
    runs: dict[str, list[Run]] = {route: [] for route in routes}
    order = list(routes)
    for number in range(rounds):
        for route in order if number % 2 == 0 else reversed(order):
            run = asyncio.run(routes[route]())
            runs[route].append(run)
            if report:
                report(number + 1, route, run)
    return runs
