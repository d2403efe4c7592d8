"""Issue 13 §3: `create_order` decides and builds its aggregates inside the retried command. Forced
conflict: between the command's load of the order's unique key and its save, a second writer (a
second container on the same event store, as another server node would be) records the same gateway
order. The save conflicts for real; the retry reloads, finds the order recorded and answers it. Before
the fix the retry re-saved the already-collected aggregates, wrote nothing, and answered a
transaction id that was never recorded."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from domain.accounts import UniqueKey
from domain.ids import key_id, new_object_id
from domain.ledger import PENDING, Transaction
from infrastructure.bootstrap import build
from tests.test_appointments import API, next_weekday
from tests.test_payments import Money


class NotingGateway:
    """The container's own (sandbox) gateway, noting the orders it creates so the test knows the id;
    with `then`, it runs `then(order)` before answering (a writer racing the answer)."""

    def __init__(self, inner: Any, then: Any = None):
        self.inner = inner
        self.key_id = inner.key_id
        self.orders: list[Any] = []
        self.then = then

    def create_order(self, *args: Any) -> Any:
        order = self.inner.create_order(*args)
        self.orders.append(order)
        if self.then is not None:
            self.then(order)
        return order

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.mark.parametrize("when", ["between load and save", "before the command"])
def test_a_retried_order_after_a_real_conflict_answers_what_is_recorded(api, when):
    """`between load and save`: the save conflicts and the retry reloads. `before the command`: the
    old code's save conflicted there, and its retry saved nothing (this case failed before the fix)."""
    world = Money(api)
    consultant, client = world.paid_consultant(), world.client()
    day = next_weekday(3)
    hold_id = world.held(client, consultant, day, "09:00", "10:00")
    payments = world.container.payments
    other_node = build(world.container.settings, run_projections=False)
    recorded: list[str] = []

    def other_node_records(order: Any) -> None:
        """The other node records the same gateway order first."""
        if not recorded:
            first = payments.by_order(order.order_id)
            assert first is None
            mine = Transaction(
                transaction_id=new_object_id(),
                kind="Payment",
                status=PENDING,
                amount=Decimal("1500.00"),
                platform_fee=Decimal("150.00"),
                net_amount=Decimal("1350.00"),
                currency="INR",
                user_id=client.id,
                consultant_id=consultant.id,
                appointment_id=None,
                payment_method="Razorpay",
                reference=order.order_id,
                metadata={"razorpayOrderId": order.order_id, "holdId": hold_id},
                snapshots={},
            )
            other_node.market.save(mine, UniqueKey(key="order:" + order.order_id, owner=mine.transaction_id))
            recorded.append(mine.transaction_id)

    gateway = NotingGateway(payments.gateway, other_node_records if when == "before the command" else None)

    def clock() -> datetime:
        """Inside the command's first attempt, the order exists at the gateway and its key was loaded absent."""
        if gateway.orders:
            other_node_records(gateway.orders[-1])
        return datetime.now(UTC)

    payments.gateway, payments.clock = gateway, clock
    try:
        reply = world.order(client, consultant, hold_id)
    finally:
        payments.gateway, payments.clock = gateway.inner, (lambda: datetime.now(UTC))
        other_node.close()
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert recorded, "the second writer ran inside the command"
    # the answer is the transaction the event store holds for this order, recorded once
    assert data["transactionId"] == recorded[0]
    assert payments.transaction(data["transactionId"]).reference == data["orderId"]
    key = key_id("unique:order:" + data["orderId"])
    assert [e.originator_version for e in world.events() if e.originator_id == key] == [1]
    recorded_orders = [
        e for e in world.events() if isinstance(e, Transaction.Recorded) and e.reference == data["orderId"]
    ]
    assert len(recorded_orders) == 1

    # and the booking is paid with it
    confirmed = world.confirm(
        client,
        consultant,
        day,
        "09:00",
        "10:00",
        hold_id,
        payment={"razorpayResponse": world.proof(data["orderId"])},
    )
    assert confirmed.status_code == 201, confirmed.text
    status = api.get(f"{API}/payments/status", params={"orderId": data["orderId"]}, headers=client.auth).json()
    assert status["data"]["transactionId"] == recorded[0] and status["data"]["status"] == "Success"
