"""Payment gateway adapters behind `application.ports.PaymentGateway`.

- `SandboxGateway` (embedded default, `PAYMENT_GATEWAY=sandbox`): issues real order ids and signs
  and verifies real HMAC-SHA256 signatures of `order_id|payment_id` with `RAZORPAY_KEY_SECRET`
  (or a secret generated once into DATA_DIR), exactly as Razorpay does; PayPal orders are approved
  by a payer id the sandbox derives by HMAC from the order id, and captured with a capture id
  derived the same way (so a capture is idempotent). `pay` and `approve_paypal` are what a buyer's
  checkout gives the client: tests and the demo use them to produce valid proofs.
- `RazorpayGateway`: the Razorpay orders and refunds API over HTTPS with key id / secret (basic
  auth); signatures are checked locally with the secret; refunds carry the refund's id as
  `X-Refund-Idempotency` (Razorpay's idempotent refund request), so retries never refund twice.
- `PayPalGateway`: PayPal REST v2 (OAuth2 client credentials, create order, capture on
  confirmation, refund of the capture with `PayPal-Request-Id` as idempotency key).
- `Gateways` routes each call to the adapter of its method (Razorpay or PayPal)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.errors import Invalid

ALPHABET = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Order:
    order_id: str
    amount_minor: int
    currency: str


def signature(secret: str, order_id: str, payment_id: str) -> str:
    """Razorpay's checkout signature: hex HMAC-SHA256 of `order_id|payment_id` with the key secret."""
    return hmac.new(secret.encode(), f"{order_id}|{payment_id}".encode(), hashlib.sha256).hexdigest()


def check_signature(secret: str, proof: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    order_id, payment_id = str(proof["razorpay_order_id"]), str(proof["razorpay_payment_id"])
    given = str(proof["razorpay_signature"])
    if not hmac.compare_digest(signature(secret, order_id, payment_id), given):
        raise Invalid("Invalid payment signature")
    return order_id, payment_id, {"razorpayPaymentId": payment_id, "razorpaySignature": given}


def _random_id(prefix: str, length: int = 14) -> str:
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(length))


class SandboxGateway:
    """A local gateway with the real cryptography and no network."""

    def __init__(self, key_id: str, secret: str):
        self.key_id = key_id
        self.secret = secret

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self.secret.encode(), f"{purpose}|{value}".encode(), hashlib.sha256).hexdigest()

    def create_order(self, method: str, amount_minor: int, currency: str, receipt: str, notes: dict[str, Any]) -> Order:
        if method == "PayPal":
            return Order(
                "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(17)),
                amount_minor,
                currency,
            )
        return Order(_random_id("order_"), amount_minor, currency)

    # what the buyer's checkout hands to the client app
    def pay(self, order_id: str) -> dict[str, str]:
        payment_id = _random_id("pay_")
        return {
            "razorpay_order_id": order_id,
            "razorpay_payment_id": payment_id,
            "razorpay_signature": signature(self.secret, order_id, payment_id),
        }

    def approve_paypal(self, order_id: str) -> dict[str, str]:
        return {"orderID": order_id, "payerID": "PAYER" + self._mac("approve", order_id)[:12].upper()}

    def verify(self, method: str, proof: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        if method != "PayPal":
            return check_signature(self.secret, proof)
        order_id, payer_id = str(proof.get("orderID") or ""), str(proof.get("payerID") or "")
        if not hmac.compare_digest(self.approve_paypal(order_id)["payerID"], payer_id):
            raise Invalid("PayPal order was not approved by the payer")
        capture_id = "CAP" + self._mac("capture", order_id)[:14].upper()
        return order_id, capture_id, {"paypalCaptureId": capture_id, "paypalPayerId": payer_id}

    def refund(self, method: str, payment_reference: str, amount_minor: int, currency: str, receipt: str) -> str:
        return ("rfnd_" if method != "PayPal" else "REF") + self._mac("refund", receipt)[:14]


def _request(
    method: str, url: str, headers: dict[str, str], body: bytes | None = None, timeout: float = 20
) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured https URL)
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        try:
            payload = json.loads(error.read() or b"{}")
        except ValueError:
            payload = {}
        return error.code, payload


class RazorpayGateway:
    def __init__(self, key_id: str, secret: str, api_url: str = "https://api.razorpay.com/v1"):
        self.key_id = key_id
        self.secret = secret
        self.api_url = api_url.rstrip("/")
        token = base64.b64encode(f"{key_id}:{secret}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}", "Content-Type": "application/json"}

    def _call(
        self, method: str, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        status, payload = _request(
            method, self.api_url + path, {**self._headers, **(headers or {})}, json.dumps(body).encode()
        )
        if status >= 300:
            message = (payload.get("error") or {}).get("description") or "Failed to create order"
            raise RuntimeError(f"Razorpay: {message}")
        return payload

    def create_order(self, method: str, amount_minor: int, currency: str, receipt: str, notes: dict[str, Any]) -> Order:
        payload = self._call(
            "POST", "/orders", {"amount": amount_minor, "currency": currency, "receipt": receipt, "notes": notes}
        )
        return Order(str(payload["id"]), int(payload["amount"]), str(payload["currency"]))

    def verify(self, method: str, proof: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        return check_signature(self.secret, proof)

    def refund(self, method: str, payment_reference: str, amount_minor: int, currency: str, receipt: str) -> str:
        payload = self._call(
            "POST",
            f"/payments/{payment_reference}/refund",
            {"amount": amount_minor, "receipt": receipt, "notes": {"refundId": receipt}},
            headers={"X-Refund-Idempotency": receipt},  # one refund, one key: a retry never refunds twice
        )
        return str(payload["id"])


class PayPalGateway:
    def __init__(self, client_id: str, client_secret: str, api_url: str = "https://api-m.sandbox.paypal.com"):
        self.key_id = client_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_url = api_url.rstrip("/")

    def _token(self) -> str:
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        status, payload = _request(
            "POST",
            self.api_url + "/v1/oauth2/token",
            {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
            b"grant_type=client_credentials",
        )
        if status >= 300:
            raise RuntimeError("PayPal: authentication failed")
        return str(payload["access_token"])

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None, request_id: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self._token()}", "Content-Type": "application/json"}
        if request_id:
            headers["PayPal-Request-Id"] = request_id
        return _request(method, self.api_url + path, headers, json.dumps(body).encode() if body is not None else None)

    def create_order(self, method: str, amount_minor: int, currency: str, receipt: str, notes: dict[str, Any]) -> Order:
        value = str((Decimal(amount_minor) / 100).quantize(Decimal("0.01")))
        status, payload = self._call(
            "POST",
            "/v2/checkout/orders",
            {
                "intent": "CAPTURE",
                "purchase_units": [{"reference_id": receipt, "amount": {"currency_code": currency, "value": value}}],
            },
            request_id=receipt,
        )
        if status >= 300:
            raise RuntimeError("PayPal: Failed to create order")
        return Order(str(payload["id"]), amount_minor, currency)

    def verify(self, method: str, proof: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        order_id = str(proof.get("orderID") or "")
        status, payload = self._call("POST", f"/v2/checkout/orders/{order_id}/capture", {})
        if status == 422 and any(d.get("issue") == "ORDER_ALREADY_CAPTURED" for d in payload.get("details", [])):
            status, payload = self._call("GET", f"/v2/checkout/orders/{order_id}", None)
        if status >= 300 or payload.get("status") != "COMPLETED":
            raise Invalid("PayPal order could not be captured")
        capture = payload["purchase_units"][0]["payments"]["captures"][0]
        return order_id, str(capture["id"]), {"paypalCaptureId": str(capture["id"])}

    def refund(self, method: str, payment_reference: str, amount_minor: int, currency: str, receipt: str) -> str:
        value = str((Decimal(amount_minor) / 100).quantize(Decimal("0.01")))
        status, payload = self._call(
            "POST",
            f"/v2/payments/captures/{payment_reference}/refund",
            {"amount": {"currency_code": currency, "value": value}},
            request_id=receipt,
        )
        if status >= 300:
            raise RuntimeError("PayPal: refund failed")
        return str(payload["id"])


class Gateways:
    """One gateway per payment method."""

    def __init__(self, razorpay: Any, paypal: Any):
        self.razorpay = razorpay
        self.paypal = paypal
        self.key_id = razorpay.key_id

    def _of(self, method: str) -> Any:
        return self.paypal if method == "PayPal" else self.razorpay

    def create_order(self, method: str, amount_minor: int, currency: str, receipt: str, notes: dict[str, Any]) -> Order:
        return self._of(method).create_order(method, amount_minor, currency, receipt, notes)  # type: ignore[no-any-return]

    def verify(self, method: str, proof: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        return self._of(method).verify(method, proof)  # type: ignore[no-any-return]

    def refund(self, method: str, payment_reference: str, amount_minor: int, currency: str, receipt: str) -> str:
        return str(self._of(method).refund(method, payment_reference, amount_minor, currency, receipt))
