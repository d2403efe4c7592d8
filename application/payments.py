"""The money use cases behind one entry point for the routers, the booking commands (as their
`BookingMoney` port) and the scheduler. No logic lives here: each command is a module of
`application/money/` (order, verify, invoice, refund, booking_money), sharing `MoneyContext`.

Gateway calls that move money outward (refunds) happen after the write that records them: the
`Refund` transaction is recorded Pending with the refund decision, then the gateway carries it out
and the refund becomes Success; a failed call is retried with backoff (`application/refunds.py`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from application.marketplace import Marketplace
from application.money.booking_money import LedgerForBookings
from application.money.context import MISMATCH, MoneyContext, Proof, Who
from application.money.order import CreateOrder
from application.money.refund import complete_refund
from application.money.verify import VerifyPayment
from application.ports import PaymentGateway
from application.refunds import Refunds, RetryPolicy
from domain.ledger import Transaction

__all__ = ["MISMATCH", "Payments", "Proof", "Who"]


class Payments:
    takes_payments = True

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
        self.context = MoneyContext(market, gateway, currency, zone, invoice_url, clock, refund_policy)
        verification, bookings = VerifyPayment(self.context), LedgerForBookings(self.context)
        self.create_order = CreateOrder(self.context).create_order
        self.check_proof = verification.check_proof
        self.verify = verification.verify
        self.transaction = self.context.transaction
        self.by_order = self.context.by_order
        # the BookingMoney port (application.ports) of the booking commands
        self.prefetch_ids = bookings.prefetch_ids
        self.settle_for_hold = bookings.settle_for_hold
        self.settle_lost_hold = bookings.settle_lost_hold
        self.offline_payment = bookings.offline_payment
        self.after_status_change = bookings.after_status_change
        self.complete_refund_of_proof = bookings.complete_refund_of_proof
        self.complete_refunds_of = bookings.complete_refunds_of

    def complete_refund(self, payment: Transaction | str | None) -> None:
        complete_refund(self.context, payment)

    @property
    def refunds(self) -> Refunds:
        return self.context.refunds

    @property
    def currency(self) -> str:
        return self.context.currency

    @property
    def gateway(self) -> PaymentGateway:
        return self.context.gateway

    @gateway.setter
    def gateway(self, gateway: PaymentGateway) -> None:
        self.context.gateway = gateway

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.context.clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self.context.clock = clock
