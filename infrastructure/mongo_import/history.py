"""Notifications of an import (contract mongo-import §2.9, D11): the original's in-app notifications
become the inbox's history, under their own ids, with their audience, read state and timestamps.

Each one is a `Notification` created at its `createdAt` (the inbox shows the event's time), its
recipient resolved like every account reference (§3: a consultant's `users` id is an alias). Read
state is recorded as the inbox records it, an `Inbox.Read` of the reader at `readAt`: for a personal
notification by its recipient; for a broadcast, whose one flag the original shared between all its
readers (people.md §1.2), by every imported account of its audience, which is what each of them saw."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.ids import aggregate_id
from domain.notifications import CATEGORIES, Inbox, Notification, inbox_id
from infrastructure.mongo_import.accounts import times
from infrastructure.mongo_import.identities import Identities
from infrastructure.mongo_import.values import Report, plain
from infrastructure.mongo_import.writer import Writer, create, trigger

ENUMS = {
    "type": ("system", "appointment", "registration", "payment", "message", "reminder", "alert", "other"),
    "category": CATEGORIES,
    "priority": ("low", "normal", "high", "urgent"),
    "relatedType": ("appointment", "payment", "user", "document", "other", None),
    "senderRole": ("Admin", "Consultant", "Client", "System"),
}
DEFAULTS = {"type": "other", "category": "general", "priority": "normal", "relatedType": None, "senderRole": "System"}
TEXT = ("avatar", "actionUrl", "actionLabel")
ROLES = ("Admin", "Consultant", "Client")


class NotificationImport:
    def __init__(self, writer: Writer, report: Report, identities: Identities):
        self.writer = writer
        self.report = report
        self.ids = identities
        self.inboxes: dict[str, Inbox] = {}

    def notification(self, document: dict[str, Any]) -> None:
        collection, ident = "notifications", str(document["_id"])
        warn = lambda reason: self.report.warn(collection, ident, reason)  # noqa: E731
        recipient = document.get("recipient")
        role = document.get("recipientRole")
        if role is not None and role not in ROLES:
            warn(f"recipientRole {role!r} is unknown; ignored")
            role = None
        everyone = document.get("isGlobal") is True
        reader = None
        if recipient is not None:
            reader = self.ids.any_account(recipient)
            if reader is None:
                self.report.skip(collection, ident, f"recipient {recipient} does not exist")
                return
            if reader != str(recipient):
                warn(f"recipient {recipient} resolved to account {reader}")
        elif role is None and not everyone:
            self.report.skip(collection, ident, "no recipient, recipientRole or isGlobal: nobody could see it")
            return
        if self.writer.exists(aggregate_id(ident)):
            self.report.present(collection)
            return
        created, updated = times(collection, document, self.report)
        content = self._content(document, warn)
        notification = create(
            Notification,
            Notification.Sent,
            created,
            notification_id=ident,
            recipient=reader,
            recipient_role=None if reader else role,
            content=content,
        )
        self.writer.add(notification)
        self.report.imported(collection)
        if document.get("read") is True:
            read_at = document.get("readAt")
            when = read_at if isinstance(read_at, datetime) and read_at >= created else updated
            for account in [reader] if reader else self._audience(role, everyone):
                self._read(account, ident, when, created)

    def _content(self, document: dict[str, Any], warn: Any) -> dict[str, Any]:
        content: dict[str, Any] = {}
        for key in ("name", "message"):
            value = document.get(key)
            if not isinstance(value, str) or not value.strip():
                value = "Notification" if key == "name" else ""
                warn(f"no {key}; recorded as {value!r}")
            content[key] = value
        for key, allowed in ENUMS.items():
            value = document.get(key, DEFAULTS[key])
            if value not in allowed:
                warn(f"{key} {value!r} is not in the enum; recorded as {DEFAULTS[key]!r}")
                value = DEFAULTS[key]
            content[key] = value
        for key in TEXT:
            value = document.get(key)
            content[key] = value if isinstance(value, str) else ""
        content["isGlobal"] = document.get("isGlobal") is True and document.get("recipient") is None
        related = document.get("relatedId")
        content["relatedId"] = plain(related) if related is not None else None
        sender = document.get("sender")
        if sender is not None:  # a consultant's alias names the consultant, as every reference does
            sender = self.ids.consultant(sender)[0] or str(sender)
        content["sender"] = sender
        metadata = document.get("metadata")
        content["metadata"] = plain(metadata) if isinstance(metadata, dict) else {}
        expires = document.get("expiresAt")
        content["expiresAt"] = plain(expires) if isinstance(expires, datetime) else None
        return content

    def _audience(self, role: str | None, everyone: bool) -> list[str]:
        """The imported accounts a broadcast reaches (people.md §1.2)."""
        admins = sorted(i for i in self.ids.users.kept if self.ids.user_roles.get(i) == "Admin")
        consultants = sorted(self.ids.consultants.kept)
        clients = sorted(self.ids.clients.kept | self.ids.legacy_clients)
        if everyone:
            return admins + consultants + clients
        return {"Admin": admins, "Consultant": consultants, "Client": clients}.get(role or "", [])

    def _read(self, reader: str, notification_id: str, when: datetime, created: datetime) -> None:
        inbox = self.inboxes.get(reader)
        if inbox is None:
            inbox = self.writer.load(inbox_id(reader))
            if inbox is None:
                inbox = create(Inbox, Inbox.Opened, created, reader_id=reader)
            self.writer.hold(inbox)
            self.inboxes[reader] = inbox
        trigger(inbox, Inbox.Read, when, notification_ids=[notification_id], at=when)
