"""Projects consultant-settings events into `consultant_settings` and announces slot changes.

`availability:updated` is pushed only after the transaction holding the new settings committed
(the runner emits after commit), so a client refetching slots on the event sees the change."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from domain.accounts import CONSULTANT, Account
from domain.availability import default_settings
from domain.settings import ConsultantSettings
from infrastructure.directory_projection import dumps, iso_utc
from infrastructure.projections import Batch, Emit
from infrastructure.tables import accounts, consultant_settings, slot_bookings

# Account events that open or close every slot of a consultant.
STATUS_EVENTS = (Account.Approved, Account.Rejected, Account.Blocked, Account.Unblocked, Account.Deleted)


def availability_updated(consultant_id: str, reason: str, day: str | None = None) -> Emit:
    data = {"consultantId": consultant_id, "targetUserId": consultant_id, "reason": reason}
    if day:
        data["date"] = day
    return Emit("availability:updated", data)


def _slot_rules(availability: dict[str, Any]) -> str:
    """The availability without window ids: what the slot rule depends on."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("_id", "id")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return dumps(strip(availability))


class SettingsProjector:
    """Runs before the directory projector, so account rows still exist when it reads them."""

    def reset(self, conn: sa.Connection) -> None:
        conn.execute(consultant_settings.delete())
        conn.execute(slot_bookings.delete())

    def apply(self, batch: Batch, event: Any, position: int) -> None:
        if isinstance(event, ConsultantSettings.Event):
            self._settings(batch, event)
        elif isinstance(event, STATUS_EVENTS) and self._is_consultant(batch.conn, event):
            batch.emits.append(availability_updated(event.originator_id.hex[:24], "status"))

    @staticmethod
    def _is_consultant(conn: sa.Connection, event: Any) -> bool:
        kind = conn.execute(sa.select(accounts.c.kind).where(accounts.c.id == event.originator_id.hex[:24])).scalar()
        return kind == CONSULTANT

    def _settings(self, batch: Batch, event: Any) -> None:
        conn = batch.conn
        when = iso_utc(event.timestamp)
        if isinstance(event, ConsultantSettings.Created):
            consultant_id = event.consultant_id
            document = {"_id": event.settings_id, "id": event.settings_id, "consultant": consultant_id,
                        **event.document, "createdAt": when, "updatedAt": when}
            conn.execute(consultant_settings.insert().values(
                consultant_id=consultant_id, aggregate_id=event.originator_id.hex, document=dumps(document)))
            if _slot_rules(event.document["availability"]) != _slot_rules(default_settings()["availability"]):
                batch.emits.append(availability_updated(consultant_id, "availability"))
            return
        found = conn.execute(sa.select(consultant_settings.c.consultant_id, consultant_settings.c.document).where(
            consultant_settings.c.aggregate_id == event.originator_id.hex)).first()
        if found is None:
            return
        consultant_id, current = found
        document = json.loads(current)
        changed_slots = False
        if isinstance(event, ConsultantSettings.AvailabilityUpdated):
            document["availability"] = event.availability
            changed_slots = True
        elif isinstance(event, ConsultantSettings.NotificationsUpdated):
            document["notifications"] = event.notifications
        elif isinstance(event, ConsultantSettings.Updated):
            keep = {key: document[key] for key in ("_id", "id", "consultant", "createdAt") if key in document}
            changed_slots = "availability" in event.patch
            document = {**keep, **event.document}
        document["updatedAt"] = when
        conn.execute(consultant_settings.update().where(consultant_settings.c.consultant_id == consultant_id).values(
            document=dumps(document)))
        if changed_slots:
            batch.emits.append(availability_updated(consultant_id, "availability"))
