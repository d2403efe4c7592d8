"""The rows one batch of events changes, and the value conversions every event handler shares."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from domain.money import exact
from reporting.columns import ENTITY_TABLES

GC_EVERY = 10.0  # seconds between the full collections of a long catch-up (reporting/store.py `catch_up`)


@contextmanager
def paused_gc(every: float = GC_EVERY) -> Iterator[Callable[[], None]]:
    """The cyclic garbage collector off while batches are applied: a batch keeps hundreds of thousands
    of objects alive (its events, rows and column lists, and the batches read ahead), which every
    collection would walk again (about a third of decoding's time; 1.8 s of a 1 M-event catch-up when
    it ran between batches). Reference counting still frees them; the collector runs again (if it was
    on) when done, and the `tick()` the block gets runs a full collection once `every` seconds have
    passed since the last, so that the cycles of the process's other threads never wait longer."""
    enabled = gc.isenabled()
    gc.disable()
    last = time.monotonic()

    def tick() -> None:
        nonlocal last
        if enabled and time.monotonic() - last >= every:
            gc.collect()
            last = time.monotonic()

    try:
        yield tick
    finally:
        if enabled:
            gc.enable()


@lru_cache(maxsize=4096, typed=True)  # a store holds few distinct amounts (fees, splits): round each once
def _rounded(value: Any) -> Decimal:
    return exact(value)


def money(value: Any) -> Decimal:
    """A money figure of an event, exact to the cent under the domain's one rounding rule."""
    try:
        return _rounded(value)
    except TypeError:  # unhashable (a malformed event's list or dict): not cached
        return exact(value)


def name_of(value: Any) -> str:
    """A category given as a snapshot object (`{name}`), a `{title}` object or a plain string."""
    if isinstance(value, dict):
        return str(value.get("name") or value.get("title") or "")
    return str(value or "")


@dataclass
class BatchRows:
    zone: ZoneInfo
    con: Any = None  # the batch's DuckDB connection (renames load the rows they change)
    rows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {t: {} for t in ENTITY_TABLES})
    existing: dict[str, set[str]] = field(default_factory=lambda: {t: set() for t in ENTITY_TABLES})
    category_lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    links: list[dict[str, Any]] = field(default_factory=list)
    # later changes of links, in order: (client, consultant, new status; `Removed` for a removed link)
    link_changes: list[tuple[str, str, str]] = field(default_factory=list)
    # the loaded rows as they were before this batch, by table (for the rollups' deltas)
    before: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {t: {} for t in ENTITY_TABLES})

    def utc(self, moment: datetime) -> datetime:
        return moment.astimezone(UTC).replace(tzinfo=None)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone).replace(tzinfo=None)
