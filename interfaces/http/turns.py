"""Turns: requests of one key (a consultant's business date) take turns in generations.

Bookings of one consultant-day write the same day aggregate, so concurrent ones conflict in the
event store anyway: all but one write (or skip a write) in vain, reload and retry. Under 200-way
contention on one slot that retry storm, not the refusal, is what the losers pay for. Here the
requests of a key that arrive while a generation of them is running wait (on the event loop, no
thread is held: a thread lock per day was measured worse, its holder's round trips queued for the
GIL behind the blocked threads) and then all run together as the next generation. A loser of the
next generation then loads after the winner committed, finds the slot taken and answers 409 at
once, with no write and no retry.

The members of a generation can share one piece of work (`Seat.shared`): the hold route asks the
application, in one call and one read of the store made after the previous generation ended,
which of its members would be refused (`Bookings.hold_refusals`); those are answered without a
command of their own, the others run theirs.

This is scheduling only, within one process: a request's answer is what its own command would
decide from a fresh read made during the request, and the event store's optimistic concurrency
still decides every write (across processes too). A request that arrives while no generation of
its key runs starts at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from typing import Any


class _Generation:
    __slots__ = ("done", "items", "members", "running", "shared")

    def __init__(self) -> None:
        self.members = 0
        self.running = False
        self.done = asyncio.Event()
        self.items: list[Any] = []  # what each member asked for, in order of arrival
        self.shared: asyncio.Future[list[Any]] | None = None


class Seat:
    """A member's place in its generation."""

    def __init__(self, generation: _Generation, index: int):
        self._generation = generation
        self._index = index

    @property
    def crowded(self) -> bool:
        """Whether other requests of the key queued and now run together with this one."""
        return len(self._generation.items) > 1

    async def shared(self, work: Callable[[list[Any]], Awaitable[list[Any]]]) -> Any:
        """This member's element of `work(items of the whole generation)`, which runs once, for
        whichever member asks first (a member that gives up does not cancel it for the others)."""
        generation = self._generation
        if generation.shared is None:
            generation.shared = asyncio.ensure_future(work(list(generation.items)))
        return (await asyncio.shield(generation.shared))[self._index]


class Turns:
    def __init__(self) -> None:
        self._running: dict[Hashable, _Generation] = {}
        self._next: dict[Hashable, _Generation] = {}

    @asynccontextmanager
    async def turn(self, key: Hashable, item: Any = None) -> AsyncIterator[Seat]:
        current = self._running.get(key)
        if current is None:
            generation = self._running[key] = _Generation()
            generation.running = True
        else:
            generation = self._next.get(key) or self._next.setdefault(key, _Generation())
        generation.members += 1
        generation.items.append(item)
        seat = Seat(generation, len(generation.items) - 1)
        try:
            if current is not None:
                await current.done.wait()  # `_leave` of its last member made ours the running one
            yield seat
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
