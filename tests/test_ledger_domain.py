"""The ledger's pure rules: exact money, the fee split, and the `Earnings` aggregate's balance rule
(earned = net of live Success payments whose appointment is Completed, or that have none)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
        Decimal("0.00"),
        Decimal("600.00"),
        Decimal("-600.00"),
    )
    names = [type(e).__name__ for e in earnings.collect_events()]
    assert names == [
        "Opened",
        "PaymentCounted",
        "PaymentCounted",
        "AppointmentCompleted",
        "PaidOut",
        "PaymentWithdrawn",
        "AppointmentReopened",
    ]


def test_earnings_are_snapshotted_and_load_the_same(settings):
    """Every 100th event of an Earnings aggregate is snapshotted (on SQLite and PostgreSQL); loading
    from the snapshot plus the later events gives the same balance as replaying everything."""
    from infrastructure.bootstrap import build

    container = build(settings, run_projections=False)
    try:
        market = container.market
        earnings = Earnings(consultant_id="e" * 24)
        market.save(earnings)
        for n in range(60):
            earnings = market.repository.get(earnings.id)
            earnings.count_payment(f"t{n}", f"a{n}", Decimal("10.50"))
            earnings.set_completed(f"a{n}", n % 3 != 0)
            market.save(earnings)
        snapshots = list(market.snapshots.get(earnings.id))
        assert [s.originator_version for s in snapshots] == [100]
        loaded = market.repository.get(earnings.id)  # from the snapshot, then event 101
        replayed = None
        for event in market.events.get(earnings.id):  # every event, no snapshot
            replayed = event.mutate(replayed)
        assert loaded.version == replayed.version == 101  # 1 + 60 payments + 40 completions
        assert loaded.earned == replayed.earned == Decimal("10.50") * 40
        assert loaded.payments == replayed.payments and loaded.completed == replayed.completed
        # the commands' loader: a process that has not seen it yet starts from the snapshot too
        cold = build(settings, run_projections=False)
        try:
            asked: list[Any] = []
            read = cold.market.read_events
            cold.market.read_events = lambda wanted: asked.extend(wanted) or read(wanted)
            found = cold.market.find(earnings.id, snapshotted=True)
            assert asked == [(earnings.id, 100)]  # only the events after the snapshot were read
            assert (found.version, found.earned, found.payments) == (101, replayed.earned, replayed.payments)
        finally:
            cold.close()
    finally:
        container.close()


def _earned_by_rule(earnings: Earnings) -> Decimal:
    """The earnings rule computed from the live payments, as `Earnings.earned` did before it kept a total."""
    return sum(
        (
            exact(p["net"])
            for p in earnings.payments.values()
            if p["appointment"] is None or earnings.completed.get(p["appointment"])
        ),
        Decimal("0.00"),
    )


def test_the_running_total_follows_the_rule_through_any_history():
    """Payments counted, re-counted (another appointment or net), withdrawn, appointments completed and
    reopened, in a random order over a few shared appointments; after every step the running total equals
    the rule, so does a replay, a command's copy (changed apart from the original), and a state restored
    from a snapshot taken before the totals existed (built from its payments when first asked)."""
    import copy
    import random

    from eventsourcing.domain import Snapshot

    rng = random.Random(17)
    earnings = Earnings(consultant_id="r" * 24)
    appointments = [f"a{n}" for n in range(6)] + [None]
    for step in range(400):
        roll = rng.random()
        if roll < 0.45:
            earnings.count_payment(
                f"t{rng.randrange(20)}", rng.choice(appointments), exact(rng.randrange(1, 99999) / 100)
            )
        elif roll < 0.6:
            earnings.withdraw(f"t{rng.randrange(20)}")
        else:
            earnings.set_completed(f"a{rng.randrange(6)}", rng.random() < 0.5)
        assert earnings.earned == _earned_by_rule(earnings), step
        if step % 50 == 0:
            copied = copy.deepcopy(earnings)
            copied.set_completed("a0", not copied.completed.get("a0"))
            copied.count_payment("t-copy", "a1", Decimal("5.00"))
            assert copied.earned == _earned_by_rule(copied)
            assert earnings.earned == _earned_by_rule(earnings)  # the original's totals are its own
    earnings.set_completed("a4", True)
    earnings._complete("a4")  # events that change nothing (none of these methods triggers them twice)
    earnings.set_completed("a5", False)
    earnings._reopen("a5")
    assert earnings.earned == _earned_by_rule(earnings)
    replayed = None
    for event in earnings.collect_events():
        replayed = event.mutate(replayed)
    assert replayed is not None and replayed.earned == earnings.earned == _earned_by_rule(earnings)
    old = Snapshot.take(earnings)  # as a snapshot of the code before the running totals
    old.state.pop("_earned")
    old.state.pop("_net_of")
    restored = old.mutate(None)
    assert "_earned" not in vars(restored)
    restored.set_completed("a2", not restored.completed.get("a2"))  # an event before the totals are built
    restored.count_payment("t-late", "a3", Decimal("7.25"))
    assert restored.earned == _earned_by_rule(restored)
    restored.set_completed("a3", not restored.completed.get("a3"))  # and after: kept from then on
    restored.withdraw("t-late")
    assert restored.earned == _earned_by_rule(restored)
