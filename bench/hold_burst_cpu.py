"""Benchmark: the CPU a burst of holds on one slot costs the server's event loop, measured in process.

`bench/booking.py` measures the same contention over sockets, but on a shared machine its latencies
mostly measure how much CPU the server was given. Here the whole ASGI app (middleware, routing,
authentication, the hold route, Socket.IO in front) runs in this process on a throwaway PostgreSQL
database, loaded from the entry point `consult serve` uses (`interfaces.asgi:create`, which freezes
the start-up heap), with its lifespan (the event-loop read connections); requests are ASGI calls without sockets or uvicorn. Per kind, the CPU of the event-loop
thread (`time.thread_time`, which other processes' load hardly moves) and of the whole process:

- `GET /health`, and a hold refused before its command (no token: 401), sequentially;
- a losing hold (the slot taken), sequentially: it runs its own command;
- `--contests` bursts: `--contenders` clients hold one slot at once (the answers are checked:
  exactly one 200, the others 409), with the loop's and the process's CPU per burst and the losers'
  latency from the common start (in process, still at the mercy of the machine's load).

    .venv/bin/python bench/hold_burst_cpu.py [--contests 5] [--contenders 200] [--profile loop.txt]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from bench.booking import DEFAULT_SLOTS, People, Slot, hold_body, weekdays  # noqa: E402
from bench.common import bench_settings, database, in_process_app, machine, percentile  # noqa: E402
from infrastructure.bootstrap import build  # noqa: E402

HOLD = "/api/v1/appointments/hold"


async def call(app: Any, method: str, path: str, body: Any = None, token: str | None = None) -> int:
    raw = json.dumps(body).encode() if body is not None else b""
    headers = [(b"host", b"127.0.0.1:8000"), (b"accept", b"*/*")]
    if body is not None:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    if token:
        headers.append((b"authorization", b"Bearer " + token.encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "method": method,
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": headers,
        "state": {},
    }
    delivered = False
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await asyncio.Event().wait()  # no disconnect
        return {}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    await app(scope, receive, send)
    return status[0]


async def serve(app: Any, work: Callable[[], Awaitable[None]]) -> None:
    """Run `work` inside the app's lifespan."""
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    started, stopped = asyncio.Event(), asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        (started if message["type"].startswith("lifespan.startup") else stopped).set()

    life = asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, inbox.get, send))
    await inbox.put({"type": "lifespan.startup"})
    await started.wait()
    try:
        await work()
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        await stopped.wait()
        await life


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contests", type=int, default=5)
    parser.add_argument("--contenders", type=int, default=200)
    parser.add_argument("--sequential", type=int, default=100, help="requests per sequential round")
    parser.add_argument("--rounds", type=int, default=3, help="sequential rounds per kind (medians shown)")
    parser.add_argument("--profile", type=Path, help="cProfile the event loop (its CPU clock) in the bursts, to FILE")
    args = parser.parse_args()
    print(machine(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-hold-burst-"))
    invalid = []
    with database("postgres") as url:
        settings = bench_settings(work, url)
        container = build(settings, run_projections=True)
        people = People(container)
        try:
            consultants = [people.make("Consultant")[0] for _ in range(args.contests + 1)]
            clients = [people.make("Client") for _ in range(args.contenders)]
        finally:
            container.close()
        app = in_process_app(url, settings)  # as `consult serve` loads it
        day = weekdays(1, weeks_ahead=2)[0]

        async def measure() -> None:
            taken = Slot(consultants[-1], day, DEFAULT_SLOTS[0])
            (winner, token), (loser, loser_token) = clients[0], clients[1]
            assert await call(app, "POST", HOLD, hold_body(taken.consultant, winner, taken), token) == 200
            gc.collect()
            gc.freeze()  # again after the first request (what it built lazily), as the start-up heap
            kinds: dict[str, Callable[[], Awaitable[int]]] = {
                "GET /health": lambda: call(app, "GET", "/api/v1/health"),
                "hold without a token (401)": lambda: call(
                    app, "POST", HOLD, hold_body(taken.consultant, loser, taken)
                ),
                "losing hold, alone (409)": lambda: call(
                    app, "POST", HOLD, hold_body(taken.consultant, loser, taken), loser_token
                ),
            }
            loop_ms: dict[str, list[float]] = {kind: [] for kind in kinds}
            process_ms: dict[str, list[float]] = {kind: [] for kind in kinds}
            for _ in range(args.rounds):
                for kind, request in kinds.items():
                    thread, process = time.thread_time(), time.process_time()
                    for _ in range(args.sequential):
                        await request()
                    loop_ms[kind].append((time.thread_time() - thread) / args.sequential * 1000)
                    process_ms[kind].append((time.process_time() - process) / args.sequential * 1000)
            for kind in kinds:
                print(
                    f"{kind}: event-loop CPU {statistics.median(loop_ms[kind]):.3f} ms per request, process "
                    f"{statistics.median(process_ms[kind]):.3f} ms (medians of {args.rounds} rounds)"
                )
            profile = cProfile.Profile(time.thread_time) if args.profile else None
            for index in range(args.contests):
                slot = Slot(consultants[index], day, DEFAULT_SLOTS[index % len(DEFAULT_SLOTS)])
                gate = asyncio.Event()

                async def contender(body: dict[str, str], token: str, gate: asyncio.Event) -> tuple[int, float]:
                    await gate.wait()
                    began = time.perf_counter()
                    status = await call(app, "POST", HOLD, body, token)
                    return status, time.perf_counter() - began

                # the bodies are built before the start: the timed window (and the profile) holds only the calls
                bodies = [(hold_body(slot.consultant, c, slot), t) for c, t in clients]
                tasks = [asyncio.ensure_future(contender(body, t, gate)) for body, t in bodies]
                await asyncio.sleep(0.05)
                thread, process = time.thread_time(), time.process_time()
                if profile:
                    profile.enable()
                gate.set()
                answers = await asyncio.gather(*tasks)
                if profile:
                    profile.disable()
                loop, whole = time.thread_time() - thread, time.process_time() - process
                statuses = Counter(status for status, _ in answers)
                losers = [seconds for status, seconds in answers if status == 409]
                if statuses != Counter({200: 1, 409: args.contenders - 1}):
                    invalid.append(f"contest {index + 1}: {dict(statuses)}")
                print(
                    f"burst {index + 1}: {dict(statuses)}; event-loop CPU {loop * 1000:.0f} ms, process "
                    f"{whole * 1000:.0f} ms; losers p50 {percentile(losers, 0.5) * 1000:.0f} ms, "
                    f"p99 {percentile(losers, 0.99) * 1000:.0f} ms",
                    flush=True,
                )

            if profile and args.profile:
                out = io.StringIO()
                for order in ("tottime", "cumulative"):
                    pstats.Stats(profile, stream=out).sort_stats(order).print_stats(50)
                args.profile.write_text(out.getvalue())

        asyncio.run(serve(app, measure))
    for problem in invalid:
        print("INVALID:", problem)
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
