"""Payouts and balances through HTTP (contract analytics §5.3, §6 with CONTRACT.md "Money"): the admin's
consultant Payments tab and Record Payout, the consultant's payments list, payout bad input and
the transactions list's parameters, catalogue stats from earnings, a replay of every consultant's
balance from the events, the seeded demo, and the money notifications on real sockets."""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from decimal import Decimal
from typing import Any

import httpx
import pytest

from domain.appointments import Appointment
from domain.ledger import Transaction
from tests.conftest import bearer
from tests.test_appointments import API, World, next_weekday
from tests.test_payments import Money, refused

# -- payouts and the admin's Payments tab ------------------------------------------------------------


def test_payouts_balance_and_the_apps_payments_views(api):
    world = Money(api)
    consultant, client = world.paid_consultant(fees=2000, percent=10), world.client()
    admin = bearer(world.admin)
    day = next_weekday(2)
    direct = world.direct(
        world.admin,
        client,
        consultant,
        day,
        "09:00",
        "10:00",
        payment={"amount": 2000, "status": "Success", "method": "Card"},
    )
    assert direct.status_code == 201, direct.text
    appointment = direct.json()["data"]
    assert appointment["payment"]["status"] == "Success" and appointment["payment"]["invoiceUrl"]
    assert (appointment["payment"]["platformFee"], appointment["payment"]["netAmount"]) == (200, 1800)
    world.paid_booking(client, consultant, day, "11:30", "12:30")  # not completed: not yet earned

    refused(
        api.post(f"{API}/transactions/payout", headers=admin, json={"consultantId": consultant.id, "amount": 100}),
        400,
        "Payout exceeds the remaining balance (INR 0)",
    )
    assert world.patch(world.admin, appointment["_id"], {"status": "Completed"}).status_code == 200
    assert world.container.payouts.balance(consultant.id)["remainingBalance"] == Decimal("1800.00")

    first = api.post(
        f"{API}/transactions/payout",
        headers=admin,
        json={"consultantId": consultant.id, "amount": 1000, "notes": "Bank transfer", "referenceId": "UTR123"},
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert set(body) == {"message", "data"} and body["message"] == "Payout recorded successfully"
    payout = body["data"]
    assert (payout["type"], payout["status"], payout["amount"], payout["paymentMethod"], payout["currency"]) == (
        "Payout",
        "Success",
        1000,
        "Manual",
        "INR",
    )
    assert payout["metadata"] == {"notes": "Bank transfer", "referenceId": "UTR123", "recordedBy": world.admin_id}
    replay = api.post(
        f"{API}/transactions/payout",
        headers=admin,
        json={"consultantId": consultant.id, "amount": 1000, "referenceId": "UTR123"},
    )
    assert replay.status_code == 200 and replay.json()["data"]["_id"] == payout["_id"]
    refused(
        api.post(f"{API}/transactions/payout", headers=admin, json={"consultantId": consultant.id, "amount": 900}),
        400,
        "Payout exceeds the remaining balance (INR 800)",
    )
    notices = world.notices("Payout Processed")
    assert [n.recipient for n in notices] == [consultant.id]
    assert notices[0].content["message"] == (
        "A payout of INR 1000 has been processed for your account. Notes: Bank transfer"
    )

    # the admin's consultant Payments tab: GET /transactions?consultant=X&limit=100, totals computed client-side
    tab = world.transactions(world.admin, consultant=consultant.id, limit=100)
    assert tab["limit"] == 100 and tab["total"] == 3
    earned = sum(
        t["netAmount"] if t.get("netAmount") is not None else t["amount"]
        for t in tab["data"]
        if t["type"] == "Payment"
        and t["status"] == "Success"
        and isinstance(t["appointment"], dict)
        and t["appointment"]["status"] == "Completed"
    )
    paid = sum(t["amount"] for t in tab["data"] if t["type"] == "Payout")
    assert (earned, paid) == (1800, 1000)
    assert [t["type"] for t in tab["data"]] == ["Payout", "Payment", "Payment"]  # newest first
    payout_row = tab["data"][0]
    assert payout_row["user"]["_id"] == world.admin_id and payout_row["metadata"]["referenceId"] == "UTR123"
    direct_row = tab["data"][2]
    assert direct_row["userSnapshot"]["name"] == client.data["name"] and direct_row["paymentMethod"] == "Card"
    # the consultant's own payments list; clients see only theirs
    own = world.transactions(consultant, limit=100)
    assert own["total"] == 3 and world.transactions(consultant, type="Payout")["total"] == 1
    assert world.transactions(client)["total"] == 2
    assert world.transactions(world.admin)["total"] == 3  # admin without a filter sees all
    assert world.transactions(world.admin, limit=1, page=2)["data"][0]["_id"] == tab["data"][1]["_id"]


def test_payout_and_list_bad_input(api):
    world = Money(api)
    consultant, client = world.paid_consultant(), world.client()
    admin = bearer(world.admin)
    cases = [
        ({"amount": 10}, 400, "Consultant ID and Amount are required"),
        ({"consultantId": consultant.id, "amount": 0}, 400, "Consultant ID and Amount are required"),
        (
            {"consultantId": consultant.id, "amount": -10},
            400,
            "Amount must be a positive number with at most two decimals",
        ),
        (
            {"consultantId": consultant.id, "amount": "ten"},
            400,
            "Amount must be a positive number with at most two decimals",
        ),
        (
            {"consultantId": consultant.id, "amount": 1.234},
            400,
            "Amount must be a positive number with at most two decimals",
        ),
        (  # over MAX_AMOUNT (issue 12)
            {"consultantId": consultant.id, "amount": "1e30"},
            400,
            '"amount" must be less than or equal to 10000000',
        ),
        (
            {"consultantId": consultant.id, "amount": {"$gt": 0}},
            400,
            "Amount must be a positive number with at most two decimals",
        ),
        (
            {"consultantId": consultant.id, "amount": 5, "notes": "x" * 1001},
            400,
            "notes must be at most 1000 characters",
        ),
        ({"consultantId": "nope", "amount": 10}, 400, "Invalid consultant ID"),
        ({"consultantId": "0" * 24, "amount": 10}, 404, "Consultant not found"),
        ({"consultantId": client.id, "amount": 10}, 404, "Consultant not found"),
        (
            {"consultantId": consultant.id, "amount": 10, "referenceId": ["x"]},
            400,
            "notes and referenceId must be strings",
        ),
    ]
    for body, status, message in cases:
        reply = api.post(f"{API}/transactions/payout", headers=admin, json=body)
        assert (reply.status_code, reply.json()) == (status, {"message": message}), body
    reply = api.post(
        f"{API}/transactions/payout", headers=consultant.auth, json={"consultantId": consultant.id, "amount": 10}
    )
    assert (reply.status_code, reply.json()) == (403, {"message": "Access denied. Admins only."})
    for params, message in (
        ({"page": 0}, "Invalid page: a positive integer is required"),
        ({"page": "x"}, "Invalid page: a positive integer is required"),
        ({"limit": "many"}, "Invalid limit: an integer is required"),
        ({"type": "Gift"}, "Invalid type: one of Payment, Refund, Payout, Adjustment"),
        ({"consultant": "123"}, "Invalid consultant ID"),
    ):
        reply = api.get(f"{API}/transactions", params=params, headers=admin)
        assert (reply.status_code, reply.json()) == (400, {"message": message}), params
    assert world.transactions(world.admin, limit=1000)["limit"] == 100
    assert world.transactions(world.admin, limit=0)["limit"] == 1
    assert world.transactions(world.admin)["total"] == 0


# -- catalogue stats and the replay ---------------------------------------------------------------


def test_category_stats_and_balances_replayed_from_the_events(api):
    world = Money(api)
    admin = bearer(world.admin)
    category = api.post(f"{API}/categories", headers=admin, json={"title": "Finance"}).json()["data"]
    sub = api.post(
        f"{API}/subcategories", headers=admin, json={"title": "Tax", "parentCategory": category["_id"]}
    ).json()["data"]
    consultant = world.paid_consultant(
        fees=1000, percent=20, categories=[{"categoryId": category["_id"], "subcategoryId": sub["_id"]}]
    )
    client, second = world.client(), world.client()
    day = next_weekday(2)
    done = world.direct(
        world.admin,
        client,
        consultant,
        day,
        "09:00",
        "10:00",
        payment={"amount": 1000, "status": "Success", "method": "Card"},
    ).json()["data"]
    world.direct(
        world.admin,
        second,
        consultant,
        day,
        "10:15",
        "11:15",
        payment={"amount": 1000, "status": "Success", "method": "Card"},
    )
    world.paid_booking(client, consultant, day, "11:30", "12:30")
    assert world.patch(world.admin, done["_id"], {"status": "Completed"}).status_code == 200
    listed = api.get(f"{API}/categories").json()["data"]
    finance = next(c for c in listed if c["_id"] == category["_id"])
    assert (finance["clients"], finance["monthlyRevenue"]) == (2, 800)
    assert finance["subcategories"][0]["monthlyRevenue"] == 800
    payout = api.post(
        f"{API}/transactions/payout", headers=admin, json={"consultantId": consultant.id, "amount": 300.5}
    )
    assert payout.status_code == 201, payout.text

    # recompute every consultant's balance from the events alone (the CONTRACT.md rule) and compare
    payments: dict[str, dict[str, Any]] = {}
    status_of: dict[str, str] = {}
    paid_out: dict[str, Decimal] = defaultdict(Decimal)
    for event in world.events():
        if isinstance(event, Transaction.Recorded):
            payments[event.transaction_id] = {
                "kind": event.kind,
                "status": event.status,
                "net": event.net_amount,
                "amount": event.amount,
                "consultant": event.consultant_id,
                "appointment": event.appointment_id,
            }
        elif isinstance(event, Transaction.Succeeded):
            row = payments[event.originator_id.hex[:24]]
            row["status"] = "Success"
            row["appointment"] = event.appointment_id or row["appointment"]
        elif isinstance(event, Transaction.Refunded):
            payments[event.originator_id.hex[:24]]["status"] = "Refunded"
        elif isinstance(event, (Appointment.Created, Appointment.StatusChanged)):
            status_of[event.originator_id.hex[:24]] = event.status
        elif isinstance(event, (Appointment.Completed, Appointment.Cancelled, Appointment.Confirmed)):
            status_of[event.originator_id.hex[:24]] = {
                Appointment.Completed: "Completed",
                Appointment.Cancelled: "Cancelled",
            }.get(type(event), "Upcoming")
    earned: dict[str, Decimal] = defaultdict(Decimal)
    for row in payments.values():
        if (
            row["kind"] == "Payment"
            and row["status"] == "Success"
            and (row["appointment"] is None or status_of.get(row["appointment"]) == "Completed")
        ):
            earned[row["consultant"]] += row["net"]
        if row["kind"] == "Payout" and row["status"] == "Success":
            paid_out[row["consultant"]] += row["amount"]
    balances = world.container.ledger.balances()
    assert balances == {
        c: {"earned": int(earned[c] * 100), "paid_out": int(paid_out[c] * 100)}
        for c in set(earned) | set(paid_out) | set(balances)
    }
    assert balances[consultant.id] == {"earned": 80000, "paid_out": 30050}
    # the analytics' payout summary (DuckDB, from the same events) tells the balance payouts are checked against
    summary = api.get(f"{API}/analytics/consultant", headers=bearer(consultant.token)).json()["data"]["payoutSummary"]
    assert summary == {"totalEarnings": 800, "totalPaidOut": 300.5, "remainingBalance": 499.5}
    overview = api.get(f"{API}/analytics/overview", headers=admin).json()["data"]["payoutSummary"]
    assert overview["totalEarnings"] * 100 == sum(b["earned"] for b in balances.values())
    assert overview["totalPaidOut"] * 100 == sum(b["paid_out"] for b in balances.values())
    # and a rebuild of the read models from the events answers the same
    before = world.transactions(world.admin, limit=100)
    world.container.runner.reset()
    world.container.runner.catch_up()
    assert world.transactions(world.admin, limit=100) == before
    assert world.container.ledger.balances() == balances


def test_seeded_demo_has_payments_refunds_and_payouts(settings):
    from infrastructure.bootstrap import build
    from interfaces.demo import seed

    container = build(settings)
    try:
        logins = seed(container)
        data, total = container.ledger.list(party=None, consultant_only=False, kind=None, page=1, limit=100)
        kinds = {
            (t["type"], t["status"])
            for t in container.ledger.list(party=None, consultant_only=False, kind=None, page=1, limit=100_000)[0]
        }
        assert {("Payment", "Success"), ("Payment", "Refunded"), ("Refund", "Success"), ("Payout", "Success")} <= kinds
        for consultant_id, balance in container.ledger.balances().items():
            assert 0 <= balance["paid_out"] <= balance["earned"], consultant_id
        assert total > 20  # the demo is rich enough to show the apps' pages
    finally:
        container.close()
    _seeded_history_shows_on_the_analytics_pages(settings, logins)


def _seeded_history_shows_on_the_analytics_pages(settings: Any, logins: list[tuple[str, str, str]]) -> None:
    """Months of history at their own dates: the yearly overview shows revenue in several months
    (this year and last, so the check holds in January too), and every consultant's payout summary
    is consistent and never pays out more than was earned."""
    from datetime import UTC, datetime

    from fastapi.testclient import TestClient

    from interfaces.http.app import create_app

    def login(email: str, password: str) -> dict[str, str]:
        reply = api.post(f"{API}/auth/login", json={"email": email, "password": password})
        assert reply.status_code == 200, reply.text
        return bearer(reply.json()["data"]["token"])

    with TestClient(create_app(settings)) as api:
        admin = login(logins[0][1], logins[0][2])
        months = set()
        year = datetime.now(UTC).year
        for shown in (year - 1, year):
            reply = api.get(f"{API}/analytics/overview?viewType=yearly&year={shown}", headers=admin)
            assert reply.status_code == 200, reply.text
            trends = reply.json()["data"]["monthlyTrends"]
            months |= {(shown, month["name"]) for month in trends if month["revenue"] > 0 and month["gmv"] > 0}
        assert len(months) >= 4, months
        paid_out = 0
        for role, email, password in logins:
            if role != "Consultant":  # the pending one has no history
                continue
            reply = api.get(f"{API}/analytics/consultant", headers=login(email, password))
            assert reply.status_code == 200, reply.text
            summary = reply.json()["data"]["payoutSummary"]
            assert summary["remainingBalance"] == summary["totalEarnings"] - summary["totalPaidOut"] >= 0, email
            assert summary["totalEarnings"] > 0, email
            paid_out += summary["totalPaidOut"] > 0
        assert paid_out >= 4  # the history's payouts (and today's) reached the consultants' summaries


# -- Socket.IO: the money notifications (against a real server) ----------------------------------


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_payment_and_payout_notifications_reach_the_sockets(settings):
    from tests.conftest import Server
    from tests.test_appointments import Listener

    secret = "socket-secret-" + "z" * 20
    server = Server(settings, extra_env={"RAZORPAY_KEY_SECRET": secret})
    http = httpx.Client(base_url=server.url, timeout=30)
    listeners: list[Any] = []
    try:
        world = World(http)
        consultant, client = world.consultant(), world.client()
        assert (
            http.patch(
                f"{API}/consultants/{consultant.id}",
                headers=bearer(world.admin),
                json={"fees": 1200, "commission": {"platformPercent": 25}},
            ).status_code
            == 200
        )
        to_admin, to_client, to_consultant = (
            Listener(server.url, token) for token in (world.admin, client.token, consultant.token)
        )
        listeners += [to_admin, to_client, to_consultant]
        day = next_weekday(2)
        hold_id = world.hold(client, consultant, day, "09:00", "10:00").json()["data"]["holdId"]
        order = http.post(
            f"{API}/payments/create-order",
            headers=client.auth,
            json={"amount": 1200, "holdId": hold_id, "consultantId": consultant.id, "clientId": client.id},
        ).json()["data"]
        signature = hmac.new(secret.encode(), f"{order['orderId']}|pay_SOCK1".encode(), hashlib.sha256).hexdigest()
        confirmed = world.confirm(
            client,
            consultant,
            day,
            "09:00",
            "10:00",
            hold_id,
            payment={
                "razorpayResponse": {
                    "razorpay_order_id": order["orderId"],
                    "razorpay_payment_id": "pay_SOCK1",
                    "razorpay_signature": signature,
                }
            },
        )
        assert confirmed.status_code == 201, confirmed.text
        received = to_admin.next("notification:new", lambda d: d["name"] == "Payment Received")
        assert received["recipientRole"] == "Admin" and received["recipient"] is None and received["type"] == "payment"
        paid = to_client.next("notification:new", lambda d: d["name"] == "Payment Successful")
        assert paid["message"] == "Your payment of ₹1200 was successful." and paid["actionLabel"] == "View Receipt"
        # sandbox checkout for manual runs: a signature the server itself accepts
        other = world.hold(client, consultant, day, "11:30", "12:30").json()["data"]["holdId"]
        second = http.post(
            f"{API}/payments/create-order",
            headers=client.auth,
            json={"amount": 1, "holdId": other, "paymentMethod": "PayPal"},
        ).json()["data"]
        approval = http.post(
            f"{API}/payments/sandbox/checkout", headers=client.auth, json={"orderId": second["orderId"]}
        ).json()["data"]
        assert (
            world.confirm(
                client, consultant, day, "11:30", "12:30", other, payment={"paypalResponse": approval}
            ).status_code
            == 201
        )

        done = http.patch(f"{API}/appointments/{hold_id}", headers=bearer(world.admin), json={"status": "Completed"})
        assert done.status_code == 200, done.text
        payout = http.post(
            f"{API}/transactions/payout",
            headers=bearer(world.admin),
            json={"consultantId": consultant.id, "amount": 900, "notes": "NEFT"},
        )
        assert payout.status_code == 201, payout.text
        processed = to_consultant.next("notification:new", lambda d: d["name"] == "Payout Processed")
        assert processed["message"] == "A payout of INR 900 has been processed for your account. Notes: NEFT"
    finally:
        for listener in listeners:
            listener.client.disconnect()
        http.close()
        server.stop()
