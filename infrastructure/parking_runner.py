"""The slow path of the projection runner (`ProjectionRunner`): a batch whose transaction failed is
applied again in halves, down to the single events, which are parked where they fail (see
`infrastructure/parking.py`). Only a failed batch comes here; the fast path is unchanged."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from infrastructure import parking
from infrastructure.projection_tracking import Moved, Tracking
from infrastructure.projector import Batch


class PartsMixin:
    """Needs from the runner: its engine, projectors, name, position, decoder, tracking row and `_apply`."""

    engine: sa.Engine
    projectors: list[Any]
    name: str
    position: int
    parked: dict[int, str]
    _offered_lock: threading.Lock
    _decode: Callable[[Any], Any]
    _apply: Callable[[list[Any], int, int], Batch]  # (notifications, start, last): one batch, one transaction
    _claim_start: Callable[[], int]  # the committed position (behind `position` by batches nobody needed)
    _unclaimed_from: int | None
    tracking: Tracking

    def _apply_in_parts(self, notifications: list[Any]) -> list[Batch]:
        """Apply a batch that failed as halves (recursively), down to single events, which are parked
        where they fail: k bad events among n cost about 2k*log2(n) extra transactions. Advances
        `self.position` with each committed part; stops when another worker moved the position."""
        if len(notifications) == 1:
            try:
                return [self._apply_single(notifications[0])]
            except Moved as moved:
                self.position, self._unclaimed_from = moved.position, None
                return []
        half = len(notifications) // 2
        batches: list[Batch] = []
        for part in (notifications[:half], notifications[half:]):
            try:
                batches.append(self._apply(part, self.position, part[-1].id))
                self.position = part[-1].id
            except Moved as moved:
                self.position, self._unclaimed_from = moved.position, None
                return batches
            except Exception as error:
                if parking.is_transient(error):
                    raise
                batches.extend(self._apply_in_parts(part))
                if self.position < part[-1].id:
                    return batches  # another worker moved the tracking position
        return batches

    def _apply_single(self, notification: Any) -> Batch:
        """Apply one event projector by projector, each in a savepoint; park it for a projector that
        fails on it. The rows of the others, the parked rows and the tracking position commit together."""
        start, position = self._claim_start(), notification.id
        parked: list[parking.Parked] = []
        with self.engine.begin() as conn:
            batch = Batch(conn, start=start, end=position)
            self.tracking.claim(conn, start, position)  # first: a savepoint's rollback never undoes the claim
            try:
                event = self._decode(notification)
            except Exception as error:
                if parking.is_transient(error):
                    raise
                parked.append(parking.record(conn, self.name, notification, error))
                event = None
            for projector in self.projectors if event is not None else ():
                emits, callbacks, pending = len(batch.emits), len(batch.after_commit), dict(batch.pending)
                try:
                    if hasattr(projector, "unneeded") and position in projector.unneeded([notification]):
                        continue
                    with conn.begin_nested():
                        projector.apply(batch, event, position)
                        projector.flush(batch)
                        batch.conn  # noqa: B018  (runs the inserts it handed over)
                except Exception as error:
                    if parking.is_transient(error):
                        raise
                    del batch.emits[emits:], batch.after_commit[callbacks:]
                    batch.pending, batch.inserts, batch.documents = pending, [], {}
                    parked.append(parking.record(conn, parking.projector_name(projector), notification, error))
        self.position, self._unclaimed_from = position, None
        for callback in batch.after_commit:
            callback()
        if parked:
            self._remember_parked(position, parked[0].error)
        return batch

    def _remember_parked(self, position: int, error: str) -> None:
        with self._offered_lock:
            self.parked[position] = error
            while len(self.parked) > parking.RECENT_MAX:
                self.parked.pop(next(iter(self.parked)))

    def parked_in(self, first: int, last: int) -> str | None:
        """The error of an event this runner parked between `first` and `last` (None if none)."""
        if not self.parked:
            return None
        with self._offered_lock:
            return next((error for position, error in self.parked.items() if first <= position <= last), None)
