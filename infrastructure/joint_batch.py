"""Read-your-writes over several runners in ONE transaction (PostgreSQL, the runners of one process).

A command's events often concern more than one runner (a confirmation: the read models' slots and
appointment, and the people projection's inbox and link). Each runner applying them in its own
transaction costs a transaction per runner: on PostgreSQL two connections, a helper thread, the
events decoded once per runner, and two threads contending for the interpreter lock on the path the
request waits on. Here the runners that need the events apply them in one transaction instead: each
keeps its own `Batch` (its projectors see only their own), the events are decoded once, and

- the transaction claims every runner's tracking row (the same compare-and-set as a runner's own
  batch) **in the order the runners are given**, whatever a projector reads first, so two such
  transactions (in two processes) never wait for each other's rows in a cycle; a runner's own batch
  claims one row only;
- the claims, the documents' prefetch, every batch's queued writes and one COMMIT go out pipelined
  (`projection_tracking.claims_and_prefetch`, `claims_writes_commit`): every row and every tracking
  position commit together or not at all, so each event still takes effect exactly once per runner.

The runners' locks are taken in the same fixed order (a runner's own loop takes its own lock only).
Anything unusual (a runner not at the same place, events not in memory, a claim that finds the row
moved, a projector that fails) leaves this path with nothing committed: the caller then goes on
runner by runner (`Barriers`), which handles each case as before (reads the log, moves on, parks)."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from infrastructure import parking, pushes
from infrastructure.projection_tracking import claims_and_prefetch, claims_writes_commit
from infrastructure.projector import Batch, keep_written

if TYPE_CHECKING:
    from infrastructure.projection_runner import ProjectionRunner

log = logging.getLogger("infrastructure.projection_runner")


def catch_up_together(runners: list[ProjectionRunner], position: int) -> None:
    """Bring the runners (sharing one PostgreSQL engine, in this fixed order) that are behind
    `position` to it in one transaction, when their events are this process's own (offered) and at
    least two of them need some. Otherwise, or when that transaction fails, nothing is committed and
    the runners stay where they were (a runner none of whose projectors needs the events may have
    passed them in memory, as `ProjectionRunner.pass_unneeded` would)."""
    with ExitStack() as locks:
        for runner in runners:
            locks.enter_context(runner._lock)
        runs: list[tuple[ProjectionRunner, list[Any], set[int]]] = []
        for runner in runners:
            if runner.position >= position:
                continue
            run = runner.offered_run(position)
            if run is None:
                return
            unneeded = runner._unneeded(run)
            if len(unneeded) == len(run):
                runner._pass(run)  # no row changes: passed in memory (see `ProjectionRunner`)
            else:
                runs.append((runner, run, unneeded))
        if len(runs) < 2:
            return  # one runner (or none) has something to apply: its own batch, as before
        named: list[set[tuple[str, str]]] = []
        try:
            batches = _apply(runs, named)
        except Exception as error:  # rolled back: runner by runner instead
            if not parking.is_transient(error):
                log.info("projections %s: one transaction failed (%s); runner by runner", position, error)
            return
        for (runner, run, _), batch, batch_named in zip(runs, batches, named, strict=True):
            runner.position = run[-1].id
            runner._unclaimed_from = None
            runner.memory.remember(batch, batch_named, len(run))
            runner._forget_offered(runner.position)
            keep_written(batch)
            for callback in batch.after_commit:
                callback()
            pushes.send_or_defer(runner.broadcaster, batch.emits)


def _apply(runs: list[tuple[ProjectionRunner, list[Any], set[int]]], named: list[set[tuple[str, str]]]) -> list[Batch]:
    """Apply each runner's run in its own batch, all in one transaction; `named` receives, per batch,
    the keys of the documents it named for reading (`DocumentMemory.take`)."""
    engine = runs[0][0].engine
    with engine.begin() as conn:
        batches = [Batch(conn, start=runner._claim_start(), end=run[-1].id) for runner, run, _ in runs]
        claims = [(runner.tracking, batch) for (runner, _, _), batch in zip(runs, batches, strict=True)]

        def claim_all() -> None:  # the first read of any batch claims every row, in the fixed order
            for batch in batches:
                batch.claim = None
            for tracking, batch in claims:
                tracking.claim(conn, batch.start, batch.end)

        for batch in batches:
            batch.claim = claim_all
        reads: list[tuple[Batch, Any]] = []
        for (runner, run, _), batch in zip(runs, batches, strict=True):
            wanted = [r for p in runner.projectors if hasattr(p, "prefetch") for r in p.prefetch(run)]
            wanted, batch_named = runner.memory.take(batch.start, wanted, batch)  # what it committed itself
            named.append(batch_named)
            reads += [(batch, read) for read in wanted]
        if reads:
            claims_and_prefetch(conn, claims, reads)
        decoded: dict[tuple[Any, int], Any] = {}  # by decoder (the runners of one store share theirs) and id
        for (runner, run, unneeded), batch in zip(runs, batches, strict=True):
            for notification in run:
                if notification.id in unneeded:
                    continue
                key = (runner._decode, notification.id)
                event = decoded.get(key)
                if event is None:
                    event = decoded[key] = runner._decode(notification)
                for projector in runner.projectors:
                    projector.apply(batch, event, notification.id)
            for projector in runner.projectors:
                projector.flush(batch)
        claims_writes_commit(conn, claims)
    return batches
