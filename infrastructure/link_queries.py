"""Reads of the client-consultant links (people.md §2.4), with the parties' documents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from infrastructure.directory_projection import iso_utc
from infrastructure.people_tables import links
from infrastructure.tables import accounts, appointments, client_sessions, documents_by_id

LISTED = ("Active", "Inactive")  # a removed link's row is kept but never listed


@dataclass(frozen=True)
class LinkRow:
    id: str
    client_id: str
    consultant_id: str
    status: str
    notes: str
    linked_at: datetime
    created_at: datetime
    updated_at: datetime

    def document(self) -> dict[str, Any]:
        return {
            "_id": self.id,
            "client": self.client_id,
            "consultant": self.consultant_id,
            "status": self.status,
            "linkedAt": iso_utc(self.linked_at),
            "notes": self.notes,
            "createdAt": iso_utc(self.created_at),
            "updatedAt": iso_utc(self.updated_at),
        }


COLUMNS = (
    links.c.id,
    links.c.client_id,
    links.c.consultant_id,
    links.c.status,
    links.c.notes,
    links.c.linked_at,
    links.c.created_at,
    links.c.updated_at,
)


class LinkQueries:
    def __init__(self, engine: sa.Engine, zone: ZoneInfo):
        self.engine = engine
        self.zone = zone

    def _rows(self, *where: Any) -> list[LinkRow]:
        query = (
            sa.select(*COLUMNS)
            .where(links.c.status.in_(LISTED), *where)
            .order_by(links.c.linked_at.desc(), links.c.id.desc())
        )
        with self.engine.connect() as conn:
            return [LinkRow(*row) for row in conn.execute(query)]

    def link(self, link_id: str) -> LinkRow | None:
        found = self._rows(links.c.id == link_id)
        return found[0] if found else None

    def links(self, client_id: str | None, consultant_id: str | None, status: str | None) -> list[LinkRow]:
        where = []
        if client_id:
            where.append(links.c.client_id == client_id)
        if consultant_id:
            where.append(links.c.consultant_id == consultant_id)
        if status is not None:
            where.append(links.c.status == status)
        return self._rows(*where)

    def has_booked(self, client_id: str, consultant_id: str) -> bool:
        """Whether the client has a confirmed booking with the consultant, whatever its status now
        (a hold is not a booking; an expired hold leaves the read model)."""
        query = sa.select(appointments.c.id).where(
            appointments.c.client_id == client_id,
            appointments.c.consultant_id == consultant_id,
            appointments.c.status != "Hold",
        )
        with self.engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def live_consultant_ids(self, client_id: str) -> list[str]:
        """Consultants with which the client has an Upcoming appointment (soonest first)."""
        query = (
            sa.select(appointments.c.consultant_id, sa.func.min(appointments.c.start_at))
            .where(appointments.c.client_id == client_id, appointments.c.status == "Upcoming")
            .group_by(appointments.c.consultant_id)
            .order_by(sa.func.min(appointments.c.start_at))
        )
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(query)]

    def documents(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        with self.engine.connect() as conn:
            return documents_by_id(conn, accounts, set(ids))

    def sessions(self, consultant_id: str) -> dict[str, tuple[int, datetime]]:
        """Per client: the consultant's Completed appointments with it and the latest start (kept by the
        appointments projection: one row per client, whatever the consultant's history)."""
        query = sa.select(
            client_sessions.c.client_id, client_sessions.c.sessions, client_sessions.c.last_start_at
        ).where(client_sessions.c.consultant_id == consultant_id)
        with self.engine.connect() as conn:
            return {row[0]: (int(row[1]), row[2]) for row in conn.execute(query)}

    def business_date(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).date().isoformat()
