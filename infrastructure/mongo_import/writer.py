"""Recording imported facts as events, with their original business time, in large atomic batches.

An imported aggregate is created with `_create(..., timestamp=<original createdAt>)` and later
facts are triggered with their own instants, so every projection and the reporting store (which read
`event.timestamp` as a record's `createdAt`/`updatedAt`) show the original times (contract D1).
Aggregates are saved many per `Application.save` call through the application (one transaction
per batch); `dry_run` records nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.accounts import Account
from domain.storable import check_events

A = TypeVar("A", bound=Aggregate)

BATCH_EVENTS = 5000


def create(cls: type[A], event_class: Any, when: datetime, **kwargs: Any) -> A:
    """A new aggregate whose first event happened at `when`."""
    return cls._create(event_class, timestamp=when, **kwargs)  # type: ignore[arg-type]


def trigger(aggregate: Aggregate, event_class: Any, when: datetime, **kwargs: Any) -> None:
    aggregate.trigger_event(event_class, timestamp=when, **kwargs)


class Writer:
    def __init__(
        self,
        market: Any,
        *,
        dry_run: bool,
        check_existing: bool,
        progress: Callable[[int], None],
        batch_events: int = BATCH_EVENTS,
    ):
        self.market = market
        self.batch_events = batch_events
        self.dry_run = dry_run
        self.check_existing = check_existing  # a non-empty store: look each id up before writing it
        self.progress = progress
        self.pending: dict[UUID, Aggregate] = {}
        self.held: dict[UUID, Aggregate] = {}  # saved at the very end (Earnings, consultant days)
        self.events = 0
        self.written = 0

    def exists(self, uuid: UUID) -> bool:
        if uuid in self.pending or uuid in self.held:
            return True
        return self.check_existing and self.market.find(uuid) is not None

    def load(self, uuid: UUID) -> Any | None:
        """An aggregate of this import (not yet saved) or, in a non-empty store, of the store."""
        found = self.held.get(uuid) or self.pending.get(uuid)
        if found is None and self.check_existing:
            found = self.market.find(uuid)
            if found is not None:
                self.held[uuid] = found
        return found

    def add(self, *aggregates: Aggregate) -> None:
        """Queue aggregates; an event no read model could hold raises `Invalid` before anything is queued."""
        check_events(event for aggregate in aggregates for event in aggregate.pending_events)
        for aggregate in aggregates:
            self.pending[aggregate.id] = aggregate
            self.events += len(aggregate.pending_events)

    def maybe_flush(self) -> None:
        if self.events >= self.batch_events:
            self.flush()

    def hold(self, aggregate: Aggregate) -> None:
        """Keep an aggregate that many later facts change (earnings, days): its new events are saved
        with every batch, the object stays until `finish`."""
        self.held[aggregate.id] = aggregate

    def flush(self) -> None:
        """Save the queued aggregates and the new events of the held ones (so memory stays bounded:
        a consultant's `Earnings` gains two events per appointment)."""
        held = [a for a in self.held.values() if a.pending_events]
        self.written += self.events + sum(len(a.pending_events) for a in held)
        if self.dry_run:
            for aggregate in held:
                aggregate.collect_events()
        elif self.pending or held:
            self._prime_keys()
            self.market.save(*self.pending.values(), *held)
        self.progress(len(self.pending))
        self.pending, self.events = {}, 0

    def _prime_keys(self) -> None:
        """The personal-data keys of the people in this batch, created in bulk (see `KeyStore.prime`)."""
        sealer = getattr(getattr(self.market, "mapper", None), "sealer", None)
        if sealer is None:
            return
        people = [a.account_id for a in self.pending.values() if isinstance(a, Account)]
        if people:
            sealer.keys.prime(people)

    def finish(self) -> None:
        self.flush()
        self.held = {}
