"""Inbox commands (people.md §1.3): send (admin, consultant to a linked client), mark read, delete.

Every change is an event: a notification is a `Notification` aggregate; what a reader does with
its inbox (read, hide a broadcast for itself, delete) is an event of its `Inbox` aggregate. The
read models say which notifications a reader sees (`InboxReads`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from application.marketplace import Marketplace
from domain import links
from domain.clock import Clock
from domain.errors import Forbidden, NotFound
from domain.notifications import Inbox, inbox_id, notify

NOT_FOUND = "Notification not found"


class Seen(Protocol):
    recipient: str | None
    read: bool
    visible: bool


class InboxReads(Protocol):
    def find(self, notification_id: str, reader: str, role: str) -> Seen | None: ...
    def ids(self, reader: str, role: str, *, unread_only: bool) -> tuple[list[str], list[str]]: ...


@dataclass(frozen=True)
class Reader:
    id: str
    role: str


class InboxService:
    def __init__(self, market: Marketplace, reads: InboxReads, clock: Clock):
        self.market = market
        self.reads = reads
        self.clock = clock

    # -- sending --------------------------------------------------------------------------------

    def send(self, sender: Reader, content: dict[str, Any]) -> str:
        """`POST /notifications` (Admin): to one account, a role, or everyone."""
        if sender.role != "Admin":
            raise Forbidden("Forbidden: Access denied")
        recipient = content.get("recipient")
        role = content.get("recipientRole")
        document = {**content, "sender": sender.id, "senderRole": "Admin"}

        def command() -> tuple[str, list[Any]]:
            notification = notify(recipient, document, recipient_role=role)
            return notification.notification_id, [notification]

        return self.market.run(command)  # type: ignore[no-any-return]

    def send_to_client(self, consultant: Reader, client_id: str, content: dict[str, Any]) -> str:
        """`POST /notifications/consultant/send`: only to a client actively linked to the consultant."""
        if consultant.role != "Consultant":
            raise Forbidden("Forbidden: Access denied")

        def command() -> tuple[str, list[Any]]:
            if not links.is_active(
                self.market.find(links.link_uuid(client_id, consultant.id), readonly=True, snapshotted=True)
            ):
                raise Forbidden("Client is not linked to this consultant")
            document = {**content, "sender": consultant.id, "senderRole": "Consultant"}
            notification = notify(client_id, document)
            return notification.notification_id, [notification]

        return self.market.run(command)  # type: ignore[no-any-return]

    # -- the reader's changes -----------------------------------------------------------------------

    def _record(self, reader: Reader, change: Callable[[Inbox], None]) -> None:
        def command() -> tuple[None, list[Any]]:
            found = self.market.find(inbox_id(reader.id), snapshotted=True)
            box = found if isinstance(found, Inbox) else Inbox(reader_id=reader.id)
            change(box)
            return None, [box]

        self.market.run(command)

    def mark_read(self, reader: Reader, notification_id: str) -> None:
        found = self.reads.find(notification_id, reader.id, reader.role)
        if found is None:
            raise NotFound(NOT_FOUND)
        if not found.visible:
            raise Forbidden("Not authorized to modify this notification")
        if not found.read:
            now = self.clock()
            self._record(reader, lambda box: box.read([notification_id], now))

    def mark_all_read(self, reader: Reader) -> int:
        personal, broadcasts = self.reads.ids(reader.id, reader.role, unread_only=True)
        ids = personal + broadcasts
        if ids:
            now = self.clock()
            self._record(reader, lambda box: box.read(ids, now))
        return len(ids)

    def delete(self, reader: Reader, notification_id: str) -> None:
        """The recipient of a personal notification or any admin deletes it for everyone; another
        reader of a broadcast hides it for itself (people.md §1.3.8)."""
        found = self.reads.find(notification_id, reader.id, reader.role)
        if found is None:
            raise NotFound(NOT_FOUND)
        if reader.role == "Admin" or (found.recipient is not None and found.recipient == reader.id):
            self._record(reader, lambda box: box.delete([notification_id]))
        elif found.recipient is None and found.visible:
            self._record(reader, lambda box: box.hide([notification_id]))
        else:
            raise Forbidden("Not authorized to delete this notification")

    def delete_all(self, reader: Reader) -> int:
        """The caller's personal notifications are deleted, the broadcasts it sees hidden for it."""
        personal, broadcasts = self.reads.ids(reader.id, reader.role, unread_only=False)

        def change(box: Inbox) -> None:
            if personal:
                box.delete(personal)
            if broadcasts:
                box.hide(broadcasts)

        if personal or broadcasts:
            self._record(reader, change)
        return len(personal) + len(broadcasts)
