"""Projects account and catalogue events into the directory read models (accounts, categories,
consultant_categories), and pushes the admin notifications of new registrations."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from domain.accounts import CLIENT, CONSULTANT, Account
from domain.catalogue import Category
from domain.profiles import consultant_display_name, public_consultant
from infrastructure.json_text import dumps, loads
from infrastructure.projector import Batch, CounterAdds, Handles, HandlesDeclared
from infrastructure.tables import account_counters, accounts, categories, consultant_categories


def consultant_category_rows(consultant_id: str, entries: list[Any]) -> list[dict[str, Any]]:
    """The rows of a consultant's category links, at their positions in the profile's list (the read
    model's `consultant_categories` and the reporting store's table share them; a malformed entry
    that is not an object is no link)."""
    return [
        {
            "consultant_id": consultant_id,
            "position": index,
            "category_id": entry.get("categoryId"),
            "category_name": entry.get("categoryName") or "",
            "subcategory_id": entry.get("subcategoryId"),
            "subcategory_name": entry.get("subcategoryName") or "",
        }
        for index, entry in enumerate(entries)
        if isinstance(entry, dict)
    ]


def iso_utc(moment: datetime) -> str:
    """ISO-8601 UTC with milliseconds, as the Node backend serialised dates."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


REGISTRATION_NOTICES = {
    (CONSULTANT, "register"): (
        "New Consultant Registration",
        "{name} has registered as a consultant and is pending approval.",
        "high",
        "/consultants",
        "Review",
    ),
    (CONSULTANT, "signup"): (
        "New Consultant Signup",
        "{name} has signed up as a consultant and is pending approval.",
        "high",
        "/consultants",
        "Review",
    ),
    (CLIENT, "register"): (
        "New Client Registration",
        "{name} has registered as a client.",
        "normal",
        "/clients",
        "View",
    ),
    (CLIENT, "signup"): ("New Client Signup", "{name} has signed up as a client.", "normal", "/clients", "View"),
}


def admin_notification(event_id: str, when: str, notice: tuple[str, str, str, str, str], name: str) -> dict[str, Any]:
    title, message, priority, url, label = notice
    return {
        "_id": event_id,
        "name": title,
        "message": message.format(name=name),
        "avatar": "",
        "read": False,
        "recipient": None,
        "recipientRole": "Admin",
        "isGlobal": False,
        "type": "registration",
        "category": "system",
        "priority": priority,
        "actionUrl": url,
        "actionLabel": label,
        "sender": None,
        "senderRole": "System",
        "metadata": {},
        "expiresAt": None,
        "createdAt": when,
        "updatedAt": when,
    }


INSERT_ACCOUNT = accounts.insert()
ACCOUNT_COUNTER_ADDS = CounterAdds(account_counters)


class DirectoryProjector(HandlesDeclared):
    handles = Handles(Account.Event, Category.Event)

    def flush(self, batch: Batch) -> None:
        """Writes go straight to the tables; the accounts' counters, summed over the batch, are queued."""
        ACCOUNT_COUNTER_ADDS.queue(batch, batch.pending.pop("account_counters", {}))

    def reset(self, conn: sa.Connection) -> None:
        for table in (consultant_categories, accounts, categories, account_counters):
            conn.execute(table.delete())

    @staticmethod
    def _count(batch: Batch, kind: str, status: str | None, delta: int) -> None:
        counts: Counter[tuple[str, str]] = batch.pending.setdefault("account_counters", Counter())
        counts[(kind, status or "")] += delta

    def apply(self, batch: Batch, event: Any, position: int) -> None:
        if not self.handles.covers(event):
            return
        if isinstance(event, Account.Event):
            self._account(batch, event, position)
        elif isinstance(event, Category.Event):
            self._category(batch, event, position)

    # -- accounts -------------------------------------------------------------------------------

    def _account(self, batch: Batch, event: Any, position: int) -> None:
        conn = batch.conn
        account_id = event.originator_id.hex[:24]
        when = iso_utc(event.timestamp)
        if isinstance(event, Account.Registered):
            document = {"_id": account_id, "id": account_id, **event.profile, "createdAt": when, "updatedAt": when}
            conn.execute(
                INSERT_ACCOUNT,
                {
                    "id": account_id,
                    "kind": event.kind,
                    "seq": position,
                    "created_at": when,
                    "password_hash": event.password_hash,
                    **self._columns(event.kind, document),
                },
            )
            self._count(batch, event.kind, document.get("status"), 1)
            if event.kind == CONSULTANT and document.get("categories"):
                self._insert_categories(conn, account_id, document["categories"])
            # the admin notice of a signup is stored and pushed by the people projection
            return
        row = conn.execute(sa.select(accounts.c.kind, accounts.c.document).where(accounts.c.id == account_id)).first()
        if row is None:
            return
        document = loads(row.document)
        before = document.get("status")
        if isinstance(event, Account.Deleted):
            self._count(batch, row.kind, before, -1)
            conn.execute(accounts.delete().where(accounts.c.id == account_id))
            conn.execute(consultant_categories.delete().where(consultant_categories.c.consultant_id == account_id))
            return
        if isinstance(event, Account.PasswordSet):
            conn.execute(accounts.update().where(accounts.c.id == account_id).values(password_hash=event.password_hash))
            return
        if isinstance(event, Account.LoggedIn):
            document["lastLogin"] = when
        else:
            document["updatedAt"] = when
            if isinstance(event, Account.ProfileUpdated):
                document.update(event.changes)
                if row.kind == CONSULTANT and "categories" in event.changes:
                    self._replace_categories(conn, account_id, document.get("categories") or [])
            else:  # Approved, Rejected, Blocked, Unblocked
                document["status"] = {
                    "Approved": "Active",
                    "Rejected": "Rejected",
                    "Blocked": "Blocked",
                    "Unblocked": "Active",
                }[type(event).__name__]
        if document.get("status") != before:
            self._count(batch, row.kind, before, -1)
            self._count(batch, row.kind, document.get("status"), 1)
        conn.execute(accounts.update().where(accounts.c.id == account_id).values(**self._columns(row.kind, document)))

    @staticmethod
    def _columns(kind: str, document: dict[str, Any]) -> dict[str, Any]:
        if kind == CONSULTANT:
            name = consultant_display_name(document) or document.get("name", "")
            return {
                "role": "Consultant",
                "email": document.get("email", ""),
                "phone": document.get("phone", ""),
                "mobile": document.get("mobile", ""),
                "status": document.get("status"),
                "name": name,
                "category_name": (document.get("category") or {}).get("name", ""),
                "subcategory_name": (document.get("subcategory") or {}).get("name", ""),
                "document": dumps(document),
                "public_document": dumps(public_consultant(document)),
            }
        role = "Client" if kind == CLIENT else document.get("role", "Employee")
        return {
            "role": role,
            "email": document.get("email", ""),
            "phone": "",
            "mobile": document.get("mobile", ""),
            "status": document.get("status"),
            "name": document.get("fullName", ""),
            "category_name": "",
            "subcategory_name": "",
            "document": dumps(document),
            "public_document": None,
        }

    @staticmethod
    def _replace_categories(conn: sa.Connection, consultant_id: str, entries: list[dict[str, Any]]) -> None:
        conn.execute(consultant_categories.delete().where(consultant_categories.c.consultant_id == consultant_id))
        DirectoryProjector._insert_categories(conn, consultant_id, entries)

    @staticmethod
    def _insert_categories(conn: sa.Connection, consultant_id: str, entries: list[dict[str, Any]]) -> None:
        rows = consultant_category_rows(consultant_id, entries)
        if rows:
            conn.execute(consultant_categories.insert(), rows)

    # -- catalogue ------------------------------------------------------------------------------

    def _category(self, batch: Batch, event: Any, position: int) -> None:
        conn = batch.conn
        category_id = event.originator_id.hex[:24]
        when = iso_utc(event.timestamp)
        if isinstance(event, Category.Created):
            document = {"_id": category_id, **event.fields, "createdAt": when, "updatedAt": when}
            if event.parent_id:
                document["parentCategory"] = event.parent_id
            conn.execute(
                categories.insert().values(
                    id=category_id,
                    parent_id=event.parent_id,
                    title=document.get("title", ""),
                    status=document.get("status", "Active"),
                    seq=position,
                    document=dumps(document),
                )
            )
            return
        row = conn.execute(sa.select(categories).where(categories.c.id == category_id)).first()
        if row is None:
            return
        if isinstance(event, Category.Deleted):
            conn.execute(categories.delete().where(categories.c.id == category_id))
            return
        document = loads(row.document)
        document.update(event.changes)
        document["updatedAt"] = when
        if event.parent_id:
            document["parentCategory"] = event.parent_id
        conn.execute(
            categories.update()
            .where(categories.c.id == category_id)
            .values(
                parent_id=event.parent_id,
                title=document.get("title", ""),
                status=document.get("status", "Active"),
                document=dumps(document),
            )
        )
        new_title = document.get("title", "")
        if new_title != row.title:
            self._cascade_rename(conn, category_id, row.title, new_title, sub=row.parent_id is not None)

    @staticmethod
    def _cascade_rename(conn: sa.Connection, category_id: str, old: str, new: str, *, sub: bool) -> None:
        """A renamed (sub)category renames the snapshots of consultants: the primary
        `category`/`subcategory` whose name was the old title, and the `categories[]` entries with its id."""
        link_id = consultant_categories.c.subcategory_id if sub else consultant_categories.c.category_id
        primary = accounts.c.subcategory_name if sub else accounts.c.category_name
        linked = sa.select(consultant_categories.c.consultant_id).where(link_id == category_id)
        rows = conn.execute(
            sa.select(accounts.c.id, accounts.c.kind, accounts.c.document).where(
                accounts.c.kind == CONSULTANT, sa.or_(primary == old, accounts.c.id.in_(linked))
            )
        ).all()
        snapshot_key, id_key, name_key = (
            ("subcategory", "subcategoryId", "subcategoryName") if sub else ("category", "categoryId", "categoryName")
        )
        for row in rows:
            document = loads(row.document)
            if (document.get(snapshot_key) or {}).get("name") == old:
                document[snapshot_key] = {**document[snapshot_key], "name": new}
            for entry in document.get("categories") or []:
                if entry.get(id_key) == category_id:
                    entry[name_key] = new
            conn.execute(
                accounts.update()
                .where(accounts.c.id == row.id)
                .values(**DirectoryProjector._columns(row.kind, document))
            )
            DirectoryProjector._replace_categories(conn, row.id, document.get("categories") or [])
