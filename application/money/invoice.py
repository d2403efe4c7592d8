"""A payment's success: Pending → Success with its invoice, counted in the consultant's earnings,
announced to the client and the admins; and the appointment's `payment` document of a transaction."""

from __future__ import annotations

import re
from typing import Any

from eventsourcing.domain import Aggregate

from application.money.context import MoneyContext, Proof, iso, name
from domain.accounts import Account
from domain.ledger import (
    SUCCESS,
    Earnings,
    Transaction,
    major_units,
)
from domain.notifications import Notification, notify


def record_success(
    ctx: MoneyContext,
    tx: Transaction,
    proof: Proof | None,
    appointment_id: str | None,
    client: Account | None,
    consultant: Account | None,
    *,
    completed: bool,
    announce: bool = True,
) -> tuple[dict[str, Any], Earnings, list[Aggregate]]:
    """Pending → Success with its invoice, counted in the consultant's earnings, announced."""
    now = ctx.clock()
    if proof is not None:
        tx.succeed(proof.reference, {**proof.metadata, "verifiedAt": iso(now)}, appointment_id)
    key = f"invoices/{now.astimezone(ctx.zone).year}/{tx.transaction_id}.pdf"
    local = now.astimezone(ctx.zone)
    stem = re.sub(r"[^A-Za-z0-9]+", "_", name(consultant)).strip("_") or "Consultant"
    tx.issue_invoice(key, f"INVOICE-{stem}-{local:%Y-%m-%d}-{local:%H-%M}.pdf")
    earnings = ctx.earnings(tx.consultant_id or "")
    earnings.count_payment(tx.transaction_id, tx.appointment_id, tx.net_amount)
    if completed and tx.appointment_id:
        earnings.set_completed(tx.appointment_id, True)
    url = ctx.invoice_url(key, tx.invoice_filename or "")
    doc = {
        "amount": major_units(tx.amount),
        "status": SUCCESS,
        "method": tx.payment_method,
        "transactionId": tx.transaction_id,
        "invoiceUrl": url,
        "platformFee": major_units(tx.platform_fee),
        "netAmount": major_units(tx.net_amount),
    }
    notices: list[Aggregate] = list(payment_notices(ctx, tx, client, consultant, url)) if announce else []
    return doc, earnings, [tx, earnings, *notices]


def payment_notices(
    ctx: MoneyContext, tx: Transaction, client: Account | None, consultant: Account | None, url: str
) -> list[Notification]:
    """Contract availability §6.2: "Payment Received" to the admins, "Payment Successful" to the client."""
    amount = major_units(tx.amount)
    return [
        notify(
            None,
            {
                "name": "Payment Received",
                "message": f"Payment of ₹{amount} received from "
                f"{name(client)} for appointment with {name(consultant)}.",
                "type": "payment",
                "category": "payments",
                "priority": "high",
                "actionUrl": "/admin/revenue",
                "actionLabel": "View Revenue",
            },
            recipient_role="Admin",
        ),
        notify(
            tx.user_id,
            {
                "name": "Payment Successful",
                "message": f"Your payment of ₹{amount} was successful.",
                "type": "payment",
                "category": "payments",
                "priority": "normal",
                "actionUrl": f"{url}&view=inline",
                "actionLabel": "View Receipt",
                "relatedId": tx.transaction_id,
                "relatedType": "payment",
            },
        ),
    ]


def payment_doc(ctx: MoneyContext, tx: Transaction) -> dict[str, Any]:
    doc = {
        "amount": major_units(tx.amount),
        "status": tx.status,
        "method": tx.payment_method,
        "transactionId": tx.transaction_id,
        "platformFee": major_units(tx.platform_fee),
        "netAmount": major_units(tx.net_amount),
    }
    if tx.invoice_key:
        doc["invoiceUrl"] = ctx.invoice_url(tx.invoice_key, tx.invoice_filename or "")
    return doc
