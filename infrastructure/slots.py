"""The available-slots query: the slot read models plus the pure slot rule of `domain.availability`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from domain.accounts import CONSULTANT
from domain.availability import Booking, Slot, default_settings, open_slots, working_slots
from infrastructure.tables import accounts, client_links, consultant_settings, slot_bookings

# Built once: building a Core statement per call costs more than SQLite running it.
STATUS_AND_SETTINGS = (
    sa.select(accounts.c.status, consultant_settings.c.document)
    .select_from(accounts.outerjoin(consultant_settings, consultant_settings.c.consultant_id == accounts.c.id))
    .where(accounts.c.id == sa.bindparam("consultant"), accounts.c.kind == CONSULTANT)
)
BOOKINGS = sa.select(slot_bookings.c.start_at, slot_bookings.c.end_at, slot_bookings.c.client_id,
                     slot_bookings.c.is_hold, slot_bookings.c.expires_at).where(
    slot_bookings.c.consultant_id == sa.bindparam("consultant"),
    slot_bookings.c.start_at < sa.bindparam("end"),
    slot_bookings.c.end_at > sa.bindparam("start"))
LINKED = sa.select(client_links.c.client_id).where(
    client_links.c.client_id == sa.bindparam("client"), client_links.c.consultant_id == sa.bindparam("consultant"))
DEFAULT_AVAILABILITY = default_settings()["availability"]


@lru_cache(maxsize=512)
def parsed_availability(document: str) -> dict[str, Any]:
    """The availability of a settings document; shared, so never mutated by the slot rule."""
    return json.loads(document)["availability"]  # type: ignore[no-any-return]


@lru_cache(maxsize=4096)
def day_slots(document: str | None, day: date, zone: ZoneInfo) -> tuple[Slot, ...]:
    """The working slots of a settings document (None: the defaults) on a day. Keyed by the stored
    text itself, so a changed document is a new key and nothing needs invalidating."""
    availability = parsed_availability(document) if document else DEFAULT_AVAILABILITY
    return tuple(working_slots(availability, day, zone))


class SlotQueries:
    def __init__(self, engine: sa.Engine, zone: ZoneInfo):
        self.engine = engine
        self.zone = zone

    def settings_document(self, consultant_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            document = conn.execute(sa.select(consultant_settings.c.document).where(
                consultant_settings.c.consultant_id == consultant_id)).scalar()
        return json.loads(document) if document else None

    def open_slots(self, consultant_id: str, day: date, caller_id: str, caller_role: str,
                   now: datetime | None = None) -> list[str] | None:
        """None when there is no such consultant; [] when it offers nothing to this caller."""
        now = now or datetime.now(UTC)
        with self.engine.connect() as conn:
            found = conn.execute(STATUS_AND_SETTINGS, {"consultant": consultant_id}).first()
            if found is None:
                return None
            if found.status != "Active":
                return []
            availability = parsed_availability(found.document) if found.document else DEFAULT_AVAILABILITY
            if availability.get("acceptingNewClients") is False and caller_role == "Client":
                if conn.execute(LINKED, {"client": caller_id, "consultant": consultant_id}).first() is None:
                    return []
            margin = timedelta(minutes=int((availability.get("sessionSettings") or {}).get("bufferTime") or 0))
            start = datetime.combine(day, time(0), tzinfo=self.zone) - margin
            end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone) + margin
            bookings = [Booking(r.start_at, r.end_at, r.client_id, bool(r.is_hold), r.expires_at) for r in
                        conn.execute(BOOKINGS, {"consultant": consultant_id, "start": start, "end": end})]
        return open_slots(availability, day, bookings, now, self.zone, caller_id,
                          working=day_slots(found.document, day, self.zone))

