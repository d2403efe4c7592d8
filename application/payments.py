"""Money commands: gateway orders, payment verification, refunds, and the hooks the
booking commands call so that every change of money is saved in the same atomic write as the
booking change that causes it.

Idempotency is decided by the event store: an order id and a payout `referenceId` are claimed by
`UniqueKey` aggregates (deterministic ids), a payment moves Pending → Success once on its own
`Transaction` aggregate, and a refund's id is derived from the payment it refunds. Every change of
a consultant's earnings (payment success, refund, completion) is saved with its `Earnings`
aggregate, which payouts (`application/payouts.py`) check the remaining balance against.

Gateway calls that move money outward (refunds) happen after the write that records them: the
`Refund` transaction is recorded Pending with the refund decision, then the gateway carries it out
and the refund becomes Success; a failed call is retried with backoff (`application/refunds.py`)."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from eventsourcing.domain import Aggregate

from application.marketplace import Marketplace
from application.ports import PaymentGateway
from application.refunds import Refunds, RetryPolicy
from domain.accounts import Account, UniqueKey
from domain.appointments import CANCELLED, COMPLETED, EXPIRED, HOLD, UPCOMING, Appointment
from domain.errors import Forbidden, Invalid, NotFound
from domain.ids import aggregate_id, derived_object_id, is_object_id, key_id, new_object_id
from domain.ledger import (
    PAYMENT,
    PENDING,
    REFUND,
    REFUNDED,
    SUCCESS,
    Earnings,
    Transaction,
    exact,
    major_units,
    minor_units,
    offline_status,
    split_fee,
)
from domain.notifications import Notification, notify
from domain.settings import ConsultantSettings

log = logging.getLogger(__name__)
MISMATCH = "Payment does not match this booking"


@dataclass(frozen=True)
class Who:
    id: str
    role: str


@dataclass(frozen=True)
class Proof:
    """A payment proof the gateway has checked (signature verified, or PayPal order captured)."""

    method: str
    order_id: str
    reference: str  # Razorpay payment id / PayPal capture id
    metadata: dict[str, Any]


def _name(account: Account | None) -> str:
    if account is None:
        return ""
    profile = account.profile
    return str(profile.get("displayName") or profile.get("name") or profile.get("fullName") or "")


class Payments:
    def __init__(
        self,
        market: Marketplace,
        gateway: PaymentGateway,
        currency: str,
        zone: ZoneInfo,
        invoice_url: Callable[[str, str], str],
        clock: Callable[[], datetime] | None = None,
        refund_policy: RetryPolicy | None = None,
    ):
        self.market = market
        self.gateway = gateway
        self.currency = currency.upper()
        self.zone = zone
        self.invoice_url = invoice_url
        self.clock = clock or (lambda: datetime.now(UTC))
        self.refunds = Refunds(market, lambda: self.gateway, refund_policy or RetryPolicy(), lambda: self.clock())

    # -- loading ----------------------------------------------------------------------------------

    def transaction(self, transaction_id: str) -> Transaction:
        return self.market.transaction(transaction_id)

    def by_order(self, order_id: str) -> Transaction | None:
        key = self.market.find(key_id("unique:order:" + order_id))
        if not isinstance(key, UniqueKey) or key.owner is None:
            return None
        return self.transaction(key.owner)

    def _account(self, account_id: str | None) -> Account | None:
        found = self.market.find(aggregate_id(account_id)) if account_id and is_object_id(account_id) else None
        return found if isinstance(found, Account) else None

    def _appointment(self, appointment_id: str | None) -> Appointment | None:
        found = (
            self.market.find(aggregate_id(appointment_id)) if appointment_id and is_object_id(appointment_id) else None
        )
        return found if isinstance(found, Appointment) and not found.deleted else None

    def _earnings(self, consultant_id: str) -> Earnings:
        found = self.market.find(key_id("earnings:" + consultant_id), snapshotted=True)
        return found if isinstance(found, Earnings) else Earnings(consultant_id=consultant_id)

    def _cancellation_window(self, consultant_id: str) -> float:
        found = self.market.find(key_id("settings:" + consultant_id))
        availability = found.availability if isinstance(found, ConsultantSettings) else {}
        return float((availability.get("cancellation") or {}).get("cancellationWindow", 24) or 0)

    # -- orders -----------------------------------------------------------------------------------

    def create_order(
        self,
        who: Who,
        amount: Decimal | None,
        hold_id: str | None,
        appointment_id: str | None,
        consultant_id: str | None,
        currency: str | None,
        method: str | None,
    ) -> dict[str, Any]:
        """A gateway order for the booking's fee (never the amount the client sent) and its Pending
        Payment transaction, with platform fee and net from the consultant's commission now."""
        if amount is None or amount <= 0:
            raise Invalid("Invalid amount")
        if not hold_id and not appointment_id:
            raise Invalid("Appointment ID or Hold ID is required")
        if currency and currency.upper() != self.currency:
            raise Invalid(f"Unsupported currency: payments are accepted in {self.currency} only")
        if who.role not in ("Client", "Consultant", "Admin"):
            raise Forbidden("Forbidden: Access denied")
        target = self._appointment(hold_id or appointment_id)
        if target is None:
            raise Invalid("Booking hold expired or invalid") if hold_id else NotFound("Appointment not found")
        if (who.role == "Client" and target.client_id != who.id) or (
            who.role == "Consultant" and target.consultant_id != who.id
        ):
            raise Forbidden("Forbidden: Access denied")
        if hold_id and not target.hold_is_live(self.clock()):
            raise Invalid("Booking hold expired or invalid")
        if not hold_id and (
            target.status not in (UPCOMING, COMPLETED) or (target.fields.get("payment") or {}).get("status") == SUCCESS
        ):
            raise Invalid("Appointment is already paid or not payable")
        if consultant_id and consultant_id.lower() != target.consultant_id:
            raise Invalid("Consultant does not match the booking")
        price = exact(target.fields.get("fee"))
        if price <= 0:
            raise Invalid("This booking has no fee to pay")
        consultant = self._account(target.consultant_id)
        percent = (consultant.profile.get("commission") or {}).get("platformPercent") if consultant else 0
        fee, net = split_fee(price, percent)
        method = "PayPal" if method == "PayPal" else "Razorpay"
        prefix, ref = ("HOLD", hold_id) if hold_id else ("APPT", appointment_id)
        receipt = f"{prefix}_{(ref or '')[-12:]}_{str(int(time.time() * 1000))[-8:]}"[:40]
        notes = {
            "appointmentId": appointment_id or "",
            "holdId": hold_id or "",
            "consultantId": target.consultant_id,
            "clientId": target.client_id,
            "userId": who.id,
        }
        order = self.gateway.create_order(method, minor_units(price), self.currency, receipt, notes)
        metadata: dict[str, Any] = (
            {"razorpayOrderId": order.order_id, "razorpayReceipt": receipt}
            if method == "Razorpay"
            else {"paypalOrderId": order.order_id}
        )
        if hold_id:
            metadata["holdId"] = hold_id

        def record() -> tuple[str, list[Aggregate | None]]:
            """Built afresh in each attempt: a retry after a version conflict decides from a fresh load."""
            claimed = self.market.find(key_id("unique:order:" + order.order_id))
            if isinstance(claimed, UniqueKey) and claimed.owner:  # this order is recorded already: once
                return str(claimed.owner), []
            if hold_id:
                held = self._appointment(hold_id)
                if held is None or not held.hold_is_live(self.clock()):
                    raise Invalid("Booking hold expired or invalid")
            transaction_id = new_object_id()
            transaction = Transaction(
                transaction_id=transaction_id,
                kind=PAYMENT,
                status=PENDING,
                amount=price,
                platform_fee=fee,
                net_amount=net,
                currency=self.currency,
                user_id=target.client_id,
                consultant_id=target.consultant_id,
                appointment_id=None if hold_id else appointment_id,
                payment_method=method,
                reference=order.order_id,
                metadata=metadata,
                snapshots={},
            )
            key = UniqueKey(key="order:" + order.order_id, owner=transaction_id)
            return transaction_id, [transaction, key]

        transaction_id = self.market.run(record)
        if method == "PayPal":
            return {
                "orderId": order.order_id,
                "amount": major_units(price),
                "currency": self.currency,
                "paymentMethod": "PayPal",
                "transactionId": transaction_id,
            }
        return {
            "orderId": order.order_id,
            "amount": order.amount_minor,
            "currency": order.currency,
            "key": self.gateway.key_id,
            "transactionId": transaction_id,
        }

    @staticmethod
    def _order_id(method: str, proof: dict[str, Any]) -> str:
        if method == "PayPal":
            if not proof.get("orderID"):
                raise Invalid("Missing PayPal order ID")
            return str(proof["orderID"])
        if not all(proof.get(k) for k in ("razorpay_order_id", "razorpay_payment_id", "razorpay_signature")):
            raise Invalid("Missing payment verification data")
        return str(proof["razorpay_order_id"])

    def check_proof(
        self, method: str, proof: dict[str, Any], hold_id: str | None = None, client_id: str | None = None
    ) -> Proof:
        """Check a proof with the gateway (HMAC signature, or PayPal capture); 400 when it fails.
        With `hold_id`, an order that is not this client's order for this hold is refused before
        the gateway is asked (so nothing is captured for a booking it cannot pay)."""
        order_id = self._order_id(method, proof)
        if hold_id is not None:
            tx = self.by_order(order_id)
            if tx is None or tx.user_id != client_id or hold_id not in (tx.metadata.get("holdId"), tx.appointment_id):
                raise Invalid(MISMATCH)
        order_id, reference, metadata = self.gateway.verify(method, proof)
        return Proof(method, order_id, reference, metadata)

    # -- verification -------------------------------------------------------------------------------

    def verify(
        self, who: Who, method: str, raw_proof: dict[str, Any], transaction_id: str | None, appointment_id: str | None
    ) -> Transaction:
        """Mark the order's payment Success (once: a replay answers the first verification) and link
        it to its booking. A booking that is gone (expired hold, cancelled) is refunded at once.
        Lookups and ownership are checked before the gateway is asked."""
        order_id = self._order_id(method, raw_proof)
        found = self.transaction(transaction_id) if transaction_id else self.by_order(order_id)
        if found is None:
            raise NotFound("Transaction not found")
        if _order_of(found) != order_id or found.payment_method != method:
            raise Invalid("Payment does not match this transaction")
        if who.role not in ("Admin",) and who.id != found.user_id:
            raise Forbidden("Forbidden: Access denied")
        proof = self.check_proof(method, raw_proof)

        def command() -> tuple[Transaction, list[Aggregate | None]]:
            tx = self.transaction(found.transaction_id)
            if not tx.may("succeed"):  # verified before (or refunded): the first answer stands
                return tx, []
            target_id = appointment_id or tx.metadata.get("holdId") or tx.appointment_id
            appointment = self._appointment(target_id)
            if appointment is not None and (
                appointment.client_id != tx.user_id or appointment.consultant_id != tx.consultant_id
            ):
                raise Invalid(MISMATCH)
            client, consultant = self._account(tx.user_id), self._account(tx.consultant_id)
            changed: list[Aggregate | None] = []
            doc, earnings, settled = self._succeed(
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
                    changed += self._refund(tx, earnings, "Duplicate payment: the booking was already paid")
                    return tx, _distinct(changed)
                appointment.update({"payment": doc, "fee": major_units(tx.amount)})
                changed.append(appointment)
                if appointment.status not in (HOLD, UPCOMING, COMPLETED):  # expired hold or cancelled
                    changed += self._refund(tx, earnings, "Booking no longer held when the payment arrived")
            return tx, _distinct(changed)

        tx = self.market.run(command)
        self.complete_refund(tx)
        return tx

    def _succeed(
        self,
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
        now = self.clock()
        if proof is not None:
            tx.succeed(proof.reference, {**proof.metadata, "verifiedAt": _iso(now)}, appointment_id)
        key = f"invoices/{now.astimezone(self.zone).year}/{tx.transaction_id}.pdf"
        local = now.astimezone(self.zone)
        stem = re.sub(r"[^A-Za-z0-9]+", "_", _name(consultant)).strip("_") or "Consultant"
        tx.issue_invoice(key, f"INVOICE-{stem}-{local:%Y-%m-%d}-{local:%H-%M}.pdf")
        earnings = self._earnings(tx.consultant_id or "")
        earnings.count_payment(tx.transaction_id, tx.appointment_id, tx.net_amount)
        if completed and tx.appointment_id:
            earnings.set_completed(tx.appointment_id, True)
        url = self.invoice_url(key, tx.invoice_filename or "")
        doc = {
            "amount": major_units(tx.amount),
            "status": SUCCESS,
            "method": tx.payment_method,
            "transactionId": tx.transaction_id,
            "invoiceUrl": url,
            "platformFee": major_units(tx.platform_fee),
            "netAmount": major_units(tx.net_amount),
        }
        notices: list[Aggregate] = list(self._payment_notices(tx, client, consultant, url)) if announce else []
        return doc, earnings, [tx, earnings, *notices]

    def _payment_notices(
        self, tx: Transaction, client: Account | None, consultant: Account | None, url: str
    ) -> list[Notification]:
        """Contract availability §6.2: "Payment Received" to the admins, "Payment Successful" to the client."""
        amount = major_units(tx.amount)
        return [
            notify(
                None,
                {
                    "name": "Payment Received",
                    "message": f"Payment of ₹{amount} received from "
                    f"{_name(client)} for appointment with {_name(consultant)}.",
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

    # -- hooks of the booking commands (aggregates saved in the booking's atomic write) ------------

    def settle_for_hold(
        self, hold: Appointment, proof: Proof, client: Account, consultant: Account
    ) -> tuple[dict[str, Any], list[Aggregate]]:
        """The hold's payment: the proof's order must be this hold's, this client's and this amount.
        Returns the appointment's `payment` document and the aggregates to save (none when the
        payment was already recorded, by `/payments/verify` or an earlier confirmation)."""
        tx = self._matching(hold, proof)
        if tx.status == SUCCESS:
            return self._payment_doc(tx), []
        tx.ensure_may("succeed")  # a refunded payment is refused
        doc, _, changed = self._succeed(tx, proof, hold.appointment_id, client, consultant, completed=False)
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
            earnings = self._earnings(tx.consultant_id or "")
        else:
            _, earnings, changed = self._succeed(tx, proof, hold.appointment_id, client, consultant, completed=False)
        return _distinct([*changed, *self._refund(tx, earnings, "Slot lost before the booking was confirmed")])

    def _matching(self, hold: Appointment, proof: Proof) -> Transaction:
        tx = self.by_order(proof.order_id)
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
            or f"TXN-{int(time.time() * 1000)}-{int.from_bytes(os.urandom(2), 'big') % 1000}"
        )
        profile = consultant.profile
        snapshots = {
            "userSnapshot": {
                "name": _name(client),
                "email": client.profile.get("email", ""),
                "mobile": client.profile.get("mobile", ""),
            },
            "consultantSnapshot": {
                "name": _name(consultant),
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
            currency=self.currency,
            user_id=client.account_id,
            consultant_id=consultant.account_id,
            appointment_id=appointment_id,
            payment_method=payment.get("method") or "System",
            reference=reference,
            metadata={"offline": True},
            snapshots=snapshots,
        )
        if status != SUCCESS:
            return {**self._payment_doc(tx), "status": PENDING}, [tx]
        doc, _, changed = self._succeed(
            tx, None, appointment_id, client, consultant, completed=completed, announce=False
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
            tx = self.transaction(tx_id)
        except NotFound:
            return []
        earnings = self._earnings(appointment.consultant_id)
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
                    or appointment.start - now >= timedelta(hours=self._cancellation_window(appointment.consultant_id))
                )
            )
        )
        if refund_due:
            reason = "Hold expired after payment" if after == EXPIRED else f"Cancelled by {by_role}"
            changed += self._refund(tx, earnings, reason)
            appointment.update({"payment": {**(appointment.fields.get("payment") or {}), "status": REFUNDED}})
        return _distinct(changed)

    # -- refunds ------------------------------------------------------------------------------------

    def _refund(self, payment: Transaction, earnings: Earnings, reason: str) -> list[Aggregate]:
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

    def complete_refund(self, payment: Transaction | str | None) -> None:
        """Carry out a recorded Pending refund through the gateway (after the write that decided it):
        its first attempt; failed attempts are retried by the scheduler (`application/refunds.py`)."""
        payment_id = payment.transaction_id if isinstance(payment, Transaction) else payment
        if not payment_id:
            return
        try:
            self.refunds.attempt(derived_object_id("refund", payment_id))
        except Exception:  # the refund stays Pending: the scheduler tries it again
            log.exception("refund of %s could not be attempted now", payment_id)

    def complete_refund_of_proof(self, proof: Proof) -> None:
        self.complete_refund(self.by_order(proof.order_id))

    def complete_refunds_of(self, appointment_id: str) -> None:
        appointment = self.market.find(aggregate_id(appointment_id))
        if isinstance(appointment, Appointment):
            self.complete_refund((appointment.fields.get("payment") or {}).get("transactionId"))

    def _payment_doc(self, tx: Transaction) -> dict[str, Any]:
        doc = {
            "amount": major_units(tx.amount),
            "status": tx.status,
            "method": tx.payment_method,
            "transactionId": tx.transaction_id,
            "platformFee": major_units(tx.platform_fee),
            "netAmount": major_units(tx.net_amount),
        }
        if tx.invoice_key:
            doc["invoiceUrl"] = self.invoice_url(tx.invoice_key, tx.invoice_filename or "")
        return doc


def _distinct(aggregates: list[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for aggregate in aggregates:
        if aggregate is not None:
            seen.setdefault(id(aggregate), aggregate)
    return list(seen.values())


def _order_of(tx: Transaction) -> str | None:
    return tx.metadata.get("razorpayOrderId") or tx.metadata.get("paypalOrderId")


def _iso(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
