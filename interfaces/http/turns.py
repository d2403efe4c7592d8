"""Turns: requests of one key (a consultant's business date) take turns in generations.

Bookings of one consultant-day write the same day aggregate, so concurrent ones conflict in the
event store anyway: all but one write (or skip a write) in vain, reload and retry. Under 200-way
contention on one slot that retry storm, not the refusal, is what the losers pay for. Here the
requests of a key that arrive while a generation of them is running wait (on the event loop, no
thread is held: a thread lock per day was measured worse, its holder's round trips queued for the
GIL behind the blocked threads) and then all run together as the next generation. A loser of the
next generation then loads after the winner committed, finds the slot taken and answers 409 at
once, with no write and no retry.

This is scheduling only, within one process: each request still runs its own command from a fresh
load, and the event store's optimistic concurrency still decides every write (across processes
too). A request that arrives while no generation of its key runs starts at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Hashable
from contextlib import asynccontextmanager


class _Generation:
    __slots__ = ("done", "members", "running")

    def __init__(self) -> None:
        self.members = 0
        self.running = False
        self.done = asyncio.Event()


class Turns:
    def __init__(self) -> None:
        self._running: dict[Hashable, _Generation] = {}
        self._next: dict[Hashable, _Generation] = {}

    @asynccontextmanager
    async def turn(self, key: Hashable) -> AsyncIterator[None]:
        current = self._running.get(key)
        if current is None:
            generation = self._running[key] = _Generation()
            generation.running = True
        else:
            generation = self._next.get(key) or self._next.setdefault(key, _Generation())
        generation.members += 1
        try:
            if current is not None:
                await current.done.wait()  # `_leave` of its last member made ours the running one
            yield
        finally:
            self._leave(key, generation)

    def _leave(self, key: Hashable, generation: _Generation) -> None:
        generation.members -= 1
        if generation.members:
            return
        if not generation.running:  # every waiter of a next generation gave up (disconnects)
            if self._next.get(key) is generation:
                del self._next[key]
            return
        following = self._next.pop(key, None)
        if following is None:
            del self._running[key]
        else:
            following.running = True
            self._running[key] = following
        generation.done.set()

    def busy(self) -> int:
        """Keys with a running generation (for tests)."""
        return len(self._running)
