"""Appointments and the per-consultant-day ledger of live bookings that makes double booking impossible.

A `ConsultantDay` aggregate (deterministic id: consultant + business date) lists the live bookings
touching that day. A booking command changes the appointment AND every day its interval touches,
and saves them in one atomic write: two racing bookings of one consultant's day write the same
day aggregate at the same version, so the event store commits exactly one of them; the loser
retries from a fresh load and then sees the overlap."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate, event

from domain.availability import Booking
from domain.errors import Conflict, Invalid
from domain.ids import aggregate_id, day_id, link_id
from domain.transitions import TransitionRefused, Transitions

HOLD, UPCOMING, COMPLETED, CANCELLED = "Hold", "Upcoming", "Completed", "Cancelled"
EXPIRED = "Expired"
HOLD_FIXED = "A hold cannot be changed; confirm it or let it expire"
EXPIRED_FIXED = "An expired hold cannot be changed"
CANCELLED_FIXED = "Cannot reschedule a cancelled appointment"
NOT_CONFIRMABLE = "Invalid booking status"
# The appointment's state machine: command -> {status it is accepted in: status it leads to}.
# `change` is any PATCH (notes, times, status); `reopen` / `mark_completed` are a party's or an
# admin's status edit (event StatusChanged); `complete` is the scheduler's completion once it ended;
# `revive` moves a cancelled appointment that the same change reopens. Expired is final.
APPOINTMENT_MACHINE = Transitions(
    table={
        "refresh_hold": {HOLD: HOLD},
        "confirm": {HOLD: UPCOMING},
        "expire": {HOLD: EXPIRED},
        "change": {UPCOMING: UPCOMING, COMPLETED: COMPLETED, CANCELLED: CANCELLED},
        "reschedule": {UPCOMING: UPCOMING, COMPLETED: COMPLETED},
        "revive": {CANCELLED: CANCELLED},  # moved while revived: `reopen` follows in the same change
        "cancel": {UPCOMING: CANCELLED, COMPLETED: CANCELLED},
        "complete": {UPCOMING: COMPLETED},
        "reopen": {COMPLETED: UPCOMING, CANCELLED: UPCOMING},
        "mark_completed": {UPCOMING: COMPLETED, CANCELLED: COMPLETED},
    },
    refusals={
        **{(c, HOLD): HOLD_FIXED for c in ("change", "reschedule", "revive", "cancel", "reopen", "mark_completed")},
        **{(c, EXPIRED): EXPIRED_FIXED for c in ("change", "reschedule", "revive", "cancel", "reopen")},
        ("reschedule", CANCELLED): CANCELLED_FIXED,
        ("confirm", "*"): NOT_CONFIRMABLE,
        ("refresh_hold", "*"): "Only a hold can be refreshed",
        ("expire", "*"): "Only a hold expires",
        ("complete", "*"): "An appointment can be marked Completed only after it ends",
        ("mark_completed", EXPIRED): EXPIRED_FIXED,
    },
)
STATUS_COMMANDS = {UPCOMING: "reopen", COMPLETED: "mark_completed"}
HOLD_LIFETIME = timedelta(minutes=5)
TAKEN_BY_HOLD = "Slot is already booked or held by another user"
TAKEN_BY_DIRECT = "Time slot not available for this consultant"
TAKEN_BY_RESCHEDULE = "Updated time conflicts with another appointment"
NOT_OPEN = "Slot is not available"
# The largest buffer the settings accept (`bufferTime` 0..120 minutes). A booking is listed in every
# consultant-day within this reach of its interval, so two bookings whose buffers collide always
# write at least one day aggregate in common, even across midnight, whatever buffer is configured.
MAX_BUFFER = timedelta(minutes=120)


def business_days(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    """The business-time-zone dates an interval [start, end) touches."""
    first = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def reach_days(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    """The business dates whose slots a booking of [start, end) can close: the dates of the interval
    widened by `MAX_BUFFER` on both sides. Its day aggregates are the ones a booking is written to."""
    return business_days(start - MAX_BUFFER, end + MAX_BUFFER, zone)


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return (
        datetime.combine(day, time(0), tzinfo=zone),
        datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone),
    )


@dataclass(frozen=True)
class Entry:
    appointment_id: str
    start: datetime
    end: datetime
    client_id: str
    is_hold: bool
    expires_at: datetime | None

    def booking(self) -> Booking:
        return Booking(self.start, self.end, self.client_id, self.is_hold, self.expires_at)

    def is_live(self, now: datetime) -> bool:
        return self.booking().is_live(now)


class ConsultantDay(Aggregate):
    """The live bookings of one consultant within `MAX_BUFFER` of one business date (see `reach_days`)."""

    @staticmethod
    def create_id(consultant_id: str, day: str) -> UUID:  # type: ignore[override]
        return day_id(consultant_id, day)

    @event("Opened")
    def __init__(self, consultant_id: str, day: str) -> None:
        self.consultant_id = consultant_id
        self.day = day
        self.entries: dict[str, dict[str, Any]] = {}

    def __deepcopy__(self, memo: dict[int, Any]) -> ConsultantDay:
        """A cheap copy: `entries` and its values are replaced, never changed in place, so copies share them."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone._pending_events = list(self._pending_events)
        return clone

    def bookings(self, now: datetime, excluding: str | None = None) -> list[Entry]:
        out = []
        for appointment_id, raw in self.entries.items():
            entry = Entry(appointment_id, raw["start"], raw["end"], raw["client_id"], raw["is_hold"], raw["expires_at"])
            if appointment_id != excluding and entry.is_live(now):
                out.append(entry)
        return out

    def overlapping(self, start: datetime, end: datetime, now: datetime, excluding: str | None = None) -> list[Entry]:
        return [e for e in self.bookings(now, excluding) if e.start < end and e.end > start]

    @event("Reserved")
    def reserve(
        self,
        appointment_id: str,
        start: datetime,
        end: datetime,
        client_id: str,
        is_hold: bool,
        expires_at: datetime | None,
    ) -> None:
        self.entries = {
            **self.entries,
            appointment_id: {
                "start": start,
                "end": end,
                "client_id": client_id,
                "is_hold": is_hold,
                "expires_at": expires_at,
            },
        }

    @event("Released")
    def release(self, appointment_id: str) -> None:
        self.entries = {k: v for k, v in self.entries.items() if k != appointment_id}

    def prune(self, now: datetime) -> None:
        """Forget expired holds (so the entries of a busy day do not grow without bound)."""
        for appointment_id, raw in list(self.entries.items()):
            if raw["is_hold"] and raw["expires_at"] is not None and raw["expires_at"] <= now:
                self.release(appointment_id)


class ClientLink(Aggregate):
    """A client–consultant relationship, created by the first successful booking."""

    @staticmethod
    def create_id(client_id: str, consultant_id: str) -> UUID:  # type: ignore[override]
        return link_id(client_id, consultant_id)

    @event("Linked")
    def __init__(self, client_id: str, consultant_id: str, link_id: str | None = None) -> None:
        self.client_id = client_id
        self.consultant_id = consultant_id
        # the public `_id`: derived from the pair, or the original one of an imported link (events
        # recorded before imports existed have no `link_id` and keep the derived one)
        self.link_id = link_id or self.id.hex[:24]
        self.status = "Active"
        self.removed = False

    # the link's other changes (people.md §2; rules in domain.links). Each event names the pair, so
    # a projection that keys links by pair (the reporting store) needs no lookup of the link id.
    def relink(self, notes: str, by: str) -> None:
        self._relinked(self.client_id, self.consultant_id, notes, by)

    def change_status(self, status: str, by: str) -> None:
        self._status_changed(self.client_id, self.consultant_id, status, by)

    def remove(self, by: str) -> None:
        self._removed(self.client_id, self.consultant_id, by)

    @event("Relinked")
    def _relinked(self, client_id: str, consultant_id: str, notes: str, by: str) -> None:
        self.status = "Active"
        self.removed = False

    @event("StatusChanged")
    def _status_changed(self, client_id: str, consultant_id: str, status: str, by: str) -> None:
        self.status = status

    @event("Removed")
    def _removed(self, client_id: str, consultant_id: str, by: str) -> None:
        self.removed = True


class Appointment(Aggregate):
    @staticmethod
    def create_id(appointment_id: str) -> UUID:  # type: ignore[override]
        return aggregate_id(appointment_id)

    @event("Created")
    def __init__(
        self,
        appointment_id: str,
        consultant_id: str,
        client_id: str,
        start: datetime,
        end: datetime,
        status: str,
        expires_at: datetime | None,
        fields: dict[str, Any],
        created_by: str,
    ) -> None:
        self.appointment_id = appointment_id
        self.consultant_id = consultant_id
        self.client_id = client_id
        self.start = start
        self.end = end
        self.status = status
        self.expires_at = expires_at
        self.fields = dict(fields)
        self.created_by = created_by
        self.reminder_sent = False
        self.deleted = False

    @property
    def is_live(self) -> bool:
        return not self.deleted and self.status in (HOLD, UPCOMING, COMPLETED)

    def hold_is_live(self, now: datetime) -> bool:
        return self.status == HOLD and self.expires_at is not None and self.expires_at > now

    # -- commands: each asks the state machine first, then records its event -------------------

    def may(self, command: str) -> bool:
        return APPOINTMENT_MACHINE.allows(command, self.status)

    def ensure_may(self, command: str) -> None:
        """Refuse `command` in the current status (`TransitionRefused`), changing nothing."""
        APPOINTMENT_MACHINE.target(command, self.status)

    def refresh_hold(self, expires_at: datetime) -> None:
        self.ensure_may("refresh_hold")
        self._refresh_hold(expires_at)

    def confirm(self, changes: dict[str, Any]) -> None:
        self.ensure_may("confirm")
        self._confirm(changes)

    def expire(self) -> None:
        self.ensure_may("expire")
        self._expire()

    def ensure_may_reschedule(self, reviving: bool = False) -> None:
        """A cancelled appointment moves only while it is revived to Upcoming in the same change."""
        self.ensure_may("revive" if reviving and self.status == CANCELLED else "reschedule")

    def reschedule(self, start: datetime, end: datetime, by_role: str, *, reviving: bool = False) -> None:
        self.ensure_may_reschedule(reviving)
        self._reschedule(start, end, by_role)

    def cancel(self, by_role: str) -> None:
        self.ensure_may("cancel")
        self._cancel(by_role)

    def complete(self) -> None:
        self.ensure_may("complete")
        self._complete()

    def change_status(self, status: str, by_role: str) -> None:
        """A party's or an admin's status edit to Upcoming or Completed (cancelling is `cancel`)."""
        command = STATUS_COMMANDS.get(status)
        if command is None:
            raise TransitionRefused(f"Cannot set status {status}", "change_status", self.status)
        self.ensure_may(command)
        self._change_status(status, by_role)

    # -- events (names and fields are history: never renamed) ------------------------------------

    @event("HoldRefreshed")
    def _refresh_hold(self, expires_at: datetime) -> None:
        self.expires_at = expires_at

    @event("Confirmed")
    def _confirm(self, changes: dict[str, Any]) -> None:
        self.status = UPCOMING
        self.expires_at = None
        self.fields = {**self.fields, **changes}

    @event("HoldExpired")
    def _expire(self) -> None:
        self.status = EXPIRED

    @event("Rescheduled")
    def _reschedule(self, start: datetime, end: datetime, by_role: str) -> None:
        self.start = start
        self.end = end
        self.reminder_sent = False

    @event("Cancelled")
    def _cancel(self, by_role: str) -> None:
        self.status = CANCELLED

    @event("Completed")
    def _complete(self) -> None:
        self.status = COMPLETED

    @event("StatusChanged")
    def _change_status(self, status: str, by_role: str) -> None:
        self.status = status

    @event("Updated")
    def update(self, changes: dict[str, Any]) -> None:
        self.fields = {**self.fields, **changes}

    @event("ReminderSent")
    def mark_reminded(self) -> None:
        self.reminder_sent = True

    @event("Deleted")
    def delete(self, by_role: str) -> None:
        self.deleted = True


def ensure_interval(start: datetime, end: datetime) -> None:
    if start >= end:
        raise Invalid("Invalid time range: startAt must be before endAt")


def refuse_overlap(
    days: list[ConsultantDay], start: datetime, end: datetime, now: datetime, message: str, excluding: str | None = None
) -> None:
    for day in days:
        if day.overlapping(start, end, now, excluding):
            raise Conflict(message)


# -- who may put an appointment in which state (CONTRACT.md "Money: who may record it") ------------

NOT_CREATABLE = "An appointment cannot be created as Completed: it is completed after it ends"
NOT_ENDED = "An appointment can be marked Completed only after it ends"


def ensure_creatable(status: str) -> None:
    """Nobody creates an appointment already Completed (its payment would count as earned at once)."""
    if status == COMPLETED:
        raise Invalid(NOT_CREATABLE, [{"field": "status", "message": NOT_CREATABLE}])


def ensure_completable(appointment: Appointment, now: datetime) -> None:
    """A consultant marks its own Upcoming appointment Completed only once it has ended."""
    if not appointment.may("complete") or appointment.end > now:
        raise Invalid(NOT_ENDED, [{"field": "status", "message": NOT_ENDED}])
