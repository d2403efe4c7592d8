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
  confirmation, refund of the capture with `PayPal-Request-Id` as idempotency key); the access
  token is kept until shortly before its `expires_in`, and fetched anew once if the API answers 401.
- Both HTTP adapters speak through `infrastructure.http_api.HttpApi`: one httpx client per
  adapter (kept-alive connections reused), timeouts, and tenacity retries of the idempotent calls.
- `Gateways` routes each call to the adapter of its method (Razorpay or PayPal)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import string
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.errors import Invalid
from infrastructure.http_api import HttpApi

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


class RazorpayGateway:
    def __init__(self, key_id: str, secret: str, api_url: str = "https://api.razorpay.com/v1"):
        self.key_id = key_id
        self.secret = secret
        self.api_url = api_url.rstrip("/")
        token = base64.b64encode(f"{key_id}:{secret}".encode()).decode()
        self.http = HttpApi(self.api_url, {"Authorization": f"Basic {token}", "Content-Type": "application/json"})

    def _call(
        self, method: str, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        # retried only with an idempotency key: a repeated order POST would create a second order
        idempotent = headers is not None and "X-Refund-Idempotency" in headers
        status, payload = self.http.request(
            method, path, content=json.dumps(body).encode(), headers=headers, idempotent=idempotent
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


TOKEN_MARGIN = 60.0  # seconds before its expiry that a PayPal access token is no longer used


class PayPalGateway:
    def __init__(
        self,
        client_id: str,
        client_secret: str,
        api_url: str = "https://api-m.sandbox.paypal.com",
        clock: Callable[[], float] = time.monotonic,
    ):
        self.key_id = client_id
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_url = api_url.rstrip("/")
        self.http = HttpApi(self.api_url)
        self.clock = clock
        self._token_lock = threading.Lock()
        self._cached: tuple[str, float] | None = None  # (access token, clock time it stops being used)

    def _fetch_token(self) -> tuple[str, float]:
        basic = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        asked = self.clock()
        status, payload = self.http.request(
            "POST",
            "/v1/oauth2/token",
            content=b"grant_type=client_credentials",
            headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
            idempotent=True,  # a client-credentials grant changes nothing: asking twice is safe
        )
        if status >= 300:
            raise RuntimeError("PayPal: authentication failed")
        try:
            lifetime = float(payload.get("expires_in") or 0)
        except (TypeError, ValueError):
            lifetime = 0.0
        return str(payload["access_token"]), asked + lifetime - TOKEN_MARGIN

    def _token(self, refused: str | None = None) -> str:
        """The cached access token while it is valid, else a new one (one request at a time);
        `refused`: a token the API just answered 401 to, not to be used again."""
        with self._token_lock:
            cached = self._cached
            if cached is None or cached[0] == refused or self.clock() >= cached[1]:
                cached = self._cached = self._fetch_token()
            return cached[0]

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None, request_id: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Content-Type": "application/json"}
        if request_id:
            headers["PayPal-Request-Id"] = request_id
        # GETs, POSTs with a PayPal-Request-Id, and captures (a second capture of an order is refused
        # with ORDER_ALREADY_CAPTURED, which `verify` reads back) are safe to repeat
        idempotent = method == "GET" or request_id is not None or path.endswith("/capture")
        content = json.dumps(body).encode() if body is not None else None
        token = self._token()
        for _ in range(2):
            headers["Authorization"] = f"Bearer {token}"
            status, payload = self.http.request(method, path, content=content, headers=headers, idempotent=idempotent)
            if status != 401:
                break
            token = self._token(refused=token)  # revoked or expired early: one new token, one more try
        return status, payload

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
