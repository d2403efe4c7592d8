"""Accounts of the three stores (consultants, clients, back-office users) and the unique keys
that keep one e-mail and one phone per store.

An account is one event-sourced aggregate whose `kind` names its store. Its `profile` is the
stored document without ids, timestamps or secrets; every event records exactly what changed.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import Conflict, Forbidden
from domain.ids import aggregate_id, email_key, phone_key, singleton_id, unique_key_id, user_code_key
from domain.phones import to_e164

CONSULTANT, CLIENT, USER = "consultant", "client", "user"
KINDS = (CONSULTANT, CLIENT, USER)
ROLE_OF_KIND = {CONSULTANT: "Consultant", CLIENT: "Client"}

CONSULTANT_STATUSES = ("Approved", "Active", "Pending", "Rejected", "Blocked", "Inactive")
CLIENT_STATUSES = ("Active", "Inactive", "Blocked", "Pending")
USER_STATUSES = ("Active", "Inactive")
VERIFICATION_STATUSES = ("Approved", "Pending", "Rejected", "Blocked")

# Fields a consultant may not change on its own record (contract auth §8.1.7).
ADMIN_ONLY_CONSULTANT_FIELDS = frozenset({"status", "commission", "ratingSummary", "reviews", "clientInfo", "clients"})


class Account(Aggregate):
    """A consultant, client or back-office user account."""

    @staticmethod
    def create_id(account_id: str) -> UUID:  # type: ignore[override]
        return aggregate_id(account_id)

    @event("Registered")
    def __init__(
        self, kind: str, account_id: str, profile: dict[str, Any], password_hash: str | None, channel: str
    ) -> None:
        self.kind = kind
        self.account_id = account_id
        self.profile = dict(profile)
        self.password_hash = password_hash
        self.channel = channel
        self.deleted = False

    @property
    def status(self) -> str | None:
        return self.profile.get("status")

    @property
    def role(self) -> str:
        return ROLE_OF_KIND.get(self.kind) or str(self.profile.get("role"))

    def _ensure_live(self) -> None:
        if self.deleted:
            raise Conflict("Account has been deleted")

    @event("ProfileUpdated")
    def update_profile(self, changes: dict[str, Any]) -> None:
        self.profile = {**self.profile, **changes}

    def update_changed(self, fields: dict[str, Any]) -> None:
        """Record the fields whose value differs from the profile's; no event when none does."""
        delta = {k: v for k, v in fields.items() if self.profile.get(k) != v}
        if delta:
            self.update_profile(delta)

    @event("Approved")
    def _approve(self) -> None:
        self.profile = {**self.profile, "status": "Active"}

    @event("Rejected")
    def _reject(self) -> None:
        self.profile = {**self.profile, "status": "Rejected"}

    @event("Blocked")
    def _block(self) -> None:
        self.profile = {**self.profile, "status": "Blocked"}

    @event("Unblocked")
    def _unblock(self) -> None:
        self.profile = {**self.profile, "status": "Active"}

    def approve(self) -> None:
        self._ensure_live()
        self._approve()

    def reject(self) -> None:
        self._ensure_live()
        self._reject()

    def block(self) -> None:
        self._ensure_live()
        self._block()

    def unblock(self) -> None:
        self._ensure_live()
        self._unblock()

    @event("PasswordSet")
    def set_password(self, password_hash: str, reason: str) -> None:
        self.password_hash = password_hash

    @event("LoggedIn")
    def record_login(self, channel: str) -> None:
        pass

    @event("Deleted")
    def _delete(self) -> None:
        self.deleted = True

    def delete(self) -> None:
        self._ensure_live()
        self._delete()


class UniqueKey(Aggregate):
    """Claims a natural key (for example `consultant:email:jane@example.com`) for one account.

    Its id is derived from the key, so two concurrent claims create the same aggregate and the
    event store's optimistic concurrency lets exactly one of them commit."""

    @staticmethod
    def create_id(key: str) -> UUID:  # type: ignore[override]
        return unique_key_id(key)

    @event("Claimed")
    def __init__(self, key: str, owner: str) -> None:
        self.key = key
        self.owner: str | None = owner

    @event("Reclaimed")
    def reclaim(self, owner: str) -> None:
        self.owner = owner

    @event("Released")
    def release(self) -> None:
        self.owner = None


class Singleton(Aggregate):
    """A once-only fact (for example: the first admin has been created)."""

    @staticmethod
    def create_id(name: str) -> UUID:  # type: ignore[override]
        return singleton_id(name)

    @event("Taken")
    def __init__(self, name: str, by: str) -> None:
        self.name = name
        self.by = by


def ensure_consultant_may_change(role: str, actor_id: str, consultant_id: str, changes: dict[str, Any]) -> None:
    """A consultant edits only its own record and never its admin-owned fields."""
    if role == "Admin":
        return
    if role != "Consultant" or actor_id != consultant_id:
        raise Forbidden("Forbidden: Access denied")
    if ADMIN_ONLY_CONSULTANT_FIELDS & set(changes):
        raise Forbidden("Forbidden: Access denied")


def account_status_refusal(kind: str, status: str | None) -> str | None:
    """The message refusing a token of an account in this status, or None when it may act.

    A Pending consultant may act on its own data (contract decision); the routes that list or
    book consultants filter Pending ones themselves."""
    if status in (None, "", "Active"):
        return None
    if kind == CONSULTANT and status in ("Pending", "Approved"):
        return None
    return {
        "Pending": "Your account is pending approval.",
        "Rejected": "Your account application has been rejected.",
        "Blocked": "Your account has been blocked by the administrator.",
    }.get(status, "Account is inactive. Please contact administrator.")


def unique_keys(kind: str, profile: dict[str, Any]) -> dict[str, str]:
    """The natural keys that must be unique within the account's store."""
    keys = {"email": email_key(kind, profile["email"])}
    if kind == CONSULTANT:
        phones = {to_e164(profile.get("phone", "")), to_e164(profile.get("mobile", ""))} - {""}
        for index, phone in enumerate(sorted(phones)):
            keys[f"phone{index}"] = phone_key(kind, "phone", phone)
    elif profile.get("mobile"):
        keys["mobile"] = phone_key(kind, "mobile", to_e164(profile["mobile"]))
    if kind == USER and profile.get("userId"):
        keys["userId"] = user_code_key(kind, profile["userId"].upper())
    return keys
