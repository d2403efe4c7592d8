"""Direct create: a consultant books a linked client, an admin books anyone, with an optional
offline payment (recorded per CONTRACT.md "Money: who may record it")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from application.booking.context import BookingContext, Caller
from application.booking.notices import booked_notices, client_snapshot, consultant_snapshot
from domain.accounts import CLIENT, CONSULTANT
from domain.appointments import TAKEN_BY_DIRECT, Appointment, ensure_creatable
from domain.errors import Forbidden
from domain.ids import new_object_id
from domain.ledger import exact as money
from domain.ledger import major_units as major


class CreateDirect:
    def __init__(self, context: BookingContext):
        self.context = context

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
        ctx = self.context
        if caller.role == "Client":
            raise Forbidden("Clients book through a hold: POST /appointments/hold, then confirm with holdId")
        if caller.role == "Consultant" and caller.id != consultant_id:
            raise Forbidden("Consultants can only create appointments for themselves")
        if caller.role not in ("Consultant", "Admin"):
            raise Forbidden("Forbidden: Access denied")
        ensure_creatable(status)

        def command() -> tuple[str, list[Any]]:
            now = ctx.clock()
            client = ctx.account(client_id, CLIENT, "Client not found")
            consultant = ctx.account(consultant_id, CONSULTANT, "Consultant not found")
            if caller.role == "Consultant" and not ctx.actively_linked(client_id, consultant_id):
                raise Forbidden("Client is not linked to this consultant")
            days = ctx.check_slot(consultant, client_id, start, end, now, TAKEN_BY_DIRECT, caller_role=caller.role)
            appointment_id = new_object_id()
            fee = money(consultant.profile.get("fees"))
            paid, settled = ctx.money.offline_payment(appointment_id, consultant, client, payment, False, caller.role)
            document = {
                **fields,
                "fee": major(fee),
                "category": ctx.category(consultant, category),
                "session": "Video Call",
                "clientSnapshot": client_snapshot(client),
                "consultantSnapshot": consultant_snapshot(consultant),
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
            notices = booked_notices(appointment, consultant, client, ctx.zone)
            return appointment_id, [appointment, *days, *ctx.link(client_id, consultant_id), *settled, *notices]

        return ctx.market.run(command)  # type: ignore[no-any-return]
