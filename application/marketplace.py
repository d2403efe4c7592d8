"""The write side: one eventsourcing Application holding every aggregate of the marketplace.

Command methods load aggregates, call the domain and save every changed aggregate in one
atomic write. A version conflict (a concurrent writer got there first) is retried from a fresh
load, so invariants held by deterministic-id aggregates (unique keys, singletons) are decided by
the event store itself, never by check-then-insert."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import Application, LRUCache
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import OperationalError, RecordConflictError, StoredEvent

from application.ports import ProjectionBarrier
from application.state_cache import Versions, holds
from application.state_copy import copy_state
from domain.accounts import Account, Singleton, UniqueKey, unique_keys
from domain.appointments import ClientLink
from domain.catalogue import Category
from domain.errors import Conflict, Invalid, NotFound
from domain.ids import aggregate_id, is_object_id, new_object_id, singleton_id, unique_key_id
from domain.ledger import Earnings, Transaction
from domain.notifications import Inbox
from domain.platform_settings import PlatformSettings
from domain.settings import ConsultantSettings
from domain.storable import check_events

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_ATTEMPTS = 8
CACHE_SIZE = 5_000  # committed states kept by find() to read only newer events (~2 kB per account)
SNAPSHOT_INTERVAL = 100  # a long-lived aggregate's load reads its latest snapshot and at most this many events


class KeyTaken(Conflict):
    """A unique key (e-mail, phone, user id) is owned by another account."""

    def __init__(self, field: str):
        super().__init__(f"{field} already exists")
        self.field = field


class NoBarrier:
    def wait_for(self, position: int, first: int | None = None) -> None:
        return None


EventsReader = Callable[[Sequence[tuple[UUID, int]]], list[StoredEvent]]
SnapshotsReader = Callable[[Sequence[UUID]], list[StoredEvent]]  # the latest snapshot of each that has one


class Marketplace(Application[Any]):
    """Loading: `find`/`find_many` read the store on every call, but only the events written after
    the state this process last saw (a cache of committed states keyed by aggregate id, read in one
    query for all the aggregates of a command), so a loaded aggregate is as fresh as a full replay.
    Within one attempt of `run`, each aggregate is loaded once and the same object is returned again
    (an identity map), so a command never holds two copies of one aggregate."""

    name = "marketplace"
    # Aggregates that gain events for ever (an account: every login; Earnings: every payment; an Inbox:
    # every read...): snapshots bound the load of a state this process has not seen yet. An account's
    # snapshot is sealed with its key (infrastructure.personal_fields).
    snapshotting_intervals = dict.fromkeys(  # type: ignore[assignment]
        (Account, Earnings, Inbox, ConsultantSettings, ClientLink, PlatformSettings), SNAPSHOT_INTERVAL
    )

    def __init__(
        self, env: dict[str, str] | None = None, barrier: ProjectionBarrier | None = None, cache_size: int = CACHE_SIZE
    ):
        super().__init__(env)
        self.barrier: ProjectionBarrier = barrier or NoBarrier()
        self.read_events: EventsReader = self._read_each
        self.read_snapshots: SnapshotsReader = self._latest_snapshot_of_each
        self._states: LRUCache[UUID, Any] = LRUCache(maxsize=cache_size)
        self._versions = Versions(cache_size)  # the highest committed version seen, per aggregate
        self._unsnapshotted: LRUCache[UUID, bool] = LRUCache(maxsize=cache_size)  # no snapshot, no events
        self._attempt = threading.local()
        # told the notifications of every save (the projection runner of this process takes them)
        self.on_saved: Callable[[list[Any]], None] | None = None

    # -- plumbing -------------------------------------------------------------------------------

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        check_events(e for obj in objs if obj is not None for e in getattr(obj, "pending_events", [obj]))
        recordings = super().save(*objs, **kwargs)
        if self.on_saved is not None and recordings:
            self.on_saved([r.notification for r in recordings])
        return recordings

    def commit(self, *aggregates: Aggregate | None) -> int:
        """Save in one atomic write; return the last notification id (0 when nothing changed)."""
        return self._commit_range(*aggregates)[1]

    def _commit_range(self, *aggregates: Aggregate | None) -> tuple[int, int]:
        """Save in one atomic write; return the first and last notification ids (0, 0: nothing changed)."""
        ids = [r.notification.id for r in self.save(*aggregates)]
        return (min(ids), max(ids)) if ids else (0, 0)

    def run(self, command: Callable[[], tuple[T, list[Aggregate | None]]]) -> T:
        """Run `command` (load, decide, return result and aggregates to save) with retries on
        version conflicts, then wait until the projections reflect it (read-your-writes)."""
        result, (first, position) = self._attempts(command)
        if position:
            self.barrier.wait_for(position, first)  # raises when a projection parked one of these events
        return result

    def _attempts(self, command: Callable[[], tuple[T, list[Aggregate | None]]]) -> tuple[T, tuple[int, int]]:
        for attempt in range(MAX_ATTEMPTS):
            outer = getattr(self._attempt, "loaded", None), getattr(self._attempt, "shared", None)
            self._attempt.loaded, self._attempt.shared = {}, set()
            try:
                result, aggregates = command()
                if self._outdated(aggregates):  # this process already committed a newer version
                    continue  # retry at once from a fresh load, without a write that must fail
                positions = self._commit_range(*aggregates)
                self._committed(aggregates)
                return result, positions
            except RecordConflictError:
                if attempt == MAX_ATTEMPTS - 1:
                    raise
                time.sleep(0.002 * (attempt + 1))
            except OperationalError as error:  # SQLite "database is locked" under heavy write load
                if "locked" not in str(error) or attempt == MAX_ATTEMPTS - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
            finally:
                self._attempt.loaded, self._attempt.shared = outer
        raise RecordConflictError(f"still outdated after {MAX_ATTEMPTS} attempts")

    def evaluate(self, decide: Callable[[], T]) -> T:
        """Run `decide` as one attempt of a command that writes nothing (loads share its identity map)."""
        outer = getattr(self._attempt, "loaded", None), getattr(self._attempt, "shared", None)
        self._attempt.loaded, self._attempt.shared = {}, set()
        try:
            return decide()
        finally:
            self._attempt.loaded, self._attempt.shared = outer

    def _outdated(self, aggregates: list[Aggregate | None]) -> bool:
        """Whether a write would conflict for certain: a version it writes is already committed
        (as this process saw it). Never true for a write that could succeed."""
        for aggregate in aggregates:
            pending = getattr(aggregate, "pending_events", None)
            if (
                aggregate is not None
                and pending
                and self._versions.get(aggregate.id, 0) >= pending[0].originator_version
            ):
                return True
        return False

    def _committed(self, aggregates: list[Aggregate | None]) -> None:
        for aggregate in aggregates:
            if aggregate is not None and hasattr(aggregate, "version"):
                self._versions.put(aggregate.id, max(aggregate.version, self._versions.get(aggregate.id, 0)))

    def find(self, aggregate_uuid: UUID, *, readonly: bool = False, snapshotted: bool = False) -> Any | None:
        """`snapshotted=True` for an aggregate of a class in `snapshotting_intervals`: a state this
        process has not seen yet starts from its latest snapshot instead of its first event."""
        long_lived = (aggregate_uuid,) if snapshotted else ()
        return self.find_many([aggregate_uuid], readonly=readonly, snapshotted=long_lived)[aggregate_uuid]

    def _from_snapshots(self, uuids: list[UUID]) -> None:
        """Start the states this process has not cached from their latest snapshots, read in one query. One
        found without snapshot or events (a link before its first booking) is not asked again until it has events."""
        unseen = [u for u in uuids if not any(holds(cache, u) for cache in (self._states, self._unsnapshotted))]
        if unseen and self.snapshots is not None:
            found = {stored.originator_id: stored for stored in self.read_snapshots(unseen)}
            for uuid in unseen:
                if uuid in found:
                    self._states.put(uuid, self.snapshots.mapper.to_domain_event(found[uuid]).mutate(None))  # type: ignore[attr-defined]
                else:
                    self._unsnapshotted.put(uuid, True)

    def find_many(
        self, aggregate_uuids: Iterable[UUID], *, readonly: bool = False, snapshotted: Collection[UUID] = ()
    ) -> dict[UUID, Any | None]:
        """The current state of each aggregate (None when it has no events), read in one query.

        `readonly=True` returns the shared committed state itself (no copy): the caller only reads it
        and never saves it. Otherwise each command gets its own copy to change and save.
        `snapshotted` names the aggregates of a class in `snapshotting_intervals` (see `find`)."""
        uuids = list(dict.fromkeys(aggregate_uuids))
        loaded: dict[UUID, Any] | None = getattr(self._attempt, "loaded", None)
        shared: set[UUID] = getattr(self._attempt, "shared", set())
        if loaded is not None and not readonly:  # a copy for whoever changes what was only read so far
            for uuid in [u for u in uuids if u in shared]:
                loaded[uuid] = copy_state(loaded[uuid])
                shared.discard(uuid)
        wanted = [u for u in uuids if loaded is None or u not in loaded]
        found: dict[UUID, Any | None] = {}
        if wanted:
            self._from_snapshots([u for u in wanted if u in snapshotted])
            known: dict[UUID, Any] = {}
            for uuid in wanted:
                try:
                    known[uuid] = self._states.get(uuid)
                except KeyError:
                    pass
            newer: dict[UUID | str, list[StoredEvent]] = {}
            for stored in self.read_events([(u, known[u].version if u in known else 0) for u in wanted]):
                newer.setdefault(stored.originator_id, []).append(stored)
            for uuid in wanted:
                state = known.get(uuid)
                if uuid in newer:
                    state = copy_state(state)  # the cached state stays as committed
                    for stored in newer[uuid]:
                        state = self.mapper.to_domain_event(stored).mutate(state)  # type: ignore[attr-defined]
                    assert state is not None  # events were read for it
                    self._states.put(uuid, state)
                    with contextlib.suppress(KeyError):  # it exists now: its cached state stands in
                        self._unsnapshotted.get(uuid, evict=True)
                    self._versions.put(uuid, max(state.version, self._versions.get(uuid, 0)))
                found[uuid] = state if readonly else copy_state(state)  # commands change their own copy
            if loaded is not None:
                loaded.update(found)
                if readonly:
                    shared.update(u for u in wanted if found[u] is not None)
        return {u: loaded[u] if loaded is not None else found[u] for u in uuids}

    def forget(self, aggregate_uuid: UUID) -> None:
        """Drop this process's cached state of an aggregate: its next load replays it from the store
        (after an erasure, so that no decoded personal data stays in memory)."""
        with contextlib.suppress(KeyError):
            self._states.get(aggregate_uuid, evict=True)

    def adopt(self, aggregate_uuid: UUID, aggregate: T) -> T:
        """Let the current attempt's later loads of `aggregate_uuid` return this new aggregate."""
        loaded = getattr(self._attempt, "loaded", None)
        if loaded is not None:
            loaded[aggregate_uuid] = aggregate
        return aggregate

    def _read_each(self, wanted: Sequence[tuple[UUID, int]]) -> list[StoredEvent]:
        return [e for uuid, version in wanted for e in self.recorder.select_events(uuid, gt=version)]

    def _latest_snapshot_of_each(self, uuids: Sequence[UUID]) -> list[StoredEvent]:
        assert self.snapshots is not None
        return [s for uuid in uuids for s in self.snapshots.recorder.select_events(uuid, desc=True, limit=1)]

    # -- unique keys ----------------------------------------------------------------------------

    def claim(self, keys: dict[str, str], owner: str) -> list[UniqueKey]:
        """Claim `{field: key}` for `owner`; raise KeyTaken(field) for a key someone else owns."""
        claimed: list[UniqueKey] = []
        for field, key in keys.items():
            unique = self.find(unique_key_id(key))
            if unique is None:
                claimed.append(UniqueKey(key=key, owner=owner))
            elif unique.owner is None:
                unique.reclaim(owner)
                claimed.append(unique)
            elif unique.owner != owner:
                raise KeyTaken(field)
        return claimed

    def release(self, keys: list[str], owner: str) -> list[UniqueKey]:
        released = []
        for key in keys:
            unique = self.find(unique_key_id(key))
            if unique is not None and unique.owner == owner:
                unique.release()
                released.append(unique)
        return released

    def take_singleton(self, name: str, by: str) -> Singleton:
        if self.find(singleton_id(name)) is not None:
            raise Conflict(f"{name} already taken")
        return Singleton(name=name, by=by)

    # -- accounts -------------------------------------------------------------------------------

    def account(self, account_id: str, kind: str | None = None) -> Account:
        account = self.find(aggregate_id(account_id), snapshotted=True)
        if not isinstance(account, Account) or account.deleted or (kind and account.kind != kind):
            raise NotFound("Account not found")
        return account

    def register(
        self,
        kind: str,
        profile: dict[str, Any],
        password_hash: str | None,
        channel: str,
        unique_keys: dict[str, str],
        extra: Callable[[str], list[Aggregate]] | None = None,
    ) -> str:
        """Register an account with its unique keys claimed in the same atomic write."""
        account_id = new_object_id()

        def command() -> tuple[str, list[Aggregate | None]]:
            claims = self.claim(unique_keys, account_id)
            account = Account(
                kind=kind, account_id=account_id, profile=profile, password_hash=password_hash, channel=channel
            )
            return account_id, [account, *claims, *(extra(account_id) if extra else [])]

        return self.run(command)

    def change_account(self, account_id: str, kind: str | None, change: Callable[[Account], None]) -> Account:
        """Apply `change` to an account; when it changes an e-mail or phone, move the unique keys
        in the same atomic write (claim the new ones, release the old ones)."""

        def command() -> tuple[Account, list[Aggregate | None]]:
            account = self.account(account_id, kind)
            before = unique_keys(account.kind, account.profile)
            change(account)
            after = unique_keys(account.kind, account.profile)
            moved: list[Aggregate] = []
            moved += self.claim({f: k for f, k in after.items() if k not in before.values()}, account_id)
            moved += self.release([k for k in before.values() if k not in after.values()], account_id)
            return account, [account, *moved]

        return self.run(command)

    def delete_account(self, account_id: str, kind: str | None) -> Account:
        def command() -> tuple[Account, list[Aggregate | None]]:
            account = self.account(account_id, kind)
            account.delete()
            keys = list(unique_keys(account.kind, account.profile).values())
            return account, [account, *self.release(keys, account_id)]

        return self.run(command)

    # -- ledger ---------------------------------------------------------------------------------

    def transaction(self, transaction_id: str) -> Transaction:
        found = self.find(aggregate_id(transaction_id)) if is_object_id(transaction_id) else None
        if not isinstance(found, Transaction):
            raise NotFound("Transaction not found")
        return found

    # -- catalogue ------------------------------------------------------------------------------

    def category(self, category_id: str, *, subcategory: bool) -> Category:
        category = self.find(aggregate_id(category_id))
        if not isinstance(category, Category) or category.deleted or category.is_subcategory != subcategory:
            raise NotFound("Subcategory not found" if subcategory else "Category not found")
        return category

    def create_category(self, fields: dict[str, Any], parent_id: str | None) -> str:
        category_id = new_object_id()

        def command() -> tuple[str, list[Aggregate | None]]:
            if parent_id is not None:
                try:
                    self.category(parent_id, subcategory=False)
                except NotFound:
                    raise Invalid("Parent category not found") from None
            return category_id, [Category(category_id=category_id, fields=fields, parent_id=parent_id)]

        return self.run(command)

    def update_category(
        self, category_id: str, changes: dict[str, Any], *, subcategory: bool, parent_id: str | None = None
    ) -> Category:
        def command() -> tuple[Category, list[Aggregate | None]]:
            category = self.category(category_id, subcategory=subcategory)
            new_parent = category.parent_id
            if subcategory and parent_id is not None and parent_id != category.parent_id:
                try:
                    self.category(parent_id, subcategory=False)
                except NotFound:
                    raise Invalid("Parent category not found") from None
                new_parent = parent_id
            category.update(changes, new_parent)
            return category, [category]

        return self.run(command)

    def delete_category(self, category_id: str, *, subcategory: bool, children: list[str]) -> None:
        def command() -> tuple[None, list[Aggregate | None]]:
            category = self.category(category_id, subcategory=subcategory)
            category.delete()
            removed: list[Aggregate | None] = [category]
            for child_id in children:
                child = self.find(aggregate_id(child_id))
                if isinstance(child, Category) and not child.deleted:
                    child.delete(cascaded_from=category_id)
                    removed.append(child)
            return None, removed

        self.run(command)
