"""The available-slots query: the slot read models plus the pure slot rule of `domain.availability`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from domain.accounts import CONSULTANT
from domain.availability import Booking, default_settings, open_slots
from infrastructure.tables import accounts, client_links, consultant_settings, slot_bookings


class SlotQueries:
    def __init__(self, engine: sa.Engine, zone: ZoneInfo):
        self.engine = engine
        self.zone = zone

    def settings_document(self, consultant_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            document = conn.execute(sa.select(consultant_settings.c.document).where(
                consultant_settings.c.consultant_id == consultant_id)).scalar()
        return json.loads(document) if document else None

    def consultant_status(self, conn: sa.Connection, consultant_id: str) -> str | None:
        return conn.execute(sa.select(accounts.c.status).where(
            accounts.c.id == consultant_id, accounts.c.kind == CONSULTANT)).scalar()

    def availability(self, conn: sa.Connection, consultant_id: str) -> dict[str, Any]:
        document = conn.execute(sa.select(consultant_settings.c.document).where(
            consultant_settings.c.consultant_id == consultant_id)).scalar()
        if document is None:
            return default_settings()["availability"]  # type: ignore[no-any-return]
        return json.loads(document)["availability"]  # type: ignore[no-any-return]

    def bookings(self, conn: sa.Connection, consultant_id: str, day: date, margin: timedelta) -> list[Booking]:
        start = datetime.combine(day, time(0), tzinfo=self.zone) - margin
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone) + margin
        rows = conn.execute(sa.select(slot_bookings).where(
            slot_bookings.c.consultant_id == consultant_id,
            slot_bookings.c.start_at < end,
            slot_bookings.c.end_at > start,
        )).all()
        return [Booking(r.start_at, r.end_at, r.client_id, bool(r.is_hold), r.expires_at) for r in rows]

    def open_slots(self, consultant_id: str, day: date, caller_id: str, caller_role: str,
                   now: datetime | None = None) -> list[str] | None:
        """None when there is no such consultant; [] when it offers nothing to this caller."""
        now = now or datetime.now(UTC)
        with self.engine.connect() as conn:
            status = self.consultant_status(conn, consultant_id)
            if status is None:
                return None
            if status != "Active":
                return []
            availability = self.availability(conn, consultant_id)
            if availability.get("acceptingNewClients") is False and caller_role == "Client":
                linked = conn.execute(sa.select(client_links.c.client_id).where(
                    client_links.c.client_id == caller_id, client_links.c.consultant_id == consultant_id)).first()
                if linked is None:
                    return []
            buffer = int((availability.get("sessionSettings") or {}).get("bufferTime") or 0)
            bookings = self.bookings(conn, consultant_id, day, timedelta(minutes=buffer))
        return open_slots(availability, day, bookings, now, self.zone, caller_id)

