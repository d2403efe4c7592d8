"""Confirm a hold: the client's hold becomes an Upcoming appointment, paid with a gateway-checked
proof when it has a fee. Confirming twice answers the first confirmation; a paid hold whose slot was
lost is settled and refunded (409)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.booking.context import BookingContext, Caller
from application.booking.notices import booked_notices
from domain.accounts import CLIENT, CONSULTANT
from domain.appointments import EXPIRED, UPCOMING, refuse_overlap
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from domain.ids import aggregate_id
from domain.ledger import exact as money

SLOT_TIMEOUT = "Slot timeout: This slot was booked by someone else while you were paying. A refund will be initiated."
LOST = "lost"


class ConfirmHold:
    def __init__(self, context: BookingContext):
        self.context = context

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
        """Turn the caller's hold into an Upcoming appointment. Returns (appointment id, already
        confirmed). `payment` is a gateway-checked proof (`application.payments.Proof`)."""
        ctx = self.context
        if caller.role != "Client" or caller.id != client_id:
            raise Forbidden("Clients can only create appointments for themselves")

        money_ids, snapshotted = ctx.money.prefetch_ids(consultant_id, payment) if payment else ([], [])

        def command() -> tuple[tuple[str, bool | str], list[Any]]:
            now = ctx.clock()
            # everything the decision reads, in one query (later loads take it from the attempt)
            ids = [aggregate_id(hold_id), *ctx.prefetch_ids(consultant_id, client_id, start, end), *money_ids]
            ctx.market.find_many(
                ids, readonly=True, snapshotted={*snapshotted, *ctx.long_lived(consultant_id, client_id)}
            )
            try:
                hold = ctx.appointment(hold_id)
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
            consultant = ctx.account(consultant_id, CONSULTANT, "Consultant not found")
            client = ctx.account(client_id, CLIENT, "Client not found")
            paid = money(hold.fields.get("fee")) > 0
            if paid and (payment is None or not ctx.money.takes_payments):
                raise Invalid("Payment is required to confirm this booking")
            days = ctx.days(consultant_id, start, end)
            if not hold.hold_is_live(now):
                try:
                    if hold.status == EXPIRED:
                        raise Conflict("")
                    refuse_overlap(days, start, end, now, "", excluding=hold_id)
                except Conflict:
                    if not paid:
                        raise Conflict(SLOT_TIMEOUT) from None
                    return (hold_id, LOST), ctx.money.settle_lost_hold(hold, payment, client, consultant)
            settled: list[Any] = []
            paid_with: dict[str, Any] = {}
            if paid:
                document, settled = ctx.money.settle_for_hold(hold, payment, client, consultant)
                paid_with = {"payment": document}
            booked_in = {"category": ctx.category(consultant, category)} if category else {}
            hold.confirm({**changes, **booked_in, **paid_with, "agora": {"channelName": f"appointment-{hold_id}"}})
            for day in days:
                day.reserve(hold_id, start, end, client_id, False, None)
            notices = booked_notices(hold, consultant, client, ctx.zone)
            return (hold_id, False), [hold, *days, *ctx.link(client_id, consultant_id), *settled, *notices]

        appointment_id, outcome = ctx.market.run(command)
        if outcome == LOST:
            ctx.money.complete_refund_of_proof(payment)
            raise Conflict(SLOT_TIMEOUT)
        return appointment_id, bool(outcome)
