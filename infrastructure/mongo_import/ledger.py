"""The money history of an import: `transactions` (contract mongo-import §2.7, §4 H1, H2, H9, H10,
H16, H18) and the consultants' `Earnings` kept consistent with it."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlparse

from domain.accounts import UniqueKey
from domain.ids import aggregate_id, key_id
from domain.ledger import KINDS, PAYMENT, PAYOUT, STATUSES, SUCCESS, Earnings, Transaction
from infrastructure.mongo_import.accounts import times
from infrastructure.mongo_import.bookings import BookingImport
from infrastructure.mongo_import.values import Report, money, plain
from infrastructure.mongo_import.writer import create, trigger


def invoice_of(url: Any) -> tuple[str, str] | None:
    """`(key, filename)` of the original's invoice proxy URL (`...?key=invoices/...&filename=...`)."""
    if not isinstance(url, str) or not url:
        return None
    query = parse_qs(urlparse(url).query)
    key = (query.get("key") or [""])[0]
    if not key:
        return None
    return key, (query.get("filename") or [key.rsplit("/", 1)[-1]])[0]


class LedgerImport:
    def __init__(self, bookings: BookingImport, report: Report, currency: str):
        self.bookings = bookings
        self.writer = bookings.writer
        self.ids = bookings.ids
        self.report = report
        self.currency = currency
        self.payouts: dict[str, list[tuple[datetime, Decimal, str]]] = defaultdict(list)
        self.cancelled_paid = 0
        self.other_currency = 0
        self.references: set[str] = set()

    def transaction(self, document: dict[str, Any]) -> None:
        collection, ident = "transactions", str(document["_id"])
        created, updated = times(collection, document, self.report)
        warn = lambda reason: self.report.warn(collection, ident, reason)  # noqa: E731
        kind = document.get("type")
        if kind not in KINDS:
            warn(f"type {kind!r} is not known; recorded as Payment" if kind is not None else "no type; Payment")
            kind = PAYMENT
        status = document.get("status")
        if status not in STATUSES:
            warn(f"status {status!r} is not known; recorded as Pending" if status is not None else "no status; Pending")
            status = "Pending"
        consultant = self.bookings.consultant_of(
            collection, ident, document.get("consultant"), document.get("consultantSnapshot"), created
        )
        amount, reason = money(document.get("amount"), "amount")
        if reason:
            warn(reason)
        fee, reason = money(document.get("platformFee"), "platformFee")
        if reason:
            warn(reason)
        if "netAmount" in document and document["netAmount"] is not None:
            net, reason = money(document.get("netAmount"), "netAmount")
            if reason:
                warn(reason)
        else:
            net = amount - fee
            warn(f"no netAmount; recorded as amount - platformFee = {net} (D2)")
        appointment = document.get("appointment")
        appointment_id: str | None = None
        if appointment is not None:
            found = self.bookings.appointments.get(str(appointment))
            if found is None:
                warn(f"appointment {appointment} does not exist; recorded without appointment")
            else:
                appointment_id = str(appointment)
                if found[1] == "Cancelled" and kind == PAYMENT and status == SUCCESS:
                    self.cancelled_paid += 1
        currency = document.get("currency")
        if not isinstance(currency, str) or not currency.strip():
            currency = self.currency
            warn(f"no currency; recorded as {self.currency}")
        elif currency != self.currency:
            self.other_currency += 1
            warn(f"currency {currency} is not the platform currency; recorded as is (D8)")
        user: Any = document.get("user")
        if kind == PAYMENT and user is not None:
            resolved, reason = self.ids.client(user)
            if reason:
                warn(reason)
            user = resolved or str(user)
        if self.writer.exists(aggregate_id(ident)):
            self.report.present(collection)
            return
        snapshots = {k: plain(document[k]) for k in ("userSnapshot", "consultantSnapshot") if k in document}
        metadata = plain(document.get("metadata")) if isinstance(document.get("metadata"), dict) else {}
        transaction = create(
            Transaction,
            Transaction.Recorded,
            created,
            transaction_id=ident,
            kind=kind,
            status=status,
            amount=amount,
            platform_fee=fee,
            net_amount=net,
            currency=currency,
            user_id=None if user is None else str(user),
            consultant_id=consultant,
            appointment_id=appointment_id,
            payment_method=str(document.get("paymentMethod") or ""),
            reference=str(document.get("transactionId") or ""),
            metadata=metadata,
            snapshots=snapshots,
        )
        invoice = invoice_of(document.get("invoiceUrl"))
        if invoice is not None:
            trigger(transaction, Transaction.InvoiceIssued, updated, key=invoice[0], filename=invoice[1])
        elif document.get("invoiceUrl"):
            warn("invoiceUrl is not an invoice proxy URL; not kept")
        claims = []
        reference_id = metadata.get("referenceId")
        if kind == PAYOUT and isinstance(reference_id, str) and reference_id.strip():
            key = "payout:" + reference_id.strip()  # the payout route's idempotency key (H10)
            if key in self.references or self.writer.load(key_id("unique:" + key)) is not None:
                warn(f"referenceId {reference_id!r} already names another payout; not its idempotency key")
            else:
                self.references.add(key)
                claims.append(create(UniqueKey, UniqueKey.Claimed, created, key=key, owner=ident))
        self.writer.add(transaction, *claims)
        self.report.imported(collection)
        if consultant is None or status != SUCCESS:
            return
        if kind == PAYMENT:
            earnings = self.bookings.earnings_of(consultant, created)
            trigger(earnings, Earnings.PaymentCounted, created, transaction_id=ident, appointment_id=appointment_id,
                    net_amount=net)  # fmt: skip
        elif kind == PAYOUT:
            earnings = self.bookings.earnings_of(consultant, created)
            trigger(earnings, Earnings.PaidOut, created, transaction_id=ident, amount=amount)
            self.payouts[consultant].append((created, amount, ident))

    def finish(self) -> None:
        """The history's payout hazards (H10), named once all of it is read."""
        for payouts in self.payouts.values():
            payouts.sort()
            for (before, amount, first), (after, again, second) in zip(payouts, payouts[1:], strict=False):
                if amount == again and after - before <= timedelta(minutes=1):
                    self.report.warn("transactions", second, f"same amount as payout {first} within a minute")
        for consultant, earnings in self.bookings.earnings.items():
            if earnings.remaining < 0:
                self.report.warn(
                    "consultants", consultant, f"payouts exceed earnings: remaining balance {earnings.remaining} (H10)"
                )
        if self.cancelled_paid:
            self.report.note(f"transactions: {self.cancelled_paid} successful payments of cancelled appointments (H9)")
        if self.other_currency:
            self.report.note(f"transactions: {self.other_currency} in a currency other than {self.currency} (D8)")
