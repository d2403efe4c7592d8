"""The gateway adapters: the sandbox's cryptography, and the Razorpay and PayPal HTTP adapters
against a local HTTP server that answers as those APIs document (so the requests they send are
checked: paths, basic/bearer auth, amounts in paise or major units, idempotency headers)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from domain.errors import Invalid
from infrastructure.gateways import Gateways, PayPalGateway, RazorpayGateway, SandboxGateway
from tests.fake_http import JsonHandler, serving


def test_sandbox_signs_and_verifies_like_razorpay():
    gateway = SandboxGateway("rzp_test_x", "s3cret")
    order = gateway.create_order("Razorpay", 150000, "INR", "HOLD_1", {})
    assert order.order_id.startswith("order_") and len(order.order_id) == 20 and order.amount_minor == 150000
    proof = gateway.pay(order.order_id)
    expected = hmac.new(
        b"s3cret", f"{order.order_id}|{proof['razorpay_payment_id']}".encode(), hashlib.sha256
    ).hexdigest()
    assert proof["razorpay_signature"] == expected
    assert gateway.verify("Razorpay", proof)[:2] == (order.order_id, proof["razorpay_payment_id"])
    for tampered in (
        {**proof, "razorpay_payment_id": "pay_other"},
        {**proof, "razorpay_signature": expected[:-1] + ("1" if expected[-1] == "0" else "0")},
        {**proof, "razorpay_order_id": "order_other"},
    ):
        with pytest.raises(Invalid, match="Invalid payment signature"):
            gateway.verify("Razorpay", tampered)
    with pytest.raises(Invalid):  # another secret signs differently
        SandboxGateway("rzp_test_x", "other").verify("Razorpay", proof)
    paypal = gateway.create_order("PayPal", 80000, "INR", "HOLD_2", {})
    approval = gateway.approve_paypal(paypal.order_id)
    first, second = gateway.verify("PayPal", approval), gateway.verify("PayPal", approval)
    assert first == second and first[1].startswith("CAP")  # a capture is idempotent
    with pytest.raises(Invalid):
        gateway.verify("PayPal", {"orderID": paypal.order_id, "payerID": "PAYER000000000000"})
    assert gateway.refund("Razorpay", "pay_1", 100, "INR", "r1") == gateway.refund(
        "Razorpay", "pay_1", 100, "INR", "r1"
    )


class FakeApis(JsonHandler):
    """Answers like Razorpay's and PayPal's APIs, recording every request."""

    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse shows in `port`
    seen: list[dict[str, Any]] = []
    captured: set[str] = set()
    failures: dict[str, int] = {}  # path -> how many more times to hang up without an answer
    token_lifetime = 32400
    revoked: set[str] = set()  # bearer tokens answered 401

    def _record(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        entry = {
            "method": self.command,
            "path": self.path,
            "auth": self.headers.get("Authorization", ""),
            "request_id": self.headers.get("PayPal-Request-Id"),
            "port": self.client_address[1],
            "raw": raw.decode(),
        }
        try:
            entry["json"] = json.loads(raw) if raw else None
        except ValueError:
            entry["json"] = None
        self.seen.append(entry)
        return entry

    def _failing(self) -> bool:
        if self.failures.get(self.path, 0) > 0:
            self.failures[self.path] -= 1
            self.close_connection = True  # the connection breaks mid-request
            return True
        return False

    def do_POST(self) -> None:  # noqa: N802
        entry = self._record()
        path, body = self.path, entry["json"] or {}
        if self._failing():
            return None
        if entry["auth"] in self.revoked:
            return self._answer(401, {"error": "invalid_token"})
        if path == "/rzp/orders":
            if body.get("amount", 0) <= 0:
                return self._answer(400, {"error": {"description": "amount must be positive"}})
            return self._answer(
                200,
                {
                    "id": "order_LOCAL0000001",
                    "amount": body["amount"],
                    "currency": body["currency"],
                    "receipt": body["receipt"],
                    "status": "created",
                },
            )
        if path == "/rzp/payments/pay_DOWN/refund":
            return self._answer(502, {"error": {"description": "gateway unavailable"}})
        if path.startswith("/rzp/payments/") and path.endswith("/refund"):
            return self._answer(200, {"id": "rfnd_LOCAL000001", "amount": body["amount"]})
        if path == "/pp/v1/oauth2/token":
            token = f"A21AA-token-{sum(1 for e in self.seen if e['path'] == path)}"
            return self._answer(200, {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime})
        if path == "/pp/v2/checkout/orders":
            return self._answer(201, {"id": "5O190127TN364715T", "status": "CREATED"})
        if path.endswith("/capture"):
            order_id = path.split("/")[-2]
            if order_id in self.captured:
                return self._answer(
                    422, {"name": "UNPROCESSABLE_ENTITY", "details": [{"issue": "ORDER_ALREADY_CAPTURED"}]}
                )
            self.captured.add(order_id)
            return self._answer(201, _captured(order_id))
        if path.startswith("/pp/v2/payments/captures/") and path.endswith("/refund"):
            return self._answer(201, {"id": "1JU08902781691411", "status": "COMPLETED"})
        return self._answer(404, {})

    def do_GET(self) -> None:  # noqa: N802
        self._record()
        if self._failing():
            return None
        if self.path.startswith("/pp/v2/checkout/orders/"):
            return self._answer(200, _captured(self.path.split("/")[-1]))
        return self._answer(404, {})


def _captured(order_id: str) -> dict[str, Any]:
    return {
        "id": order_id,
        "status": "COMPLETED",
        "purchase_units": [{"payments": {"captures": [{"id": "3C679366HH908993F", "status": "COMPLETED"}]}}],
    }


@pytest.fixture
def apis() -> Iterator[str]:
    FakeApis.seen, FakeApis.captured, FakeApis.failures, FakeApis.token_lifetime = [], set(), {}, 32400
    FakeApis.revoked = set()
    with serving(FakeApis) as url:
        yield url


def test_razorpay_adapter_speaks_the_orders_and_refunds_api(apis):
    gateway = RazorpayGateway("rzp_live_key", "live-secret", apis + "/rzp")
    order = gateway.create_order("Razorpay", 150000, "INR", "HOLD_abc_12345678", {"holdId": "abc"})
    assert (order.order_id, order.amount_minor, order.currency) == ("order_LOCAL0000001", 150000, "INR")
    sent = FakeApis.seen[-1]
    assert sent["auth"] == "Basic " + base64.b64encode(b"rzp_live_key:live-secret").decode()
    assert sent["json"] == {
        "amount": 150000,
        "currency": "INR",
        "receipt": "HOLD_abc_12345678",
        "notes": {"holdId": "abc"},
    }
    signature = hmac.new(b"live-secret", b"order_LOCAL0000001|pay_X", hashlib.sha256).hexdigest()
    assert (
        gateway.verify(
            "Razorpay",
            {
                "razorpay_order_id": "order_LOCAL0000001",
                "razorpay_payment_id": "pay_X",
                "razorpay_signature": signature,
            },
        )[1]
        == "pay_X"
    )
    assert gateway.refund("Razorpay", "pay_X", 150000, "INR", "refund-1") == "rfnd_LOCAL000001"
    assert FakeApis.seen[-1]["path"] == "/rzp/payments/pay_X/refund" and FakeApis.seen[-1]["json"]["amount"] == 150000
    with pytest.raises(RuntimeError, match="amount must be positive"):
        gateway.create_order("Razorpay", 0, "INR", "r", {})


def test_paypal_adapter_creates_captures_once_and_refunds(apis):
    gateway = Gateways(SandboxGateway("k", "s"), PayPalGateway("client", "secret", apis + "/pp"))
    order = gateway.create_order("PayPal", 80050, "INR", "HOLD_x", {})
    assert order.order_id == "5O190127TN364715T"
    created = FakeApis.seen[-1]
    assert created["auth"] == "Bearer A21AA-token-1" and created["request_id"] == "HOLD_x"
    assert created["json"]["purchase_units"][0]["amount"] == {"currency_code": "INR", "value": "800.50"}
    token_request = FakeApis.seen[-2]
    assert token_request["auth"] == "Basic " + base64.b64encode(b"client:secret").decode()
    assert token_request["raw"] == "grant_type=client_credentials"
    first = gateway.verify("PayPal", {"orderID": order.order_id, "payerID": "P"})
    again = gateway.verify("PayPal", {"orderID": order.order_id, "payerID": "P"})  # already captured → read it
    assert first[1] == again[1] == "3C679366HH908993F"
    assert gateway.refund("PayPal", first[1], 80050, "INR", "refund-2") == "1JU08902781691411"
    assert FakeApis.seen[-1]["request_id"] == "refund-2"
    assert FakeApis.seen[-1]["json"] == {"amount": {"currency_code": "INR", "value": "800.50"}}


def test_paypal_token_is_fetched_once_until_it_expires_and_calls_share_one_connection(apis):
    now = [1000.0]
    gateway = PayPalGateway("client", "secret", apis + "/pp", clock=lambda: now[0])
    first = gateway.create_order("PayPal", 100, "INR", "HOLD_1", {})
    gateway.verify("PayPal", {"orderID": first.order_id, "payerID": "P"})
    gateway.refund("PayPal", "3C679366HH908993F", 100, "INR", "refund-1")
    tokens = [e for e in FakeApis.seen if e["path"] == "/pp/v1/oauth2/token"]
    assert len(tokens) == 1 and len(FakeApis.seen) == 4
    assert {e["auth"] for e in FakeApis.seen[1:]} == {"Bearer A21AA-token-1"}
    assert len({e["port"] for e in FakeApis.seen}) == 1  # one kept-alive connection for all four
    now[0] += 32400 - 61  # still valid (a minute's margin before expiry)
    gateway.create_order("PayPal", 100, "INR", "HOLD_2", {})
    assert sum(1 for e in FakeApis.seen if e["path"] == "/pp/v1/oauth2/token") == 1
    now[0] += 2  # within the margin: a new token
    gateway.create_order("PayPal", 100, "INR", "HOLD_3", {})
    assert sum(1 for e in FakeApis.seen if e["path"] == "/pp/v1/oauth2/token") == 2
    assert FakeApis.seen[-1]["auth"] == "Bearer A21AA-token-2"
    FakeApis.revoked.add("Bearer A21AA-token-2")  # revoked before its expiry: one new token, one more try
    assert gateway.create_order("PayPal", 100, "INR", "HOLD_4", {}).order_id == "5O190127TN364715T"
    assert [e["auth"] for e in FakeApis.seen[-3:]][::2] == ["Bearer A21AA-token-2", "Bearer A21AA-token-3"]
    gateway.http.close()


def test_only_calls_safe_to_repeat_are_retried(apis):
    razorpay = RazorpayGateway("rzp_live_key", "live-secret", apis + "/rzp")
    FakeApis.failures["/rzp/orders"] = 1  # an order POST has no idempotency key: never repeated
    with pytest.raises(httpx.RemoteProtocolError):
        razorpay.create_order("Razorpay", 100, "INR", "r", {})
    assert [e["path"] for e in FakeApis.seen] == ["/rzp/orders"]
    FakeApis.failures["/rzp/payments/pay_X/refund"] = 2  # the refund carries its key: repeated
    assert razorpay.refund("Razorpay", "pay_X", 100, "INR", "refund-9") == "rfnd_LOCAL000001"
    assert [e["path"] for e in FakeApis.seen[1:]] == ["/rzp/payments/pay_X/refund"] * 3
    paypal = PayPalGateway("client", "secret", apis + "/pp")
    FakeApis.failures["/pp/v2/checkout/orders/ORDER1"] = 5  # a GET, repeated up to three attempts
    FakeApis.captured.add("ORDER1")
    with pytest.raises(httpx.RemoteProtocolError):
        paypal.verify("PayPal", {"orderID": "ORDER1", "payerID": "P"})
    assert sum(1 for e in FakeApis.seen if e["path"] == "/pp/v2/checkout/orders/ORDER1") == 3
    razorpay.http.close()
    paypal.http.close()


def test_a_gateway_that_cannot_be_reached_fails_after_its_retries():
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    gateway = RazorpayGateway("k", "s", f"http://127.0.0.1:{port}")
    gateway.http.backoff = 0.01
    with pytest.raises(httpx.ConnectError):
        gateway.create_order("Razorpay", 100, "INR", "r", {})


def test_an_error_answer_is_not_repeated_but_returned(apis):
    """A status is the API's answer: the caller's policy decides (refunds: `application.refunds`)."""
    razorpay = RazorpayGateway("rzp_live_key", "live-secret", apis + "/rzp")
    with pytest.raises(RuntimeError, match="gateway unavailable"):
        razorpay.refund("Razorpay", "pay_DOWN", 100, "INR", "refund-0")  # idempotent, answered 502
    assert [e["path"] for e in FakeApis.seen] == ["/rzp/payments/pay_DOWN/refund"]
    razorpay.http.close()
