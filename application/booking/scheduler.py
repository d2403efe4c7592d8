"""The scheduler's booking tasks: a lapsed hold expires (a paid one is refunded in full), an ended
appointment is completed (its payment is then earned), and both parties are reminded once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from application.booking.context import BookingContext
from application.booking.notices import reminder_notices
from domain.accounts import CLIENT, CONSULTANT
from domain.appointments import HOLD, UPCOMING

REMINDER_LEAD = timedelta(minutes=15)


class ScheduledTasks:
    def __init__(self, context: BookingContext):
        self.context = context

    def expire_hold(self, appointment_id: str, *, even_if_live: bool = False) -> None:
        """Expire a lapsed hold (`even_if_live`: a live one too, e.g. of a person erased now)."""
        ctx = self.context

        def command() -> tuple[None, list[Any]]:
            appointment = ctx.appointment(appointment_id)
            now = ctx.clock()
            if not appointment.may("expire") or (appointment.hold_is_live(now) and not even_if_live):
                return None, []
            appointment.expire()
            changed: list[Any] = [appointment]
            changed += ctx.release(appointment)
            changed += ctx.money.after_status_change(appointment, HOLD, "System", now)
            return None, changed

        ctx.market.run(command)
        ctx.money.complete_refunds_of(appointment_id)

    def complete(self, appointment_id: str) -> None:
        ctx = self.context

        def command() -> tuple[None, list[Any]]:
            appointment = ctx.appointment(appointment_id)
            now = ctx.clock()
            if not appointment.may("complete") or appointment.end > now:
                return None, []
            appointment.complete()
            return None, [appointment, *ctx.money.after_status_change(appointment, UPCOMING, "System", now)]

        ctx.market.run(command)

    def remind(self, appointment_id: str) -> None:
        ctx = self.context

        def command() -> tuple[None, list[Any]]:
            appointment = ctx.appointment(appointment_id)
            now = ctx.clock()
            if (
                appointment.status != UPCOMING
                or appointment.reminder_sent
                or not (now <= appointment.start <= now + REMINDER_LEAD)
            ):
                return None, []
            appointment.mark_reminded()
            consultant = ctx.account(appointment.consultant_id, CONSULTANT, "Consultant not found")
            client = ctx.account(appointment.client_id, CLIENT, "Client not found")
            return None, [appointment, *reminder_notices(appointment, consultant, client, ctx.zone)]

        ctx.market.run(command)
