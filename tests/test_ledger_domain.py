"""The ledger's pure rules: exact money, the fee split, and the `Earnings` aggregate's balance rule
(earned = net of live Success payments whose appointment is Completed, or that have none)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import Invalid
from domain.ledger import Earnings, exact, split_fee


def test_exact_money_and_the_fee_split_round_half_up():
    assert exact("10.005") == Decimal("10.01") and exact(None) == Decimal("0.00")
    assert split_fee(Decimal("1500.00"), 10) == (Decimal("150.00"), Decimal("1350.00"))
    assert split_fee(Decimal("999.00"), 12.5) == (Decimal("125.00"), Decimal("874.00"))  # 124.875 → 125
    assert split_fee(Decimal("100.00"), 0) == (Decimal("0.00"), Decimal("100.00"))


def test_earnings_follow_completion_refunds_and_payouts():
    earnings = Earnings(consultant_id="c" * 24)
    earnings.count_payment("p1", "a1", Decimal("900.00"))
    earnings.count_payment("p2", None, Decimal("100.00"))  # no appointment: earned at once
    assert (earnings.earned, earnings.remaining) == (Decimal("100.00"), Decimal("100.00"))
    earnings.set_completed("a1", True)
    earnings.set_completed("a1", True)  # no second event
    assert earnings.earned == Decimal("1000.00")
    earnings.pay_out("o1", Decimal("600.00"), "INR")
    with pytest.raises(Invalid, match=r"exceeds the remaining balance \(INR 400\)"):
        earnings.pay_out("o2", Decimal("400.01"), "INR")
    with pytest.raises(Invalid):
        earnings.pay_out("o3", Decimal("0"), "INR")
    earnings.withdraw("p2")
    earnings.withdraw("p2")  # a refund of a payment no longer counted changes nothing
    earnings.set_completed("a1", False)
    assert (earnings.earned, earnings.paid_out, earnings.remaining) == (
        Decimal("0.00"), Decimal("600.00"), Decimal("-600.00"))
    names = [type(e).__name__ for e in earnings.collect_events()]
    assert names == ["Opened", "PaymentCounted", "PaymentCounted", "AppointmentCompleted", "PaidOut",
                     "PaymentWithdrawn", "AppointmentReopened"]
