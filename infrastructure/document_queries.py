"""Reads of the documents read model: the list with the contract's visibility and pagination, one
document, and who may read a stored document file (the storage proxy)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from infrastructure.document_tables import document_counters, documents
from infrastructure.json_text import loads
from infrastructure.tables import accounts, appointments, documents_by_id

DELETED = "Deleted"


def _of_type_and_status(c: Any, type: str | None, status: str | None) -> list[Any]:
    """The conditions of a list of `type` and `status` (any type, and any status but Deleted, when not
    given) over the columns `c` of `documents` or of `document_counters` (kept per type and status)."""
    where = [c.status == status if status else c.status != DELETED]
    if type is not None:
        where.append(c.type == type)
    return where


class DocumentQueries:
    def __init__(self, engine: sa.Engine, signed_url: Callable[[str, str], str]):
        self.engine = engine
        self.signed_url = signed_url  # (key, filename) -> a signed, expiring proxy URL

    def list(
        self,
        *,
        client: str | None,
        consultant: str | None,
        appointment: str | None,
        type: str | None,
        status: str | None,
        page: int,
        limit: int,
    ) -> tuple[list[dict[str, Any]], int]:
        where = _of_type_and_status(documents.c, type, status)
        for column, value in (
            (documents.c.client_id, client),
            (documents.c.consultant_id, consultant),
            (documents.c.appointment_id, appointment),
        ):
            if value is not None:
                where.append(column == value)
        with self.engine.connect() as conn:
            if client is None and consultant is None and appointment is None:  # the admin's lists: kept counts
                c = document_counters.c
                kept = sa.select(sa.func.coalesce(sa.func.sum(c.n), 0)).where(*_of_type_and_status(c, type, status))
                total = int(conn.execute(kept).scalar() or 0)
            else:  # a party's or an appointment's documents, counted through its index
                total = int(conn.execute(sa.select(sa.func.count()).select_from(documents).where(*where)).scalar() or 0)
            rows = conn.execute(
                sa.select(documents.c.document)
                .where(*where)
                .order_by(documents.c.seq.desc())
                .limit(limit)
                .offset((page - 1) * limit)
            ).scalars()
            found = [loads(raw) for raw in rows]
            return self._populate(conn, found, with_appointment=True), total

    def one(self, document_id: str, *, with_appointment: bool = True) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            raw = conn.execute(sa.select(documents.c.document).where(documents.c.id == document_id)).scalar()
            if raw is None:
                return None
            return self._populate(conn, [loads(raw)], with_appointment=with_appointment)[0]

    def references(self, key: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(documents).where(documents.c.file_key == key)
                ).scalar()
                or 0
            )

    def file_access(self, key: str) -> tuple[set[str], str | None]:
        """The parties (client and consultant) of the non-deleted documents pointing at `key`, and the
        original file name of the newest of them."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(documents.c.client_id, documents.c.consultant_id, documents.c.document)
                .where(documents.c.file_key == key, documents.c.status != DELETED)
                .order_by(documents.c.seq.desc())
            ).all()
        parties = {party for row in rows for party in (row.client_id, row.consultant_id)}
        name = loads(rows[0].document).get("originalFileName") if rows else None
        return parties, name

    def _populate(self, conn: sa.Connection, found: list[dict[str, Any]], *, with_appointment: bool) -> list[Any]:
        ids = {d["client"] for d in found} | {d["consultant"] for d in found}
        people = documents_by_id(conn, accounts, ids)
        appointment_ids = {d["appointment"] for d in found if d.get("appointment")} if with_appointment else set()
        booked = documents_by_id(conn, appointments, appointment_ids)
        for document in found:
            document["client"] = _client(document["client"], people.get(document["client"]))
            document["consultant"] = _consultant(document["consultant"], people.get(document["consultant"]))
            appointment = booked.get(document.get("appointment") or "")
            if appointment is not None:
                document["appointment"] = {
                    "_id": document["appointment"],
                    "date": appointment.get("date"),
                    "startAt": appointment.get("startAt"),
                    "endAt": appointment.get("endAt"),
                }
            document["fileUrl"] = self.signed_url(document["fileKey"], document.get("originalFileName") or "")
        return found


def _client(client_id: str, profile: dict[str, Any] | None) -> dict[str, Any]:
    if profile is None:
        return {"_id": client_id, "fullName": "Deleted user", "email": ""}
    name = profile.get("fullName") or profile.get("name") or ""
    return {"_id": client_id, "fullName": name, "email": profile.get("email", "")}


def _consultant(consultant_id: str, profile: dict[str, Any] | None) -> dict[str, Any]:
    profile = profile or {"name": "Deleted user"}
    first, last = profile.get("firstName") or "", profile.get("lastName") or ""
    full = profile.get("displayName") or profile.get("name") or f"{first} {last}".strip()
    return {
        "_id": consultant_id,
        "id": consultant_id,
        "name": profile.get("name", ""),
        "displayName": profile.get("displayName", ""),
        "firstName": first,
        "lastName": last,
        "email": profile.get("email", ""),
        "fullName": full,
    }
