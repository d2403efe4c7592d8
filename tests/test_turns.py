"""Turns (interfaces.http.turns): requests of one key that arrive while a generation of them runs
wait for it, then run together; other keys never wait; a waiter that gives up leaves no trace."""

from __future__ import annotations

import asyncio

from interfaces.http.turns import Turns


class Recorder:
    """Runs named requests through the turns and records when each started and finished."""

    def __init__(self) -> None:
        self.turns = Turns()
        self.log: list[tuple[str, str]] = []
        self.gates: dict[str, asyncio.Event] = {}

    async def request(self, name: str, key: str) -> None:
        gate = self.gates.setdefault(name, asyncio.Event())
        async with self.turns.turn(key):
            self.log.append(("start", name))
            await gate.wait()
            self.log.append(("end", name))

    def started(self) -> set[str]:
        return {name for what, name in self.log if what == "start"}


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_lone_request_runs_at_once_and_other_keys_never_wait() -> None:
    async def scenario() -> None:
        r = Recorder()
        first = asyncio.create_task(r.request("a", "day-1"))
        other = asyncio.create_task(r.request("b", "day-2"))
        await settle()
        assert r.started() == {"a", "b"}
        r.gates["a"].set()
        r.gates["b"].set()
        await asyncio.gather(first, other)
        assert r.turns.busy() == 0

    asyncio.run(scenario())


def test_requests_arriving_during_a_generation_wait_for_it_then_run_together() -> None:
    async def scenario() -> None:
        r = Recorder()
        tasks = [asyncio.create_task(r.request("winner", "day"))]
        await settle()
        tasks += [asyncio.create_task(r.request(f"loser{i}", "day")) for i in range(3)]
        await settle()
        assert r.started() == {"winner"}  # the others wait on the event loop, holding no thread
        r.gates["winner"].set()
        await settle()
        assert r.started() == {"winner", "loser0", "loser1", "loser2"}  # all at once, not one by one
        tasks.append(asyncio.create_task(r.request("late", "day")))  # arrives during the second generation
        await settle()
        assert "late" not in r.started()
        for i in range(3):
            r.gates[f"loser{i}"].set()
        await settle()
        assert "late" in r.started()
        r.gates["late"].set()
        await asyncio.gather(*tasks)
        assert r.turns.busy() == 0
        assert r.log.index(("end", "winner")) < r.log.index(("start", "loser0"))

    asyncio.run(scenario())


def test_a_waiter_that_gives_up_leaves_the_others_and_the_key_clean() -> None:
    async def scenario() -> None:
        r = Recorder()
        running = asyncio.create_task(r.request("first", "day"))
        await settle()
        quitter = asyncio.create_task(r.request("quitter", "day"))
        stayer = asyncio.create_task(r.request("stayer", "day"))
        await settle()
        quitter.cancel()  # a client that disconnects while waiting
        await settle()
        r.gates["first"].set()
        await settle()
        assert "stayer" in r.started() and "quitter" not in r.started()
        r.gates["stayer"].set()
        await asyncio.gather(running, stayer)
        assert r.turns.busy() == 0

        alone = asyncio.create_task(r.request("only", "day"))  # everyone of a next generation gave up
        await settle()
        gone = asyncio.create_task(r.request("gone", "day"))
        await settle()
        gone.cancel()
        await settle()
        r.gates["only"].set()
        await alone
        assert r.turns.busy() == 0 and not r.turns._next

    asyncio.run(scenario())


def test_a_failing_request_ends_its_generation_like_any_other() -> None:
    async def scenario() -> None:
        turns = Turns()
        order: list[str] = []

        async def failing() -> None:
            async with turns.turn("day"):
                await asyncio.sleep(0.01)
                raise RuntimeError("conflict")

        async def waiting() -> None:
            async with turns.turn("day"):
                order.append("ran")

        results = await asyncio.gather(failing(), waiting(), return_exceptions=True)
        assert isinstance(results[0], RuntimeError) and order == ["ran"]
        assert turns.busy() == 0

    asyncio.run(scenario())
