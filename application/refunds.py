"""Carrying recorded refunds out through the gateway, with retries (issue 12).

A refund is decided first (`Refund` transaction recorded Pending, in the same write as the
cancellation or the lost slot); moving the money back is a gateway call made afterwards. That call
may fail (network, gateway outage), so it is an attempt, retried by the scheduler with exponential
backoff until it succeeds or the attempts run out; then the refund becomes `Failed` and the admins
are notified (role notification, `notification:new`), to refund it by hand.

Never refunded twice:
- every attempt is claimed first by an event on the refund (`RefundAttemptClaimed`): of several
  workers trying the same refund at once, the event store lets exactly one record the claim (same
  aggregate version), and only that one calls the gateway;
- every call carries the same idempotency key, the refund's own id (derived from the payment), so
  a retry after a call whose answer was lost (or whose worker died; its claim lapses after the
  lease) is recognised by the gateway as the same refund (Razorpay `X-Refund-Idempotency`,
  PayPal `PayPal-Request-Id`).
Attempts, the next try and the last error are on the refund's transaction document (GET
/transactions: `refundAttempts`, `nextAttemptAt`, `metadata.lastRefundError`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate

from application.marketplace import Marketplace
from application.ports import PaymentGateway
from domain.ids import aggregate_id
from domain.ledger import FAILED, PENDING, SUCCESS, Transaction, major_units, minor_units
from domain.notifications import notify

log = logging.getLogger(__name__)
GATEWAY_METHODS = ("Razorpay", "PayPal")


@dataclass(frozen=True)
class RetryPolicy:
    """Attempt n (1-based) that fails is retried after `base * factor**(n-1)` seconds (at most
    `cap`); after `max_attempts` failed attempts the refund is Failed. An attempt whose outcome
    is not recorded within `lease` seconds (its worker died) may be claimed again."""

    max_attempts: int = 8
    base_seconds: float = 60.0
    factor: float = 2.0
    cap_seconds: float = 6 * 3600.0
    lease_seconds: float = 120.0

    def delay(self, attempt: int) -> timedelta:
        return timedelta(seconds=min(self.cap_seconds, self.base_seconds * self.factor ** max(attempt - 1, 0)))


def _iso(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:200]


class Refunds:
    def __init__(
        self,
        market: Marketplace,
        gateway: Callable[[], PaymentGateway],
        policy: RetryPolicy,
        clock: Callable[[], datetime],
    ):
        self.market = market
        self.gateway = gateway
        self.policy = policy
        self.clock = clock

    def attempt(self, refund_id: str) -> str | None:
        """Try to carry the refund out now, if it is Pending, due and not being tried elsewhere.
        Returns the refund's status after this attempt (None: nothing was tried)."""
        uuid = aggregate_id(refund_id)

        def claim() -> tuple[Transaction | None, list[Aggregate | None]]:
            refund = self.market.find(uuid)
            now = self.clock()
            if not isinstance(refund, Transaction) or not refund.may_attempt(now, self.policy.lease_seconds):
                return None, []
            refund.claim_attempt(refund.refund_attempts + 1, now)
            return refund, [refund]

        refund = self.market.run(claim)
        if refund is None:
            return None
        attempt = refund.refund_attempts
        try:
            if refund.payment_method in GATEWAY_METHODS:
                reference = self.gateway().refund(
                    refund.payment_method,
                    str(refund.metadata.get("paymentReference")),
                    minor_units(refund.amount),
                    refund.currency,
                    refund.transaction_id,  # the idempotency key: one refund, one key, every attempt
                )
            else:  # offline payments are refunded by hand: recorded done at once
                reference = f"MANUAL-{refund.transaction_id}"
        except Exception as error:  # noqa: BLE001 (any failure of the call is a failed attempt)
            log.warning("refund %s attempt %d failed: %s", refund_id, attempt, error)
            return self._failed(uuid, attempt, _reason(error))
        return self._succeeded(uuid, reference)

    def _succeeded(self, uuid: Any, reference: str) -> str:
        def command() -> tuple[str, list[Aggregate | None]]:
            current = self.market.find(uuid)
            if not isinstance(current, Transaction) or not current.may("succeed"):
                return (current.status if isinstance(current, Transaction) else FAILED), []
            current.succeed(reference, {"refundedAt": _iso(self.clock())}, None)
            return SUCCESS, [current]

        return self.market.run(command)

    def _failed(self, uuid: Any, attempt: int, reason: str) -> str:
        def command() -> tuple[str, list[Aggregate | None]]:
            current = self.market.find(uuid)
            if not isinstance(current, Transaction) or not current.may("attempt"):
                return (current.status if isinstance(current, Transaction) else FAILED), []
            if current.refund_attempts != attempt:  # a later attempt (after the lease) owns it now
                return PENDING, []
            now = self.clock()
            if attempt < self.policy.max_attempts:
                current.attempt_failed(attempt, reason, now + self.policy.delay(attempt))
                return PENDING, [current]
            current.attempt_failed(attempt, reason, None)
            current.fail({"failedAt": _iso(now), "refundError": reason})
            return FAILED, [current, self._alert(current, attempt, reason)]

        status = self.market.run(command)
        if status == FAILED:
            log.error("refund %s FAILED after %d attempts: %s", uuid, attempt, reason)
        return status

    @staticmethod
    def _alert(refund: Transaction, attempts: int, reason: str) -> Aggregate:
        return notify(
            None,
            {
                "name": "Refund Failed",
                "message": f"Refund of ₹{major_units(refund.amount)} "
                f"(transaction {refund.transaction_id}, payment {refund.metadata.get('refundOf', '')}) "
                f"failed after {attempts} attempts: {reason}. Please refund it manually.",
                "type": "payment",
                "category": "payments",
                "priority": "urgent",
                "actionUrl": "/admin/revenue",
                "actionLabel": "View Transactions",
            },
            recipient_role="Admin",
        )
