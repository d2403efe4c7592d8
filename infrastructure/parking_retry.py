"""`consult projections retry`: apply the parked events of the read models again (after an upgrade
that fixed what made them fail). An event that applies now is unparked in the same transaction as
its rows; one that still fails stays parked with its new error. The tracking position is not
touched: a retried event is applied late, after the events that followed it, so a retry suits
events whose rows nothing later changed; `consult rebuild` re-applies everything in order."""

from __future__ import annotations

import logging
from typing import Any

from infrastructure import parking
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.projector import Batch

log = logging.getLogger(__name__)


def retry(runner: ProjectionRunner, position: int | None = None) -> tuple[list[Any], list[Any]]:
    """Returns (applied, still parked), each a list of `parking.Parked`."""
    applied: list[Any] = []
    still: list[Any] = []
    projectors = {parking.projector_name(p): p for p in runner.projectors}
    names = set(runner.projection_names())
    for entry in parking.listed(runner.engine, position):
        if entry.projection not in names:
            continue
        found = runner._read(entry.position, 1)
        if not found or found[0].id != entry.position:
            log.warning("parked position %s is not in the event log; left parked", entry.position)
            still.append(entry)
            continue
        notification = found[0]
        with runner._lock, runner.engine.begin() as conn:
            batch = Batch(conn, start=entry.position - 1, end=entry.position)
            try:
                with conn.begin_nested():
                    event = runner._decode(notification)
                    targets = [projectors[entry.projection]] if entry.projection in projectors else runner.projectors
                    for projector in targets:
                        projector.apply(batch, event, entry.position)
                        projector.flush(batch)
                    batch.conn  # noqa: B018  (runs the inserts handed over)
                parking.unpark(conn, entry.projection, entry.position)
                applied.append(entry)
            except Exception as error:
                if parking.is_transient(error):
                    raise
                still.append(parking.record(conn, entry.projection, notification, error))
        if entry in applied:
            for callback in batch.after_commit:
                callback()
            runner.send(batch.emits)
            with runner._offered_lock:
                runner.parked.pop(entry.position, None)
            log.info("unparked event at position %s (projection %s)", entry.position, entry.projection)
    return applied, still
