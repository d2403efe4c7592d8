"""Issue 12 §5: failed gateway refunds are retried by the scheduler with exponential backoff and one
idempotency key per refund (never refunded twice, also when workers race); after the last attempt
the refund is `Failed` and the admins are notified. Against a local HTTP server that answers like
Razorpay's refunds API and fails as told (the adapter's real requests are checked), not a mock."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from application.refunds import RetryPolicy
from domain.ids import new_object_id
from domain.ids import refund_id as refund_id_of
from domain.ledger import PENDING, REFUND, Transaction
from domain.notifications import Notification
from infrastructure.gateways import RazorpayGateway
from tests.conftest import make_settings
from tests.fake_http import JsonHandler, serving
from tests.test_appointments import next_weekday
from tests.test_payments import Money


class FlakyRazorpay(JsonHandler):
    """Razorpay's orders and refunds endpoints; refunds fail `failures` times (HTTP 502), always
    for payments in `broken`, and take `delay` seconds when they succeed."""

    seen: list[dict[str, Any]] = []
    failures = 0
    broken: set[str] = set()
    delay = 0.0
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path == "/rzp/orders":
            return self._answer(
                200, {"id": "order_" + new_object_id()[:14], "amount": body["amount"], "currency": "INR"}
            )
        if self.path.startswith("/rzp/payments/") and self.path.endswith("/refund"):
            payment = self.path.split("/")[3]
            key = self.headers.get("X-Refund-Idempotency")
            with self.lock:
                fail = payment in self.broken or self.failures > 0
                if fail and payment not in self.broken:
                    type(self).failures -= 1
                self.seen.append({"payment": payment, "key": key, "body": body, "ok": not fail})
            if fail:
                return self._answer(502, {"error": {"description": "gateway unavailable"}})
            time.sleep(self.delay)
            return self._answer(200, {"id": f"rfnd_{key[-12:]}", "amount": body["amount"]})
        return self._answer(404, {})


@pytest.fixture
def gateway_url() -> Iterator[str]:
    FlakyRazorpay.seen, FlakyRazorpay.failures, FlakyRazorpay.broken, FlakyRazorpay.delay = [], 0, set(), 0.0
    with serving(FlakyRazorpay) as url:
        yield url + "/rzp"


def test_failed_refunds_are_retried_with_backoff_then_failed_and_admins_told(api, gateway_url):
    world = Money(api)
    container = world.container
    payments = container.payments
    payments.gateway = RazorpayGateway("rzp_test_local", container.settings.resolved_razorpay_secret, gateway_url)
    payments.refunds.policy = RetryPolicy(max_attempts=3, base_seconds=60, factor=2)
    consultant, client = world.paid_consultant(), world.client()
    day = next_weekday(2)
    flaky = world.paid_booking(client, consultant, day, "09:00", "10:00")
    doomed = world.paid_booking(client, consultant, day, "11:30", "12:30")
    FlakyRazorpay.failures = 1
    doomed_payment = world.container.payments.transaction(doomed["order"]["transactionId"]).reference

    # both cancelled by the consultant (full refunds); the gateway fails the first call
    started = datetime.now(UTC)
    assert world.patch(consultant, flaky["hold"], {"status": "Cancelled"}).status_code == 200
    refund_of = {
        name: refund_id_of(booking["order"]["transactionId"])
        for name, booking in (("flaky", flaky), ("doomed", doomed))
    }

    def refund(name: str) -> dict[str, Any]:
        rows = [t for t in world.transactions(world.admin, type="Refund", limit=100)["data"]]
        return next(t for t in rows if t["_id"] == refund_of[name])

    first = refund("flaky")
    assert (first["status"], first["refundAttempts"]) == ("Pending", 1)
    assert first["metadata"]["lastRefundError"] == "Razorpay: gateway unavailable"
    next_try = datetime.fromisoformat(first["nextAttemptAt"].replace("Z", "+00:00"))
    assert started + timedelta(seconds=59) < next_try < datetime.now(UTC) + timedelta(seconds=61)

    # the scheduler leaves it alone until it is due, then the second attempt succeeds
    assert container.scheduler.run_once()["refund"] == 0
    later = next_try + timedelta(seconds=1)
    payments.clock = lambda: later
    assert container.scheduler.run_once(now=later)["refund"] == 1
    done = refund("flaky")
    assert (done["status"], done["refundAttempts"], done["nextAttemptAt"]) == ("Success", 2, None)
    assert done["transactionId"] == f"rfnd_{refund_of['flaky'][-12:]}"
    assert container.scheduler.run_once(now=later + timedelta(hours=1))["refund"] == 0

    # a refund the gateway keeps failing: 60 s, then 120 s later, then Failed after the third attempt
    FlakyRazorpay.broken = {doomed_payment}
    payments.clock = lambda: later
    assert world.patch(consultant, doomed["hold"], {"status": "Cancelled"}).status_code == 200
    waits = []
    for _ in range(2):
        pending = refund("doomed")
        assert pending["status"] == "Pending"
        due = datetime.fromisoformat(pending["nextAttemptAt"].replace("Z", "+00:00"))
        waits.append(round((due - payments.clock()).total_seconds()))
        payments.clock = lambda due=due: due
        assert container.scheduler.run_once(now=due)["refund"] == 1
    assert waits == [60, 120]
    failed = refund("doomed")
    assert (failed["status"], failed["refundAttempts"], failed["nextAttemptAt"]) == ("Failed", 3, None)
    assert failed["metadata"]["refundError"] == "Razorpay: gateway unavailable"
    assert container.scheduler.run_once(now=payments.clock() + timedelta(days=1))["refund"] == 0
    alerts = [e for e in world.events() if isinstance(e, Notification.Sent) and e.content["name"] == "Refund Failed"]
    assert len(alerts) == 1 and alerts[0].recipient_role == "Admin" and alerts[0].recipient is None
    assert refund_of["doomed"] in alerts[0].content["message"] and "3 attempts" in alerts[0].content["message"]

    # every call of one refund carried that refund's id as its idempotency key, with the same body
    calls: dict[str, list[dict[str, Any]]] = {}
    for call in FlakyRazorpay.seen:
        calls.setdefault(call["key"], []).append(call)
    assert {k: [c["ok"] for c in v] for k, v in calls.items()} == {
        refund_of["flaky"]: [False, True],
        refund_of["doomed"]: [False, False, False],
    }
    assert all(c["body"] == v[0]["body"] and c["body"]["amount"] == 150000 for v in calls.values() for c in v)


def test_two_workers_racing_on_one_refund_refund_it_once(tmp_path, backend, gateway_url):
    """Two processes' worth of application (two containers on one database) and eight threads
    attempt one due refund at the same instant: the gateway is called once, one Success recorded."""
    from infrastructure.bootstrap import build

    settings = make_settings(tmp_path, backend, read_your_writes_timeout=0.2)
    workers = [build(settings, run_projections=False) for _ in range(2)]
    try:
        for worker in workers:
            worker.payments.gateway = RazorpayGateway("rzp_test_local", "secret", gateway_url)
        payment_id = new_object_id()
        refund_id = refund_id_of(payment_id)
        refund = Transaction(
            transaction_id=refund_id,
            kind=REFUND,
            status=PENDING,
            amount=Decimal("1500.00"),
            platform_fee=Decimal("150.00"),
            net_amount=Decimal("1350.00"),
            currency="INR",
            user_id=new_object_id(),
            consultant_id=new_object_id(),
            appointment_id=None,
            payment_method="Razorpay",
            reference="",
            metadata={"refundOf": payment_id, "paymentReference": "pay_RACE0000000001", "reason": "test"},
            snapshots={},
        )
        workers[0].market.save(refund)
        FlakyRazorpay.delay = 0.3  # a slow gateway: every racer is inside its attempt meanwhile
        gate = threading.Barrier(8)
        outcomes: list[Any] = []

        def race(index: int) -> None:
            gate.wait()
            try:
                outcomes.append(workers[index % 2].payments.refunds.attempt(refund_id))
            except Exception as error:  # noqa: BLE001 (reported by the assertion below)
                outcomes.append(error)

        threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert Counter(outcomes) == Counter({"Success": 1, None: 7}), outcomes
        assert [(c["key"], c["ok"]) for c in FlakyRazorpay.seen] == [(refund_id, True)]
        market = workers[1].market
        events = [type(e).__name__ for e in market.events.get(refund.id)]
        assert Counter(events)["RefundAttemptClaimed"] == 1 and Counter(events)["Succeeded"] == 1
        assert market.repository.get(refund.id).status == "Success"
    finally:
        for worker in workers:
            worker.close()
