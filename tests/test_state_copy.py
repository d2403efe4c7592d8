"""A command's copy of an aggregate state (application/state_copy.py): equal to deepcopy's, sharing nothing
changeable with the committed state, immutable values shared, a class's own `__deepcopy__` kept."""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import uuid4

from eventsourcing.domain import Aggregate, event

from application.state_copy import copy_state, fresh
from domain.accounts import UniqueKey
from domain.appointments import ConsultantDay
from domain.ledger import Earnings


class Colour(Enum):
    RED = "red"


@dataclass
class Box:  # a value of a kind the copy does not know: deep-copied as before
    items: list[int] = field(default_factory=list)


class Sample(Aggregate):
    @event("Made")
    def __init__(self, owner: str) -> None:
        self.owner = owner
        self.when = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
        self.amount = Decimal("12.50")
        self.tags: set[str] = {"a", "b"}
        self.lines: list[dict[str, Any]] = [{"at": self.when, "n": 1, "parts": [1, 2]}]
        self.by_id: dict[str, dict[str, Any]] = {"x": {"ids": (uuid4(), [3])}}
        self.colour = Colour.RED
        self.box = Box([7])
        self.gap = timedelta(minutes=15)

    @event("Lined")
    def line(self, n: int) -> None:
        self.lines.append({"at": self.when, "n": n, "parts": []})


def made() -> Sample:
    sample = Sample(owner="o1")
    sample.line(2)
    sample.collect_events()
    return sample


def test_the_copy_equals_deepcopys_and_shares_only_immutable_values() -> None:
    sample = made()
    copied = copy_state(sample)
    assert type(copied) is Sample and vars(copied) == vars(deepcopy(sample))
    assert copied.when is sample.when and copied.amount is sample.amount and copied.id is sample.id
    assert copied.colour is Colour.RED
    for name in ("tags", "lines", "by_id", "box", "_pending_events"):
        assert getattr(copied, name) is not getattr(sample, name)
    assert copied.lines[0] is not sample.lines[0] and copied.lines[0]["parts"] is not sample.lines[0]["parts"]
    assert copied.by_id["x"]["ids"][1] is not sample.by_id["x"]["ids"][1]
    assert copied.box.items is not sample.box.items


def test_changing_the_copy_leaves_the_committed_state_as_it_was() -> None:
    sample = made()
    before = deepcopy(vars(sample))
    copied = copy_state(sample)
    copied.line(3)
    copied.tags.add("c")
    copied.by_id["x"]["ids"][1].append(4)
    copied.box.items.append(8)
    copied.lines[0]["parts"].append(9)
    assert vars(sample) == before
    assert copied.version == sample.version + 1 and len(copied.collect_events()) == 1


def test_real_aggregates_and_a_class_with_its_own_deepcopy() -> None:
    key = UniqueKey(key="client:email:a@example.com", owner="abc")
    key.collect_events()
    assert vars(copy_state(key)) == vars(key)
    day = ConsultantDay(consultant_id="c1", day="2026-12-04")
    day.collect_events()
    copied = copy_state(day)
    assert copied.entries is day.entries  # ConsultantDay.__deepcopy__: entries are replaced, never changed
    assert copied._pending_events is not day._pending_events
    assert copy_state(None) is None
    assert fresh(["x", {"y": [1]}]) == ["x", {"y": [1]}]


def test_a_consultants_earnings_copy_shares_its_entries_and_changes_alone() -> None:
    earnings = Earnings(consultant_id="c1")
    for n in range(3):
        earnings.count_payment(f"t{n}", f"a{n}", Decimal("900.00"))
    earnings.set_completed("a0", True)
    earnings.collect_events()
    before = deepcopy(vars(earnings))
    copied = copy_state(earnings)
    assert vars(copied) == fresh(vars(earnings))  # equal to a copy made level by level, without __deepcopy__
    assert copied.payments is not earnings.payments and copied.completed is not earnings.completed
    assert copied.payments["t1"] is earnings.payments["t1"]  # entries are replaced, never changed in place
    copied.count_payment("t1", "a1", Decimal("100.00"))
    copied.withdraw("t2")
    copied.set_completed("a1", True)
    copied.pay_out("p1", Decimal("50.00"), "INR")
    assert vars(earnings) == before
    assert (copied.earned, earnings.earned) == (Decimal("1000.00"), Decimal("900.00"))
    assert copied.remaining == Decimal("950.00") and len(copied.collect_events()) == 4
