"""The available-slots query: the slot read models plus the pure slot rule of `domain.availability`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from domain.accounts import CONSULTANT
from domain.appointments import MAX_BUFFER
from domain.availability import Booking, Slot, default_settings, open_slots, working_slots
from infrastructure.json_text import loads
from infrastructure.people_tables import links as client_links  # any link: the client has booked
from infrastructure.reads import Plan, run_plan
from infrastructure.tables import accounts, consultant_settings, slot_bookings

# Built once: building a Core statement per call costs more than SQLite running it.
BOOKING_COLUMNS = (
    slot_bookings.c.start_at,
    slot_bookings.c.end_at,
    slot_bookings.c.client_id,
    slot_bookings.c.is_hold,
    slot_bookings.c.expires_at,
)
BOOKINGS = sa.select(*BOOKING_COLUMNS).where(
    slot_bookings.c.consultant_id == sa.bindparam("consultant"),
    slot_bookings.c.start_at < sa.bindparam("end"),
    slot_bookings.c.end_at > sa.bindparam("start"),
)
# The consultant's status, its settings document and its bookings within `MAX_BUFFER` of the day, in
# one statement (one round trip on PostgreSQL): a row per booking, the document repeated (a day
# holds a few bookings), or one row whose booking columns are NULL.
SLOT_INPUTS = (
    sa.select(accounts.c.status, consultant_settings.c.document, *BOOKING_COLUMNS)
    .select_from(
        accounts.outerjoin(consultant_settings, consultant_settings.c.consultant_id == accounts.c.id).outerjoin(
            slot_bookings,
            sa.and_(
                slot_bookings.c.consultant_id == accounts.c.id,
                slot_bookings.c.start_at < sa.bindparam("end"),
                slot_bookings.c.end_at > sa.bindparam("start"),
            ),
        )
    )
    .where(accounts.c.id == sa.bindparam("consultant"), accounts.c.kind == CONSULTANT)
)
LINKED = sa.select(client_links.c.client_id).where(
    client_links.c.client_id == sa.bindparam("client"), client_links.c.consultant_id == sa.bindparam("consultant")
)
DEFAULT_AVAILABILITY = default_settings()["availability"]


@lru_cache(maxsize=512)
def parsed_availability(document: str) -> dict[str, Any]:
    """The availability of a settings document; shared, so never mutated by the slot rule."""
    return loads(document)["availability"]  # type: ignore[no-any-return]


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
            document = conn.execute(
                sa.select(consultant_settings.c.document).where(consultant_settings.c.consultant_id == consultant_id)
            ).scalar()
        return loads(document) if document else None

    def open_slots(
        self, consultant_id: str, day: date, caller_id: str, caller_role: str, now: datetime | None = None
    ) -> list[str] | None:
        """None when there is no such consultant; [] when it offers nothing to this caller."""
        return run_plan(self.engine, self.open_slots_plan(consultant_id, day, caller_id, caller_role, now))

    def open_slots_plan(
        self, consultant_id: str, day: date, caller_id: str, caller_role: str, now: datetime | None = None
    ) -> Plan[list[str] | None]:
        """`open_slots` as a plan of reads (`infrastructure.reads`), for either driver."""
        now = now or datetime.now(UTC)
        midnight = datetime.combine(day, time(0), tzinfo=self.zone)
        next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)
        found = yield (
            SLOT_INPUTS,
            {"consultant": consultant_id, "start": midnight - MAX_BUFFER, "end": next_midnight + MAX_BUFFER},
        )
        if not found:
            return None
        status, document = found[0][:2]
        if status != "Active":
            return []
        availability = parsed_availability(document) if document else DEFAULT_AVAILABILITY
        if availability.get("acceptingNewClients") is False and caller_role == "Client":
            if not (yield LINKED, {"client": caller_id, "consultant": consultant_id}):
                return []
        margin = timedelta(minutes=int((availability.get("sessionSettings") or {}).get("bufferTime") or 0))
        start, end = midnight - margin, next_midnight + margin
        if margin <= MAX_BUFFER:  # the bookings the statement read, narrowed to this buffer
            rows = [row[2:] for row in found if row[2] is not None and row[2] < end and row[3] > start]
        else:  # only settings stored beyond the accepted range: read their whole reach
            rows = yield BOOKINGS, {"consultant": consultant_id, "start": start, "end": end}
        bookings = [
            Booking(start_at, end_at, client, bool(hold), expires) for start_at, end_at, client, hold, expires in rows
        ]
        return open_slots(
            availability, day, bookings, now, self.zone, caller_id, working=day_slots(document, day, self.zone)
        )
