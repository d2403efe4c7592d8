"""Who is who in the original's three account stores (contract mongo-import §3, §4 H4, H6, H7, D9).

A first pass over `users`, `consultants` and `clients` reads only the identifying fields of each
document (id, e-mail, phones, `user` link, role, `createdAt`), so the second pass can decide each
document on its own: kept, or a duplicate of an older one (H6); and every reference found later
(appointments, transactions, links, settings) resolves through `consultant()` / `client()` to the
account that owns it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.phones import to_e164
from infrastructure.mongo_import.values import object_id_time


def clean_email(value: Any) -> str:
    return value.strip().lower() if isinstance(value, str) else ""


def phones_of(document: dict[str, Any]) -> set[str]:
    found = set()
    for key in ("mobile", "phone"):
        value = document.get(key)
        if isinstance(value, str) and value.strip():
            found.add(to_e164(value))
    return found


@dataclass(order=True)
class Key:
    created: datetime
    ident: str
    email: str = field(compare=False)
    phones: frozenset[str] = field(compare=False)


@dataclass
class Store:
    """The documents of one account store, by id, and the duplicates among them."""

    keys: list[Key] = field(default_factory=list)
    kept: set[str] = field(default_factory=set)
    duplicate_of: dict[str, str] = field(default_factory=dict)  # skipped id -> kept id
    reasons: dict[str, str] = field(default_factory=dict)

    def add(self, document: dict[str, Any]) -> None:
        ident = str(document["_id"])
        created = document.get("createdAt")
        when = created if isinstance(created, datetime) else object_id_time(ident)
        self.keys.append(Key(when, ident, clean_email(document.get("email")), frozenset(phones_of(document))))

    def settle(self) -> None:
        """Oldest first (by `createdAt`, then `_id`); a later document sharing an e-mail or a phone
        with a kept one is a duplicate of it."""
        owner: dict[str, str] = {}
        for key in sorted(self.keys):
            claims = ([f"email:{key.email}"] if key.email else []) + [f"phone:{p}" for p in sorted(key.phones)]
            taken = next((c for c in claims if c in owner), None)
            if taken is not None:
                self.duplicate_of[key.ident] = owner[taken]
                what = "e-mail" if taken.startswith("email:") else "phone"
                self.reasons[key.ident] = f"duplicate account (same {what} as {owner[taken]}, kept)"
                continue
            self.kept.add(key.ident)
            for claim in claims:
                owner[claim] = key.ident
        self.keys = []

    def resolve(self, ident: str) -> str | None:
        ident = self.duplicate_of.get(ident, ident)
        return ident if ident in self.kept else None


@dataclass
class Identities:
    users: Store = field(default_factory=Store)
    consultants: Store = field(default_factory=Store)
    clients: Store = field(default_factory=Store)
    user_roles: dict[str, str] = field(default_factory=dict)
    user_emails: dict[str, str] = field(default_factory=dict)
    user_phones: dict[str, set[str]] = field(default_factory=dict)
    consultant_alias: dict[str, str] = field(default_factory=dict)  # users id -> Consultant _id
    client_alias: dict[str, str] = field(default_factory=dict)  # users id (role Client) -> clients _id
    legacy_clients: set[str] = field(default_factory=set)  # users rows imported as clients (D9)
    tombstones: dict[str, dict[str, Any]] = field(default_factory=dict)  # deleted consultants (D5)
    warned_aliases: set[str] = field(default_factory=set)

    def see_user(self, document: dict[str, Any]) -> None:
        ident = str(document["_id"])
        role = document.get("role")
        self.user_roles[ident] = role if isinstance(role, str) else ""
        self.user_emails[ident] = clean_email(document.get("email"))
        if role == "Client":
            self.user_phones[ident] = phones_of(document)
        if role in ("Admin", "Employee", None, ""):
            self.users.add(document)

    def see_consultant(self, document: dict[str, Any]) -> None:
        self.consultants.add(document)
        linked = document.get("user")
        if linked is not None:
            self.consultant_alias[str(linked)] = str(document["_id"])

    def see_client(self, document: dict[str, Any]) -> None:
        self.clients.add(document)

    def settle(self) -> None:
        self.users.settle()
        self.consultants.settle()
        client_emails = {k.email: k.ident for k in self.clients.keys}
        client_phones = {phone: k.ident for k in self.clients.keys for phone in k.phones}
        self.clients.settle()
        for ident, role in self.user_roles.items():
            if role != "Client" or ident in self.consultant_alias:
                continue
            existing = client_emails.get(self.user_emails.get(ident, "")) or next(
                (client_phones[p] for p in sorted(self.user_phones.get(ident, ())) if p in client_phones), None
            )
            if existing is not None:
                self.client_alias[ident] = self.clients.resolve(existing) or existing
            else:
                self.legacy_clients.add(ident)

    def is_legacy_client(self, ident: str) -> bool:
        return ident in self.legacy_clients

    def consultant(self, ident: Any) -> tuple[str | None, str | None]:
        """(Consultant _id, WARN reason) for any consultant reference; (None, None) when unknown."""
        if ident is None:
            return None, None
        ident = str(ident)
        if ident in self.consultant_alias:
            target = self.consultants.resolve(self.consultant_alias[ident])
            if target is None:
                return None, None
            if ident in self.warned_aliases:
                return target, None
            self.warned_aliases.add(ident)
            return target, f"consultant referenced by its users id {ident}; resolved to {target}"
        target = self.consultants.resolve(ident)
        if target is not None and target != ident:
            return target, f"consultant {ident} is a skipped duplicate; re-pointed to {target}"
        return target, None

    def client(self, ident: Any) -> tuple[str | None, str | None]:
        if ident is None:
            return None, None
        ident = str(ident)
        if ident in self.client_alias:
            target = self.client_alias[ident]
            return target, f"client referenced by its users id {ident}; resolved to {target}"
        if ident in self.legacy_clients:
            return ident, None
        target = self.clients.resolve(ident)
        if target is not None and target != ident:
            return target, f"client {ident} is a skipped duplicate; re-pointed to {target}"
        return target, None

    def any_account(self, ident: Any) -> str | None:
        """A notification recipient or a payout's admin: whichever store holds it."""
        if ident is None:
            return None
        ident = str(ident)
        found = self.consultant(ident)[0] or self.client(ident)[0] or self.users.resolve(ident)
        return found
