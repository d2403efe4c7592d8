"""Refunds: the decision is recorded in the write that causes it (payment → Refunded, a Pending
`Refund` transaction, the payment out of the earnings); the gateway then carries it out after that
write, and a failed call is retried with backoff (`application/refunds.py`)."""

from __future__ import annotations

import logging

from eventsourcing.domain import Aggregate

from application.money.context import MoneyContext, Proof
from domain.appointments import Appointment
from domain.ids import aggregate_id, derived_object_id
from domain.ledger import (
    PENDING,
    REFUND,
    Earnings,
    Transaction,
)

log = logging.getLogger(__name__)


def record_refund(payment: Transaction, earnings: Earnings, reason: str) -> list[Aggregate]:
    """Record the refund decision: payment → Refunded, a Pending `Refund` transaction (id derived
    from the payment, so it is recorded once), the payment out of the earnings."""
    refund_id = derived_object_id("refund", payment.transaction_id)
    refund = Transaction(
        transaction_id=refund_id,
        kind=REFUND,
        status=PENDING,
        amount=payment.amount,
        platform_fee=payment.platform_fee,
        net_amount=payment.net_amount,
        currency=payment.currency,
        user_id=payment.user_id,
        consultant_id=payment.consultant_id,
        appointment_id=payment.appointment_id,
        payment_method=payment.payment_method,
        reference="",
        metadata={"refundOf": payment.transaction_id, "paymentReference": payment.reference, "reason": reason},
        snapshots={},
    )
    payment.mark_refunded(refund_id)
    earnings.withdraw(payment.transaction_id)
    return [payment, refund, earnings]


def complete_refund(ctx: MoneyContext, payment: Transaction | str | None) -> None:
    """Carry out a recorded Pending refund through the gateway (after the write that decided it):
    its first attempt; failed attempts are retried by the scheduler (`application/refunds.py`)."""
    payment_id = payment.transaction_id if isinstance(payment, Transaction) else payment
    if not payment_id:
        return
    try:
        ctx.refunds.attempt(derived_object_id("refund", payment_id))
    except Exception:  # the refund stays Pending: the scheduler tries it again
        log.exception("refund of %s could not be attempted now", payment_id)


def complete_refund_of_proof(ctx: MoneyContext, proof: Proof) -> None:
    complete_refund(ctx, ctx.by_order(proof.order_id))


def complete_refunds_of(ctx: MoneyContext, appointment_id: str) -> None:
    appointment = ctx.market.find(aggregate_id(appointment_id))
    if isinstance(appointment, Appointment):
        complete_refund(ctx, (appointment.fields.get("payment") or {}).get("transactionId"))
