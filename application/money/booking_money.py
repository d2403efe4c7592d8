"""The money side of the booking commands (the `BookingMoney` port of `application.ports`): each
returns the aggregates to save in the booking's own atomic write, so a booking change and the
change of money it causes are recorded together."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from application.money.context import MISMATCH, MoneyContext, Proof, distinct, name, order_claim_id
from application.money.invoice import payment_doc, record_success
from application.money.refund import complete_refund_of_proof, complete_refunds_of, record_refund
from domain.accounts import Account
from domain.appointments import CANCELLED, COMPLETED, EXPIRED, HOLD, UPCOMING, Appointment
from domain.errors import Invalid, NotFound
from domain.ids import aggregate_id, earnings_id, new_object_id
from domain.ledger import (
    PAYMENT,
    PENDING,
    REFUNDED,
    SUCCESS,
    Transaction,
    exact,
    offline_status,
    split_fee,
)


class LedgerForBookings:
    takes_payments = True

    def __init__(self, ctx: MoneyContext):
        self.ctx = ctx

    def prefetch_ids(self, consultant_id: str, proof: Proof) -> tuple[list[UUID], list[UUID]]:
        """The order's claim, its transaction (named by the claim: known when the proof was checked for
        the hold) and the consultant's earnings (from its snapshot): what `settle_for_hold` reads
        besides the booking's own aggregates."""
        earnings = earnings_id(consultant_id)
        found = [aggregate_id(proof.transaction_id)] if proof.transaction_id else []
        return [order_claim_id(proof.order_id), *found, earnings], [earnings]

    def settle_for_hold(
        self, hold: Appointment, proof: Proof, client: Account, consultant: Account
    ) -> tuple[dict[str, Any], list[Aggregate]]:
        """The hold's payment: the proof's order must be this hold's, this client's and this amount.
        Returns the appointment's `payment` document and the aggregates to save (none when the
        payment was already recorded, by `/payments/verify` or an earlier confirmation)."""
        tx = self._matching(hold, proof)
        if tx.status == SUCCESS:
            return payment_doc(self.ctx, tx), []
        tx.ensure_may("succeed")  # a refunded payment is refused
        doc, _, changed = record_success(self.ctx, tx, proof, hold.appointment_id, client, consultant, completed=False)
        return doc, changed

    def settle_lost_hold(
        self, hold: Appointment, proof: Proof, client: Account, consultant: Account
    ) -> list[Aggregate]:
        """A payment whose slot was lost (late confirmation): Success, then refunded in full."""
        tx = self._matching(hold, proof)
        if tx.status == REFUNDED:
            return []
        changed: list[Aggregate] = []
        if tx.status == SUCCESS:
            earnings = self.ctx.earnings(tx.consultant_id or "")
        else:
            _, earnings, changed = record_success(
                self.ctx, tx, proof, hold.appointment_id, client, consultant, completed=False
            )
        return distinct([*changed, *record_refund(tx, earnings, "Slot lost before the booking was confirmed")])

    def _matching(self, hold: Appointment, proof: Proof) -> Transaction:
        tx = self.ctx.by_order(proof.order_id)
        if (
            tx is None
            or tx.kind != PAYMENT
            or tx.payment_method != proof.method
            or tx.user_id != hold.client_id
            or tx.consultant_id != hold.consultant_id
            or hold.appointment_id not in (tx.metadata.get("holdId"), tx.appointment_id)
            or tx.amount != exact(hold.fields.get("fee"))
        ):
            raise Invalid(MISMATCH)
        return tx

    def offline_payment(
        self,
        appointment_id: str,
        consultant: Account,
        client: Account,
        payment: dict[str, Any] | None,
        completed: bool,
        by_role: str = "Admin",
    ) -> tuple[dict[str, Any], list[Aggregate]]:
        """A direct booking's offline payment: a ledger transaction with fee and net from the
        commission. Only an admin records it `Success` (with its invoice, counted in the earnings);
        anyone else's is recorded `Pending` (`domain.ledger.offline_status`)."""
        if not payment or exact(payment.get("amount")) <= 0:
            if payment and payment.get("status") not in (None, PENDING, SUCCESS):
                raise Invalid("Offline payments may only be Pending or Success")
            return {"amount": 0, "status": PENDING, "method": "System"}, []
        status = offline_status(payment.get("status"), by_role)
        amount = exact(payment.get("amount"))
        fee, net = split_fee(amount, (consultant.profile.get("commission") or {}).get("platformPercent"))
        transaction_id = new_object_id()
        reference = (
            payment.get("transactionId")
            or f"TXN-{int(self.ctx.clock().timestamp() * 1000)}-{int.from_bytes(os.urandom(2), 'big') % 1000}"
        )
        profile = consultant.profile
        snapshots = {
            "userSnapshot": {
                "name": name(client),
                "email": client.profile.get("email", ""),
                "mobile": client.profile.get("mobile", ""),
            },
            "consultantSnapshot": {
                "name": name(consultant),
                "email": profile.get("email", ""),
                "mobile": profile.get("mobile") or profile.get("phone", ""),
                "category": (profile.get("category") or {}).get("name") or "General",
                "subcategory": (profile.get("subcategory") or {}).get("name") or "",
            },
        }
        tx = Transaction(
            transaction_id=transaction_id,
            kind=PAYMENT,
            status=status,
            amount=amount,
            platform_fee=fee,
            net_amount=net,
            currency=self.ctx.currency,
            user_id=client.account_id,
            consultant_id=consultant.account_id,
            appointment_id=appointment_id,
            payment_method=payment.get("method") or "System",
            reference=reference,
            metadata={"offline": True},
            snapshots=snapshots,
        )
        if status != SUCCESS:
            return {**payment_doc(self.ctx, tx), "status": PENDING}, [tx]
        doc, _, changed = record_success(
            self.ctx, tx, None, appointment_id, client, consultant, completed=completed, announce=False
        )
        return doc, changed

    def after_status_change(
        self, appointment: Appointment, before: str, by_role: str, now: datetime
    ) -> list[Aggregate]:
        """Money effects of an appointment's status change: completion counts its payment in the
        earnings; cancelling a paid Upcoming appointment refunds it per the refund rule; a paid
        hold that expired is refunded in full."""
        after = appointment.status
        tx_id = (appointment.fields.get("payment") or {}).get("transactionId")
        if not tx_id or before == after:
            return []
        try:
            tx = self.ctx.transaction(tx_id)
        except NotFound:
            return []
        earnings = self.ctx.earnings(appointment.consultant_id)
        changed: list[Aggregate] = []
        if COMPLETED in (before, after):
            earnings.set_completed(appointment.appointment_id, after == COMPLETED)
            changed.append(earnings)
        refund_due = tx.may("refund") and (
            (before == HOLD and after == EXPIRED)
            or (
                before == UPCOMING
                and after == CANCELLED
                and (
                    by_role in ("Consultant", "Admin")
                    or appointment.start - now
                    >= timedelta(hours=self.ctx.cancellation_window(appointment.consultant_id))
                )
            )
        )
        if refund_due:
            reason = "Hold expired after payment" if after == EXPIRED else f"Cancelled by {by_role}"
            changed += record_refund(tx, earnings, reason)
            appointment.update({"payment": {**(appointment.fields.get("payment") or {}), "status": REFUNDED}})
        return distinct(changed)

    def complete_refund_of_proof(self, proof: Proof) -> None:
        complete_refund_of_proof(self.ctx, proof)

    def complete_refunds_of(self, appointment_id: str) -> None:
        complete_refunds_of(self.ctx, appointment_id)
