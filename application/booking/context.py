"""What every booking use case shares: loading the aggregates a booking reads, and the slot check.

Every command that places a booking checks it against the same pure slot rule as the slot list
(`domain.availability.open_slots`), with the live bookings read from the consultant-day aggregates,
and saves the appointment together with those day aggregates in one atomic write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate

from application.marketplace import Marketplace
from application.ports import BookingMoney
from domain import links
from domain.accounts import Account
from domain.appointments import (
    MAX_BUFFER,
    NOT_OPEN,
    Appointment,
    ConsultantDay,
    ensure_interval,
    reach_days,
    refuse_overlap,
)
from domain.availability import default_settings, open_slots, session_lengths
from domain.errors import Conflict, NotFound
from domain.ids import aggregate_id, is_object_id, key_id
from domain.settings import ConsultantSettings


@dataclass(frozen=True)
class Caller:
    id: str
    role: str


@dataclass(frozen=True)
class HoldRequest:
    caller: Caller
    consultant_id: str
    client_id: str
    start: datetime
    end: datetime


class BookingContext:
    def __init__(self, market: Marketplace, zone: ZoneInfo, clock: Callable[[], datetime], money: BookingMoney):
        self.market = market
        self.zone = zone
        self.clock = clock
        self.money = money  # the money effects saved with each booking change (application.ports.BookingMoney)
        self._default_availability = default_settings()["availability"]  # read-only, like the stored ones

    # -- loading ----------------------------------------------------------------------------------

    def account(self, account_id: str, kind: str, missing: str) -> Account:
        found = (
            self.market.find(aggregate_id(account_id), readonly=True, snapshotted=True)
            if is_object_id(account_id)
            else None
        )
        if not isinstance(found, Account) or found.deleted or found.kind != kind:
            raise NotFound(missing)
        return found

    def availability(self, consultant_id: str) -> dict[str, Any]:
        """The consultant's availability, to read only (shared, never changed by a booking)."""
        found = self.market.find(key_id("settings:" + consultant_id), readonly=True, snapshotted=True)
        if isinstance(found, ConsultantSettings):
            return found.availability
        return self._default_availability  # type: ignore[no-any-return]

    def days(self, consultant_id: str, start: datetime, end: datetime) -> list[ConsultantDay]:
        """The day aggregates a booking of [start, end) is written to: every date within the largest
        buffer of the interval (`reach_days`), so buffers are enforced atomically across midnight too."""
        names = {
            key_id(f"day:{consultant_id}:{d.isoformat()}"): d.isoformat() for d in reach_days(start, end, self.zone)
        }
        days = []
        for uuid, day in self.market.find_many(names).items():
            if not isinstance(day, ConsultantDay):  # opened now: the attempt then reuses this object
                day = self.market.adopt(uuid, ConsultantDay(consultant_id=consultant_id, day=names[uuid]))
            days.append(day)
        return days

    def prefetch(self, consultant_id: str, client_id: str, start: datetime, end: datetime) -> None:
        """Load every aggregate a booking check may read in one query (the attempt's identity map then
        serves `account`, `availability`, `linked` and `days`)."""
        self.market.find_many(
            self.prefetch_ids(consultant_id, client_id, start, end),
            readonly=True,
            snapshotted=self.long_lived(consultant_id, client_id),
        )

    def long_lived(self, consultant_id: str, client_id: str) -> set[UUID]:
        """The aggregates of a booking check that are loaded from their snapshots (see `Marketplace.find`)."""
        found = {key_id("settings:" + consultant_id), links.link_uuid(client_id, consultant_id)}
        return found | {aggregate_id(a) for a in (consultant_id, client_id) if is_object_id(a)}

    def prefetch_ids(
        self, consultant_id: str, client_id: str, start: datetime, end: datetime, link: bool = True
    ) -> list[UUID]:
        ids = [key_id("settings:" + consultant_id)]
        if link:
            ids.append(key_id(f"link:{client_id}:{consultant_id}"))
        ids += [aggregate_id(a) for a in (consultant_id, client_id) if is_object_id(a)]
        ids += [key_id(f"day:{consultant_id}:{d.isoformat()}") for d in reach_days(start, end, self.zone)]
        return ids  # `days` then takes its own copies of the days

    def appointment(self, appointment_id: str) -> Appointment:
        found = self.market.find(aggregate_id(appointment_id))
        if not isinstance(found, Appointment) or found.deleted:
            raise NotFound("Appointment not found")
        return found

    def linked(self, client_id: str, consultant_id: str) -> bool:
        """Any link, active or not: the client has booked this consultant before."""
        return self.market.find(links.link_uuid(client_id, consultant_id), readonly=True, snapshotted=True) is not None

    def actively_linked(self, client_id: str, consultant_id: str) -> bool:
        return links.is_active(
            self.market.find(links.link_uuid(client_id, consultant_id), readonly=True, snapshotted=True)
        )

    # -- the slot check shared by every booking command ----------------------------------------

    def check_slot(
        self,
        consultant: Account,
        client_id: str,
        start: datetime,
        end: datetime,
        now: datetime,
        taken: str,
        excluding: str | None = None,
        caller_role: str = "Client",
        days: list[ConsultantDay] | None = None,
    ) -> list[ConsultantDay]:
        """Refuse an overlap with a live booking (`taken`), or any time that is not an open slot of
        the consultant for another reason (NOT_OPEN). Returns the day aggregates to reserve in."""
        ensure_interval(start, end)
        consultant_id = consultant.account_id
        availability = self.availability(consultant_id)
        _, buffer = session_lengths(availability)
        reserve_in = days if days is not None else self.days(consultant_id, start, end)
        refuse_overlap(reserve_in, start, end, now, taken, excluding)
        if consultant.status != "Active":
            raise Conflict(NOT_OPEN)
        if (
            availability.get("acceptingNewClients") is False
            and caller_role == "Client"
            and not self.linked(client_id, consultant_id)
        ):
            raise Conflict(NOT_OPEN)
        margin = timedelta(minutes=buffer)
        context = list(reserve_in)
        if margin > MAX_BUFFER:  # only settings stored beyond the accepted range; read, not written
            names = {d.day for d in context}
            context += [
                d
                for d in self.days(consultant_id, start - margin + MAX_BUFFER, end + margin - MAX_BUFFER)
                if d.day not in names
            ]
        # a booking within reach of two dates is listed in both day aggregates: count it once
        bookings = [
            e.booking() for e in {e.appointment_id: e for d in context for e in d.bookings(now, excluding)}.values()
        ]
        day = start.astimezone(self.zone).date()
        label = f"{start.astimezone(self.zone):%H:%M} - {end.astimezone(self.zone):%H:%M}"
        if label not in open_slots(availability, day, bookings, now, self.zone, client_id):
            raise Conflict(NOT_OPEN)
        return reserve_in

    def release(self, appointment: Appointment, keep: set[str] | frozenset[str] = frozenset()) -> list[ConsultantDay]:
        """Free the appointment's interval in the day aggregates that hold it (except the `keep` dates)."""
        released = []
        for day in self.days(appointment.consultant_id, appointment.start, appointment.end):
            if appointment.appointment_id in day.entries and day.day not in keep:
                day.release(appointment.appointment_id)
                released.append(day)
        return released

    def link(self, client_id: str, consultant_id: str) -> list[Aggregate]:
        return links.after_booking(
            self.market.find(links.link_uuid(client_id, consultant_id), snapshotted=True), client_id, consultant_id
        )

    @staticmethod
    def category(consultant: Account, requested: str | None) -> str:
        """The booked category when it is one of the consultant's, else its primary category."""
        names = [entry.get("categoryName") for entry in consultant.profile.get("categories") or []]
        primary = (consultant.profile.get("category") or {}).get("name") or "General"
        return requested if requested and (requested in names or requested == primary) else primary


def unique(aggregates: list[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for aggregate in aggregates:
        seen.setdefault(id(aggregate), aggregate)
    return list(seen.values())
