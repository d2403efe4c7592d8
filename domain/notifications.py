"""Notifications are events too: each one is a small aggregate recorded with the command that
caused it, so a future inbox can be rebuilt from history. The push (`notification:new`) is done by
the projection after commit."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event

from domain.ids import aggregate_id, new_object_id


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
