"""Create a gateway order for a booking's fee (never the amount the client sent) and record its
Pending Payment transaction, with platform fee and net from the consultant's commission now."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from eventsourcing.domain import Aggregate

from application.money.context import MoneyContext, Who, order_claim_id
from domain.accounts import Account, UniqueKey
from domain.appointments import COMPLETED, UPCOMING, Appointment
from domain.errors import Forbidden, Invalid, NotFound
from domain.ids import aggregate_id, is_object_id, new_object_id
from domain.ledger import (
    PAYMENT,
    PENDING,
    SUCCESS,
    Transaction,
    exact,
    major_units,
    minor_units,
    split_fee,
)


class CreateOrder:
    def __init__(self, ctx: MoneyContext):
        self.ctx = ctx

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
        if currency and currency.upper() != self.ctx.currency:
            raise Invalid(f"Unsupported currency: payments are accepted in {self.ctx.currency} only")
        if who.role not in ("Client", "Consultant", "Admin"):
            raise Forbidden("Forbidden: Access denied")

        def payable() -> tuple[Appointment, Account | None]:
            """The booking and its consultant, checked. The booking and the consultant the request
            names are read in one query (the attempt's later loads take them from it)."""
            named = [i for i in (hold_id or appointment_id, consultant_id and consultant_id.lower()) if i]
            self.ctx.market.find_many([aggregate_id(i) for i in named if is_object_id(i)], readonly=True)
            target = self.ctx.appointment(hold_id or appointment_id)
            if target is None:
                raise Invalid("Booking hold expired or invalid") if hold_id else NotFound("Appointment not found")
            if (who.role == "Client" and target.client_id != who.id) or (
                who.role == "Consultant" and target.consultant_id != who.id
            ):
                raise Forbidden("Forbidden: Access denied")
            if hold_id and not target.hold_is_live(self.ctx.clock()):
                raise Invalid("Booking hold expired or invalid")
            if not hold_id and (
                target.status not in (UPCOMING, COMPLETED)
                or (target.fields.get("payment") or {}).get("status") == SUCCESS
            ):
                raise Invalid("Appointment is already paid or not payable")
            if consultant_id and consultant_id.lower() != target.consultant_id:
                raise Invalid("Consultant does not match the booking")
            return target, self.ctx.account(target.consultant_id)

        target, consultant = self.ctx.market.evaluate(payable)
        price = exact(target.fields.get("fee"))
        if price <= 0:
            raise Invalid("This booking has no fee to pay")
        percent = (consultant.profile.get("commission") or {}).get("platformPercent") if consultant else 0
        fee, net = split_fee(price, percent)
        method = "PayPal" if method == "PayPal" else "Razorpay"
        prefix, ref = ("HOLD", hold_id) if hold_id else ("APPT", appointment_id)
        receipt = f"{prefix}_{(ref or '')[-12:]}_{str(int(self.ctx.clock().timestamp() * 1000))[-8:]}"[:40]
        notes = {
            "appointmentId": appointment_id or "",
            "holdId": hold_id or "",
            "consultantId": target.consultant_id,
            "clientId": target.client_id,
            "userId": who.id,
        }
        order = self.ctx.gateway.create_order(method, minor_units(price), self.ctx.currency, receipt, notes)
        metadata: dict[str, Any] = (
            {"razorpayOrderId": order.order_id, "razorpayReceipt": receipt}
            if method == "Razorpay"
            else {"paypalOrderId": order.order_id}
        )
        if hold_id:
            metadata["holdId"] = hold_id

        def record() -> tuple[str, list[Aggregate | None]]:
            """Built afresh in each attempt: a retry after a version conflict decides from a fresh load."""
            claim = order_claim_id(order.order_id)
            self.ctx.market.find_many([claim, *([aggregate_id(hold_id)] if hold_id else [])], readonly=True)
            claimed = self.ctx.market.find(claim)
            if isinstance(claimed, UniqueKey) and claimed.owner:  # this order is recorded already: once
                return str(claimed.owner), []
            if hold_id:
                held = self.ctx.appointment(hold_id)
                if held is None or not held.hold_is_live(self.ctx.clock()):
                    raise Invalid("Booking hold expired or invalid")
            transaction_id = new_object_id()
            transaction = Transaction(
                transaction_id=transaction_id,
                kind=PAYMENT,
                status=PENDING,
                amount=price,
                platform_fee=fee,
                net_amount=net,
                currency=self.ctx.currency,
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

        transaction_id = self.ctx.market.run(record)
        if method == "PayPal":
            return {
                "orderId": order.order_id,
                "amount": major_units(price),
                "currency": self.ctx.currency,
                "paymentMethod": "PayPal",
                "transactionId": transaction_id,
            }
        return {
            "orderId": order.order_id,
            "amount": order.amount_minor,
            "currency": order.currency,
            "key": self.ctx.gateway.key_id,
            "transactionId": transaction_id,
        }
