"""The state machines of `Appointment` and `Transaction`: given an aggregate in a status, when a
command, then the events it records, or the refusal it raises (and no event). Pure domain, no database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.appointments import (
    APPOINTMENT_MACHINE,
    CANCELLED,
    COMPLETED,
    EXPIRED,
    HOLD,
    UPCOMING,
    Appointment,
    ensure_completable,
)
from domain.errors import Invalid
from domain.ledger import (
    FAILED,
    PAYMENT,
    PAYOUT,
    PENDING,
    REFUND,
    REFUNDED,
    SUCCESS,
    TRANSACTION_MACHINE,
    Transaction,
)
from domain.transitions import TransitionRefused

T0 = datetime(2030, 1, 1, 10, 0, tzinfo=UTC)
APPOINTMENT_STATUSES = (HOLD, UPCOMING, COMPLETED, CANCELLED, EXPIRED)


def appointment_in(status: str) -> Appointment:
    """Given: an appointment brought to `status` by the events that lead there."""
    appointment = Appointment(
        appointment_id="a" * 24,
        consultant_id="b" * 24,
        client_id="c" * 24,
        start=T0,
        end=T0 + timedelta(hours=1),
        status=HOLD,
        expires_at=T0 - timedelta(minutes=5),
        fields={},
        created_by="Client",
    )
    if status == EXPIRED:
        appointment.expire()
    elif status != HOLD:
        appointment.confirm({})
        if status == COMPLETED:
            appointment.complete()
        elif status == CANCELLED:
            appointment.cancel("Client")
    appointment.collect_events()
    assert appointment.status == status
    return appointment


APPOINTMENT_COMMANDS: dict[str, tuple[str, Callable[[Appointment], Any]]] = {
    "refresh_hold": ("HoldRefreshed", lambda a: a.refresh_hold(T0)),
    "confirm": ("Confirmed", lambda a: a.confirm({"notes": "x"})),
    "expire": ("HoldExpired", lambda a: a.expire()),
    "reschedule": (
        "Rescheduled",
        lambda a: a.reschedule(T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1), "Admin"),
    ),
    "revive": ("Rescheduled", lambda a: a.reschedule(T0, T0 + timedelta(hours=2), "Admin", reviving=True)),
    "cancel": ("Cancelled", lambda a: a.cancel("Admin")),
    "complete": ("Completed", lambda a: a.complete()),
    "reopen": ("StatusChanged", lambda a: a.change_status(UPCOMING, "Admin")),
    "mark_completed": ("StatusChanged", lambda a: a.change_status(COMPLETED, "Admin")),
}


@pytest.mark.parametrize("status", APPOINTMENT_STATUSES)
@pytest.mark.parametrize("command", sorted(APPOINTMENT_COMMANDS))
def test_appointment_accepts_exactly_the_commands_of_its_table(status: str, command: str) -> None:
    appointment = appointment_in(status)
    event_name, run = APPOINTMENT_COMMANDS[command]
    allowed = status in APPOINTMENT_MACHINE.table[command]
    if command == "revive" and status in (UPCOMING, COMPLETED):
        allowed = True  # reviving an appointment that is not cancelled is a plain reschedule
    if allowed:
        run(appointment)
        events = appointment.collect_events()
        assert [type(e).__name__ for e in events] == [event_name]
        expected = APPOINTMENT_MACHINE.table.get(command, {}).get(status, status)
        assert appointment.status == expected
    else:
        with pytest.raises(TransitionRefused) as refused:
            run(appointment)
        assert isinstance(refused.value, Invalid)  # a bad request, whatever the interfaces map it to
        assert not hasattr(refused.value, "status") or refused.value.status == Invalid.status
        assert refused.value.from_status == status
        assert appointment.collect_events() == []
        assert appointment.status == status


def test_the_appointment_table_as_documentation() -> None:
    assert dict(APPOINTMENT_MACHINE.table["confirm"]) == {HOLD: UPCOMING}
    assert dict(APPOINTMENT_MACHINE.table["expire"]) == {HOLD: EXPIRED}
    assert dict(APPOINTMENT_MACHINE.table["cancel"]) == {UPCOMING: CANCELLED, COMPLETED: CANCELLED}
    assert dict(APPOINTMENT_MACHINE.table["complete"]) == {UPCOMING: COMPLETED}
    assert not any(
        EXPIRED in targets for targets in APPOINTMENT_MACHINE.table.values() if EXPIRED not in targets.values()
    )


@pytest.mark.parametrize(
    ("status", "command", "message"),
    [
        (HOLD, lambda a: a.ensure_may("change"), "A hold cannot be changed; confirm it or let it expire"),
        (HOLD, lambda a: a.cancel("Client"), "A hold cannot be changed; confirm it or let it expire"),
        (
            CANCELLED,
            lambda a: a.reschedule(T0, T0 + timedelta(hours=1), "Client"),
            "Cannot reschedule a cancelled appointment",
        ),
        (CANCELLED, lambda a: a.confirm({}), "Invalid booking status"),
        (COMPLETED, lambda a: a.confirm({}), "Invalid booking status"),
        (EXPIRED, lambda a: a.ensure_may("change"), "An expired hold cannot be changed"),
    ],
)
def test_refusals_keep_the_contract_messages(status: str, command: Callable[[Appointment], Any], message: str) -> None:
    with pytest.raises(TransitionRefused, match=f"^{message}$"):
        command(appointment_in(status))


def test_a_status_edit_to_hold_or_cancelled_is_not_a_status_edit() -> None:
    for target in (HOLD, EXPIRED, CANCELLED):
        with pytest.raises(TransitionRefused):
            appointment_in(UPCOMING).change_status(target, "Admin")


def test_completion_by_the_consultant_needs_an_upcoming_appointment_that_ended() -> None:
    upcoming = appointment_in(UPCOMING)
    ensure_completable(upcoming, upcoming.end)
    with pytest.raises(Invalid, match="only after it ends"):
        ensure_completable(upcoming, upcoming.end - timedelta(seconds=1))
    with pytest.raises(Invalid, match="only after it ends"):
        ensure_completable(appointment_in(CANCELLED), T0 + timedelta(days=1))


def transaction_in(status: str, kind: str = PAYMENT) -> Transaction:
    tx = Transaction(
        transaction_id="d" * 24,
        kind=kind,
        status=PENDING,
        amount=Decimal("100.00"),
        platform_fee=Decimal("10.00"),
        net_amount=Decimal("90.00"),
        currency="INR",
        user_id="c" * 24,
        consultant_id="b" * 24,
        appointment_id=None,
        payment_method="Razorpay",
        reference="order_1",
        metadata={},
        snapshots={},
    )
    if status in (SUCCESS, REFUNDED):
        tx.succeed("pay_1", {}, None)
    if status == REFUNDED:
        tx.mark_refunded("e" * 24)
    if status == FAILED:
        tx.fail({})
    tx.collect_events()
    assert tx.status == status
    return tx


TRANSACTION_COMMANDS: dict[str, tuple[str, Callable[[Transaction], Any]]] = {
    "succeed": ("Succeeded", lambda t: t.succeed("pay_2", {"k": 1}, "a" * 24)),
    "fail": ("Failed", lambda t: t.fail({"why": "x"})),
    "refund": ("Refunded", lambda t: t.refund("f" * 24)),
    "attempt": ("RefundAttemptClaimed", lambda t: t.claim_attempt(1, T0)),
}


KIND_STATUSES = [(k, s) for k in (PAYMENT, REFUND, PAYOUT) for s in (PENDING, SUCCESS, FAILED, REFUNDED)]


@pytest.mark.parametrize(("kind", "status"), [(k, s) for k, s in KIND_STATUSES if k == PAYMENT or s != REFUNDED])
@pytest.mark.parametrize("command", sorted(TRANSACTION_COMMANDS))
def test_transaction_accepts_exactly_the_commands_of_its_table(kind: str, status: str, command: str) -> None:
    tx = transaction_in(status, kind)
    event_name, run = TRANSACTION_COMMANDS[command]
    kinds = {"refund": (PAYMENT,), "attempt": (REFUND,)}.get(command, (PAYMENT, REFUND, PAYOUT))
    if status in TRANSACTION_MACHINE.table[command] and kind in kinds:
        assert tx.may(command)
        run(tx)
        assert [type(e).__name__ for e in tx.collect_events()] == [event_name]
        assert tx.status == TRANSACTION_MACHINE.table[command][status]
    else:
        assert not tx.may(command)
        with pytest.raises(TransitionRefused):
            run(tx)
        assert tx.collect_events() == []
        assert tx.status == status


def test_a_refunded_payment_is_refused_with_the_contract_message() -> None:
    for command in ("succeed", "refund"):
        with pytest.raises(TransitionRefused, match="^This payment has been refunded$"):
            TRANSACTION_COMMANDS[command][1](transaction_in(REFUNDED))


def test_a_failed_refund_attempt_is_recorded_only_on_a_pending_refund() -> None:
    refund = transaction_in(PENDING, REFUND)
    refund.claim_attempt(1, T0)
    refund.attempt_failed(1, "timeout", T0 + timedelta(minutes=1))
    assert [type(e).__name__ for e in refund.collect_events()] == ["RefundAttemptClaimed", "RefundAttemptFailed"]
    done = transaction_in(SUCCESS, REFUND)
    with pytest.raises(TransitionRefused):
        done.attempt_failed(1, "late", None)
    assert not done.may_attempt(T0, 60)


def test_events_replay_to_the_same_state() -> None:
    """The event classes keep their names: a stream replays through the private event methods."""
    tx = transaction_in(PENDING)
    tx.succeed("pay_9", {"x": 1}, "a" * 24)
    tx.refund("f" * 24)
    events = [*tx.collect_events()]
    replayed = transaction_in(PENDING)
    for e in events:
        e.mutate(replayed)
    assert (replayed.status, replayed.reference, replayed.refund_id) == (REFUNDED, "pay_9", "f" * 24)
    assert {type(e).__qualname__ for e in events} == {"Transaction.Succeeded", "Transaction.Refunded"}
