"""Benchmark: where a successful hold's server CPU goes, per thread, measured in process.

The ASGI app is loaded as `consult serve` loads it (`interfaces.asgi:create`, settings from the
environment) on a throwaway PostgreSQL database, with its lifespan; requests are ASGI calls (no
sockets, no uvicorn, so no HTTP client shares the cores). `--holds` holds on distinct slots
(every answer checked: 200) are sent by `--callers` concurrent callers, after a warm-up of the
same size. The CPU of every thread of the process is read from `/proc/self/task/*/stat` before
and after, grouped by the thread's name (the event loop, the route's worker threads, the
projection threads, ...), and shown per hold, beside the CPU of `GET /health` on the event loop.

`--profile FILE` also runs cProfile (timed by the thread's CPU clock) on the event-loop thread during the measured holds (the web
stack and everything the route does on the loop) and writes the 40 costliest functions by own
time to FILE; for the worker threads use `py-spy record --pid ...` on this process.

    .venv/bin/python bench/hold_cpu.py [--holds 600] [--callers 16] [--profile loop.txt]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import os
import pstats
import re
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from bench.booking import DEFAULT_SLOTS, People, Slot, hold_body, weekdays  # noqa: E402
from bench.common import bench_settings, database, in_process_app, machine  # noqa: E402
from bench.hold_burst_cpu import HOLD, call, serve  # noqa: E402
from infrastructure.bootstrap import build  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def thread_cpu() -> dict[str, float]:
    """CPU seconds of every live thread of this process, summed by Python thread name (digits folded;
    threads Python did not start by their `comm`)."""
    names = {thread.native_id: thread.name for thread in threading.enumerate()}
    totals: dict[str, float] = defaultdict(float)
    for task in Path("/proc/self/task").iterdir():
        try:
            name = names.get(int(task.name)) or "native " + (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        totals[re.sub(r"\d+", "N", name)] += (int(fields[11]) + int(fields[12])) / TICKS
    return totals


async def closed_loop(app: object, callers: int, work: list[tuple[Slot, str, str]]) -> Counter[int]:
    queue = list(reversed(work))
    statuses: Counter[int] = Counter()

    async def caller() -> None:
        while queue:
            slot, client, token = queue.pop()
            statuses[await call(app, "POST", HOLD, hold_body(slot.consultant, client, slot), token)] += 1

    await asyncio.gather(*(caller() for _ in range(callers)))
    return statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--holds", type=int, default=600)
    parser.add_argument("--callers", type=int, default=16)
    parser.add_argument("--consultants", type=int, default=40)
    parser.add_argument("--profile", type=Path, help="cProfile the event-loop thread, write the top functions here")
    args = parser.parse_args()
    print(machine(), flush=True)
    work = Path(tempfile.mkdtemp(prefix="bench-hold-cpu-"))
    with database("postgres") as url:
        settings = bench_settings(work, url)
        container = build(settings, run_projections=True)
        people = People(container)
        try:
            consultants = [people.make("Consultant")[0] for _ in range(args.consultants)]
            clients = [people.make("Client") for _ in range(args.callers)]
        finally:
            container.close()
        app = in_process_app(url, settings)  # as `consult serve` loads it
        days = weekdays(-(-2 * args.holds // (len(DEFAULT_SLOTS) * len(consultants))) + 1)
        slots = [Slot(c, d, s) for s in DEFAULT_SLOTS for d in days for c in consultants]
        # each caller is one client: a client never holds two slots of one consultant-day at once
        jobs = [(slot, *clients[i % args.callers]) for i, slot in enumerate(slots[: 2 * args.holds])]

        async def measure() -> None:
            warm = await closed_loop(app, args.callers, jobs[: args.holds])
            assert set(warm) == {200}, warm
            gc.collect()
            gc.freeze()
            loop_before = time.thread_time()
            for _ in range(200):
                await call(app, "GET", "/api/v1/health")
            health_ms = (time.thread_time() - loop_before) / 200 * 1000
            profile = cProfile.Profile(time.thread_time) if args.profile else None  # CPU, not wall time
            before, loop_before, process_before = thread_cpu(), time.thread_time(), time.process_time()
            began = time.perf_counter()
            if profile:
                profile.enable()
            statuses = await closed_loop(app, args.callers, jobs[args.holds :])
            if profile:
                profile.disable()
            elapsed = time.perf_counter() - began
            loop, process = time.thread_time() - loop_before, time.process_time() - process_before
            after = thread_cpu()
            assert set(statuses) == {200}, statuses
            n = sum(statuses.values())
            print(f"{n} holds, {args.callers} callers: {n / elapsed:.0f} holds/s (wall), per hold:")
            print(f"  process CPU {process / n * 1000:.3f} ms; event loop {loop / n * 1000:.3f} ms")
            for name in sorted(after, key=lambda k: -(after[k] - before.get(k, 0.0))):
                spent = after[name] - before.get(name, 0.0)
                if spent > 0:
                    print(f"  thread {name!r}: {spent / n * 1000:.3f} ms")
            print(f"GET /health: event loop {health_ms:.3f} ms per request")
            if profile and args.profile:
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(40)
                pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(60)
                args.profile.write_text(out.getvalue())

        asyncio.run(serve(app, measure))
    return 0


if __name__ == "__main__":
    sys.exit(main())
