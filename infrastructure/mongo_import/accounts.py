"""Accounts and catalogue of an import: `users`, `consultants`, `clients`, `categories`,
`subcategories` (contract mongo-import §2.1-§2.4, §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.accounts import (
    CLIENT,
    CLIENT_STATUSES,
    CONSULTANT,
    CONSULTANT_STATUSES,
    USER,
    USER_STATUSES,
    Account,
    UniqueKey,
    unique_keys,
)
from domain.catalogue import Category
from domain.ids import aggregate_id, key_id
from domain.phones import to_e164
from domain.profiles import client_defaults, consultant_defaults, normalise_consultant, user_defaults
from infrastructure.mongo_import.identities import Identities, clean_email
from infrastructure.mongo_import.values import BOOKKEEPING, SECRETS, Report, money, object_id_time, plain
from infrastructure.mongo_import.writer import Writer, create, trigger

DENORMALISED = frozenset({"clientInfo", "appointmentsSnapshot", "clients", "user", "rating", "monthlyRevenue"})
DEFAULTS = {CONSULTANT: consultant_defaults, CLIENT: client_defaults, USER: user_defaults}
STATUSES = {CONSULTANT: CONSULTANT_STATUSES, CLIENT: CLIENT_STATUSES, USER: USER_STATUSES}
DEFAULT_STATUS = {CONSULTANT: "Pending", CLIENT: "Active", USER: "Active"}
HASH_PREFIXES = ("$2a$", "$2b$", "$2y$")


def times(collection: str, document: dict[str, Any], report: Report) -> tuple[datetime, datetime]:
    """(createdAt, updatedAt); a missing createdAt is the ObjectId's creation second (H2, WARN)."""
    ident = str(document["_id"])
    created = document.get("createdAt")
    if not isinstance(created, datetime):
        created = object_id_time(ident)
        report.warn(collection, ident, f"no createdAt; recorded as the id's creation time {plain(created)}")
    updated = document.get("updatedAt")
    return created, updated if isinstance(updated, datetime) and updated > created else created


class AccountImport:
    def __init__(self, writer: Writer, report: Report, identities: Identities, catalogue: dict[str, str]):
        self.writer = writer
        self.report = report
        self.ids = identities
        self.catalogue = catalogue  # category/subcategory id -> title
        self.claimed: dict[str, str] = {}  # unique keys claimed by this import -> owner

    def record(self, collection: str, kind: str, document: dict[str, Any]) -> None:
        ident = str(document["_id"])
        if self.writer.exists(aggregate_id(ident)):
            self.report.present(collection)
            return
        created, updated = times(collection, document, self.report)
        profile = self._profile(collection, kind, document)
        password = document.get("password")
        if password is not None and not (isinstance(password, str) and password.startswith(HASH_PREFIXES)):
            self.report.warn(collection, ident, "password is not a bcrypt hash; imported as an OTP-only account")
            password = None
        claims = []
        keys = {f: k for f, k in unique_keys(kind, profile).items() if not (k.endswith(":") or k.endswith(":+"))}
        for field, key in keys.items():
            existing = self.writer.load(key_id("unique:" + key))
            owner = self.claimed.get(key) or (existing.owner if existing is not None else None)
            if owner not in (None, ident):  # e.g. a legacy Client row with the phone of a client (D9)
                self.report.skip(collection, ident, f"{field} already belongs to account {owner}")
                return
            claims.append(create(UniqueKey, UniqueKey.Claimed, created, key=key, owner=ident))
        self.claimed.update(dict.fromkeys(keys.values(), ident))
        account = create(
            Account,
            Account.Registered,
            created,
            kind=kind,
            account_id=ident,
            profile=profile,
            password_hash=password,
            channel="import",
        )
        if updated > created:
            trigger(account, Account.ProfileUpdated, updated, changes={})
        self.writer.add(account, *claims)
        self.report.imported(collection)

    def _profile(self, collection: str, kind: str, document: dict[str, Any]) -> dict[str, Any]:
        ident = str(document["_id"])
        kept = {k: v for k, v in document.items() if k not in BOOKKEEPING | SECRETS | DENORMALISED}
        profile = {**DEFAULTS[kind](), **plain(kept)}
        profile["email"] = clean_email(document.get("email"))
        for key in ("mobile", "phone"):
            if isinstance(profile.get(key), str) and profile[key].strip():
                profile[key] = to_e164(profile[key])
        status = document.get("status")
        if status is None:
            profile["status"] = DEFAULT_STATUS[kind]
            self.report.warn(collection, ident, f"no status; recorded as {DEFAULT_STATUS[kind]}")
        elif status not in STATUSES[kind]:
            profile["status"] = DEFAULT_STATUS[kind]
            self.report.warn(collection, ident, f"status {status!r} is unknown; recorded as {DEFAULT_STATUS[kind]}")
        if kind == USER and profile.get("role") not in ("Admin", "Employee"):
            profile["role"] = "Employee"
        if kind == CONSULTANT:
            fees, warning = money(document.get("fees"), "fees")
            profile["fees"] = plain(fees)
            if warning:
                self.report.warn(collection, ident, warning)
            profile["categories"] = self._categories(collection, ident, document.get("categories"))
            profile = normalise_consultant(profile)
        return profile

    def _categories(self, collection: str, ident: str, entries: Any) -> list[dict[str, Any]]:
        """`categories[]` with names refreshed from the catalogue by id (H11)."""
        out = []
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            item = plain(entry)
            for id_key, name_key in (("categoryId", "categoryName"), ("subcategoryId", "subcategoryName")):
                target = item.get(id_key)
                if not target:
                    continue
                title = self.catalogue.get(target)
                if title is None:
                    self.report.warn(collection, ident, f"{id_key} {target} is not in the catalogue; name kept")
                elif title != item.get(name_key):
                    self.report.warn(
                        collection, ident, f"{name_key} {item.get(name_key)!r} refreshed to {title!r} (catalogue)"
                    )
                    item[name_key] = title
            out.append(item)
        return out

    def tombstone(self, consultant_id: str, snapshot: Any, when: datetime) -> None:
        """A consultant deleted by an admin whose history remains (D5): inactive, no login, no keys."""
        if consultant_id in self.ids.tombstones or self.writer.exists(aggregate_id(consultant_id)):
            return
        name = snapshot.get("name") if isinstance(snapshot, dict) else None
        profile = normalise_consultant(
            {**consultant_defaults(), "name": name or "Deleted consultant", "email": "", "status": "Inactive"}
        )
        self.ids.tombstones[consultant_id] = profile
        account = create(
            Account,
            Account.Registered,
            min(when, object_id_time(consultant_id)),
            kind=CONSULTANT,
            account_id=consultant_id,
            profile=profile,
            password_hash=None,
            channel="import-tombstone",
        )
        self.writer.add(account)
        self.report.note(
            f"consultants: tombstone {consultant_id} ({profile['name']}) keeps a deleted consultant's history"
        )


class CatalogueImport:
    def __init__(self, writer: Writer, report: Report, catalogue: dict[str, str]):
        self.writer = writer
        self.report = report
        self.catalogue = catalogue
        self.parents: set[str] = set()

    def record(self, collection: str, document: dict[str, Any]) -> None:
        ident = str(document["_id"])
        parent = document.get("parentCategory") if collection == "subcategories" else None
        if collection == "subcategories":
            if parent is None or str(parent) not in self.parents:
                self.report.skip(collection, ident, f"parent category {parent} does not exist")
                return
            parent = str(parent)
        title = document.get("title")
        if not isinstance(title, str) or not title.strip():
            self.report.skip(collection, ident, "no title")
            return
        if collection == "categories":
            self.parents.add(ident)
        self.catalogue[ident] = title.strip()
        if self.writer.exists(aggregate_id(ident)):
            self.report.present(collection)
            return
        created, updated = times(collection, document, self.report)
        fields = {k: plain(document[k]) for k in ("title", "description", "image", "status") if k in document}
        fields["title"] = title.strip()
        if fields.get("status") not in ("Active", "Inactive"):
            fields["status"] = "Active"
        category = create(Category, Category.Created, created, category_id=ident, fields=fields, parent_id=parent)
        if updated > created:
            trigger(category, Category.Updated, updated, changes={}, parent_id=parent)
        self.writer.add(category)
        self.report.imported(collection)
