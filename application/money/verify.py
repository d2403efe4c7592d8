"""Verify a payment: the gateway checks the proof, the order's payment moves Pending → Success once
(a replay answers the first verification) and is linked to its booking; a booking that is gone is
refunded at once."""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import Aggregate

from application.money.context import MISMATCH, MoneyContext, Proof, Who, distinct, order_of
from application.money.invoice import record_success
from application.money.refund import complete_refund, record_refund
from domain.appointments import COMPLETED, HOLD, UPCOMING
from domain.errors import Forbidden, Invalid, NotFound
from domain.ledger import (
    SUCCESS,
    Transaction,
    major_units,
)


class VerifyPayment:
    def __init__(self, ctx: MoneyContext):
        self.ctx = ctx

    def check_proof(
        self, method: str, proof: dict[str, Any], hold_id: str | None = None, client_id: str | None = None
    ) -> Proof:
        """Check a proof with the gateway (HMAC signature, or PayPal capture); 400 when it fails.
        With `hold_id`, an order that is not this client's order for this hold is refused before
        the gateway is asked (so nothing is captured for a booking it cannot pay)."""
        order_id = order_id_of(method, proof)
        tx = None
        if hold_id is not None:
            tx = self.ctx.by_order(order_id)
            if tx is None or tx.user_id != client_id or hold_id not in (tx.metadata.get("holdId"), tx.appointment_id):
                raise Invalid(MISMATCH)
        checked_id, reference, metadata = self.ctx.gateway.verify(method, proof)
        return Proof(
            method, checked_id, reference, metadata, tx.transaction_id if tx and checked_id == order_id else None
        )

    def verify(
        self, who: Who, method: str, raw_proof: dict[str, Any], transaction_id: str | None, appointment_id: str | None
    ) -> Transaction:
        """Mark the order's payment Success (once: a replay answers the first verification) and link
        it to its booking. A booking that is gone (expired hold, cancelled) is refunded at once.
        Lookups and ownership are checked before the gateway is asked."""
        order_id = order_id_of(method, raw_proof)
        found = self.ctx.transaction(transaction_id) if transaction_id else self.ctx.by_order(order_id)
        if found is None:
            raise NotFound("Transaction not found")
        if order_of(found) != order_id or found.payment_method != method:
            raise Invalid("Payment does not match this transaction")
        if who.role not in ("Admin",) and who.id != found.user_id:
            raise Forbidden("Forbidden: Access denied")
        proof = self.check_proof(method, raw_proof)

        def command() -> tuple[Transaction, list[Aggregate | None]]:
            tx = self.ctx.transaction(found.transaction_id)
            if not tx.may("succeed"):  # verified before (or refunded): the first answer stands
                return tx, []
            target_id = appointment_id or tx.metadata.get("holdId") or tx.appointment_id
            appointment = self.ctx.appointment(target_id)
            if appointment is not None and (
                appointment.client_id != tx.user_id or appointment.consultant_id != tx.consultant_id
            ):
                raise Invalid(MISMATCH)
            client, consultant = self.ctx.account(tx.user_id), self.ctx.account(tx.consultant_id)
            changed: list[Aggregate | None] = []
            doc, earnings, settled = record_success(
                self.ctx,
                tx,
                proof,
                appointment.appointment_id if appointment else None,
                client,
                consultant,
                completed=bool(appointment and appointment.status == COMPLETED),
            )
            changed += settled
            if appointment is not None:
                current = appointment.fields.get("payment") or {}
                if current.get("status") == SUCCESS and current.get("transactionId") != tx.transaction_id:
                    changed += record_refund(tx, earnings, "Duplicate payment: the booking was already paid")
                    return tx, distinct(changed)
                appointment.update({"payment": doc, "fee": major_units(tx.amount)})
                changed.append(appointment)
                if appointment.status not in (HOLD, UPCOMING, COMPLETED):  # expired hold or cancelled
                    changed += record_refund(tx, earnings, "Booking no longer held when the payment arrived")
            return tx, distinct(changed)

        tx = self.ctx.market.run(command)
        complete_refund(self.ctx, tx)
        return tx


def order_id_of(method: str, proof: dict[str, Any]) -> str:
    if method == "PayPal":
        if not proof.get("orderID"):
            raise Invalid("Missing PayPal order ID")
        return str(proof["orderID"])
    if not all(proof.get(k) for k in ("razorpay_order_id", "razorpay_payment_id", "razorpay_signature")):
        raise Invalid("Missing payment verification data")
    return str(proof["razorpay_order_id"])
