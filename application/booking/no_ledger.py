"""The `BookingMoney` port when no ledger is wired (a scheduler or a tool that books without
payments): nothing paid is accepted, offline payments are only documented (same rules:
`domain.ledger`), and no money effect is recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from domain.accounts import Account
from domain.appointments import Appointment
from domain.errors import Invalid
from domain.ledger import exact as money
from domain.ledger import major_units as major
from domain.ledger import offline_status, split_fee


class NoLedger:
    takes_payments = False

    def prefetch_ids(self, consultant_id: str, proof: Any) -> tuple[list[UUID], list[UUID]]:
        return [], []

    def settle_for_hold(
        self, hold: Appointment, proof: Any, client: Account, consultant: Account
    ) -> tuple[dict[str, Any], list[Any]]:
        raise Invalid("Payment is required to confirm this booking")

    def settle_lost_hold(self, hold: Appointment, proof: Any, client: Account, consultant: Account) -> list[Any]:
        raise Invalid("Payment is required to confirm this booking")

    def offline_payment(
        self,
        appointment_id: str,
        consultant: Account,
        client: Account,
        payment: dict[str, Any] | None,
        completed: bool,
        by_role: str = "Admin",
    ) -> tuple[dict[str, Any], list[Any]]:
        if not payment:
            return {"amount": 0, "status": "Pending", "method": "System"}, []
        status = offline_status(payment.get("status"), by_role)
        amount = money(payment.get("amount"))
        fee, net = split_fee(amount, (consultant.profile.get("commission") or {}).get("platformPercent"))
        return {
            "amount": major(amount),
            "status": status,
            "method": payment.get("method") or "Offline",
            "platformFee": major(fee),
            "netAmount": major(net),
        }, []

    def after_status_change(self, appointment: Appointment, before: str, by_role: str, now: datetime) -> list[Any]:
        return []

    def complete_refunds_of(self, appointment_id: str) -> None:
        return None

    def complete_refund_of_proof(self, proof: Any) -> None:
        return None
