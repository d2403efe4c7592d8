"""The documents a runner's own batches committed, kept for its next batch (PostgreSQL).

A confirmation changes the appointment document its hold's batch wrote a moment before; a paid one
also the transaction its order's batch wrote. Reading them back (the prefetch in the claim's round
trip: `Tracking.claim_and_prefetch`) costs the batch a round trip before its writes. The runner keeps
the documents its batches committed instead, and a batch takes the ones it would prefetch from here;
when it needs nothing else from the database, its claim, writes and COMMIT go out in one round trip.

Why a kept document is the committed one: every change to those rows is made by a batch of this
runner's projection, which moves the tracking row in the same transaction. The memory is valid only
for a batch that claims from the very position of the memory's last commit (`at`): the claim is a
compare-and-set from that position, so if any other batch (another worker, a rebuild) had committed
since, the claim fails and the batch commits nothing; the runner then goes on from another position,
and a batch that does not start at `at` finds the memory emptied. A batch's documents are kept pickled
(a copy in, one out), so a batch that fails, or a caller that changes a committed document it was handed
(`keep_written`), never changes what is kept. A batch that rewrites documents behind the projectors'
back (an erasure: `Batch.rewritten`), one applied event by event (parking), or a large one (a rebuild)
empties the memory instead of filling it."""

from __future__ import annotations

import pickle
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from infrastructure.projector import Batch, Prefetch

KEPT_MAX = 2_000  # documents kept (least recently committed dropped first)
BATCH_MAX = 200  # a batch of more events than this (a catch-up, a rebuild) leaves nothing in memory


def _frozen(document: dict[str, Any]) -> bytes:
    return pickle.dumps(document, pickle.HIGHEST_PROTOCOL)


def _thawed(frozen: bytes) -> dict[str, Any]:
    return pickle.loads(frozen)  # type: ignore[no-any-return]


class DocumentMemory:
    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[str, str], bytes] = OrderedDict()  # pickled: nothing can change them
        self.at: int | None = None  # the tracking position the kept documents are as of

    def take(self, start: int, reads: list[Prefetch], batch: Batch) -> tuple[list[Prefetch], set[tuple[str, str]]]:
        """For a batch claiming from `start`: put the kept documents among `reads` into `batch.documents`
        (copies); return the reads still to make and the keys `reads` named."""
        if self.at != start:
            self.clear()
        named: set[tuple[str, str]] = set()
        remaining: list[Prefetch] = []
        for read in reads:
            missing = []
            for key in read.ids:
                named.add((read.table, key))
                kept = self._kept.get((read.table, key))
                if kept is None:
                    missing.append(key)
                else:
                    batch.documents[(read.table, key)] = _thawed(kept)
            if missing:
                remaining.append(replace(read, ids=missing) if len(missing) < len(read.ids) else read)
        return remaining, named

    def remember(self, batch: Batch, named: set[tuple[str, str]], events: int) -> None:
        """After `batch` committed (its end is the tracking position now): keep its documents; forget
        the named ones it no longer holds (deleted)."""
        if batch.rewritten or events > BATCH_MAX or (self.at is not None and self.at != batch.start):
            self.clear()
            if batch.rewritten or events > BATCH_MAX:
                return
        for key in named - batch.documents.keys():
            self._kept.pop(key, None)
        for key, document in batch.documents.items():
            self._kept[key] = _frozen(document)
            self._kept.move_to_end(key)
        while len(self._kept) > KEPT_MAX:
            self._kept.popitem(last=False)
        self.at = batch.end

    def passed(self, start: int, end: int) -> None:
        """The tracking row moved from `start` to `end` over events no projector needed (no row changed)."""
        if self.at == start:
            self.at = end

    def kept(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {key: _thawed(frozen) for key, frozen in self._kept.items()}

    def clear(self) -> None:
        self._kept.clear()
        self.at = None
