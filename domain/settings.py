"""The consultant-settings aggregate: one per consultant, created on first use (GET, POST or PUT)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import settings_id


class ConsultantSettings(Aggregate):
    """Its id derives from the consultant's, so two concurrent first uses create one aggregate."""

    @staticmethod
    def create_id(consultant_id: str) -> UUID:  # type: ignore[override]
        return settings_id(consultant_id)

    @event("Created")
    def __init__(self, consultant_id: str, settings_id: str, document: dict[str, Any]) -> None:
        self.consultant_id = consultant_id
        self.settings_id = settings_id
        self.document = dict(document)

    @event("AvailabilityUpdated")
    def update_availability(self, patch: dict[str, Any], availability: dict[str, Any]) -> None:
        """`patch` is what the caller asked for; `availability` the result (slots regenerated)."""
        self.document = {**self.document, "availability": availability}

    @event("NotificationsUpdated")
    def update_notifications(self, notifications: dict[str, bool]) -> None:
        self.document = {**self.document, "notifications": notifications}

    @event("Updated")
    def update(self, patch: dict[str, Any], document: dict[str, Any]) -> None:
        self.document = dict(document)

    @property
    def availability(self) -> dict[str, Any]:
        return dict(self.document.get("availability") or {})
