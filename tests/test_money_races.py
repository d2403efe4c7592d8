"""Money invariants under concurrency, against real `consult serve` processes (two API processes on
one PostgreSQL database; one process on SQLite):

- the same confirmation and the same verification of one payment, 20 at once and racing each
  other, record one Success (the replays answer 2xx with the first result);
- the same payout `referenceId` sent 20 times at once records one payout;
- 20 concurrent payouts that together exceed the balance never pay out more than the balance."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from infrastructure.bootstrap import migrate
from tests.conftest import Server, make_settings, postgres_database
from tests.test_booking_races import Account, Store, at, bearer, race, weekdays_from

SECRET = "race-razorpay-secret-" + "k" * 24


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    env = {"RAZORPAY_KEY_SECRET": SECRET}
    if request.param == "sqlite":
        server = Server(make_settings(tmp_path_factory.mktemp("money")), extra_env=env)
        store = Store([server.url], tag=f"{time.time_ns() % 10**6:06d}")
        try:
            yield store
        finally:
            store.close()
            server.stop()
        return
    with postgres_database(cluster=True) as url:
        settings = make_settings(tmp_path_factory.mktemp("money"), url)
        migrate(settings)
        with ThreadPoolExecutor(max_workers=2) as pool:
            first, second = pool.map(lambda _: Server(settings, extra_env=env), range(2))
        store = Store([first.url, second.url], tag=f"{time.time_ns() % 10**6:06d}")
        try:
            yield store
        finally:
            store.close()
            first.stop()
            second.stop()


def paid_consultant(store: Store, fees: int) -> Account:
    consultant = store.consultant()
    reply = store.http[0].patch(
        f"/consultants/{consultant.id}",
        headers=bearer(store.admin),
        json={"fees": fees, "commission": {"platformPercent": 10}},
    )
    assert reply.status_code == 200, reply.text
    return consultant


def earned(store: Store, consultant: Account, client: Account, day: Any, amount: int) -> None:
    """A completed direct booking with an offline Success payment: its net is earned."""
    reply = store.http[0].post(
        "/appointments",
        headers=bearer(store.admin),
        json={
            "consultant": consultant.id,
            "client": client.id,
            "startAt": at(day, "09:00"),
            "endAt": at(day, "10:00"),
            "status": "Upcoming",
            "payment": {"amount": amount, "status": "Success", "method": "Card"},
        },
    )
    assert reply.status_code == 201, reply.text
    done = store.http[0].patch(
        f"/appointments/{reply.json()['data']['_id']}", headers=bearer(store.admin), json={"status": "Completed"}
    )
    assert done.status_code == 200, done.text


def transactions(store: Store, token: str, via: int = -1, **params: Any) -> dict[str, Any]:
    reply = store.http[via].get("/transactions", params={"limit": 100, **params}, headers=bearer(token))
    assert reply.status_code == 200, reply.text
    return reply.json()  # type: ignore[no-any-return]


def test_one_payment_confirmed_and_verified_20_times_at_once_is_recorded_once(cluster):
    store = cluster
    consultant, client = paid_consultant(store, 1500), store.signup("Client")
    day = weekdays_from(3, 1)[0]
    body = store.hold_body(client, consultant, day, "09:00", "10:00")
    held = store.http[0].post("/appointments/hold", json=body, headers=bearer(client.token))
    assert held.status_code == 200, held.text
    hold_id = held.json()["data"]["holdId"]
    order = (
        store.http[0]
        .post(
            "/payments/create-order",
            headers=bearer(client.token),
            json={
                "amount": 1500,
                "holdId": hold_id,
                "consultantId": consultant.id,
                "clientId": client.id,
                "paymentMethod": "Razorpay",
            },
        )
        .json()["data"]
    )
    payment_id = "pay_RACE0000000001"
    proof = {
        "razorpay_order_id": order["orderId"],
        "razorpay_payment_id": payment_id,
        "razorpay_signature": hmac.new(
            SECRET.encode(), f"{order['orderId']}|{payment_id}".encode(), hashlib.sha256
        ).hexdigest(),
    }
    confirm = {**body, "status": "Upcoming", "holdId": hold_id, "payment": {"razorpayResponse": proof}}

    def call(index: int) -> Any:
        if index % 2:
            return lambda http: http.post("/payments/verify", json=proof, headers=bearer(client.token))
        return lambda http: http.post("/appointments", json=confirm, headers=bearer(client.token))

    outcomes = race([(store.urls[i % len(store.urls)], call(i)) for i in range(20)])
    confirmations = Counter(o.status for i, o in enumerate(outcomes) if i % 2 == 0)
    verifications = Counter(o.status for i, o in enumerate(outcomes) if i % 2)
    assert confirmations == Counter({201: 1, 200: 9}), [o for o in outcomes]
    assert verifications == Counter({200: 10}), [o for o in outcomes]
    mine = transactions(store, client.token)
    assert [(t["type"], t["status"], t["transactionId"]) for t in mine["data"]] == [("Payment", "Success", payment_id)]
    appointment = store.http[-1].get(f"/appointments/{hold_id}", headers=bearer(client.token)).json()["data"]
    assert appointment["status"] == "Upcoming" and appointment["payment"]["status"] == "Success"
    # the consultant's pending earnings hold it once: completing would earn 1350, not more
    status = (
        store.http[-1]
        .get("/payments/status", params={"orderId": order["orderId"]}, headers=bearer(client.token))
        .json()["data"]
    )
    assert status["status"] == "Success"


def test_one_payout_reference_sent_20_times_at_once_is_recorded_once(cluster):
    store = cluster
    consultant, client = paid_consultant(store, 5000), store.signup("Client")
    earned(store, consultant, client, weekdays_from(3, 2)[1], 5000)
    body = {"consultantId": consultant.id, "amount": 700, "notes": "Bank transfer", "referenceId": "UTR-RACE-1"}
    outcomes = race(
        [
            (
                store.urls[i % len(store.urls)],
                lambda http: http.post("/transactions/payout", json=body, headers=bearer(store.admin)),
            )
            for i in range(20)
        ]
    )
    assert Counter(o.status for o in outcomes) == Counter({201: 1, 200: 19}), outcomes
    payouts = transactions(store, store.admin, consultant=consultant.id, type="Payout")
    assert payouts["total"] == 1 and payouts["data"][0]["amount"] == 700


def test_20_concurrent_payouts_never_exceed_the_balance(cluster):
    store = cluster
    consultant, client = paid_consultant(store, 2000), store.signup("Client")
    earned(store, consultant, client, weekdays_from(3, 3)[2], 2000)  # net 1800 after the 10 % fee
    calls = [
        (
            store.urls[i % len(store.urls)],
            lambda http, i=i: http.post(
                "/transactions/payout",
                headers=bearer(store.admin),
                json={"consultantId": consultant.id, "amount": 250, "referenceId": f"UTR-BAL-{i}"},
            ),
        )
        for i in range(20)
    ]
    outcomes = race(calls)
    statuses = Counter(o.status for o in outcomes)
    assert statuses == Counter({201: 7, 400: 13}), outcomes
    assert {o.message for o in outcomes if o.status == 400} <= {
        "Payout exceeds the remaining balance (INR 50)",
        *(f"Payout exceeds the remaining balance (INR {r})" for r in range(50, 1801, 250)),
    }
    for via in range(len(store.urls)):
        payouts = transactions(store, store.admin, via=via, consultant=consultant.id, type="Payout")
        assert payouts["total"] == 7 and sum(t["amount"] for t in payouts["data"]) == 1750
    more = store.http[0].post(
        "/transactions/payout", headers=bearer(store.admin), json={"consultantId": consultant.id, "amount": 50.01}
    )
    assert (more.status_code, more.json()) == (400, {"message": "Payout exceeds the remaining balance (INR 50)"})
