"""The money ledger: every payment, refund, payout and adjustment is a `Transaction` aggregate.

Amounts are exact `Decimal`s in major units (rupees, two places); JSON renders them as numbers.
`platform_fee` and `net_amount` are fixed from the consultant's commission when the transaction is
recorded and never change afterwards. The events below are what the read models and the DuckDB
reporting store are built from, so their names and fields are part of the ledger's history: add
new events or new optional fields, never rename or drop one.

`Recorded` carries the whole first state; later events carry only what changed. `Succeeded`
moves a Pending payment to Success (and may link it to the appointment it paid for);
`Refunded` marks a payment refunded by the `Refund` transaction whose id it names."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.ids import aggregate_id

PAYMENT, REFUND, PAYOUT, ADJUSTMENT = "Payment", "Refund", "Payout", "Adjustment"
PENDING, SUCCESS, FAILED, REFUNDED = "Pending", "Success", "Failed", "Refunded"
KINDS = (PAYMENT, REFUND, PAYOUT, ADJUSTMENT)
STATUSES = (PENDING, SUCCESS, FAILED, REFUNDED)
CENT = Decimal("0.01")


def exact(value: Any) -> Decimal:
    """A money amount, exact to the cent (half-up, as the existing clients round)."""
    return Decimal(str(value if value is not None else 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def split_fee(amount: Decimal, platform_percent: Any) -> tuple[Decimal, Decimal]:
    """(platform fee, consultant's net) of an amount under a commission percentage.

    The existing backend rounds the fee to whole currency units, half up (JS `Math.round`)."""
    percent = Decimal(str(platform_percent or 0))
    if percent <= 0:
        return Decimal("0.00"), amount
    fee = (amount * percent / 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP).quantize(CENT)
    return fee, amount - fee


class Transaction(Aggregate):
    @staticmethod
    def create_id(transaction_id: str) -> UUID:  # type: ignore[override]
        return aggregate_id(transaction_id)

    @event("Recorded")
    def __init__(
        self,
        transaction_id: str,
        kind: str,
        status: str,
        amount: Decimal,
        platform_fee: Decimal,
        net_amount: Decimal,
        currency: str,
        user_id: str | None,
        consultant_id: str | None,
        appointment_id: str | None,
        payment_method: str,
        reference: str,
        metadata: dict[str, Any],
        snapshots: dict[str, Any],
    ) -> None:
        self.transaction_id = transaction_id
        self.kind = kind
        self.status = status
        self.amount = amount
        self.platform_fee = platform_fee
        self.net_amount = net_amount
        self.currency = currency
        self.user_id = user_id
        self.consultant_id = consultant_id
        self.appointment_id = appointment_id
        self.payment_method = payment_method
        self.reference = reference  # gateway order id, then the payment/capture id once paid
        self.metadata = dict(metadata)
        self.snapshots = dict(snapshots)  # userSnapshot / consultantSnapshot of direct bookings
        self.invoice_key: str | None = None
        self.invoice_filename: str | None = None
        self.refund_id: str | None = None

    @event("Succeeded")
    def succeed(self, reference: str, metadata: dict[str, Any], appointment_id: str | None) -> None:
        self.status = SUCCESS
        self.reference = reference
        self.metadata = {**self.metadata, **metadata}
        if appointment_id is not None:
            self.appointment_id = appointment_id

    @event("Failed")
    def fail(self, metadata: dict[str, Any]) -> None:
        self.status = FAILED
        self.metadata = {**self.metadata, **metadata}

    @event("Refunded")
    def mark_refunded(self, refund_id: str) -> None:
        self.status = REFUNDED
        self.refund_id = refund_id

    @event("InvoiceIssued")
    def issue_invoice(self, key: str, filename: str) -> None:
        self.invoice_key = key
        self.invoice_filename = filename
