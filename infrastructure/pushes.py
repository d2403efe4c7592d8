"""Realtime pushes of committed read-model changes, sent best-effort after the commit.

The message (`Emit`), the broadcaster that delivers it, and `deferred_pushes()`, which holds a
request's pushes back until its response is out."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Emit:
    event: str
    data: dict[str, Any]
    room: str | None = None  # None = every connected socket


class Broadcaster(Protocol):
    def emit(self, message: Emit) -> None: ...


class NullBroadcaster:
    def emit(self, message: Emit) -> None:
        log.debug("no realtime server: dropped %s", message.event)


_deferred: ContextVar[list[Emit] | None] = ContextVar("deferred_pushes", default=None)


@contextmanager
def deferred_pushes() -> Iterator[list[Emit]]:
    """Collect, instead of sending, the pushes of batches committed in this context (threads
    started from it with a copied context, such as a framework's thread pool, included)."""
    pushes: list[Emit] = []
    token = _deferred.set(pushes)
    try:
        yield pushes
    finally:
        _deferred.reset(token)


def _push_key(message: Emit) -> Any:
    try:
        return (message.event, message.room, frozenset(message.data.items()))
    except TypeError:  # nested data (notifications): never merged
        return object()


def send(broadcaster: Broadcaster, messages: Iterable[Emit]) -> None:
    """Push committed changes; identical pushes go out once (the read model already holds every change)."""
    seen: set[Any] = set()
    for message in messages:
        key = _push_key(message)
        if key in seen:
            continue
        seen.add(key)
        try:
            broadcaster.emit(message)
        except Exception:  # a push is best-effort; the read model is already committed
            log.exception("realtime emit failed: %s", message.event)


def send_or_defer(broadcaster: Broadcaster, messages: list[Emit]) -> None:
    """Send now, or hand to the enclosing `deferred_pushes()` context, which sends once its response is out."""
    deferred = _deferred.get()
    if deferred is not None:
        deferred.extend(messages)
    else:
        send(broadcaster, messages)
