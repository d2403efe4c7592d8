"""Changes of a placed appointment (PATCH): reschedule (new times), cancel, a status edit, notes and
reason for the parties; anything for an admin. And the admin's delete."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.booking.context import BookingContext, Caller, unique
from application.booking.notices import cancelled_notices, name, rescheduled_notices
from domain.accounts import CLIENT, CONSULTANT
from domain.appointments import (
    CANCELLED,
    COMPLETED,
    HOLD,
    TAKEN_BY_RESCHEDULE,
    UPCOMING,
    Appointment,
    ensure_completable,
    ensure_interval,
    refuse_overlap,
)
from domain.errors import Forbidden, Invalid
from domain.notifications import status_notices


class ChangeAppointment:
    def __init__(self, context: BookingContext):
        self.context = context

    def change(
        self,
        caller: Caller,
        appointment_id: str,
        start: datetime | None,
        end: datetime | None,
        status: str | None,
        fields: dict[str, Any],
    ) -> None:
        ctx = self.context

        def command() -> tuple[None, list[Any]]:
            now = ctx.clock()
            appointment = ctx.appointment(appointment_id)
            _may_change(caller, appointment)
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
            consultant = ctx.account(appointment.consultant_id, CONSULTANT, "Consultant not found")
            client = ctx.account(appointment.client_id, CLIENT, "Client not found")
            new_start, new_end = start or appointment.start, end or appointment.end
            moving = (new_start, new_end) != (appointment.start, appointment.end)
            if moving and status == CANCELLED:
                raise Invalid("Cannot reschedule and cancel at once")
            if moving:
                ensure_interval(new_start, new_end)
                if new_start < now:
                    raise Invalid("Cannot reschedule an appointment into the past")
                appointment.ensure_may_reschedule(reviving=status == UPCOMING)
                new_days = ctx.check_slot(
                    consultant,
                    appointment.client_id,
                    new_start,
                    new_end,
                    now,
                    TAKEN_BY_RESCHEDULE,
                    excluding=appointment_id,
                    caller_role=caller.role,
                )
                changed += ctx.release(appointment, keep={d.day for d in new_days})
                for day in new_days:
                    day.reserve(appointment_id, new_start, new_end, appointment.client_id, False, None)
                    changed.append(day)
                appointment.reschedule(new_start, new_end, caller.role, reviving=status == UPCOMING)
                changed += rescheduled_notices(appointment, consultant, client, ctx.zone)
            if status == CANCELLED and appointment.status != CANCELLED:
                appointment.cancel(caller.role)
                changed += ctx.release(appointment)
                changed += cancelled_notices(appointment, consultant, client, caller.role, ctx.zone)
            elif status is not None and status != appointment.status:
                if appointment.status == CANCELLED and not moving:  # reviving reserves the slot again
                    days = ctx.days(appointment.consultant_id, appointment.start, appointment.end)
                    refuse_overlap(
                        days, appointment.start, appointment.end, now, TAKEN_BY_RESCHEDULE, excluding=appointment_id
                    )
                    for day in days:
                        day.reserve(
                            appointment_id, appointment.start, appointment.end, appointment.client_id, False, None
                        )
                        changed.append(day)
                appointment.change_status(status, caller.role)
                changed += status_notices(
                    appointment_id, client.account_id, consultant.account_id, name(client), name(consultant), status
                )
            if fields:
                appointment.update(fields)
            changed += ctx.money.after_status_change(appointment, before, caller.role, now)
            return None, unique(changed)

        ctx.market.run(command)
        if status == CANCELLED:
            ctx.money.complete_refunds_of(appointment_id)

    def delete(self, caller: Caller, appointment_id: str) -> None:
        ctx = self.context
        if caller.role != "Admin":
            raise Forbidden("Not authorized to delete this appointment")

        def command() -> tuple[None, list[Any]]:
            appointment = ctx.appointment(appointment_id)
            notices: list[Any] = []
            if appointment.status not in (HOLD, CANCELLED, "Expired"):  # row 9: both parties are told
                consultant = ctx.account(appointment.consultant_id, CONSULTANT, "Consultant not found")
                client = ctx.account(appointment.client_id, CLIENT, "Client not found")
                notices = cancelled_notices(appointment, consultant, client, caller.role, ctx.zone)
            appointment.delete(caller.role)
            changed: list[Any] = [appointment, *notices]
            changed += ctx.release(appointment)
            return None, changed

        ctx.market.run(command)


def _may_change(caller: Caller, appointment: Appointment) -> None:
    if caller.role == "Admin":
        return
    if caller.role == "Client" and appointment.client_id == caller.id:
        return
    if caller.role == "Consultant" and appointment.consultant_id == caller.id:
        return
    raise Forbidden("Not authorized to update this appointment")
