"""Projects appointments.

- `appointments`: the documents the routes answer; `slot_bookings`: live bookings for the slot rule.
- After commit: `availability:updated` (with the `date`) whenever a booking change opens or closes
  slots. (Client links and notifications: `infrastructure.people_projection`.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from domain.appointments import CANCELLED, COMPLETED, HOLD, Appointment
from infrastructure.directory_projection import iso_utc
from infrastructure.json_text import dumps, loads
from infrastructure.projector import Batch, Handles, HandlesDeclared, Prefetch, changed_ids
from infrastructure.settings_projection import availability_updated
from infrastructure.tables import appointments, client_sessions, slot_bookings

LIVE = ("Hold", "Upcoming", "Completed")
# Built once and executed with parameter dicts: building `.values(...)` per event costs more than the SQL.
INSERT_APPOINTMENT = appointments.insert()
SELECT_DOCUMENT = sa.select(appointments.c.document).where(appointments.c.id == sa.bindparam("b_id"))
SELECT_DOCUMENTS = sa.select(appointments.c.id, appointments.c.document).where(
    appointments.c.id == sa.any_(sa.bindparam("b_ids", type_=sa.ARRAY(sa.String)))
)
UPDATE_APPOINTMENT = appointments.update().where(appointments.c.id == sa.bindparam("b_id"))
DELETE_APPOINTMENT = appointments.delete().where(appointments.c.id == sa.bindparam("b_id"))
INSERT_SLOT = slot_bookings.insert()
# a pair's `client_sessions` row counted again from its appointments (queued: it sees the batch's writes)
PAIR = sa.and_(
    appointments.c.consultant_id == sa.bindparam("b_consultant"), appointments.c.client_id == sa.bindparam("b_client")
)
DELETE_SESSIONS = client_sessions.delete().where(
    client_sessions.c.consultant_id == sa.bindparam("b_consultant"),
    client_sessions.c.client_id == sa.bindparam("b_client"),
)
COUNT_SESSIONS = client_sessions.insert().from_select(
    ["consultant_id", "client_id", "sessions", "last_start_at"],
    sa.select(
        appointments.c.consultant_id, appointments.c.client_id, sa.func.count(), sa.func.max(appointments.c.start_at)
    )
    .where(PAIR, appointments.c.status == "Completed")
    .group_by(appointments.c.consultant_id, appointments.c.client_id),
)
DELETE_SLOT = slot_bookings.delete().where(slot_bookings.c.appointment_id == sa.bindparam("b_id"))


class AppointmentsProjector(HandlesDeclared):
    handles = Handles(Appointment.Event)

    def __init__(self, zone: ZoneInfo):
        self.zone = zone

    def reset(self, conn: sa.Connection) -> None:
        conn.execute(appointments.delete())
        conn.execute(client_sessions.delete())

    def flush(self, batch: Batch) -> None:
        """Every write is queued on the batch (`Batch.insert`, `Batch.write`: run together at the end
        of the batch, or before the next statement that reads); a document is read once per batch."""

    def prefetch(self, notifications: list[Any]) -> list[Prefetch]:
        ids = changed_ids(notifications, Appointment.Event, Appointment.Created)
        return [Prefetch("appointments", SELECT_DOCUMENTS, ids, lambda row: loads(row[1]))] if ids else []

    def apply(self, batch: Batch, event: Any, position: int) -> None:
        if not self.handles.covers(event):
            return
        if isinstance(event, Appointment.Event):
            self._appointment(batch, event)

    def _business_date(self, moment: Any) -> str:
        return str(moment.astimezone(self.zone).date().isoformat())

    def _appointment(self, batch: Batch, event: Any) -> None:
        appointment_id = event.originator_id.hex[:24]
        when = iso_utc(event.timestamp)
        if isinstance(event, Appointment.Created):
            document = {
                "_id": appointment_id,
                "client": event.client_id,
                "consultant": event.consultant_id,
                "session": "Video Call",
                "date": self._business_date(event.start),
                "startAt": iso_utc(event.start),
                "endAt": iso_utc(event.end),
                "status": event.status,
                "reminderSent": False,
                "reason": "",
                "notes": "",
                **event.fields,
                "createdAt": when,
                "updatedAt": when,
            }
            if event.expires_at is not None:
                document["expiresAt"] = iso_utc(event.expires_at)
            row = {
                "id": appointment_id,
                "consultant_id": event.consultant_id,
                "client_id": event.client_id,
                "status": event.status,
                "start_at": event.start,
                "end_at": event.end,
                "search_text": _search(document),
                "document": dumps(document),
            }
            batch.insert(INSERT_APPOINTMENT, row)
            # held as a read would give it: its next event (a confirmation) needs no read (`DocumentMemory`)
            batch.documents[("appointments", appointment_id)] = loads(row["document"])
            slot = self._slot_row(appointment_id, document, self._live(document))
            if slot is not None:  # a live booking closes slots
                batch.insert(INSERT_SLOT, slot)
                self._announce(batch, document, None, document)
            self._sync_sessions(batch, None, document)  # created Completed: by an admin, or imported
            return
        key = ("appointments", appointment_id)
        document = batch.document(*key, SELECT_DOCUMENT)
        if document is None:
            return
        before = dict(document)
        if isinstance(event, (Appointment.Deleted, Appointment.HoldExpired)):
            del batch.documents[key]
            batch.write(DELETE_APPOINTMENT, {"b_id": appointment_id})
            self._sync_slot(batch, appointment_id, None, before)
            self._sync_sessions(batch, before, None)
            return
        if isinstance(event, Appointment.HoldRefreshed):
            document["expiresAt"] = iso_utc(event.expires_at)
        elif isinstance(event, Appointment.Confirmed):
            document.update(event.changes)
            document["status"] = "Upcoming"
            document.pop("expiresAt", None)
        elif isinstance(event, Appointment.Rescheduled):
            document.update(
                startAt=iso_utc(event.start),
                endAt=iso_utc(event.end),
                date=self._business_date(event.start),
                reminderSent=False,
            )
        elif isinstance(event, Appointment.Cancelled):
            document["status"] = CANCELLED
        elif isinstance(event, Appointment.Completed):
            document["status"] = "Completed"
        elif isinstance(event, Appointment.StatusChanged):
            document["status"] = event.status
        elif isinstance(event, Appointment.Updated):
            document.update(event.changes)
        elif isinstance(event, Appointment.ReminderSent):
            document["reminderSent"] = True
        document["updatedAt"] = when
        batch.write(
            UPDATE_APPOINTMENT,
            {
                "b_id": appointment_id,
                "status": document["status"],
                "start_at": _instant(document["startAt"]),
                "end_at": _instant(document["endAt"]),
                "search_text": _search(document),
                "document": dumps(document),
            },
        )
        self._sync_slot(batch, appointment_id, document, before)
        self._sync_sessions(batch, before, document)

    @staticmethod
    def _sync_sessions(batch: Batch, before: dict[str, Any] | None, after: dict[str, Any] | None) -> None:
        """The pair's sessions counted again when a Completed appointment is concerned: it became or
        stopped being Completed, or moved (a booking's events never are: no statement for them)."""
        moment = [(doc["status"], doc["startAt"]) if doc else None for doc in (before, after)]
        if moment[0] == moment[1] or all(m is None or m[0] != COMPLETED for m in moment):
            return
        document = after or before
        assert document is not None
        pair = {"b_consultant": document["consultant"], "b_client": document["client"]}
        batch.write(DELETE_SESSIONS, pair)
        batch.write(COUNT_SESSIONS, pair)

    def _sync_slot(
        self, batch: Batch, appointment_id: str, after: dict[str, Any] | None, before: dict[str, Any] | None
    ) -> None:
        """Keep `slot_bookings` equal to the live bookings; announce every change of the open slots."""
        old, new = self._live(before), self._live(after)
        if old == new:
            return
        if old is not None:  # a new booking has no row yet
            batch.write(DELETE_SLOT, {"b_id": appointment_id})
        document = after or before
        assert document is not None
        slot = self._slot_row(appointment_id, document, new)
        if slot is not None:
            batch.write(INSERT_SLOT, slot)
        self._announce(batch, document, before, after)

    @staticmethod
    def _live(doc: dict[str, Any] | None) -> tuple[Any, ...] | None:
        if doc is None or doc["status"] not in LIVE:
            return None
        return doc["startAt"], doc["endAt"], doc["status"] == HOLD, doc.get("expiresAt")

    @staticmethod
    def _slot_row(appointment_id: str, document: dict[str, Any], live: tuple[Any, ...] | None) -> dict[str, Any] | None:
        if live is None:
            return None
        return {
            "appointment_id": appointment_id,
            "consultant_id": document["consultant"],
            "client_id": document["client"],
            "start_at": _instant(live[0]),
            "end_at": _instant(live[1]),
            "is_hold": live[2],
            "expires_at": _instant(live[3]) if live[3] else None,
        }

    def _announce(
        self, batch: Batch, document: dict[str, Any], before: dict[str, Any] | None, after: dict[str, Any] | None
    ) -> None:
        dates = {self._business_date(_instant(doc["startAt"])) for doc in (before, after) if doc is not None}
        reason = _reason(before, after)
        for day in sorted(dates):
            batch.emits.append(availability_updated(document["consultant"], reason, day))


def _reason(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    if before is None:
        return "hold" if after and after["status"] == HOLD else "booking"
    if after is None:
        return "hold-expired" if before["status"] == HOLD else "deleted"
    if after["status"] == CANCELLED:
        return "cancellation"
    if (before["startAt"], before["endAt"]) != (after["startAt"], after["endAt"]):
        return "reschedule"
    return "booking"


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _search(document: dict[str, Any]) -> str:
    return f"{document.get('reason') or ''}\n{document.get('notes') or ''}".lower()
