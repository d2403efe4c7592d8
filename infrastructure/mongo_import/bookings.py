"""Settings, appointments and client links of an import (contract mongo-import §2.5, §2.6, §2.8)."""

from __future__ import annotations

import copy
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.appointments import (
    CANCELLED,
    COMPLETED,
    UPCOMING,
    Appointment,
    ClientLink,
    ConsultantDay,
    reach_days,
)
from domain.availability import deep_merge, default_settings, with_generated_slots
from domain.ids import aggregate_id, key_id
from domain.ledger import Earnings
from domain.links import AUTO_NOTES, link_uuid
from domain.settings import ConsultantSettings
from infrastructure.mongo_import.accounts import AccountImport, times
from infrastructure.mongo_import.identities import Identities
from infrastructure.mongo_import.values import BOOKKEEPING, Report, money, plain
from infrastructure.mongo_import.writer import Writer, create, trigger

APPOINTMENT_FIELDS = ("session", "date", "reason", "notes", "payment", "clientSnapshot", "consultantSnapshot", "agora")
LEGACY_FIELDS = ("category",)


def legacy_instant(day: Any, hhmm: Any, zone: ZoneInfo) -> datetime | None:
    try:
        moment = datetime.combine(date.fromisoformat(str(day)), datetime.strptime(str(hhmm), "%H:%M").time())
    except ValueError:
        return None
    return moment.replace(tzinfo=zone)


def one_window(day: Any) -> Any:
    """An older day `{enabled, start, end}` without `slots` becomes one window (H17)."""
    if isinstance(day, dict) and "slots" not in day and day.get("start") and day.get("end"):
        day = {**day, "slots": [{"start": day["start"], "end": day["end"]}]}
    return day


class BookingImport:
    def __init__(
        self,
        writer: Writer,
        report: Report,
        identities: Identities,
        accounts: AccountImport,
        zone: ZoneInfo,
        now: datetime,
    ):
        self.writer = writer
        self.report = report
        self.ids = identities
        self.accounts = accounts
        self.zone = zone
        self.now = now
        self.durations: dict[str, int] = {}  # consultant -> default session minutes
        self.appointments: dict[str, tuple[str, str]] = {}  # id -> (consultant, status)
        self.live: dict[tuple[str, date], list[tuple[datetime, datetime, str]]] = defaultdict(list)
        self.earnings: dict[str, Earnings] = {}
        self.settings_seen: set[str] = set()
        self.links_seen: set[tuple[str, str]] = set()
        self.ended_upcoming = 0

    # -- consultant settings ----------------------------------------------------------------------

    def settings(self, document: dict[str, Any]) -> None:
        collection, ident = "consultantsettings", str(document["_id"])
        consultant, warning = self.ids.consultant(document.get("consultant"))
        if consultant is None:
            self.report.skip(collection, ident, f"consultant {document.get('consultant')} does not exist")
            return
        if warning:
            self.report.warn(collection, ident, "settings keyed by a users id; re-keyed to " + consultant)
        if consultant in self.settings_seen:
            self.report.skip(collection, ident, f"a second settings document of consultant {consultant}")
            return
        self.settings_seen.add(consultant)
        stored = plain({k: v for k, v in document.items() if k not in BOOKKEEPING | {"consultant", "user"}})
        availability = stored.get("availability") or {}
        hours = availability.get("workingHours") or {}
        availability["workingHours"] = {name: one_window(day) for name, day in hours.items()}
        merged = default_settings()
        for key, value in stored.items():
            merged[key] = deep_merge(merged.get(key), value) if isinstance(value, dict) else value
        derived = with_generated_slots(merged["availability"])
        differing = [
            name
            for name, day in (derived.get("workingHours") or {}).items()
            if ((availability.get("workingHours") or {}).get(name) or {}).get("generatedSlots")
            not in (None, day.get("generatedSlots"))
        ]
        if differing:
            self.report.warn(
                collection, ident, f"stored slot grid of {', '.join(differing)} differs from the windows; derived (D6)"
            )
        merged["availability"] = derived
        duration = ((derived.get("sessionSettings") or {}).get("defaultDuration")) or 60
        self.durations[consultant] = int(duration) if isinstance(duration, (int, float)) else 60
        if self.writer.exists(key_id("settings:" + consultant)):
            self.report.present(collection)
            return
        created, updated = times(collection, document, self.report)
        aggregate = create(
            ConsultantSettings,
            ConsultantSettings.Created,
            created,
            consultant_id=consultant,
            settings_id=ident,
            document=merged,
        )
        if updated > created:
            trigger(aggregate, ConsultantSettings.Updated, updated, patch={}, document=copy.deepcopy(merged))
        self.writer.add(aggregate)
        self.report.imported(collection)

    # -- appointments ---------------------------------------------------------------------------

    def consultant_of(self, collection: str, ident: str, reference: Any, snapshot: Any, when: datetime) -> str | None:
        consultant, warning = self.ids.consultant(reference)
        if warning:
            self.report.warn(collection, ident, warning)
        if consultant is None and reference is not None:
            consultant = str(reference)
            self.accounts.tombstone(consultant, snapshot, when)
            self.report.warn(collection, ident, f"consultant {consultant} does not exist; kept under a tombstone (D5)")
        return consultant

    def _interval(self, ident: str, document: dict[str, Any], consultant: str) -> tuple[datetime, datetime] | None:
        start, end = document.get("startAt"), document.get("endAt")
        if isinstance(start, datetime) and isinstance(end, datetime):
            return start, end
        start = legacy_instant(document.get("date"), document.get("timeStart"), self.zone)
        if start is None:
            return None
        end = legacy_instant(document.get("date"), document.get("timeEnd"), self.zone)
        if end is None:
            end = start + timedelta(minutes=self.durations.get(consultant, 60))
        self.report.warn("appointments", ident, "no startAt/endAt; derived from date + timeStart/timeEnd (IST)")
        return start, end

    def appointment(self, document: dict[str, Any]) -> None:
        collection, ident = "appointments", str(document["_id"])
        status = document.get("status")
        if status == "Hold":
            self.report.skip(collection, ident, "a hold (a 5-minute lock, not a booking)")
            return
        created, updated = times(collection, document, self.report)
        consultant = self.consultant_of(
            collection, ident, document.get("consultant"), document.get("consultantSnapshot"), created
        )
        if consultant is None:
            self.report.skip(collection, ident, "no consultant")
            return
        client, warning = self.ids.client(document.get("client"))
        if warning:
            self.report.warn(collection, ident, warning)
        if client is None:
            if document.get("client") is None:
                self.report.skip(collection, ident, "no client")
                return
            client = str(document["client"])
            self.report.warn(collection, ident, f"client {client} does not exist; reference kept as recorded")
        interval = self._interval(ident, document, consultant)
        if interval is None:
            self.report.skip(collection, ident, "neither startAt/endAt nor date + timeStart")
            return
        start, end = interval
        if end <= start:
            self.report.skip(collection, ident, "endAt is not after startAt")
            return
        if status is None:
            status = UPCOMING
            self.report.warn(collection, ident, "no status; recorded as Upcoming")
        elif status not in (UPCOMING, COMPLETED, CANCELLED):
            new = UPCOMING if end > self.now else COMPLETED
            self.report.warn(collection, ident, f"status {status!r} is not in today's enum; recorded as {new}")
            status = new
        self.appointments[ident] = (consultant, status)
        if self.writer.exists(aggregate_id(ident)):
            self.report.present(collection)
            return
        fields = {k: plain(document[k]) for k in (*APPOINTMENT_FIELDS, *LEGACY_FIELDS) if k in document}
        fee, fee_warning = money(document.get("fee"), "fee")
        fields["fee"] = plain(fee)
        if fee_warning:
            self.report.warn(collection, ident, fee_warning)
        appointment = create(
            Appointment,
            Appointment.Created,
            created,
            appointment_id=ident,
            consultant_id=consultant,
            client_id=client,
            start=start,
            end=end,
            status=status,
            expires_at=None,
            fields=fields,
            created_by="import",
        )
        if document.get("reminderSent") is True:
            trigger(appointment, Appointment.ReminderSent, updated)
        self.writer.add(appointment)
        self.report.imported(collection)
        if status == UPCOMING and end <= self.now:
            self.ended_upcoming += 1
        if status in (UPCOMING, COMPLETED):
            self._occupy(ident, consultant, client, start, end)
        if status == COMPLETED:
            earnings = self.earnings_of(consultant, created)
            trigger(earnings, Earnings.AppointmentCompleted, updated, appointment_id=ident)

    def _occupy(self, ident: str, consultant: str, client: str, start: datetime, end: datetime) -> None:
        """Warn about overlaps (H13, D4); list future bookings in their consultant days like a booking."""
        first = start.astimezone(self.zone).date()
        for day in (first - timedelta(days=1), first, first + timedelta(days=1)):
            for other_start, other_end, other in self.live.get((consultant, day), []):
                if other_start < end and other_end > start:
                    self.report.warn("appointments", ident, f"overlaps appointment {other} of the same consultant (D4)")
        self.live[(consultant, first)].append((start, end, ident))
        if end < self.now - timedelta(days=1):
            return  # a past booking can no longer collide with a new one
        for day in reach_days(start, end, self.zone):
            day_id = key_id(f"day:{consultant}:{day.isoformat()}")
            aggregate = self.writer.load(day_id)
            if aggregate is None:
                aggregate = ConsultantDay(consultant_id=consultant, day=day.isoformat())
                self.writer.hold(aggregate)
            aggregate.reserve(ident, start, end, client, False, None)

    def earnings_of(self, consultant: str, when: datetime) -> Earnings:
        found = self.earnings.get(consultant)
        if found is None:
            found = self.writer.load(key_id("earnings:" + consultant))
            if found is None:
                found = create(Earnings, Earnings.Opened, when, consultant_id=consultant)
            self.writer.hold(found)
            self.earnings[consultant] = found
        return found

    # -- client links ---------------------------------------------------------------------------

    def link(self, document: dict[str, Any]) -> None:
        collection, ident = "clientconsultants", str(document["_id"])
        consultant, warning = self.ids.consultant(document.get("consultant"))
        client, client_warning = self.ids.client(document.get("client"))
        if consultant is None:
            self.report.skip(collection, ident, f"consultant {document.get('consultant')} does not exist")
            return
        if client is None:
            self.report.skip(collection, ident, f"client {document.get('client')} does not exist")
            return
        for reason in (warning, client_warning):
            if reason:
                self.report.warn(collection, ident, reason)
        if (client, consultant) in self.links_seen:
            self.report.skip(collection, ident, f"a second link of client {client} and consultant {consultant}")
            return
        self.links_seen.add((client, consultant))
        if self.writer.exists(link_uuid(client, consultant)):
            self.report.present(collection)
            return
        created, updated = times(collection, document, self.report)
        linked_at = document.get("linkedAt")
        linked_at = linked_at if isinstance(linked_at, datetime) else created
        first = min(created, linked_at)
        link = create(ClientLink, ClientLink.Linked, first, client_id=client, consultant_id=consultant, link_id=ident)
        notes = document.get("notes")
        notes = notes if isinstance(notes, str) else ""
        if notes != AUTO_NOTES or linked_at > first:  # the stored notes and linkedAt (an upsert resets both)
            trigger(
                link,
                ClientLink.Relinked,
                linked_at,
                client_id=client,
                consultant_id=consultant,
                notes=notes,
                by="import",
            )
        if document.get("status") == "Inactive":
            trigger(
                link,
                ClientLink.StatusChanged,
                max(updated, linked_at),
                client_id=client,
                consultant_id=consultant,
                status="Inactive",
                by="import",
            )
        elif document.get("status") not in (None, "Active"):
            self.report.warn(collection, ident, f"status {document.get('status')!r} is unknown; recorded as Active")
        self.writer.add(link)
        self.report.imported(collection)
