"""Booking commands: hold, confirm, direct create, reschedule, cancel, update, delete, and the
scheduler's completion, hold expiry and reminders.

Every command that places a booking checks it against the same pure slot rule as the slot list
(`domain.availability.open_slots`), with the live bookings read from the consultant-day aggregates,
and saves the appointment together with those day aggregates in one atomic write."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate

from application.marketplace import Marketplace
from domain.accounts import CLIENT, CONSULTANT, Account
from domain.appointments import (
    CANCELLED,
    COMPLETED,
    EXPIRED,
    HOLD,
    HOLD_LIFETIME,
    MAX_BUFFER,
    NOT_OPEN,
    TAKEN_BY_DIRECT,
    TAKEN_BY_HOLD,
    TAKEN_BY_RESCHEDULE,
    UPCOMING,
    Appointment,
    ClientLink,
    ConsultantDay,
    ensure_completable,
    ensure_creatable,
    ensure_interval,
    reach_days,
    refuse_overlap,
)
from domain.availability import default_settings, open_slots, session_lengths
from domain.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from domain.ids import aggregate_id, is_object_id, key_id, new_object_id
from domain.ledger import exact as money
from domain.ledger import major_units as major
from domain.ledger import offline_status, split_fee
from domain.notifications import Notification, long_date, month_day, notify, short_time, template
from domain.settings import ConsultantSettings

REMINDER_LEAD = timedelta(minutes=15)
SLOT_TIMEOUT = "Slot timeout: This slot was booked by someone else while you were paying. A refund will be initiated."


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


class Bookings:
    def __init__(
        self, market: Marketplace, zone: ZoneInfo, clock: Callable[[], datetime] | None = None, money: Any = None
    ):
        self.market = market
        self.zone = zone
        self.clock = clock or (lambda: datetime.now(UTC))
        self.money = money  # application.payments.Payments: the money effects saved with each booking change
        self._default_availability = default_settings()["availability"]  # read-only, like the stored ones

    # -- loading ----------------------------------------------------------------------------------

    def _account(self, account_id: str, kind: str, missing: str) -> Account:
        found = self.market.find(aggregate_id(account_id), readonly=True) if is_object_id(account_id) else None
        if not isinstance(found, Account) or found.deleted or found.kind != kind:
            raise NotFound(missing)
        return found

    def _availability(self, consultant_id: str) -> dict[str, Any]:
        """The consultant's availability, to read only (shared, never changed by a booking)."""
        found = self.market.find(key_id("settings:" + consultant_id), readonly=True)
        if isinstance(found, ConsultantSettings):
            return found.availability
        return self._default_availability  # type: ignore[no-any-return]

    def _days(self, consultant_id: str, start: datetime, end: datetime) -> list[ConsultantDay]:
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

    def _prefetch(self, consultant_id: str, client_id: str, start: datetime, end: datetime) -> None:
        """Load every aggregate a booking check may read in one query (the attempt's identity map then
        serves `_account`, `_availability`, `_linked` and `_days`)."""
        self.market.find_many(self._prefetch_ids(consultant_id, client_id, start, end), readonly=True)

    def _prefetch_ids(self, consultant_id: str, client_id: str, start: datetime, end: datetime) -> list[UUID]:
        ids = [key_id("settings:" + consultant_id), key_id(f"link:{client_id}:{consultant_id}")]
        ids += [aggregate_id(a) for a in (consultant_id, client_id) if is_object_id(a)]
        ids += [key_id(f"day:{consultant_id}:{d.isoformat()}") for d in reach_days(start, end, self.zone)]
        return ids  # `_days` then takes its own copies of the days

    def appointment(self, appointment_id: str) -> Appointment:
        found = self.market.find(aggregate_id(appointment_id))
        if not isinstance(found, Appointment) or found.deleted:
            raise NotFound("Appointment not found")
        return found

    def _linked(self, client_id: str, consultant_id: str) -> bool:
        return self.market.find(key_id(f"link:{client_id}:{consultant_id}"), readonly=True) is not None

    # -- the slot check shared by every booking command ----------------------------------------

    def _check_slot(
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
        availability = self._availability(consultant_id)
        _, buffer = session_lengths(availability)
        reserve_in = days if days is not None else self._days(consultant_id, start, end)
        refuse_overlap(reserve_in, start, end, now, taken, excluding)
        if consultant.status != "Active":
            raise Conflict(NOT_OPEN)
        if (
            availability.get("acceptingNewClients") is False
            and caller_role == "Client"
            and not self._linked(client_id, consultant_id)
        ):
            raise Conflict(NOT_OPEN)
        margin = timedelta(minutes=buffer)
        context = list(reserve_in)
        if margin > MAX_BUFFER:  # only settings stored beyond the accepted range; read, not written
            names = {d.day for d in context}
            context += [
                d
                for d in self._days(consultant_id, start - margin + MAX_BUFFER, end + margin - MAX_BUFFER)
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

    def _release(self, appointment: Appointment, keep: set[str] | frozenset[str] = frozenset()) -> list[ConsultantDay]:
        """Free the appointment's interval in the day aggregates that hold it (except the `keep` dates)."""
        released = []
        for day in self._days(appointment.consultant_id, appointment.start, appointment.end):
            if appointment.appointment_id in day.entries and day.day not in keep:
                day.release(appointment.appointment_id)
                released.append(day)
        return released

    def _link(self, client_id: str, consultant_id: str) -> list[Aggregate]:
        return (
            []
            if self._linked(client_id, consultant_id)
            else [ClientLink(client_id=client_id, consultant_id=consultant_id)]
        )

    # -- hold ------------------------------------------------------------------------------------

    def hold(
        self,
        caller: Caller,
        consultant_id: str,
        client_id: str,
        start: datetime,
        end: datetime,
        category: str | None = None,
    ) -> tuple[str, datetime, bool]:
        """Hold a slot for five minutes; an identical retry by the same client refreshes its hold."""
        _may_hold(caller, client_id)

        def command() -> tuple[tuple[str, datetime, bool], list[Any]]:
            now = self.clock()
            consultant, days, own = self._hold_check(consultant_id, client_id, start, end, now)
            expires = now + HOLD_LIFETIME
            if own is not None:  # the same client's identical hold: refreshed
                existing = self.appointment(own.appointment_id)
                existing.refresh_hold(expires)
                for day in days:
                    day.reserve(existing.appointment_id, start, end, client_id, True, expires)
                return (existing.appointment_id, expires, True), [existing, *days]
            appointment_id = new_object_id()
            fee = money(consultant.profile.get("fees"))
            appointment = Appointment(
                appointment_id=appointment_id,
                consultant_id=consultant_id,
                client_id=client_id,
                start=start,
                end=end,
                status=HOLD,
                expires_at=expires,
                created_by=caller.role,
                fields={
                    "fee": major(fee),
                    "category": self._category(consultant, category),
                    "session": "Video Call",
                    "payment": {"amount": major(fee), "status": "Pending", "method": "System"},
                },
            )
            for day in days:
                day.prune(now)
                day.reserve(appointment_id, start, end, client_id, True, expires)
            return (appointment_id, expires, False), [appointment, *days]

        return self.market.run(command)  # type: ignore[no-any-return]

    def _hold_check(
        self, consultant_id: str, client_id: str, start: datetime, end: datetime, now: datetime
    ) -> tuple[Account, list[ConsultantDay], Any]:
        """Every refusal of a hold, in order, changing nothing: the consultant, the day aggregates to
        reserve in, and the client's own identical live hold (to refresh) if there is one."""
        if start < now - timedelta(seconds=60):
            raise Invalid("Cannot hold slots in the past")
        self._prefetch(consultant_id, client_id, start, end)
        consultant = self._account(consultant_id, CONSULTANT, "Consultant not found")
        self._account(client_id, CLIENT, "Client not found")
        days = self._days(consultant_id, start, end)
        for entry in (e for day in days for e in day.overlapping(start, end, now)):
            if entry.is_hold and entry.client_id == client_id and (entry.start, entry.end) == (start, end):
                return consultant, days, entry
        return consultant, self._check_slot(consultant, client_id, start, end, now, TAKEN_BY_HOLD, days=days), None

    def hold_refusals(self, requests: list[HoldRequest]) -> list[DomainError | None]:
        """The refusal each of these holds would get now (None: it would be placed or refreshed),
        decided from ONE read of every aggregate they check, without writing anything: for
        requests that queued together for one consultant-day (see interfaces.http.turns) the
        losers are answered at once. A refusal is what the request's own command would answer at
        the instant of that read, which falls within every one of these requests."""

        def check_all() -> list[DomainError | None]:
            now = self.clock()
            ids = [i for r in requests for i in self._prefetch_ids(r.consultant_id, r.client_id, r.start, r.end)]
            self.market.find_many(ids, readonly=True)
            verdicts: list[DomainError | None] = []
            for r in requests:
                try:
                    _may_hold(r.caller, r.client_id)
                    self._hold_check(r.consultant_id, r.client_id, r.start, r.end, now)
                    verdicts.append(None)
                except DomainError as refusal:
                    verdicts.append(refusal)
            return verdicts

        return self.market.evaluate(check_all)

    # -- confirm a hold --------------------------------------------------------------------------

    def confirm(
        self,
        caller: Caller,
        hold_id: str,
        consultant_id: str,
        client_id: str,
        start: datetime,
        end: datetime,
        changes: dict[str, Any],
        payment: Any = None,
        category: str | None = None,
    ) -> tuple[str, bool]:
        """Turn the caller's hold into an Upcoming appointment. Confirming twice answers the first
        confirmation. Returns (appointment id, already confirmed). `payment` is a gateway-checked
        proof (`application.payments.Proof`); a paid hold whose slot was lost is refunded (409)."""
        lost = "lost"
        if caller.role != "Client" or caller.id != client_id:
            raise Forbidden("Clients can only create appointments for themselves")

        def command() -> tuple[tuple[str, bool | str], list[Any]]:
            now = self.clock()
            try:
                hold = self.appointment(hold_id)
            except NotFound:
                raise Invalid("Booking hold expired or invalid") from None
            if hold.client_id != caller.id:
                raise Forbidden("Clients can only create appointments for themselves")
            if hold.status == EXPIRED and payment is None:  # the scheduler released its slot, as the TTL
                raise Invalid("Booking hold expired or invalid")
            if (hold.consultant_id, hold.start, hold.end) != (consultant_id, start, end):
                raise Invalid("Booking does not match the hold")
            if hold.status == UPCOMING:
                return (hold_id, True), []
            if hold.status != EXPIRED:  # an expired hold is settled as a lost slot below
                hold.ensure_may("confirm")
            consultant = self._account(consultant_id, CONSULTANT, "Consultant not found")
            client = self._account(client_id, CLIENT, "Client not found")
            paid = money(hold.fields.get("fee")) > 0
            if paid and (payment is None or self.money is None):
                raise Invalid("Payment is required to confirm this booking")
            days = self._days(consultant_id, start, end)
            if not hold.hold_is_live(now):
                try:
                    if hold.status == EXPIRED:
                        raise Conflict("")
                    refuse_overlap(days, start, end, now, "", excluding=hold_id)
                except Conflict:
                    if not paid:
                        raise Conflict(SLOT_TIMEOUT) from None
                    return (hold_id, lost), self.money.settle_lost_hold(hold, payment, client, consultant)
            settled: list[Any] = []
            paid_with: dict[str, Any] = {}
            if paid:
                document, settled = self.money.settle_for_hold(hold, payment, client, consultant)
                paid_with = {"payment": document}
            booked_in = {"category": self._category(consultant, category)} if category else {}
            hold.confirm({**changes, **booked_in, **paid_with, "agora": {"channelName": f"appointment-{hold_id}"}})
            for day in days:
                day.reserve(hold_id, start, end, client_id, False, None)
            notices = self._booked_notices(hold, consultant, client)
            return (hold_id, False), [hold, *days, *self._link(client_id, consultant_id), *settled, *notices]

        appointment_id, outcome = self.market.run(command)
        if outcome == lost:
            self.money.complete_refund_of_proof(payment)
            raise Conflict(SLOT_TIMEOUT)
        return appointment_id, bool(outcome)

    # -- direct create (consultant for a linked client, admin for anyone) ------------------------

    def create_direct(
        self,
        caller: Caller,
        consultant_id: str,
        client_id: str,
        start: datetime,
        end: datetime,
        status: str,
        fields: dict[str, Any],
        payment: dict[str, Any] | None,
        category: str | None,
    ) -> str:
        if caller.role == "Client":
            raise Forbidden("Clients book through a hold: POST /appointments/hold, then confirm with holdId")
        if caller.role == "Consultant" and caller.id != consultant_id:
            raise Forbidden("Consultants can only create appointments for themselves")
        if caller.role not in ("Consultant", "Admin"):
            raise Forbidden("Forbidden: Access denied")
        ensure_creatable(status)

        def command() -> tuple[str, list[Any]]:
            now = self.clock()
            client = self._account(client_id, CLIENT, "Client not found")
            consultant = self._account(consultant_id, CONSULTANT, "Consultant not found")
            if caller.role == "Consultant" and not self._linked(client_id, consultant_id):
                raise Forbidden("Client is not linked to this consultant")
            days = self._check_slot(consultant, client_id, start, end, now, TAKEN_BY_DIRECT, caller_role=caller.role)
            appointment_id = new_object_id()
            fee = money(consultant.profile.get("fees"))
            paid, settled = (
                self.money.offline_payment(appointment_id, consultant, client, payment, False, caller.role)
                if self.money
                else (self._offline_payment(consultant, payment, caller.role), [])
            )
            document = {
                **fields,
                "fee": major(fee),
                "category": self._category(consultant, category),
                "session": "Video Call",
                "clientSnapshot": _client_snapshot(client),
                "consultantSnapshot": _consultant_snapshot(consultant),
                "payment": paid,
                "agora": {
                    "channelName": f"appointment-{appointment_id}",
                    "resourceId": None,
                    "recordingSid": None,
                    "recordingStatus": None,
                    "recordingFileUrl": None,
                },
            }
            appointment = Appointment(
                appointment_id=appointment_id,
                consultant_id=consultant_id,
                client_id=client_id,
                start=start,
                end=end,
                status=status,
                expires_at=None,
                fields=document,
                created_by=caller.role,
            )
            for day in days:
                day.reserve(appointment_id, start, end, client_id, False, None)
            notices = self._booked_notices(appointment, consultant, client)
            return appointment_id, [appointment, *days, *self._link(client_id, consultant_id), *settled, *notices]

        return self.market.run(command)  # type: ignore[no-any-return]

    @staticmethod
    def _offline_payment(consultant: Account, payment: dict[str, Any] | None, by_role: str) -> dict[str, Any]:
        """The payment document when no ledger is wired (same rules: `domain.ledger`)."""
        if not payment:
            return {"amount": 0, "status": "Pending", "method": "System"}
        status = offline_status(payment.get("status"), by_role)
        amount = money(payment.get("amount"))
        fee, net = split_fee(amount, (consultant.profile.get("commission") or {}).get("platformPercent"))
        return {
            "amount": major(amount),
            "status": status,
            "method": payment.get("method") or "Offline",
            "platformFee": major(fee),
            "netAmount": major(net),
        }

    @staticmethod
    def _category(consultant: Account, requested: str | None) -> str:
        """The booked category when it is one of the consultant's, else its primary category."""
        names = [entry.get("categoryName") for entry in consultant.profile.get("categories") or []]
        primary = (consultant.profile.get("category") or {}).get("name") or "General"
        return requested if requested and (requested in names or requested == primary) else primary

    # -- changes ---------------------------------------------------------------------------------

    def _may_change(self, caller: Caller, appointment: Appointment) -> None:
        if caller.role == "Admin":
            return
        if caller.role == "Client" and appointment.client_id == caller.id:
            return
        if caller.role == "Consultant" and appointment.consultant_id == caller.id:
            return
        raise Forbidden("Not authorized to update this appointment")

    def change(
        self,
        caller: Caller,
        appointment_id: str,
        start: datetime | None,
        end: datetime | None,
        status: str | None,
        fields: dict[str, Any],
    ) -> None:
        """PATCH: reschedule (new times), cancel, notes and reason for the parties; anything for an admin."""

        def command() -> tuple[None, list[Any]]:
            now = self.clock()
            appointment = self.appointment(appointment_id)
            self._may_change(caller, appointment)
            if caller.role != "Admin":
                if caller.role == "Consultant" and status == COMPLETED:
                    if start is not None:
                        raise Invalid("Cannot reschedule and complete at once")
                    ensure_completable(appointment, now)
                elif status not in (None, CANCELLED, UPCOMING) or (status == UPCOMING and start is None):
                    raise Forbidden("Not authorized to update this appointment")
                if set(fields) - {"notes", "reason"}:
                    raise Forbidden("Not authorized to update this appointment")
            appointment.ensure_may("change")
            changed: list[Any] = [appointment]
            before = appointment.status
            consultant = self._account(appointment.consultant_id, CONSULTANT, "Consultant not found")
            client = self._account(appointment.client_id, CLIENT, "Client not found")
            new_start, new_end = start or appointment.start, end or appointment.end
            moving = (new_start, new_end) != (appointment.start, appointment.end)
            if moving and status == CANCELLED:
                raise Invalid("Cannot reschedule and cancel at once")
            if moving:
                ensure_interval(new_start, new_end)
                if new_start < now:
                    raise Invalid("Cannot reschedule an appointment into the past")
                appointment.ensure_may_reschedule(reviving=status == UPCOMING)
                new_days = self._check_slot(
                    consultant,
                    appointment.client_id,
                    new_start,
                    new_end,
                    now,
                    TAKEN_BY_RESCHEDULE,
                    excluding=appointment_id,
                    caller_role=caller.role,
                )
                changed += self._release(appointment, keep={d.day for d in new_days})
                for day in new_days:
                    day.reserve(appointment_id, new_start, new_end, appointment.client_id, False, None)
                    changed.append(day)
                appointment.reschedule(new_start, new_end, caller.role, reviving=status == UPCOMING)
                changed += self._rescheduled_notices(appointment, consultant, client)
            if status == CANCELLED and appointment.status != CANCELLED:
                appointment.cancel(caller.role)
                changed += self._release(appointment)
                changed += self._cancelled_notices(appointment, consultant, client, caller.role)
            elif status is not None and status != appointment.status:
                if appointment.status == CANCELLED and not moving:  # reviving reserves the slot again
                    days = self._days(appointment.consultant_id, appointment.start, appointment.end)
                    refuse_overlap(
                        days, appointment.start, appointment.end, now, TAKEN_BY_RESCHEDULE, excluding=appointment_id
                    )
                    for day in days:
                        day.reserve(
                            appointment_id, appointment.start, appointment.end, appointment.client_id, False, None
                        )
                        changed.append(day)
                appointment.change_status(status, caller.role)
            if fields:
                appointment.update(fields)
            if self.money:
                changed += self.money.after_status_change(appointment, before, caller.role, now)
            return None, _unique(changed)

        self.market.run(command)
        if self.money and status == CANCELLED:
            self.money.complete_refunds_of(appointment_id)

    def delete(self, caller: Caller, appointment_id: str) -> None:
        if caller.role != "Admin":
            raise Forbidden("Not authorized to delete this appointment")

        def command() -> tuple[None, list[Any]]:
            appointment = self.appointment(appointment_id)
            appointment.delete(caller.role)
            changed: list[Any] = [appointment]
            changed += self._release(appointment)
            return None, changed

        self.market.run(command)

    # -- scheduler -------------------------------------------------------------------------------

    def expire_hold(self, appointment_id: str) -> None:
        def command() -> tuple[None, list[Any]]:
            appointment = self.appointment(appointment_id)
            if not appointment.may("expire") or appointment.hold_is_live(self.clock()):
                return None, []
            appointment.expire()
            changed: list[Any] = [appointment]
            changed += self._release(appointment)
            if self.money:
                changed += self.money.after_status_change(appointment, HOLD, "System", self.clock())
            return None, changed

        self.market.run(command)
        if self.money:
            self.money.complete_refunds_of(appointment_id)

    def complete(self, appointment_id: str) -> None:
        def command() -> tuple[None, list[Any]]:
            appointment = self.appointment(appointment_id)
            if not appointment.may("complete") or appointment.end > self.clock():
                return None, []
            appointment.complete()
            return None, [
                appointment,
                *(self.money.after_status_change(appointment, UPCOMING, "System", self.clock()) if self.money else []),
            ]

        self.market.run(command)

    def remind(self, appointment_id: str) -> None:
        def command() -> tuple[None, list[Any]]:
            appointment = self.appointment(appointment_id)
            now = self.clock()
            if (
                appointment.status != UPCOMING
                or appointment.reminder_sent
                or not (now <= appointment.start <= now + REMINDER_LEAD)
            ):
                return None, []
            appointment.mark_reminded()
            consultant = self._account(appointment.consultant_id, CONSULTANT, "Consultant not found")
            client = self._account(appointment.client_id, CLIENT, "Client not found")
            at = short_time(appointment.start, self.zone)
            return None, [
                appointment,
                notify(
                    client.account_id,
                    template(
                        "Appointment Reminder",
                        f"Reminder: Your appointment with {_name(consultant)} is in 15 minutes at {at}.",
                        "reminder",
                        "reminders",
                        "urgent",
                        "/my-bookings",
                        "Join Now",
                        appointment.appointment_id,
                    ),
                ),
                notify(
                    consultant.account_id,
                    template(
                        "Appointment Reminder",
                        f"Reminder: Appointment with {_name(client)} in 15 minutes at {at}.",
                        "reminder",
                        "reminders",
                        "urgent",
                        "/appointments",
                        "Prepare",
                        appointment.appointment_id,
                    ),
                ),
            ]

        self.market.run(command)

    # -- notification templates (contract availability §6.2) ------------------------------------

    def _when(self, appointment: Appointment) -> tuple[str, str]:
        return long_date(appointment.start, self.zone), short_time(appointment.start, self.zone)

    def _booked_notices(self, appointment: Appointment, consultant: Account, client: Account) -> list[Notification]:
        day, at = self._when(appointment)
        return [
            notify(
                client.account_id,
                template(
                    "Appointment Confirmed",
                    f"Your appointment with {_name(consultant)} on {day} at {at} has been confirmed.",
                    "appointment",
                    "appointments",
                    "high",
                    "/my-bookings",
                    "View Booking",
                    appointment.appointment_id,
                ),
            ),
            notify(
                consultant.account_id,
                template(
                    "New Appointment",
                    f"{_name(client)} has booked an appointment for {day} at {at}.",
                    "appointment",
                    "appointments",
                    "high",
                    "/appointments",
                    "View Appointment",
                    appointment.appointment_id,
                ),
            ),
        ]

    def _cancelled_notices(
        self, appointment: Appointment, consultant: Account, client: Account, by_role: str
    ) -> list[Notification]:
        day, at = self._when(appointment)
        to_client = notify(
            client.account_id,
            template(
                "Appointment Cancelled",
                f"Your appointment with {_name(consultant)} on {day} has been cancelled.",
                "appointment",
                "appointments",
                "high",
                "/my-bookings",
                "Book Again",
                appointment.appointment_id,
            ),
        )
        to_consultant = notify(
            consultant.account_id,
            template(
                "Appointment Cancelled",
                f"{_name(client)} has cancelled their appointment on {day} at {at}.",
                "appointment",
                "appointments",
                "normal",
                "/appointments",
                "View Details",
                appointment.appointment_id,
            ),
        )
        if by_role == "Client":
            return [to_consultant]
        if by_role == "Consultant":
            return [to_client]
        return [to_client, to_consultant]

    def _rescheduled_notices(
        self, appointment: Appointment, consultant: Account, client: Account
    ) -> list[Notification]:
        when = f"{month_day(appointment.start, self.zone)} at {short_time(appointment.start, self.zone)}"
        return [
            notify(
                client.account_id,
                template(
                    "Appointment Rescheduled",
                    f"Your appointment with {_name(consultant)} has been rescheduled to {when}.",
                    "appointment",
                    "appointments",
                    "high",
                    "/my-bookings",
                    "View Booking",
                    appointment.appointment_id,
                ),
            ),
            notify(
                consultant.account_id,
                template(
                    "Appointment Rescheduled",
                    f"Appointment with {_name(client)} has been rescheduled to {when}.",
                    "appointment",
                    "appointments",
                    "high",
                    "/appointments",
                    "View Appointment",
                    appointment.appointment_id,
                ),
            ),
        ]


def _name(account: Account) -> str:
    profile = account.profile
    return str(profile.get("displayName") or profile.get("name") or profile.get("fullName") or "")


def _client_snapshot(client: Account) -> dict[str, str]:
    return {"name": _name(client), "email": client.profile.get("email", ""), "mobile": client.profile.get("mobile", "")}


def _consultant_snapshot(consultant: Account) -> dict[str, str]:
    profile = consultant.profile
    return {
        "name": _name(consultant),
        "email": profile.get("email", ""),
        "mobile": profile.get("mobile") or profile.get("phone", ""),
        "category": (profile.get("category") or {}).get("name") or "General",
        "subcategory": (profile.get("subcategory") or {}).get("name") or "",
    }


def _unique(aggregates: list[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for aggregate in aggregates:
        seen.setdefault(id(aggregate), aggregate)
    return list(seen.values())


def _may_hold(caller: Caller, client_id: str) -> None:
    """Holds are the clients' booking flow, for themselves (contract availability §2.2: the hold
    route's roles are Client and Consultant, so an admin or employee gets the role refusal)."""
    if caller.role not in ("Client", "Consultant"):
        raise Forbidden("Forbidden: Access denied")
    if caller.role != "Client" or caller.id != client_id:
        raise Forbidden("Clients can only create appointments for themselves")
