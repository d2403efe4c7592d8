"""Appointment lists and documents for the routes, with the parties populated, and the work the
scheduler finds due."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from infrastructure.directory import contains
from infrastructure.json_text import dumps, loads
from infrastructure.personal_fields import deleted_party
from infrastructure.tables import accounts, appointments, documents_by_id


def hold_expired(expires_at: str | None, now: datetime) -> bool:
    """Whether a hold whose document says `expiresAt` has expired at `now`, compared as instants (an
    ISO string compares wrongly as text: `...T10:00:00Z` sorts after `...T10:00:00.500Z`). A hold
    without an expiry is due (it cannot be live)."""
    if not expires_at:
        return True
    return datetime.fromisoformat(expires_at) <= now


def list_query(
    client_id: str | None,
    consultant_id: str | None,
    status: str | None,
    start_from: datetime | None,
    start_to: datetime | None,
    q: str | None,
    page: int,
    limit: int,
) -> sa.Select[Any]:
    """`GET /appointments`' page (availability.md): oldest first, holds left out unless asked for. Each
    scope reads an index in this order (the party's, or every appointment's `start_at`, `id`), so a page
    costs the same however many appointments there are before or after it."""
    where: list[Any] = []
    if client_id:
        where.append(appointments.c.client_id == client_id)
    if consultant_id:
        where.append(appointments.c.consultant_id == consultant_id)
    where.append(appointments.c.status == status if status else appointments.c.status != "Hold")
    if start_from:
        where.append(appointments.c.start_at >= start_from)
    if start_to:
        where.append(appointments.c.start_at <= start_to)
    if q:
        # the pattern goes into the statement's text (quoted by SQLAlchemy), not a parameter: a statement a
        # connection prepared may settle on its generic plan, which cannot tell a rare needle from a common
        # one and chose the trigram index for both, reading every match of a common one (PostgreSQL)
        pattern = sa.literal(contains(q[:100]), literal_execute=True)
        where.append(appointments.c.search_text.like(pattern, escape="\\"))
    return (
        sa.select(appointments.c.document)
        .where(*where)
        .order_by(appointments.c.start_at, appointments.c.id)
        .limit(limit)
        .offset((page - 1) * limit)
    )


class AppointmentQueries:
    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def document(
        self, appointment_id: str, populated: bool = True, written: dict[tuple[str, str], Any] | None = None
    ) -> dict[str, Any] | None:
        """`written`: the documents the caller's own batches committed (`infrastructure.projector.
        written_documents`); an unpopulated document found there is not read back."""
        own = (written or {}).get(("appointments", appointment_id))
        if own is not None and not populated:
            return loads(dumps(own))  # as the table holds it (the projector writes `dumps` of it)
        with self.engine.connect() as conn:
            raw = conn.execute(sa.select(appointments.c.document).where(appointments.c.id == appointment_id)).scalar()
            if raw is None:
                return None
            document = loads(raw)
            return self._populate(conn, [document])[0] if populated else document

    def list(
        self,
        *,
        client_id: str | None,
        consultant_id: str | None,
        status: str | None,
        start_from: datetime | None,
        start_to: datetime | None,
        q: str | None,
        page: int,
        limit: int,
    ) -> list[dict[str, Any]]:
        query = list_query(client_id, consultant_id, status, start_from, start_to, q, page, limit)
        with self.engine.connect() as conn:
            documents = [loads(raw) for raw in conn.execute(query).scalars()]
            return self._populate(conn, documents)

    @staticmethod
    def _populate(conn: sa.Connection, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        ids = {d["client"] for d in documents} | {d["consultant"] for d in documents}
        if not ids:
            return documents
        parties = documents_by_id(conn, accounts, ids)
        out = []
        for document in documents:
            client, consultant = parties.get(document["client"]), parties.get(document["consultant"])
            populated = {**document}
            populated["client"] = (
                deleted_party(document["client"])
                if client is None
                else {
                    "_id": client["_id"],
                    "fullName": client.get("fullName", ""),
                    "email": client.get("email", ""),
                    "mobile": client.get("mobile", ""),
                }
            )
            populated["consultant"] = (
                deleted_party(document["consultant"])
                if consultant is None
                else {
                    "_id": consultant["_id"],
                    "fullName": consultant.get("displayName") or consultant.get("name") or "",
                    "email": consultant.get("email", ""),
                    "mobile": consultant.get("mobile") or consultant.get("phone", ""),
                    "role": "Consultant",
                    "category": (consultant.get("category") or {}).get("name") or "General",
                    "subcategory": (consultant.get("subcategory") or {}).get("name") or "",
                }
            )
            out.append(populated)
        return out

    # -- what the scheduler has to do -------------------------------------------------------------

    def due(self, now: datetime, reminder_lead: timedelta) -> dict[str, list[str]]:
        with self.engine.connect() as conn:
            holds = [
                row.id
                for row in conn.execute(
                    sa.select(appointments.c.id, appointments.c.document).where(appointments.c.status == "Hold")
                )
                if hold_expired(loads(row.document).get("expiresAt"), now)
            ]
            finished = list(
                conn.execute(
                    sa.select(appointments.c.id).where(
                        appointments.c.status == "Upcoming", appointments.c.end_at <= now
                    )
                ).scalars()
            )
            soon = [
                row.id
                for row in conn.execute(
                    sa.select(appointments.c.id, appointments.c.document).where(
                        appointments.c.status == "Upcoming",
                        appointments.c.start_at >= now,
                        appointments.c.start_at <= now + reminder_lead,
                    )
                )
                if not loads(row.document).get("reminderSent")
            ]
        return {"expire": holds, "complete": finished, "remind": soon}
