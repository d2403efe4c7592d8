"""Benchmark: `GET /api/v1/notifications/unread-count` (the bell on every page of both apps) against
`GET /api/v1/health`, at 64 concurrent connections.

A real `consult serve` process answers. The client whose count is asked has an inbox of personal
notifications and role broadcasts (some read, some hidden), sent over HTTP before the run; the count
is four counter rows the people projection keeps plus the unexpired expiring notifications (an index
range), so it does not grow with the inbox. The two routes are driven in alternating rounds (the
same machine noise for both); the script prints requests/s, p50/p99 and the ratio, and exits 1 when
any answer is not 2xx or the count is not the one expected.

    .venv/bin/python bench/unread_count.py --backend sqlite
    .venv/bin/python bench/unread_count.py --backend postgres   # throwaway database, dropped after
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.common import (  # noqa: E402
    API,
    HEALTH,
    Scenario,
    bearer,
    bench_settings,
    consult_server,
    database,
    machine,
    percentile,
    statuses_text,
    utc_stamp,
)

UNREAD = API + "/notifications/unread-count"


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0


async def drive(url: str, headers: dict[str, str], duration: float, concurrency: int) -> Run:
    """`concurrency` connections, each sending its next request as soon as the answer is read."""
    run = Run()
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as session:
        start = time.perf_counter()
        deadline = start + duration

        async def connection() -> None:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                try:
                    async with session.get(url, headers=headers) as response:
                        await response.read()
                        status = str(response.status)
                except (TimeoutError, aiohttp.ClientError) as error:
                    status = type(error).__name__
                run.latencies.append(time.perf_counter() - sent)
                run.statuses[status] += 1

        await asyncio.gather(*(connection() for _ in range(concurrency)))
        run.elapsed = time.perf_counter() - start
    return run


def fill_inbox(scenario: Scenario, personal: int, broadcasts: int) -> int:
    """Personal notifications and Client broadcasts; a third of each read, a tenth of the broadcasts
    hidden. Returns the unread count the client must see."""
    admin, client = bearer(scenario.admin), bearer(scenario.client)
    ids: list[tuple[str, bool]] = []
    for n in range(personal):
        body = {"name": f"Note {n}", "message": "Personal", "recipient": scenario.client_id}
        reply = scenario.http.post("/notifications", json=body, headers=admin)
        reply.raise_for_status()
        ids.append((reply.json()["data"]["_id"], False))
    for n in range(broadcasts):
        body = {"name": f"Notice {n}", "message": "To every client", "recipientRole": "Client"}
        reply = scenario.http.post("/notifications", json=body, headers=admin)
        reply.raise_for_status()
        ids.append((reply.json()["data"]["_id"], True))
    gone = 0
    for index, (notification_id, broadcast) in enumerate(ids):
        if index % 3 == 0:
            scenario.http.patch(f"/notifications/{notification_id}/read", headers=client).raise_for_status()
            gone += 1
        elif broadcast and index % 10 == 1:
            scenario.http.delete(f"/notifications/{notification_id}", headers=client).raise_for_status()
            gone += 1
    return len(ids) - gone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per route per round")
    parser.add_argument("--personal", type=int, default=300)
    parser.add_argument("--broadcasts", type=int, default=300)
    args = parser.parse_args(argv)
    print(f"date: {utc_stamp()}\nmachine: {machine()}")
    print(f"command: .venv/bin/python bench/unread_count.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    with tempfile.TemporaryDirectory() as work, database(args.backend) as url:
        settings = bench_settings(Path(work), url)
        with consult_server(settings, Path(work) / "server.log") as served:
            scenario = Scenario(served.url)
            expected = fill_inbox(scenario, args.personal, args.broadcasts)
            headers = bearer(scenario.client)
            counted = scenario.http.get("/notifications/unread-count", headers=headers).json()["data"]["count"]
            print(f"inbox: {args.personal} personal + {args.broadcasts} broadcasts; unread count {counted}")
            if counted != expected:
                print(f"INVALID: unread count {counted}, expected {expected}")
                return 1
            runs: dict[str, list[Run]] = {"health": [], "unread-count": []}
            asyncio.run(drive(served.url + HEALTH, {}, 1.0, args.connections))  # warm-up
            asyncio.run(drive(served.url + UNREAD, headers, 1.0, args.connections))
            for _ in range(args.rounds):
                runs["health"].append(asyncio.run(drive(served.url + HEALTH, {}, args.seconds, args.connections)))
                runs["unread-count"].append(
                    asyncio.run(drive(served.url + UNREAD, headers, args.seconds, args.connections))
                )
            scenario.close()
    rates = {}
    valid = True
    print(f"\n{args.backend}, {args.connections} connections, {args.rounds} rounds x {args.seconds:g} s per route")
    print("| route | requests/s | p50 ms | p99 ms | answers |\n|---|---|---|---|---|")
    for route, done in runs.items():
        latencies = [v for run in done for v in run.latencies]
        statuses: Counter[str] = Counter()
        for run in done:
            statuses.update(run.statuses)
        valid = valid and set(statuses) == {"200"}
        rates[route] = len(latencies) / sum(run.elapsed for run in done)
        print(
            f"| `{route}` | {rates[route]:.0f} | {statistics.median(latencies) * 1000:.1f} | "
            f"{percentile(latencies, 0.99) * 1000:.1f} | {statuses_text(statuses)} |"
        )
    ratio = rates["unread-count"] / rates["health"]
    per_round = [
        (len(u.latencies) / u.elapsed) / (len(h.latencies) / h.elapsed)
        for h, u in zip(runs["health"], runs["unread-count"], strict=True)
    ]
    rounds = ", ".join(f"{r:.2f}" for r in per_round)
    print(f"\nunread-count / health throughput: {ratio:.2f} (per round {rounds}; target >= 0.5)")
    if not valid:
        print("INVALID: some answers were not 200")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
