"""Contract of the money routes through HTTP (contract analytics §5–6, availability §2.2, with the
decisions of CONTRACT.md "Money"): hold → create-order → confirm with a real signature (Razorpay)
or an approved order (PayPal), verify and status, invoices, refunds on cancellation and on a lost
slot, and bad input (payouts, balances, stats and the replay: tests/test_payouts.py)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import jwt
import pytest

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
        reply = self.api.patch(
            f"{API}/consultants/{consultant.id}",
            headers=bearer(self.admin),
            json={"commission": {"platformPercent": percent}},
        )
        assert reply.status_code == 200, reply.text
        return consultant

    def order(self, client: Any, consultant: Any, hold_id: str, method: str = "Razorpay", **extra: Any) -> Any:
        return self.api.post(
            f"{API}/payments/create-order",
            headers=client.auth,
            json={
                "amount": 1500,
                "holdId": hold_id,
                "consultantId": consultant.id,
                "clientId": client.id,
                "paymentMethod": method,
                **extra,
            },
        )

    def sign(self, order_id: str, payment_id: str) -> str:
        """What Razorpay's checkout hands the client: HMAC-SHA256 of order|payment with the key secret."""
        secret = self.container.settings.resolved_razorpay_secret.encode()
        return hmac.new(secret, f"{order_id}|{payment_id}".encode(), hashlib.sha256).hexdigest()

    def proof(self, order_id: str, payment_id: str = "pay_TESTPAYMENT0001") -> dict[str, str]:
        return {
            "razorpay_order_id": order_id,
            "razorpay_payment_id": payment_id,
            "razorpay_signature": self.sign(order_id, payment_id),
        }

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

    def paid_booking(
        self, client: Any, consultant: Any, day: date, start: str = "09:00", end: str = "10:00"
    ) -> dict[str, Any]:
        hold_id = self.held(client, consultant, day, start, end)
        order = self.order(client, consultant, hold_id).json()["data"]
        reply = self.confirm(
            client, consultant, day, start, end, hold_id, payment={"razorpayResponse": self.proof(order["orderId"])}
        )
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
    assert status["data"] == {
        "transactionId": data["transactionId"],
        "status": "Pending",
        "amount": 1500,
        "paymentMethod": "Razorpay",
    }
    refused(api.get(f"{API}/payments/status", params={"orderId": data["orderId"]}, headers=other.auth), 403)

    # the checkout's signature confirms the hold; the sandbox signs exactly like that
    proof = world.proof(data["orderId"], "pay_N8xYzAbCdEf123")
    sandbox = world.container.gateway.pay(data["orderId"])
    assert sandbox["razorpay_signature"] == world.sign(data["orderId"], sandbox["razorpay_payment_id"])
    confirmed = world.confirm(client, consultant, day, "09:00", "10:00", hold_id, payment={"razorpayResponse": proof})
    assert confirmed.status_code == 201, confirmed.text
    appointment = confirmed.json()["data"]
    assert appointment["_id"] == hold_id and appointment["status"] == "Upcoming"
    payment = appointment["payment"]
    assert (payment["status"], payment["method"], payment["amount"], payment["transactionId"]) == (
        "Success",
        "Razorpay",
        1500,
        data["transactionId"],
    )
    assert f"key=invoices/{datetime.now(UTC).year}/{data['transactionId']}.pdf" in payment["invoiceUrl"]

    # confirming twice answers the first confirmation and records nothing more
    again = world.confirm(client, consultant, day, "09:00", "10:00", hold_id, payment={"razorpayResponse": proof})
    assert again.status_code == 200 and again.json()["message"] == "Appointment already confirmed"

    # the client's Payments page
    page = world.transactions(client)
    assert (page["total"], page["page"], page["limit"]) == (1, 1, 10)
    item = page["data"][0]
    assert (item["type"], item["status"], item["amount"], item["platformFee"], item["netAmount"]) == (
        "Payment",
        "Success",
        1500,
        150,
        1350,
    )
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
    assert 'attachment; filename="INVOICE-' in pdf.headers["content-disposition"]
    assert api.get(f"{API}{path}", headers=consultant.auth).status_code == 200
    assert api.get(f"{API}{path}", headers=bearer(world.admin)).status_code == 200
    refused(api.get(f"{API}{path}", headers=other.auth), 403)
    refused(api.get(f"{API}{path}"), 401)
    # a key outside the grammar of contract platform §3.2 is 403 `Access denied` (was 404 before uploads)
    refused(api.get(f"{API}/storage/proxy", params={"key": "documents/x.pdf"}, headers=client.auth), 403)
    # the PDF is kept in the file store after its first request, and served from there
    assert pdf.content == api.get(f"{API}{path}", headers=consultant.auth).content
    assert world.container.store.size(path.split("key=", 1)[1].split("&", 1)[0]) == len(pdf.content)
    assert pdf.headers["x-content-type-options"] == "nosniff"
    refused(
        api.get(
            f"{API}/storage/proxy", params={"key": f"invoices/1999/{data['transactionId']}.pdf"}, headers=client.auth
        ),
        404,
    )

    # notifications of §6.2: the admins and the client, once
    received, successful = world.notices("Payment Received"), world.notices("Payment Successful")
    assert [(n.recipient, n.recipient_role) for n in received] == [(None, "Admin")]
    assert [n.recipient for n in successful] == [client.id]
    assert received[0].content["message"] == (
        f"Payment of ₹1500 received from {client.data['name']} for appointment with {consultant.data['name']}."
    )
    assert successful[0].content["actionUrl"] == payment["invoiceUrl"] + "&view=inline"


def test_paypal_order_is_captured_on_confirmation(api):
    world = Money(api)
    consultant, client = world.paid_consultant(fees=800, percent=0), world.client()
    day = next_weekday(3)
    hold_id = world.held(client, consultant, day, "10:15", "11:15")
    data = world.order(client, consultant, hold_id, "PayPal").json()["data"]
    assert (data["amount"], data["currency"], data["paymentMethod"]) == (800, "INR", "PayPal")
    approval = world.container.gateway.approve_paypal(data["orderId"])
    refused(
        world.confirm(
            client,
            consultant,
            day,
            "10:15",
            "11:15",
            hold_id,
            payment={"paypalResponse": {"orderID": data["orderId"], "payerID": "PAYERFORGED00"}},
        ),
        400,
        "PayPal order was not approved by the payer",
    )
    refused(
        world.confirm(client, consultant, day, "10:15", "11:15", hold_id, payment={"paypalResponse": {"payerID": "X"}}),
        400,
        "Missing PayPal order ID",
    )
    confirmed = world.confirm(client, consultant, day, "10:15", "11:15", hold_id, payment={"paypalResponse": approval})
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
    refused(
        api.post(f"{API}/payments/verify", headers=client.auth, json={"razorpay_order_id": data["orderId"]}),
        400,
        "Missing payment verification data",
    )
    refused(
        api.post(f"{API}/payments/verify", headers=client.auth, json={**proof, "razorpay_signature": "0" * 64}),
        400,
        "Invalid payment signature",
    )
    refused(api.post(f"{API}/payments/verify", headers=other.auth, json=proof), 403)
    for _ in range(2):
        verified = api.post(f"{API}/payments/verify", headers=client.auth, json=proof)
        assert verified.status_code == 200, verified.text
        assert verified.json()["data"] == {
            "transactionId": data["transactionId"],
            "paymentId": proof["razorpay_payment_id"],
            "status": "Success",
        }
    confirmed = world.confirm(client, consultant, day, "11:30", "12:30", hold_id, payment={"razorpayResponse": proof})
    assert confirmed.status_code == 201 and confirmed.json()["data"]["payment"]["status"] == "Success"
    succeeded = [e for e in world.events() if isinstance(e, Transaction.Succeeded)]
    assert len(succeeded) == 1 and len(world.notices("Payment Successful")) == 1
    second = api.post(
        f"{API}/payments/create-order", headers=client.auth, json={"amount": 1500, "appointmentId": hold_id}
    ).json()
    assert second["message"] == "Appointment is already paid or not payable"
    status = api.get(
        f"{API}/payments/status", params={"transactionId": data["transactionId"]}, headers=consultant.auth
    ).json()["data"]
    assert status["status"] == "Success"
    refused(
        api.get(f"{API}/payments/status", params={"orderId": "order_unknown"}, headers=client.auth),
        404,
        "Transaction not found",
    )


def test_a_second_paid_order_of_one_hold_is_refunded_as_a_duplicate(api):
    world = Money(api)
    consultant, client = world.paid_consultant(), world.client()
    day = next_weekday(3)
    hold_id = world.held(client, consultant, day, "09:00", "10:00")
    first, second = (world.order(client, consultant, hold_id).json()["data"] for _ in range(2))
    confirmed = world.confirm(
        client, consultant, day, "09:00", "10:00", hold_id, payment={"razorpayResponse": world.proof(first["orderId"])}
    )
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
    for amount in (-5, 0, "abc", None, True, "NaN", [1], 1.005):
        refused(world.order(client, consultant, hold_id, amount=amount), 400, "Invalid amount")
    for amount in ("1e30", 10000000.01):  # over MAX_AMOUNT (issue 12)
        refused(
            world.order(client, consultant, hold_id, amount=amount),
            400,
            '"amount" must be less than or equal to 10000000',
        )
    refused(
        api.post(f"{API}/payments/create-order", headers=client.auth, json={"amount": 10}),
        400,
        "Appointment ID or Hold ID is required",
    )
    refused(
        world.order(client, consultant, hold_id, currency="USD"),
        400,
        "Unsupported currency: payments are accepted in INR only",
    )
    refused(world.order(client, consultant, other_hold), 403)
    refused(world.order(client, consultant, "zz"), 400, "Invalid ID format")
    refused(world.order(client, consultant, "0" * 24), 400, "Booking hold expired or invalid")
    assert world.transactions(world.admin)["total"] == 0

    data = world.order(client, consultant, hold_id).json()["data"]
    theirs = world.order(other, consultant, other_hold).json()["data"]
    tampered = {**world.proof(data["orderId"]), "razorpay_payment_id": "pay_SOMETHINGELSE"}
    refused(
        world.confirm(client, consultant, day, "09:00", "10:00", hold_id, payment={"razorpayResponse": tampered}),
        400,
        "Invalid payment signature",
    )
    # a valid proof of another client's order cannot pay this hold
    refused(
        world.confirm(
            client,
            consultant,
            day,
            "09:00",
            "10:00",
            hold_id,
            payment={"razorpayResponse": world.proof(theirs["orderId"])},
        ),
        400,
        "Payment does not match this booking",
    )
    refused(
        world.confirm(client, consultant, day, "09:00", "10:00", hold_id),
        400,
        "Payment is required to confirm this booking",
    )
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
        [by_consultant["order"]["transactionId"], by_client_early["order"]["transactionId"]]
    )
    assert all(
        r["status"] == "Success" and r["transactionId"].startswith("rfnd_") and r["amount"] == 1500 for r in refunds
    )
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
            refused(
                world.confirm(slow, consultant, day, "09:00", "10:00", hold_id, payment={"razorpayResponse": proof}),
                409,
                SLOT_TIMEOUT,
            )
    finally:
        container.bookings.clock = real
    mine = world.transactions(slow)["data"]
    assert sorted((t["type"], t["status"]) for t in mine) == [("Payment", "Refunded"), ("Refund", "Success")]
    assert world.container.payouts.balance(consultant.id)["totalEarnings"] == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_paid_hold_that_expires_and_completion_by_the_scheduler(api):
    """A hold paid through /payments/verify but never confirmed is refunded when it expires; a paid
    appointment completed by the scheduler is earned."""
    world = Money(api)
    consultant, client = world.paid_consultant(), world.client()
    day = next_weekday(2)
    hold_id = world.held(client, consultant, day, "09:00", "10:00")
    data = world.order(client, consultant, hold_id).json()["data"]
    assert api.post(f"{API}/payments/verify", headers=client.auth, json=world.proof(data["orderId"])).status_code == 200
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
    mine = {
        (t["type"], t["status"], t.get("metadata", {}).get("refundOf") or t["_id"])
        for t in world.transactions(client)["data"]
    }
    assert mine == {
        ("Payment", "Refunded", data["transactionId"]),
        ("Refund", "Success", data["transactionId"]),
        ("Payment", "Success", booked["order"]["transactionId"]),
    }
    assert container.payouts.balance(consultant.id)["remainingBalance"] == Decimal("1350.00")
    assert container.ledger.balances()[consultant.id] == {"earned": 135000, "paid_out": 0}
