"""Benchmark: Python function calls per hold request, a count that the machine's load does not move.

On a shared 2-core machine the CPU times of `bench/hold_cpu.py` and `bench/hold_burst_cpu.py` vary by
a quarter from run to run; the number of Python function calls a request makes is the same in every
run (within a few calls: ids, timestamps), so two versions of the code compare exactly. The ASGI app is
loaded as `consult serve` loads it (`interfaces.asgi:create`) on a throwaway PostgreSQL database, with
its lifespan; requests are ASGI calls made one at a time. cProfile counts the calls of the event-loop
thread and, separately, of the hold command and of the shared refusal check in their worker threads
(`HoldSlot.hold`, `HoldSlot.refusals`, wrapped in this process only):

- a successful hold on a free slot (alone);
- a losing hold, alone (the slot taken: its own command answers 409);
- a queue of `--queue` losers decided together (`Bookings.hold_refusals`, as the hold route calls it for
  the requests that queued behind a winner), once for clients this process has not loaded, then again.

    .venv/bin/python bench/hold_calls.py [--holds 50] [--queue 199]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from application.booking import hold as hold_module  # noqa: E402
from application.bookings import Caller, HoldRequest  # noqa: E402
from bench.booking import DEFAULT_SLOTS, People, Slot, hold_body, interval, weekdays  # noqa: E402
from bench.common import bench_settings, database, in_process_app, machine, revision  # noqa: E402
from bench.hold_burst_cpu import HOLD, call, serve  # noqa: E402
from infrastructure.bootstrap import build  # noqa: E402


class Counted:
    """Profiles (counting calls) of the event loop and of the wrapped worker-thread functions."""

    def __init__(self) -> None:
        self.workers = cProfile.Profile(time.thread_time)

    def wrap(self, cls: Any, name: str) -> None:
        original = getattr(cls, name)
        profile = self.workers

        def counted(*args: Any, **kwargs: Any) -> Any:
            profile.enable()  # calls are made one at a time: one worker thread profiles at a time
            try:
                return original(*args, **kwargs)
            finally:
                profile.disable()

        setattr(cls, name, counted)


def calls(profile: cProfile.Profile) -> int:
    """Every call the profile counted so far (primitive and recursive)."""
    profile.create_stats()
    return sum(entry[1] for entry in profile.stats.values())  # type: ignore[attr-defined]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--holds", type=int, default=50, help="requests per kind (one at a time)")
    parser.add_argument("--queue", type=int, default=199, help="losers decided together")
    args = parser.parse_args()
    print(machine(), f"commit {revision()}", flush=True)
    counted = Counted()
    counted.wrap(hold_module.HoldSlot, "hold")
    counted.wrap(hold_module.HoldSlot, "refusals")
    work = Path(tempfile.mkdtemp(prefix="bench-hold-calls-"))
    with database("postgres") as url:
        settings = bench_settings(work, url)
        container = build(settings, run_projections=True)
        people = People(container)
        try:
            consultants = [people.make("Consultant")[0] for _ in range(4)]
            client, token = people.make("Client")
            loser, loser_token = people.make("Client")
            queue = [people.make("Client")[0] for _ in range(args.queue)]
        finally:
            container.close()
        app = in_process_app(url, settings)  # as `consult serve` loads it
        days = weekdays(-(-3 * args.holds // len(DEFAULT_SLOTS)) + 2)
        free = iter(Slot(consultants[0], d, s) for d in days for s in DEFAULT_SLOTS)
        results: list[str] = []

        async def kind(name: str, requests: list[tuple[Slot, str, str]], status: int) -> None:
            loop = cProfile.Profile(time.thread_time)
            before = calls(counted.workers)
            for slot, who, bearer in requests:
                loop.enable()
                answer = await call(app, "POST", HOLD, hold_body(slot.consultant, who, slot), bearer)
                loop.disable()
                assert answer == status, (name, answer)
            n = len(requests)
            results.append(f"| {name} | {n} | {calls(loop) / n:,.0f} | {(calls(counted.workers) - before) / n:,.0f} |")

        async def measure() -> None:
            warm = [(next(free), client, token) for _ in range(10)]
            await kind("warm-up", warm, 200)
            await kind("successful hold (a free slot)", [(next(free), client, token) for _ in range(args.holds)], 200)
            taken = warm[0][0]
            await kind("losing hold, alone (409)", [(taken, loser, loser_token)] * args.holds, 409)
            start, end = interval(taken.day, taken.start)
            asks = [HoldRequest(Caller(c, "Client"), taken.consultant, c, start, end) for c in queue]
            bookings = app.state.container.bookings
            for name in ("clients not loaded by this process", "the same clients again"):
                before = calls(counted.workers)
                verdicts = await asyncio.get_running_loop().run_in_executor(None, bookings.hold_refusals, asks)
                assert all(v is not None and v.message.startswith("Slot is already") for v in verdicts)
                results.append(
                    f"| {len(asks)} losers decided together ({name}) | 1 | | "
                    f"{calls(counted.workers) - before:,} ({(calls(counted.workers) - before) / len(asks):,.0f} "
                    "per loser) |"
                )

        asyncio.run(serve(app, measure))
    print("| request | requests | Python calls on the event loop, per request | in worker threads, per request |")
    print("|---|---:|---:|---:|")
    print("\n".join(line for line in results if "warm-up" not in line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
