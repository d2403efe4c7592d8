"""The money ledger: every payment, refund, payout and adjustment is a `Transaction` aggregate.

Amounts are exact `Decimal`s in major units (rupees, two places); JSON renders them as numbers.
`platform_fee` and `net_amount` are fixed from the consultant's commission when the transaction is
recorded and never change afterwards. The events below are what the read models and the DuckDB
reporting store are built from, so their names and fields are part of the ledger's history: add
new events or new optional fields, never rename or drop one.

`Recorded` carries the whole first state; later events carry only what changed. `Succeeded`
moves a Pending payment to Success (and may link it to the appointment it paid for);
`Refunded` marks a payment refunded by the `Refund` transaction whose id it names.

Additions (issue 5), all new, nothing renamed:
- `Succeeded` is also used on a `Refund` transaction (Pending → Success once the gateway carried
  the refund out; `reference` is then the gateway's refund id).
- `Earnings` (new aggregate, deterministic id per consultant, events `Opened`, `PaymentCounted`,
  `PaymentWithdrawn`, `AppointmentCompleted`, `AppointmentReopened`, `PaidOut`) keeps the balance
  invariant on the write side: it is saved in the same atomic write as every change of a
  consultant's earnings (payment success, refund, appointment completion) and every payout, so two
  racing payouts conflict on its version and the loser re-checks the remaining balance.
  Earnings rule (CONTRACT.md): the net amount of Success payments whose appointment is Completed
  (payments with no appointment count at once); paid out = Success payouts; remaining = difference."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import Invalid
from domain.ids import aggregate_id, earnings_id
from domain.money import CENT, exact, major_units, minor_units, round_money, split_fee  # noqa: F401 (re-exported)
from domain.transitions import TransitionRefused, Transitions

PAYMENT, REFUND, PAYOUT, ADJUSTMENT = "Payment", "Refund", "Payout", "Adjustment"
PENDING, SUCCESS, FAILED, REFUNDED = "Pending", "Success", "Failed", "Refunded"
KINDS = (PAYMENT, REFUND, PAYOUT, ADJUSTMENT)
STATUSES = (PENDING, SUCCESS, FAILED, REFUNDED)
ALREADY_REFUNDED = "This payment has been refunded"
# The transaction's state machine: command -> {status it is accepted in: status it leads to}.
# `attempt` is a refund's gateway attempt (claimed, or failed and rescheduled): Pending only.
TRANSACTION_MACHINE = Transitions(
    table={
        "succeed": {PENDING: SUCCESS},
        "fail": {PENDING: FAILED},
        "refund": {SUCCESS: REFUNDED},
        "attempt": {PENDING: PENDING},
    },
    refusals={
        ("succeed", REFUNDED): ALREADY_REFUNDED,
        ("refund", REFUNDED): ALREADY_REFUNDED,
        ("succeed", "*"): "Only a Pending transaction can succeed",
        ("fail", "*"): "Only a Pending transaction can fail",
        ("refund", "*"): "Only a successful payment can be refunded",
        ("attempt", "*"): "Only a Pending refund can be attempted",
    },
)


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

    # -- commands: each asks the state machine first, then records its event ---------------------

    def may(self, command: str) -> bool:
        return TRANSACTION_MACHINE.allows(command, self.status) and self.kind in _KINDS_OF.get(command, KINDS)

    def ensure_may(self, command: str) -> None:
        """Refuse `command` in the current status or for this kind (`TransitionRefused`), changing nothing."""
        TRANSACTION_MACHINE.target(command, self.status)
        if self.kind not in _KINDS_OF.get(command, KINDS):
            raise TransitionRefused(f"A {self.kind} transaction does not accept {command}", command, self.status)

    def succeed(self, reference: str, metadata: dict[str, Any], appointment_id: str | None) -> None:
        self.ensure_may("succeed")
        self._succeed(reference, metadata, appointment_id)

    def fail(self, metadata: dict[str, Any]) -> None:
        self.ensure_may("fail")
        self._fail(metadata)

    def mark_refunded(self, refund_id: str) -> None:
        """A Success payment is refunded by the `Refund` transaction `refund_id`."""
        self.ensure_may("refund")
        self._mark_refunded(refund_id)

    refund = mark_refunded

    @event("Succeeded")
    def _succeed(self, reference: str, metadata: dict[str, Any], appointment_id: str | None) -> None:
        self.status = SUCCESS
        self.reference = reference
        self.metadata = {**self.metadata, **metadata}
        if appointment_id is not None:
            self.appointment_id = appointment_id

    @event("Failed")
    def _fail(self, metadata: dict[str, Any]) -> None:
        self.status = FAILED
        self.metadata = {**self.metadata, **metadata}

    @event("Refunded")
    def _mark_refunded(self, refund_id: str) -> None:
        self.status = REFUNDED
        self.refund_id = refund_id

    @event("InvoiceIssued")
    def issue_invoice(self, key: str, filename: str) -> None:
        self.invoice_key = key
        self.invoice_filename = filename

    # -- carrying a refund out through the gateway (retried with backoff; issue 12) ----------------

    @property
    def refund_attempts(self) -> int:
        return int(getattr(self, "_attempts", 0))

    @property
    def next_attempt_at(self) -> datetime | None:
        return getattr(self, "_next_attempt_at", None)

    def may_attempt(self, now: datetime, lease_seconds: float) -> bool:
        """A Pending refund may be tried now: it is due, and no attempt is running (an attempt
        whose outcome was not recorded within the lease, e.g. its worker died, counts as over)."""
        if not self.may("attempt"):
            return False
        claimed: datetime | None = getattr(self, "_claimed_at", None)
        if claimed is not None and (now - claimed).total_seconds() < lease_seconds:
            return False
        return self.next_attempt_at is None or self.next_attempt_at <= now

    def claim_attempt(self, attempt: int, claimed_at: datetime) -> None:
        self.ensure_may("attempt")
        self._claim_attempt(attempt, claimed_at)

    def attempt_failed(self, attempt: int, error: str, next_attempt_at: datetime | None) -> None:
        self.ensure_may("attempt")
        self._attempt_failed(attempt, error, next_attempt_at)

    @event("RefundAttemptClaimed")
    def _claim_attempt(self, attempt: int, claimed_at: datetime) -> None:
        """Recorded before the gateway is called: of two workers trying the same refund, the event
        store lets one record this (same version), and only that one calls the gateway."""
        self._attempts = attempt
        self._claimed_at: datetime | None = claimed_at

    @event("RefundAttemptFailed")
    def _attempt_failed(self, attempt: int, error: str, next_attempt_at: datetime | None) -> None:
        self._claimed_at = None
        self._next_attempt_at = next_attempt_at
        self.metadata = {**self.metadata, "lastRefundError": error}


_KINDS_OF = {"refund": (PAYMENT,), "attempt": (REFUND,)}


class Earnings(Aggregate):
    """A consultant's earnings and payouts: the write-side keeper of `payout <= remaining balance`.

    Its state is changed in place (one dict entry per event), so loading it is linear in its history.
    An entry of `payments` is replaced or removed, never changed in place: a command's copy shares them.

    `earned` is a running total that each event adjusts (with the net of the live payments of each
    appointment, so that a completion or a reopening adds or removes its payments at once): a payout
    checks the remaining balance without a pass over the consultant's payments (9 ms at 8,000). A state
    restored from a snapshot taken before the totals existed has neither; they are built from its
    payments the first time they are needed and kept from then on."""

    @staticmethod
    def create_id(consultant_id: str) -> UUID:  # type: ignore[override]
        return earnings_id(consultant_id)

    @event("Opened")
    def __init__(self, consultant_id: str) -> None:
        self.consultant_id = consultant_id
        self.payments: dict[str, dict[str, Any]] = {}  # live Success payments: {appointment, net}
        self.completed: dict[str, bool] = {}  # appointments that are Completed
        self.paid_out = Decimal("0.00")
        self._earned = Decimal("0.00")  # the running total of `earned`
        self._net_of: dict[str, Decimal] = {}  # per appointment: the net of its live payments

    def __deepcopy__(self, memo: dict[int, Any]) -> Earnings:
        """A command's copy (`application.state_copy`): new `payments` and `completed` dicts holding the same
        entries, a dict copy at C speed instead of one Python-level copy per payment (a consultant with 4,000
        payments took 6 ms to copy on every paid confirmation)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.payments = dict(self.payments)
        clone.completed = dict(self.completed)
        if "_net_of" in self.__dict__:
            clone._net_of = dict(self._net_of)
        clone._pending_events = list(self._pending_events)
        return clone

    @property
    def earned(self) -> Decimal:
        """The net of the Success payments whose appointment is Completed, or that have none."""
        if "_earned" not in self.__dict__:  # restored from a snapshot older than the running totals
            # built apart and then set, `_earned` last (its presence says both are there): a state shared
            # by readers (a cached committed state) is never seen half built
            net_of: dict[str, Decimal] = {}
            earned = Decimal("0.00")
            for payment in self.payments.values():
                earned = self._adjusted(net_of, earned, payment, 1)
            self._net_of = net_of
            self._earned = earned
        return self._earned

    def _adjusted(self, net_of: dict[str, Decimal], earned: Decimal, payment: dict[str, Any], sign: int) -> Decimal:
        """`earned` after a payment entered (`sign` 1) or left (-1) the live payments; `net_of` adjusted."""
        net, appointment = exact(payment["net"]) * sign, payment["appointment"]
        if appointment is not None:
            net_of[appointment] = net_of.get(appointment, Decimal("0.00")) + net
        return earned + net if appointment is None or self.completed.get(appointment) else earned

    def _add(self, payment: dict[str, Any], sign: int) -> None:
        """Adjust the running totals (when built: else `earned` builds them from the payments when asked)."""
        if "_earned" in self.__dict__:
            self._earned = self._adjusted(self._net_of, self._earned, payment, sign)

    @property
    def remaining(self) -> Decimal:
        return self.earned - self.paid_out

    @event("PaymentCounted")
    def count_payment(self, transaction_id: str, appointment_id: str | None, net_amount: Decimal) -> None:
        if transaction_id in self.payments:
            self._add(self.payments[transaction_id], -1)
        self.payments[transaction_id] = {"appointment": appointment_id, "net": net_amount}
        self._add(self.payments[transaction_id], 1)

    @event("PaymentWithdrawn")
    def _withdraw(self, transaction_id: str) -> None:
        withdrawn = self.payments.pop(transaction_id, None)
        if withdrawn is not None:
            self._add(withdrawn, -1)

    def withdraw(self, transaction_id: str) -> None:
        """A refunded payment leaves the earnings (no event when it was never counted)."""
        if transaction_id in self.payments:
            self._withdraw(transaction_id)

    @event("AppointmentCompleted")
    def _complete(self, appointment_id: str) -> None:
        if "_earned" in self.__dict__ and not self.completed.get(appointment_id):
            self._earned += self._net_of.get(appointment_id, Decimal("0.00"))
        self.completed[appointment_id] = True

    @event("AppointmentReopened")
    def _reopen(self, appointment_id: str) -> None:
        if "_earned" in self.__dict__ and self.completed.get(appointment_id):
            self._earned -= self._net_of.get(appointment_id, Decimal("0.00"))
        self.completed.pop(appointment_id, None)

    def set_completed(self, appointment_id: str, completed: bool) -> None:
        if completed and not self.completed.get(appointment_id):
            self._complete(appointment_id)
        elif not completed and self.completed.get(appointment_id):
            self._reopen(appointment_id)

    @event("PaidOut")
    def _pay_out(self, transaction_id: str, amount: Decimal) -> None:
        self.paid_out = self.paid_out + amount

    def pay_out(self, transaction_id: str, amount: Decimal, currency: str) -> None:
        if amount <= 0:
            raise Invalid("Amount must be a positive number")
        if amount > self.remaining:
            raise Invalid(f"Payout exceeds the remaining balance ({currency} {major_units(self.remaining)})")
        self._pay_out(transaction_id, amount)


def offline_status(requested: str | None, by_role: str) -> str:
    """The status an offline payment of a direct booking is recorded with (CONTRACT.md "Money: who
    may record it"): only an admin records `Success`; a consultant's claimed `Success` (the
    Consultant app always sends one) is recorded `Pending`, so it never credits the balance."""
    status = requested or PENDING
    if status not in (PENDING, SUCCESS):
        raise Invalid("Offline payments may only be Pending or Success")
    return status if by_role == "Admin" else PENDING
