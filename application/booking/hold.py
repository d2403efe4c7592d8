"""Hold a slot for five minutes (the clients' booking flow); an identical retry refreshes the hold.
Also the refusals a queue of holds would get, decided from one read (interfaces.http.turns)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from application.booking.context import BookingContext, Caller, HoldRequest
from domain.accounts import CLIENT, CONSULTANT, Account
from domain.appointments import (
    HOLD,
    HOLD_LIFETIME,
    TAKEN_BY_HOLD,
    Appointment,
    ConsultantDay,
    ensure_interval,
    refuse_overlap,
)
from domain.errors import DomainError, Forbidden, Invalid
from domain.ids import new_object_id
from domain.ledger import exact as money
from domain.ledger import major_units as major


class HoldSlot:
    def __init__(self, context: BookingContext):
        self.context = context

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
        may_hold(caller, client_id)
        ctx = self.context

        def command() -> tuple[tuple[str, datetime, bool], list[Any]]:
            now = ctx.clock()
            consultant, days, own = self._check(consultant_id, client_id, start, end, now)
            expires = now + HOLD_LIFETIME
            if own is not None:  # the same client's identical hold: refreshed
                existing = ctx.appointment(own.appointment_id)
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
                    "category": ctx.category(consultant, category),
                    "session": "Video Call",
                    "payment": {"amount": major(fee), "status": "Pending", "method": "System"},
                },
            )
            for day in days:
                day.prune(now)
                day.reserve(appointment_id, start, end, client_id, True, expires)
            return (appointment_id, expires, False), [appointment, *days]

        return ctx.market.run(command)  # type: ignore[no-any-return]

    def _check(
        self,
        consultant_id: str,
        client_id: str,
        start: datetime,
        end: datetime,
        now: datetime,
        prefetched: bool = False,
    ) -> tuple[Account, list[ConsultantDay], Any]:
        """Every refusal of a hold, in order, changing nothing: the consultant, the day aggregates to
        reserve in, and the client's own identical live hold (to refresh) if there is one.
        `prefetched`: the attempt already loaded what the check reads (`refusals`)."""
        ctx = self.context
        if not prefetched:
            ctx.prefetch(consultant_id, client_id, start, end)
        consultant = self._before_client(consultant_id, start, now)
        ctx.account(client_id, CLIENT, "Client not found")
        days = ctx.days(consultant_id, start, end)
        for entry in (e for day in days for e in day.overlapping(start, end, now)):
            if entry.is_hold and entry.client_id == client_id and (entry.start, entry.end) == (start, end):
                return consultant, days, entry
        return consultant, ctx.check_slot(consultant, client_id, start, end, now, TAKEN_BY_HOLD, days=days), None

    def refusals(self, requests: list[HoldRequest]) -> list[DomainError | None]:
        """The refusal each of these holds would get now (None: it would be placed or refreshed),
        decided from ONE read of every aggregate they check, without writing anything: for
        requests that queued together for one consultant-day (see interfaces.http.turns) the
        losers are answered at once. A refusal is what the request's own command would answer at
        the instant of that read, which falls within every one of these requests."""
        ctx = self.context

        def check_all() -> list[DomainError | None]:
            now = ctx.clock()
            # Everything the checks read up to the overlap test, in one query (long-lived aggregates
            # from their snapshots), but not the client links: only a request that passes the overlap
            # test reads its link (`check_slot`, a consultant not accepting new clients), so a queue
            # of losers does not load (or look up the snapshot of) one link each.
            ids: list[UUID] = []
            long_lived: set[UUID] = set()
            for r in requests:
                ids += ctx.prefetch_ids(r.consultant_id, r.client_id, r.start, r.end, link=False)
                long_lived |= ctx.long_lived(r.consultant_id, r.client_id)
            ctx.market.find_many(ids, readonly=True, snapshotted=long_lived)
            verdicts: list[DomainError | None] = []
            slots: dict[tuple[str, datetime, datetime], _SlotVerdict | None] = {}
            for r in requests:
                try:
                    may_hold(r.caller, r.client_id)
                    key = (r.consultant_id, r.start, r.end)
                    if key not in slots:
                        slots[key] = self._slot_verdict(r.consultant_id, r.start, r.end, now)
                    verdict = slots[key]
                    if verdict is None:  # no refusal common to the slot's requests: the request's own check
                        self._check(r.consultant_id, r.client_id, r.start, r.end, now, prefetched=True)
                    else:
                        verdict.check(ctx, r.client_id)
                    verdicts.append(None)
                except DomainError as refusal:
                    verdicts.append(refusal)
            return verdicts

        return ctx.market.evaluate(check_all)

    def _before_client(self, consultant_id: str, start: datetime, now: datetime) -> Account:
        """The refusals of a hold before the client's account is read (a past slot, no such consultant);
        returns the consultant."""
        if start < now - timedelta(seconds=60):
            raise Invalid("Cannot hold slots in the past")
        return self.context.account(consultant_id, CONSULTANT, "Consultant not found")

    def _slot_verdict(self, consultant_id: str, start: datetime, end: datetime, now: datetime) -> _SlotVerdict | None:
        """The steps of `_check` that do not depend on the client, taken once for every queued request
        of the same slot: the refusal before the client's account is read (a past slot, no such
        consultant), the live bookings overlapping the interval (for a client's own hold), and the
        refusal after them (a bad interval, the overlap). None when neither refuses: then nothing
        is common, and each request runs `_check` itself."""
        ctx = self.context
        try:
            self._before_client(consultant_id, start, now)
        except DomainError as refusal:
            return _SlotVerdict(refusal, frozenset(), refusal)
        days = ctx.days(consultant_id, start, end)
        own_holds = frozenset(
            entry.client_id
            for day in days
            for entry in day.overlapping(start, end, now)
            if entry.is_hold and (entry.start, entry.end) == (start, end)
        )
        try:
            ensure_interval(start, end)
            refuse_overlap(days, start, end, now, TAKEN_BY_HOLD)
        except DomainError as refusal:
            return _SlotVerdict(None, own_holds, refusal)
        return None


@dataclass(frozen=True)
class _SlotVerdict:
    """What `_check` answers a client for a slot whose refusal does not depend on the client, in
    `_check`'s order: the refusal before the client's account is read, the client's account, the
    client's own identical live hold (refreshed: no refusal), the refusal after."""

    before_client: DomainError | None
    own_holds: frozenset[str]  # the clients with an identical live hold of the slot
    after: DomainError

    def check(self, ctx: BookingContext, client_id: str) -> None:
        if self.before_client is not None:
            raise self.before_client
        ctx.account(client_id, CLIENT, "Client not found")
        if client_id not in self.own_holds:
            raise self.after


def may_hold(caller: Caller, client_id: str) -> None:
    """Holds are the clients' booking flow, for themselves (contract availability §2.2: the hold
    route's roles are Client and Consultant, so an admin or employee gets the role refusal)."""
    if caller.role not in ("Client", "Consultant"):
        raise Forbidden("Forbidden: Access denied")
    if caller.role != "Client" or caller.id != client_id:
        raise Forbidden("Clients can only create appointments for themselves")
