"""Projects consultant-settings events into `consultant_settings` and announces slot changes.

`availability:updated` is pushed only after the transaction holding the new settings committed
(the runner emits after commit), so a client refetching slots on the event sees the change."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from eventsourcing.utils import get_topic

from domain.accounts import CONSULTANT, Account
from domain.availability import default_settings
from domain.settings import ConsultantSettings
from infrastructure.directory_projection import iso_utc
from infrastructure.json_text import dumps, loads
from infrastructure.projector import Batch, Handles, HandlesDeclared
from infrastructure.pushes import Emit
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


# Each of these replaces one whole section of the document (and pushes the same message), so one
# followed by another of the same aggregate in a batch need not be applied.
REPLACING = {get_topic(ConsultantSettings.AvailabilityUpdated), get_topic(ConsultantSettings.NotificationsUpdated)}
KNOWN_MAX = 2000


class SettingsProjector(HandlesDeclared):
    """Runs before the directory projector, so account rows still exist when it reads them."""

    handles = Handles(ConsultantSettings.Event, *STATUS_EVENTS)

    def __init__(self) -> None:
        # Committed settings documents, as of `_known_position`: kept across batches so a burst of
        # updates is not re-read and re-parsed from the table at every batch.
        self._known: dict[str, dict[str, Any]] = {}
        self._known_position = -1

    def unneeded(self, notifications: list[Any]) -> set[int]:
        """Other events, and an availability (notifications) update followed by another of the same
        aggregate in this batch: the later one replaces that section and pushes the same message."""
        out = super().unneeded(notifications)
        later: set[tuple[int, str]] = set()
        for n in reversed(notifications):
            if n.topic in REPLACING:
                key = (n.originator_id.int, n.topic)
                if key in later:
                    out.add(n.id)
                later.add(key)
        return out

    def reset(self, conn: sa.Connection) -> None:
        self._known, self._known_position = {}, -1
        conn.execute(consultant_settings.delete())
        conn.execute(slot_bookings.delete())

    def apply(self, batch: Batch, event: Any, position: int) -> None:
        if not self.handles.covers(event):
            return
        if isinstance(event, ConsultantSettings.Event):
            self._settings(batch, event)
        elif isinstance(event, STATUS_EVENTS) and self._is_consultant(batch.conn, event):
            batch.emits.append(availability_updated(event.originator_id.hex[:24], "status"))

    @staticmethod
    def _is_consultant(conn: sa.Connection, event: Any) -> bool:
        kind = conn.execute(sa.select(accounts.c.kind).where(accounts.c.id == event.originator_id.hex[:24])).scalar()
        return kind == CONSULTANT

    def _settings(self, batch: Batch, event: Any) -> None:
        """Settings documents of a batch are held in `batch.pending` and written once at the flush,
        so a burst of updates to one consultant costs one row write."""
        when = iso_utc(event.timestamp)
        documents: dict[str, dict[str, Any]] = batch.pending.setdefault("settings", {})
        if isinstance(event, ConsultantSettings.Created):
            document = {
                "_id": event.settings_id,
                "id": event.settings_id,
                "consultant": event.consultant_id,
                **event.document,
                "createdAt": when,
                "updatedAt": when,
            }
            documents[event.originator_id.hex] = {
                "consultant_id": event.consultant_id,
                "document": document,
                "new": True,
            }
            if _slot_rules(event.document["availability"]) != _slot_rules(default_settings()["availability"]):
                batch.emits.append(availability_updated(event.consultant_id, "availability"))
            return
        if batch.pending.get("settings_start") != batch.start:
            batch.pending["settings_start"] = batch.start
            if self._known_position != batch.start:  # another process projected meanwhile
                self._known = {}
        entry = (
            documents.get(event.originator_id.hex)
            or self._remembered(event.originator_id.hex)
            or self._load(batch.conn, event.originator_id.hex)
        )
        if entry is None:
            return
        documents[event.originator_id.hex] = entry
        document = entry["document"]
        changed_slots = False
        if isinstance(event, ConsultantSettings.AvailabilityUpdated):
            document["availability"] = event.availability
            changed_slots = True
        elif isinstance(event, ConsultantSettings.NotificationsUpdated):
            document["notifications"] = event.notifications
        elif isinstance(event, ConsultantSettings.Updated):
            keep = {key: document[key] for key in ("_id", "id", "consultant", "createdAt") if key in document}
            changed_slots = "availability" in event.patch
            entry["document"] = document = {**keep, **event.document}
        document["updatedAt"] = when
        if changed_slots:
            batch.emits.append(availability_updated(entry["consultant_id"], "availability"))

    def _remembered(self, aggregate_id: str) -> dict[str, Any] | None:
        known = self._known.get(aggregate_id)
        if known is None:
            return None
        return {"consultant_id": known["consultant_id"], "document": dict(known["document"]), "new": False}

    @staticmethod
    def _load(conn: sa.Connection, aggregate_id: str) -> dict[str, Any] | None:
        found = conn.execute(
            sa.select(consultant_settings.c.consultant_id, consultant_settings.c.document).where(
                consultant_settings.c.aggregate_id == aggregate_id
            )
        ).first()
        if found is None:
            return None
        return {"consultant_id": found.consultant_id, "document": loads(found.document), "new": False}

    def flush(self, batch: Batch) -> None:
        documents = batch.pending.pop("settings", {})

        def remember() -> None:
            if self._known_position != batch.start:
                self._known = {}
            for key, entry in documents.items():
                self._known.pop(key, None)
                self._known[key] = {"consultant_id": entry["consultant_id"], "document": entry["document"]}
            while len(self._known) > KNOWN_MAX:
                self._known.pop(next(iter(self._known)))
            self._known_position = batch.end

        batch.after_commit.append(remember)
        new = [
            {"consultant_id": e["consultant_id"], "aggregate_id": key, "document": dumps(e["document"])}
            for key, e in documents.items()
            if e["new"]
        ]
        changed = [
            {"key": e["consultant_id"], "document": dumps(e["document"])} for e in documents.values() if not e["new"]
        ]
        if new:
            batch.conn.execute(consultant_settings.insert(), new)
        if changed:
            batch.conn.execute(
                consultant_settings.update().where(consultant_settings.c.consultant_id == sa.bindparam("key")), changed
            )
