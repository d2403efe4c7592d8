"""Contract of the money routes through HTTP (contract analytics §5–6, availability §2.2, with the
decisions of CONTRACT.md "Money"): hold → create-order → confirm with a real signature (Razorpay)
or an approved order (PayPal), verify and status, invoices, refunds on cancellation and on a lost
slot, payouts and the balance, the transactions list the apps read, bad input, catalogue stats,
and a replay of every consultant's balance from the events."""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import jwt
import pytest

from domain.appointments import Appointment
from domain.ledger import Transaction
from domain.notifications import Notification
from tests.conftest import bearer
from tests.test_appointments import API, World, instant, next_weekday

SLOT_TIMEOUT = "Slot timeout: This slot was booked by someone else while you were paying. A refund will be initiated."


class Money(World):
    """The booking world plus the money flows of the apps."""

    def __init__(self, api: Any):
        super().__init__(api)
        self.container = api.app.state.container
        self.admin_id = str(jwt.decode(self.admin, options={"verify_signature": False})["id"])

    def paid_consultant(self, fees: int = 1500, percent: float = 10, **fields: Any) -> Any:
        consultant = self.consultant(fees=fees, **fields)
        reply = self.api.patch(f"{API}/consultants/{consultant.id}", headers=bearer(self.admin),
                               json={"commission": {"platformPercent": percent}})
        assert reply.status_code == 200, reply.text
        return consultant

    def order(self, client: Any, consultant: Any, hold_id: str, method: str = "Razorpay", **extra: Any) -> Any:
        return self.api.post(f"{API}/payments/create-order", headers=client.auth, json={
            "amount": 1500, "holdId": hold_id, "consultantId": consultant.id, "clientId": client.id,
            "paymentMethod": method, **extra})

    def sign(self, order_id: str, payment_id: str) -> str:
        """What Razorpay's checkout hands the client: HMAC-SHA256 of order|payment with the key secret."""
        secret = self.container.settings.resolved_razorpay_secret.encode()
        return hmac.new(secret, f"{order_id}|{payment_id}".encode(), hashlib.sha256).hexdigest()

    def proof(self, order_id: str, payment_id: str = "pay_TESTPAYMENT0001") -> dict[str, str]:
        return {"razorpay_order_id": order_id, "razorpay_payment_id": payment_id,
                "razorpay_signature": self.sign(order_id, payment_id)}

    def held(self, client: Any, consultant: Any, day: date, start: str, end: str) -> str:
        reply = self.hold(client, consultant, day, start, end)
        assert reply.status_code == 200, reply.text
        return str(reply.json()["data"]["holdId"])

    def transactions(self, who: Any, **params: Any) -> dict[str, Any]:
        token = who if isinstance(who, str) else who.token
        reply = self.api.get(f"{API}/transactions", params=params, headers=bearer(token))
        assert reply.status_code == 200, reply.text
        return reply.json()  # type: ignore[no-any-return]

    def events(self) -> list[Any]:
        market = self.container.market
        return [market.mapper.to_domain_event(n) for n in market.recorder.select_notifications(1, 1_000_000)]

    def notices(self, name: str) -> list[Any]:
        return [e for e in self.events() if isinstance(e, Notification.Sent) and e.content["name"] == name]

    def paid_booking(self, client: Any, consultant: Any, day: date, start: str = "09:00",
                     end: str = "10:00") -> dict[str, Any]:
        hold_id = self.held(client, consultant, day, start, end)
        order = self.order(client, consultant, hold_id).json()["data"]
        reply = self.confirm(client, consultant, day, start, end, hold_id,
                             payment={"razorpayResponse": self.proof(order["orderId"])})
        assert reply.status_code == 201, reply.text
        return {"hold": hold_id, "order": order, "appointment": reply.json()["data"]}


def refused(reply: Any, status: int, message: str | None = None) -> None:
    assert reply.status_code == status, reply.text
    if message is not None:
        assert reply.json()["message"] == message, reply.json()


# -- the client's paid booking (Consultant app useBooking) ----------------------------------------

def test_hold_order_confirm_with_a_real_signature(api):
    world = Money(api)
    consultant, client, other = world.paid_consultant(), world.client(), world.client()
    day = next_weekday(2)
    hold_id = world.held(client, consultant, day, "09:00", "10:00")

    # the order: the hold's fee in paise, the key, a Pending transaction with fee and net from the commission
    order = world.order(client, consultant, hold_id, amount=1).json()
    assert order["success"] is True and order["message"] == "Order created successfully"
    data = order["data"]
    assert data["amount"] == 150000 and data["currency"] == "INR" and data["orderId"].startswith("order_")
    assert data["key"] == world.container.gateway.key_id and len(data["transactionId"]) == 24
    status = api.get(f"{API}/payments/status", params={"orderId": data["orderId"]}, headers=client.auth).json()
    assert status["data"] == {"transactionId": data["transactionId"], "status": "Pending", "amount": 1500,
                              "paymentMethod": "Razorpay"}
    refused(api.get(f"{API}/payments/status", params={"orderId": data["orderId"]}, headers=other.auth), 403)

    # the checkout's signature confirms the hold; the sandbox signs exactly like that
    proof = world.proof(data["orderId"], "pay_N8xYzAbCdEf123")
    sandbox = world.container.gateway.pay(data["orderId"])
    assert sandbox["razorpay_signature"] == world.sign(data["orderId"], sandbox["razorpay_payment_id"])
    confirmed = world.confirm(client, consultant, day, "09:00", "10:00", hold_id,
                              payment={"razorpayResponse": proof})
    assert confirmed.status_code == 201, confirmed.text
    appointment = confirmed.json()["data"]
    assert appointment["_id"] == hold_id and appointment["status"] == "Upcoming"
    payment = appointment["payment"]
    assert (payment["status"], payment["method"], payment["amount"], payment["transactionId"]) == (
        "Success", "Razorpay", 1500, data["transactionId"])
    assert f"key=invoices/{datetime.now(UTC).year}/{data['transactionId']}.pdf" in payment["invoiceUrl"]

    # confirming twice answers the first confirmation and records nothing more
    again = world.confirm(client, consultant, day, "09:00", "10:00", hold_id, payment={"razorpayResponse": proof})
    assert again.status_code == 200 and again.json()["message"] == "Appointment already confirmed"

    # the client's Payments page
    page = world.transactions(client)
    assert (page["total"], page["page"], page["limit"]) == (1, 1, 10)
    item = page["data"][0]
    assert (item["type"], item["status"], item["amount"], item["platformFee"], item["netAmount"]) == (
        "Payment", "Success", 1500, 150, 1350)
    assert item["transactionId"] == "pay_N8xYzAbCdEf123" and item["_id"] == data["transactionId"]
    assert item["metadata"]["razorpayOrderId"] == data["orderId"] and item["metadata"]["holdId"] == hold_id
    assert item["metadata"]["razorpaySignature"] == proof["razorpay_signature"] and item["metadata"]["verifiedAt"]
    assert item["metadata"]["invoiceId"] == f"INV-{data['transactionId']}"
    assert item["user"] == {"_id": client.id, "fullName": client.data["name"], "email": client.data["email"]}
    assert item["consultant"]["_id"] == consultant.id and item["consultant"]["name"] == consultant.data["name"]
    assert set(item["consultant"]["category"]) == {"name", "description", "imageUrl"}
    assert item["appointment"]["_id"] == hold_id and item["appointment"]["status"] == "Upcoming"
    assert item["appointment"]["payment"]["invoiceUrl"] == payment["invoiceUrl"] == item["invoiceUrl"]

    # the invoice: bearer or ?token=, the client, the consultant and admins only
    path = payment["invoiceUrl"].split("/api/v1", 1)[1]
    pdf = api.get(f"{API}{path}&token={client.token}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert pdf.headers["content-type"] == "application/pdf"
    assert "attachment; filename=\"INVOICE-" in pdf.headers["content-disposition"]
    assert api.get(f"{API}{path}", headers=consultant.auth).status_code == 200
    assert api.get(f"{API}{path}", headers=bearer(world.admin)).status_code == 200
    refused(api.get(f"{API}{path}", headers=other.auth), 403)
    refused(api.get(f"{API}{path}"), 401)
    refused(api.get(f"{API}/storage/proxy", params={"key": "documents/x.pdf"}, headers=client.auth), 404)
    refused(api.get(f"{API}/storage/proxy", params={"key": f"invoices/1999/{data['transactionId']}.pdf"},
                    headers=client.auth), 404)

    # notifications of §6.2: the admins and the client, once
    received, successful = world.notices("Payment Received"), world.notices("Payment Successful")
    assert [(n.recipient, n.recipient_role) for n in received] == [(None, "Admin")]
    assert [n.recipient for n in successful] == [client.id]
    assert received[0].content["message"] == (f"Payment of ₹1500 received from {client.data['name']} for "
                                              f"appointment with {consultant.data['name']}.")
    assert successful[0].content["actionUrl"] == payment["invoiceUrl"] + "&view=inline"


def test_paypal_order_is_captured_on_confirmation(api):
    world = Money(api)
    consultant, client = world.paid_consultant(fees=800, percent=0), world.client()
    day = next_weekday(3)
    hold_id = world.held(client, consultant, day, "10:15", "11:15")
    data = world.order(client, consultant, hold_id, "PayPal").json()["data"]
    assert (data["amount"], data["currency"], data["paymentMethod"]) == (800, "INR", "PayPal")
    approval = world.container.gateway.approve_paypal(data["orderId"])
    refused(world.confirm(client, consultant, day, "10:15", "11:15", hold_id,
                          payment={"paypalResponse": {"orderID": data["orderId"], "payerID": "PAYERFORGED00"}}),
            400, "PayPal order was not approved by the payer")
    refused(world.confirm(client, consultant, day, "10:15", "11:15", hold_id,
                          payment={"paypalResponse": {"payerID": "X"}}), 400, "Missing PayPal order ID")
    confirmed = world.confirm(client, consultant, day, "10:15", "11:15", hold_id,
                              payment={"paypalResponse": approval})
    assert confirmed.status_code == 201, confirmed.text
    assert confirmed.json()["data"]["payment"]["method"] == "PayPal"
    item = world.transactions(client)["data"][0]
    assert item["status"] == "Success" and item["transactionId"].startswith("CAP")
    assert item["metadata"]["paypalCaptureId"] == item["transactionId"] and item["netAmount"] == 800


def test_verify_then_confirm_records_one_success(api):
    world = Money(api)
    consultant, client, other = world.paid_consultant(), world.client(), world.client()
    day = next_weekday(2)
    hold_id = world.held(client, consultant, day, "11:30", "12:30")
    data = world.order(client, consultant, hold_id).json()["data"]
    proof = world.proof(data["orderId"])
    refused(api.post(f"{API}/payments/verify", headers=client.auth, json={"razorpay_order_id": data["orderId"]}),
            400, "Missing payment verification data")
    refused(api.post(f"{API}/payments/verify", headers=client.auth,
                     json={**proof, "razorpay_signature": "0" * 64}), 400, "Invalid payment signature")
    refused(api.post(f"{API}/payments/verify", headers=other.auth, json=proof), 403)
    for _ in range(2):
        verified = api.post(f"{API}/payments/verify", headers=client.auth, json=proof)
        assert verified.status_code == 200, verified.text
        assert verified.json()["data"] == {"transactionId": data["transactionId"],
                                           "paymentId": proof["razorpay_payment_id"], "status": "Success"}
    confirmed = world.confirm(client, consultant, day, "11:30", "12:30", hold_id, payment={"razorpayResponse": proof})
    assert confirmed.status_code == 201 and confirmed.json()["data"]["payment"]["status"] == "Success"
    succeeded = [e for e in world.events() if isinstance(e, Transaction.Succeeded)]
    assert len(succeeded) == 1 and len(world.notices("Payment Successful")) == 1
    second = api.post(f"{API}/payments/create-order", headers=client.auth,
                      json={"amount": 1500, "appointmentId": hold_id}).json()
    assert second["message"] == "Appointment is already paid or not payable"
    status = api.get(f"{API}/payments/status", params={"transactionId": data["transactionId"]},
                     headers=consultant.auth).json()["data"]
    assert status["status"] == "Success"
    refused(api.get(f"{API}/payments/status", params={"orderId": "order_unknown"}, headers=client.auth), 404,
            "Transaction not found")


def test_a_second_paid_order_of_one_hold_is_refunded_as_a_duplicate(api):
    world = Money(api)
    consultant, client = world.paid_consultant(), world.client()
    day = next_weekday(3)
    hold_id = world.held(client, consultant, day, "09:00", "10:00")
    first, second = (world.order(client, consultant, hold_id).json()["data"] for _ in range(2))
    confirmed = world.confirm(client, consultant, day, "09:00", "10:00", hold_id,
                              payment={"razorpayResponse": world.proof(first["orderId"])})
    assert confirmed.status_code == 201, confirmed.text
    verified = api.post(f"{API}/payments/verify", headers=client.auth, json=world.proof(second["orderId"], "pay_2"))
    assert verified.status_code == 200 and verified.json()["data"]["status"] == "Refunded"
    document = api.get(f"{API}/appointments/{hold_id}", headers=client.auth).json()["data"]
    assert document["payment"]["transactionId"] == first["transactionId"]
    kinds = sorted((t["type"], t["status"]) for t in world.transactions(client)["data"])
    assert kinds == [("Payment", "Refunded"), ("Payment", "Success"), ("Refund", "Success")]
    assert world.container.ledger.balances()[consultant.id]["earned"] == 0  # not completed yet


def test_bad_payment_input_is_refused_and_records_nothing(api):
    world = Money(api)
    consultant, client, other = world.paid_consultant(), world.client(), world.client()
    day = next_weekday(2)
    hold_id = world.held(client, consultant, day, "09:00", "10:00")
    other_hold = world.held(other, consultant, day, "10:15", "11:15")
    for amount in (-5, 0, "abc", None, True, "NaN", "1e30", [1]):
        refused(world.order(client, consultant, hold_id, amount=amount), 400, "Invalid amount")
    refused(api.post(f"{API}/payments/create-order", headers=client.auth, json={"amount": 10}), 400,
            "Appointment ID or Hold ID is required")
    refused(world.order(client, consultant, hold_id, currency="USD"), 400,
            "Unsupported currency: payments are accepted in INR only")
    refused(world.order(client, consultant, other_hold), 403)
    refused(world.order(client, consultant, "zz"), 400, "Invalid ID format")
    refused(world.order(client, consultant, "0" * 24), 400, "Booking hold expired or invalid")
    assert world.transactions(world.admin)["total"] == 0

    data = world.order(client, consultant, hold_id).json()["data"]
    theirs = world.order(other, consultant, other_hold).json()["data"]
    tampered = {**world.proof(data["orderId"]), "razorpay_payment_id": "pay_SOMETHINGELSE"}
    refused(world.confirm(client, consultant, day, "09:00", "10:00", hold_id, payment={"razorpayResponse": tampered}),
            400, "Invalid payment signature")
    # a valid proof of another client's order cannot pay this hold
    refused(world.confirm(client, consultant, day, "09:00", "10:00", hold_id,
                          payment={"razorpayResponse": world.proof(theirs["orderId"])}), 400,
            "Payment does not match this booking")
    refused(world.confirm(client, consultant, day, "09:00", "10:00", hold_id), 400,
            "Payment is required to confirm this booking")
    assert [t["status"] for t in world.transactions(world.admin)["data"]] == ["Pending", "Pending"]
    assert world.list(client, status="Hold")[0]["_id"] == hold_id
    assert not [e for e in world.events() if isinstance(e, Transaction.Succeeded)]


# -- refunds ---------------------------------------------------------------------------------------

def test_cancellation_refunds_per_the_rule(api):
    world = Money(api)
    consultant, client = world.paid_consultant(), world.client()
    day = next_weekday(2)
    by_consultant = world.paid_booking(client, consultant, day, "09:00", "10:00")
    by_client_early = world.paid_booking(client, consultant, day, "11:30", "12:30")
    late = world.paid_booking(client, consultant, day, "14:00", "15:00")

    assert world.patch(consultant, by_consultant["hold"], {"status": "Cancelled"}).status_code == 200
    assert world.patch(client, by_client_early["hold"], {"status": "Cancelled"}).status_code == 200
    # within the cancellation window (24 h by default) the client gets no refund
    container = world.container
    real = container.bookings.clock
    container.bookings.clock = lambda: instant(day, "14:00").astimezone(UTC) - timedelta(hours=2)
    try:
        assert world.patch(client, late["hold"], {"status": "Cancelled"}).status_code == 200
    finally:
        container.bookings.clock = real

    items = world.transactions(world.admin, limit=100)["data"]
    payments = {t["_id"]: t for t in items if t["type"] == "Payment"}
    refunds = [t for t in items if t["type"] == "Refund"]
    assert payments[by_consultant["order"]["transactionId"]]["status"] == "Refunded"
    assert payments[by_client_early["order"]["transactionId"]]["status"] == "Refunded"
    assert payments[late["order"]["transactionId"]]["status"] == "Success"
    assert sorted(r["metadata"]["refundOf"] for r in refunds) == sorted(
        [by_consultant["order"]["transactionId"], by_client_early["order"]["transactionId"]])
    assert all(r["status"] == "Success" and r["transactionId"].startswith("rfnd_") and r["amount"] == 1500
               for r in refunds)
    shown = {a["_id"]: a["payment"]["status"] for a in world.list(client, status="Cancelled")}
    assert shown == {by_consultant["hold"]: "Refunded", by_client_early["hold"]: "Refunded", late["hold"]: "Success"}


def test_late_confirmation_on_a_lost_slot_is_paid_and_refunded(api):
    world = Money(api)
    consultant, slow, fast = world.paid_consultant(), world.client(), world.client()
    day = next_weekday(2)
    hold_id = world.held(slow, consultant, day, "09:00", "10:00")
    data = world.order(slow, consultant, hold_id).json()["data"]
    container = world.container
    real = container.bookings.clock
    later = datetime.now(UTC) + timedelta(minutes=6)
    container.bookings.clock = lambda: later
    try:
        world.paid_booking(fast, consultant, day, "09:00", "10:00")
        proof = world.proof(data["orderId"])
        for _ in range(2):  # a retry records nothing more
            refused(world.confirm(slow, consultant, day, "09:00", "10:00", hold_id,
                                  payment={"razorpayResponse": proof}), 409, SLOT_TIMEOUT)
    finally:
        container.bookings.clock = real
    mine = world.transactions(slow)["data"]
    assert sorted((t["type"], t["status"]) for t in mine) == [("Payment", "Refunded"), ("Refund", "Success")]
    assert world.container.payments.balance(consultant.id)["totalEarnings"] == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_paid_hold_that_expires_and_completion_by_the_scheduler(api):
    """A hold paid through /payments/verify but never confirmed is refunded when it expires; a paid
    appointment completed by the scheduler is earned."""
    world = Money(api)
    consultant, client = world.paid_consultant(), world.client()
    day = next_weekday(2)
    hold_id = world.held(client, consultant, day, "09:00", "10:00")
    data = world.order(client, consultant, hold_id).json()["data"]
    assert api.post(f"{API}/payments/verify", headers=client.auth,
                    json=world.proof(data["orderId"])).status_code == 200
    booked = world.paid_booking(client, consultant, day, "11:30", "12:30")
    container = world.container
    real = container.bookings.clock
    try:
        later = datetime.now(UTC) + timedelta(minutes=6)
        container.bookings.clock = lambda: later
        assert container.scheduler.run_once(now=later)["expire"] == 1
        after = instant(day, "12:30").astimezone(UTC) + timedelta(minutes=1)
        container.bookings.clock = lambda: after
        assert container.scheduler.run_once(now=after)["complete"] == 1
    finally:
        container.bookings.clock = real
    mine = {(t["type"], t["status"], t.get("metadata", {}).get("refundOf") or t["_id"]) for t in
            world.transactions(client)["data"]}
    assert mine == {("Payment", "Refunded", data["transactionId"]), ("Refund", "Success", data["transactionId"]),
                    ("Payment", "Success", booked["order"]["transactionId"])}
    assert container.payments.balance(consultant.id)["remainingBalance"] == Decimal("1350.00")
    assert container.ledger.balances()[consultant.id] == {"earned": 135000, "paid_out": 0}


# -- payouts and the admin's Payments tab ------------------------------------------------------------

def test_payouts_balance_and_the_apps_payments_views(api):
    world = Money(api)
    consultant, client = world.paid_consultant(fees=2000, percent=10), world.client()
    admin = bearer(world.admin)
    day = next_weekday(2)
    direct = world.direct(world.admin, client, consultant, day, "09:00", "10:00",
                          payment={"amount": 2000, "status": "Success", "method": "Card"})
    assert direct.status_code == 201, direct.text
    appointment = direct.json()["data"]
    assert appointment["payment"]["status"] == "Success" and appointment["payment"]["invoiceUrl"]
    assert (appointment["payment"]["platformFee"], appointment["payment"]["netAmount"]) == (200, 1800)
    world.paid_booking(client, consultant, day, "11:30", "12:30")  # not completed: not yet earned

    refused(api.post(f"{API}/transactions/payout", headers=admin, json={"consultantId": consultant.id,
                                                                         "amount": 100}),
            400, "Payout exceeds the remaining balance (INR 0)")
    assert world.patch(world.admin, appointment["_id"], {"status": "Completed"}).status_code == 200
    assert world.container.payments.balance(consultant.id)["remainingBalance"] == Decimal("1800.00")

    first = api.post(f"{API}/transactions/payout", headers=admin,
                     json={"consultantId": consultant.id, "amount": 1000, "notes": "Bank transfer",
                           "referenceId": "UTR123"})
    assert first.status_code == 201, first.text
    body = first.json()
    assert set(body) == {"message", "data"} and body["message"] == "Payout recorded successfully"
    payout = body["data"]
    assert (payout["type"], payout["status"], payout["amount"], payout["paymentMethod"], payout["currency"]) == (
        "Payout", "Success", 1000, "Manual", "INR")
    assert payout["metadata"] == {"notes": "Bank transfer", "referenceId": "UTR123", "recordedBy": world.admin_id}
    replay = api.post(f"{API}/transactions/payout", headers=admin,
                      json={"consultantId": consultant.id, "amount": 1000, "referenceId": "UTR123"})
    assert replay.status_code == 200 and replay.json()["data"]["_id"] == payout["_id"]
    refused(api.post(f"{API}/transactions/payout", headers=admin, json={"consultantId": consultant.id,
                                                                         "amount": 900}),
            400, "Payout exceeds the remaining balance (INR 800)")
    notices = world.notices("Payout Processed")
    assert [n.recipient for n in notices] == [consultant.id]
    assert notices[0].content["message"] == ("A payout of INR 1000 has been processed for your account. "
                                             "Notes: Bank transfer")

    # the admin's consultant Payments tab: GET /transactions?consultant=X&limit=100, totals computed client-side
    tab = world.transactions(world.admin, consultant=consultant.id, limit=100)
    assert tab["limit"] == 100 and tab["total"] == 3
    earned = sum(t["netAmount"] if t.get("netAmount") is not None else t["amount"] for t in tab["data"]
                 if t["type"] == "Payment" and t["status"] == "Success"
                 and isinstance(t["appointment"], dict) and t["appointment"]["status"] == "Completed")
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
        ({"consultantId": consultant.id, "amount": -10}, 400,
         "Amount must be a positive number with at most two decimals"),
        ({"consultantId": consultant.id, "amount": "ten"}, 400,
         "Amount must be a positive number with at most two decimals"),
        ({"consultantId": consultant.id, "amount": 1.234}, 400,
         "Amount must be a positive number with at most two decimals"),
        ({"consultantId": consultant.id, "amount": "1e30"}, 400,
         "Amount must be a positive number with at most two decimals"),
        ({"consultantId": consultant.id, "amount": {"$gt": 0}}, 400,
         "Amount must be a positive number with at most two decimals"),
        ({"consultantId": consultant.id, "amount": 5, "notes": "x" * 1001}, 400,
         "notes must be at most 1000 characters"),
        ({"consultantId": "nope", "amount": 10}, 400, "Invalid consultant ID"),
        ({"consultantId": "0" * 24, "amount": 10}, 404, "Consultant not found"),
        ({"consultantId": client.id, "amount": 10}, 404, "Consultant not found"),
        ({"consultantId": consultant.id, "amount": 10, "referenceId": ["x"]}, 400,
         "notes and referenceId must be strings"),
    ]
    for body, status, message in cases:
        reply = api.post(f"{API}/transactions/payout", headers=admin, json=body)
        assert (reply.status_code, reply.json()) == (status, {"message": message}), body
    reply = api.post(f"{API}/transactions/payout", headers=consultant.auth, json={"consultantId": consultant.id,
                                                                                   "amount": 10})
    assert (reply.status_code, reply.json()) == (403, {"message": "Access denied. Admins only."})
    for params, message in (({"page": 0}, "Invalid page: a positive integer is required"),
                            ({"page": "x"}, "Invalid page: a positive integer is required"),
                            ({"limit": "many"}, "Invalid limit: an integer is required"),
                            ({"type": "Gift"}, "Invalid type: one of Payment, Refund, Payout, Adjustment"),
                            ({"consultant": "123"}, "Invalid consultant ID")):
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
    sub = api.post(f"{API}/subcategories", headers=admin, json={"title": "Tax", "parentCategory": category["_id"]}
                   ).json()["data"]
    consultant = world.paid_consultant(fees=1000, percent=20,
                                       categories=[{"categoryId": category["_id"], "subcategoryId": sub["_id"]}])
    client, second = world.client(), world.client()
    day = next_weekday(2)
    done = world.direct(world.admin, client, consultant, day, "09:00", "10:00",
                        payment={"amount": 1000, "status": "Success", "method": "Card"}).json()["data"]
    world.direct(world.admin, second, consultant, day, "10:15", "11:15",
                 payment={"amount": 1000, "status": "Success", "method": "Card"})
    world.paid_booking(client, consultant, day, "11:30", "12:30")
    assert world.patch(world.admin, done["_id"], {"status": "Completed"}).status_code == 200
    listed = api.get(f"{API}/categories").json()["data"]
    finance = next(c for c in listed if c["_id"] == category["_id"])
    assert (finance["clients"], finance["monthlyRevenue"]) == (2, 800)
    assert finance["subcategories"][0]["monthlyRevenue"] == 800
    payout = api.post(f"{API}/transactions/payout", headers=admin, json={"consultantId": consultant.id,
                                                                          "amount": 300.5})
    assert payout.status_code == 201, payout.text

    # recompute every consultant's balance from the events alone (the CONTRACT.md rule) and compare
    payments: dict[str, dict[str, Any]] = {}
    status_of: dict[str, str] = {}
    paid_out: dict[str, Decimal] = defaultdict(Decimal)
    for event in world.events():
        if isinstance(event, Transaction.Recorded):
            payments[event.transaction_id] = {"kind": event.kind, "status": event.status, "net": event.net_amount,
                                              "amount": event.amount, "consultant": event.consultant_id,
                                              "appointment": event.appointment_id}
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
                Appointment.Completed: "Completed", Appointment.Cancelled: "Cancelled"}.get(type(event), "Upcoming")
    earned: dict[str, Decimal] = defaultdict(Decimal)
    for row in payments.values():
        if row["kind"] == "Payment" and row["status"] == "Success" and (
                row["appointment"] is None or status_of.get(row["appointment"]) == "Completed"):
            earned[row["consultant"]] += row["net"]
        if row["kind"] == "Payout" and row["status"] == "Success":
            paid_out[row["consultant"]] += row["amount"]
    balances = world.container.ledger.balances()
    assert balances == {c: {"earned": int(earned[c] * 100), "paid_out": int(paid_out[c] * 100)}
                        for c in set(earned) | set(paid_out) | set(balances)}
    assert balances[consultant.id] == {"earned": 80000, "paid_out": 30050}
    # and a rebuild of the read models from the events answers the same
    before = world.transactions(world.admin, limit=100)
    world.container.runner.reset()
    world.container.runner.catch_up()
    assert world.transactions(world.admin, limit=100) == before
    assert world.container.ledger.balances() == balances


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_seeded_demo_has_payments_refunds_and_payouts(settings):
    from infrastructure.bootstrap import build
    from interfaces.demo import seed

    container = build(settings)
    try:
        seed(container)
        data, total = container.ledger.list(parties=None, consultant_only=False, kind=None, page=1, limit=100)
        kinds = {(t["type"], t["status"]) for t in container.ledger.list(
            parties=None, consultant_only=False, kind=None, page=1, limit=100_000)[0]}
        assert {("Payment", "Success"), ("Payment", "Refunded"), ("Refund", "Success"), ("Payout", "Success")} <= kinds
        for consultant_id, balance in container.ledger.balances().items():
            assert 0 <= balance["paid_out"] <= balance["earned"], consultant_id
        assert total > 20  # the demo is rich enough to show the apps' pages
    finally:
        container.close()


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
        assert http.patch(f"{API}/consultants/{consultant.id}", headers=bearer(world.admin),
                          json={"fees": 1200, "commission": {"platformPercent": 25}}).status_code == 200
        to_admin, to_client, to_consultant = (Listener(server.url, token) for token in (
            world.admin, client.token, consultant.token))
        listeners += [to_admin, to_client, to_consultant]
        day = next_weekday(2)
        hold_id = world.hold(client, consultant, day, "09:00", "10:00").json()["data"]["holdId"]
        order = http.post(f"{API}/payments/create-order", headers=client.auth, json={
            "amount": 1200, "holdId": hold_id, "consultantId": consultant.id, "clientId": client.id}).json()["data"]
        signature = hmac.new(secret.encode(), f"{order['orderId']}|pay_SOCK1".encode(), hashlib.sha256).hexdigest()
        confirmed = world.confirm(client, consultant, day, "09:00", "10:00", hold_id, payment={"razorpayResponse": {
            "razorpay_order_id": order["orderId"], "razorpay_payment_id": "pay_SOCK1",
            "razorpay_signature": signature}})
        assert confirmed.status_code == 201, confirmed.text
        received = to_admin.next("notification:new", lambda d: d["name"] == "Payment Received")
        assert received["recipientRole"] == "Admin" and received["recipient"] is None and received["type"] == "payment"
        paid = to_client.next("notification:new", lambda d: d["name"] == "Payment Successful")
        assert paid["message"] == "Your payment of ₹1200 was successful." and paid["actionLabel"] == "View Receipt"
        # sandbox checkout for manual runs: a signature the server itself accepts
        other = world.hold(client, consultant, day, "11:30", "12:30").json()["data"]["holdId"]
        second = http.post(f"{API}/payments/create-order", headers=client.auth, json={
            "amount": 1, "holdId": other, "paymentMethod": "PayPal"}).json()["data"]
        approval = http.post(f"{API}/payments/sandbox/checkout", headers=client.auth,
                             json={"orderId": second["orderId"]}).json()["data"]
        assert world.confirm(client, consultant, day, "11:30", "12:30", other,
                             payment={"paypalResponse": approval}).status_code == 201

        done = http.patch(f"{API}/appointments/{hold_id}", headers=bearer(world.admin), json={"status": "Completed"})
        assert done.status_code == 200, done.text
        payout = http.post(f"{API}/transactions/payout", headers=bearer(world.admin),
                           json={"consultantId": consultant.id, "amount": 900, "notes": "NEFT"})
        assert payout.status_code == 201, payout.text
        processed = to_consultant.next("notification:new", lambda d: d["name"] == "Payout Processed")
        assert processed["message"] == "A payout of INR 900 has been processed for your account. Notes: NEFT"
    finally:
        for listener in listeners:
            listener.client.disconnect()
        http.close()
        server.stop()
