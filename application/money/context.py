"""What every money use case shares: its adapters (gateway, invoice URLs, clock), loading of the
ledger's aggregates, and the payment proof types.

Idempotency is decided by the event store: an order id and a payout `referenceId` are claimed by
`UniqueKey` aggregates (deterministic ids), a payment moves Pending → Success once on its own
`Transaction` aggregate, and a refund's id is derived from the payment it refunds. Every change of
a consultant's earnings (payment success, refund, completion) is saved with its `Earnings`
aggregate, which payouts (`application/payouts.py`) check the remaining balance against."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from application.marketplace import Marketplace
from application.ports import PaymentGateway
from application.refunds import Refunds, RetryPolicy
from domain.accounts import Account, UniqueKey
from domain.appointments import Appointment
from domain.ids import aggregate_id, is_object_id, key_id, order_key, unique_key_id
from domain.ledger import (
    Earnings,
    Transaction,
)
from domain.settings import ConsultantSettings

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
    transaction_id: str | None = None  # the order's transaction, when the check found it (checked for a hold)


def name(account: Account | None) -> str:
    if account is None:
        return ""
    profile = account.profile
    return str(profile.get("displayName") or profile.get("name") or profile.get("fullName") or "")


class MoneyContext:
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

    def transaction(self, transaction_id: str) -> Transaction:
        return self.market.transaction(transaction_id)

    def by_order(self, order_id: str) -> Transaction | None:
        key = self.market.find(order_claim_id(order_id))
        if not isinstance(key, UniqueKey) or key.owner is None:
            return None
        return self.transaction(key.owner)

    def account(self, account_id: str | None) -> Account | None:
        found = self.market.find(aggregate_id(account_id)) if account_id and is_object_id(account_id) else None
        return found if isinstance(found, Account) else None

    def appointment(self, appointment_id: str | None) -> Appointment | None:
        found = (
            self.market.find(aggregate_id(appointment_id)) if appointment_id and is_object_id(appointment_id) else None
        )
        return found if isinstance(found, Appointment) and not found.deleted else None

    def earnings(self, consultant_id: str) -> Earnings:
        found = self.market.find(key_id("earnings:" + consultant_id), snapshotted=True)
        return found if isinstance(found, Earnings) else Earnings(consultant_id=consultant_id)

    def cancellation_window(self, consultant_id: str) -> float:
        found = self.market.find(key_id("settings:" + consultant_id))
        availability = found.availability if isinstance(found, ConsultantSettings) else {}
        return float((availability.get("cancellation") or {}).get("cancellationWindow", 24) or 0)


def order_claim_id(order_id: str) -> UUID:
    """The `UniqueKey` by which the transaction that created a gateway order claimed it."""
    return unique_key_id(order_key(order_id))


def distinct(aggregates: list[Any]) -> list[Any]:
    seen: dict[int, Any] = {}
    for aggregate in aggregates:
        if aggregate is not None:
            seen.setdefault(id(aggregate), aggregate)
    return list(seen.values())


def order_of(tx: Transaction) -> str | None:
    return tx.metadata.get("razorpayOrderId") or tx.metadata.get("paypalOrderId")


def iso(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
