"""The write side: one eventsourcing Application holding every aggregate of the marketplace.

Command methods load aggregates, call the domain and save every changed aggregate in one
atomic write. A version conflict (a concurrent writer got there first) is retried from a fresh
load, so invariants held by deterministic-id aggregates (unique keys, singletons) are decided by
the event store itself, never by check-then-insert."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import OperationalError, RecordConflictError

from application.ports import ProjectionBarrier
from domain.accounts import Account, Singleton, UniqueKey, unique_keys
from domain.catalogue import Category
from domain.errors import Conflict, Invalid, NotFound
from domain.ids import aggregate_id, key_id, new_object_id
from domain.ledger import Earnings

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_ATTEMPTS = 8


class KeyTaken(Conflict):
    """A unique key (e-mail, phone, user id) is owned by another account."""

    def __init__(self, field: str):
        super().__init__(f"{field} already exists")
        self.field = field


class NoBarrier:
    def wait_for(self, position: int) -> None:
        return None


class Marketplace(Application[Any]):
    name = "marketplace"
    # A consultant's Earnings gains events with every payment for ever: snapshots bound its loading.
    snapshotting_intervals = {Earnings: 100}  # type: ignore[dict-item]

    def __init__(self, env: dict[str, str] | None = None, barrier: ProjectionBarrier | None = None):
        super().__init__(env)
        self.barrier: ProjectionBarrier = barrier or NoBarrier()

    # -- plumbing -------------------------------------------------------------------------------

    def commit(self, *aggregates: Aggregate | None) -> int:
        """Save in one atomic write; return the last notification id (0 when nothing changed)."""
        recordings = self.save(*aggregates)
        return max((r.notification.id for r in recordings), default=0)

    def run(self, command: Callable[[], tuple[T, list[Aggregate | None]]]) -> T:
        """Run `command` (load, decide, return result and aggregates to save) with retries on
        version conflicts, then wait until the projections reflect it (read-your-writes)."""
        for attempt in range(MAX_ATTEMPTS):
            result, aggregates = command()
            try:
                position = self.commit(*aggregates)
            except RecordConflictError:
                if attempt == MAX_ATTEMPTS - 1:
                    raise
                time.sleep(0.002 * (attempt + 1))
                continue
            except OperationalError as error:  # SQLite "database is locked" under heavy write load
                if "locked" not in str(error) or attempt == MAX_ATTEMPTS - 1:
                    raise
                time.sleep(0.01 * (attempt + 1))
                continue
            if position:
                self.barrier.wait_for(position)
            return result
        raise AssertionError("unreachable")

    def find(self, aggregate_uuid: Any) -> Any | None:
        try:
            return self.repository.get(aggregate_uuid)
        except AggregateNotFoundError:
            return None

    # -- unique keys ----------------------------------------------------------------------------

    def claim(self, keys: dict[str, str], owner: str) -> list[UniqueKey]:
        """Claim `{field: key}` for `owner`; raise KeyTaken(field) for a key someone else owns."""
        claimed: list[UniqueKey] = []
        for field, key in keys.items():
            unique = self.find(key_id("unique:" + key))
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
            unique = self.find(key_id("unique:" + key))
            if unique is not None and unique.owner == owner:
                unique.release()
                released.append(unique)
        return released

    def take_singleton(self, name: str, by: str) -> Singleton:
        if self.find(key_id("singleton:" + name)) is not None:
            raise Conflict(f"{name} already taken")
        return Singleton(name=name, by=by)

    # -- accounts -------------------------------------------------------------------------------

    def account(self, account_id: str, kind: str | None = None) -> Account:
        account = self.find(aggregate_id(account_id))
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
