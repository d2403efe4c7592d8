"""Notifications are events too: each one is a small aggregate recorded with the command that
caused it, and what a reader does with its inbox is an event of its `Inbox`, so the inbox is rebuilt
from history (`infrastructure.people_projection`), which also pushes `notification:new` after commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event

from domain.ids import aggregate_id, new_object_id

# people.md §1.1: every notification has one of these (the routes and the import refuse any other)
CATEGORIES = ("general", "appointments", "payments", "messages", "system", "reminders")


class Notification(Aggregate):
    @staticmethod
    def create_id(notification_id: str) -> UUID:  # type: ignore[override]
        return aggregate_id(notification_id)

    @event("Sent")
    def __init__(
        self, notification_id: str, recipient: str | None, recipient_role: str | None, content: dict[str, Any]
    ) -> None:
        self.notification_id = notification_id
        self.recipient = recipient
        self.recipient_role = recipient_role
        self.content = dict(content)


class Inbox(Aggregate):
    """One reader's changes to its inbox (people.md §1.2, §1.3): what it read, which broadcasts it
    hid for itself, and what it deleted for everyone (its personal notifications; an admin also
    broadcasts). Read state of a broadcast is per reader; a personal notification has one reader.
    The ids are those the inbox lists, also of notices derived from other events (signups)."""

    @staticmethod
    def create_id(reader_id: str) -> UUID:  # type: ignore[override]
        return inbox_id(reader_id)

    @event("Opened")
    def __init__(self, reader_id: str) -> None:
        self.reader_id = reader_id

    @event("Read")
    def read(self, notification_ids: list[str], at: datetime) -> None:
        pass

    @event("Hidden")
    def hide(self, notification_ids: list[str]) -> None:
        pass

    @event("Deleted")
    def delete(self, notification_ids: list[str]) -> None:
        pass


def inbox_id(reader_id: str) -> UUID:
    """The reader's id is in its inbox's id (as an account's is in its own: `aggregate_id`), with
    a different tail, so every event of the inbox names its reader."""
    return UUID(reader_id + "1b0c0000")


def reader_of(inbox_uuid: UUID) -> str:
    return inbox_uuid.hex[:24]


def notify(recipient: str | None, content: dict[str, Any], recipient_role: str | None = None) -> Notification:
    return Notification(
        notification_id=new_object_id(), recipient=recipient, recipient_role=recipient_role, content=content
    )


def long_date(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%A}, {local:%B} {local.day}, {local.year}"


def short_time(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local.hour % 12 or 12}:{local:%M} {'AM' if local.hour < 12 else 'PM'}"


def month_day(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%b} {local.day}"


def template(
    name: str,
    message: str,
    kind: str,
    category: str,
    priority: str,
    url: str,
    label: str,
    related_id: str | None = None,
) -> dict[str, Any]:
    content = {
        "name": name,
        "message": message,
        "type": kind,
        "category": category,
        "priority": priority,
        "actionUrl": url,
        "actionLabel": label,
    }
    if related_id:
        content.update(relatedId=related_id, relatedType="appointment")
    return content


# -- notices of people.md §1.4 not produced by the booking and money commands ----------------------
# (signups and registrations, rows 1-4, are derived from `Account.Registered` by the projections)


def status_notices(
    appointment_id: str, client_id: str, consultant_id: str, client_name: str, consultant_name: str, status: str
) -> list[Notification]:
    """Row 7 for a status other than Cancelled: both parties."""

    def content(message: str) -> dict[str, Any]:
        return template(
            "Appointment Status Updated", message, "appointment", "appointments", "normal", "", "", appointment_id
        )

    return [
        notify(client_id, content(f"Your appointment with {consultant_name} has been updated to {status}.")),
        notify(consultant_id, content(f"Appointment with {client_name} has been updated to {status}.")),
    ]


def link_notices(client_id: str, consultant_id: str, client_name: str, consultant_name: str) -> list[Notification]:
    """Rows 12/12b: an explicit link that is new or re-activated."""
    return [
        notify(
            consultant_id,
            template(
                "New Client",
                f"{client_name} is now connected with you.",
                "system",
                "system",
                "normal",
                "/clients",
                "View Client",
            ),
        ),
        notify(
            client_id,
            template(
                "Connected",
                f"You are now connected with {consultant_name}.",
                "system",
                "system",
                "normal",
                "/consultants",
                "View Profile",
            ),
        ),
    ]
