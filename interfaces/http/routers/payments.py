"""`/payments` (contract analytics §5.4): gateway orders, verification and status, behind the
gateway port. Amounts are the booking's fee (never the amount sent), in the platform's currency."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from application.payments import Who
from domain.errors import Forbidden, Invalid, NotFound
from domain.ids import is_object_id
from domain.money import AmountRefused
from infrastructure.gateways import SandboxGateway
from interfaces.http.deps import AppContainer, CurrentUser
from interfaces.http.envelope import ERROR_RESPONSES, Envelope, ok
from interfaces.http.fields import EVERY_FIELD, Body
from interfaces.http.lean import lean_post
from interfaces.http.money import ExactJsonRoute, request_amount

router = APIRouter(prefix="/payments", tags=["payments"], responses=ERROR_RESPONSES, route_class=ExactJsonRoute)


def positive_amount(value: Any) -> Decimal | None:
    """A positive amount with at most two decimals (JSON number read exactly, or numeric text),
    else None; an amount over MAX_AMOUNT is refused outright (`AmountRefused`, 400)."""
    try:
        return request_amount(value, "amount", positive=True)
    except AmountRefused as refusal:
        if refusal.kind == "less_than_equal":
            raise
        return None


def _id(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not is_object_id(str(value).lower()):
        raise Invalid("Invalid ID format")
    return str(value).lower()


class CreateOrderBody(Body):
    nullable = EVERY_FIELD  # each is checked by the handler, null as "not given"
    amount: Any = Field(default=None, description="major units; the booking's fee is charged")
    appointmentId: Any = None
    holdId: Any = None
    consultantId: Any = None
    clientId: Any = None
    currency: str | None = None
    paymentMethod: str | None = Field(default=None, description='"Razorpay" (default) or "PayPal"')


class VerifyBody(Body):
    nullable = EVERY_FIELD
    paymentMethod: str | None = None
    razorpay_order_id: str | None = None
    razorpay_payment_id: str | None = None
    razorpay_signature: str | None = None
    orderID: str | None = None
    payerID: str | None = None
    transactionId: str | None = None
    appointmentId: str | None = None


class SandboxCheckout(Body):
    orderId: str


def _who(who: Any) -> Who:
    return Who(who.id, who.role)


@lean_post(router, "/create-order", response_model=Envelope[dict[str, Any]])
def create_order(body: CreateOrderBody, who: CurrentUser, app: AppContainer) -> Any:
    """A gateway order (Razorpay: `amount` in paise and `key`; PayPal: major units) and its Pending transaction."""
    data = app.payments.create_order(
        _who(who),
        positive_amount(body.amount),
        _id(body.holdId),
        _id(body.appointmentId),
        _id(body.consultantId),
        body.currency,
        body.paymentMethod,
    )
    return ok("Order created successfully", data)


@router.post("/verify", response_model=Envelope[dict[str, Any]])
def verify(body: VerifyBody, who: CurrentUser, app: AppContainer) -> Any:
    """Verify a Razorpay signature or capture a PayPal order; idempotent (a replay answers the first result)."""
    method = "PayPal" if body.paymentMethod == "PayPal" else "Razorpay"
    tx = app.payments.verify(_who(who), method, body.model_dump(), _id(body.transactionId), _id(body.appointmentId))
    return ok(
        "Payment verified successfully",
        {"transactionId": tx.transaction_id, "paymentId": tx.reference, "status": tx.status},
    )


@router.get("/status", response_model=Envelope[dict[str, Any]])
def status(who: CurrentUser, app: AppContainer, transactionId: str | None = None, orderId: str | None = None) -> Any:
    """By transaction `_id`, else by gateway order id; the payer, the consultant and staff only."""
    found = None
    if transactionId and is_object_id(transactionId.lower()):
        found = app.ledger.document(transactionId.lower())
    if found is None and (orderId or transactionId):
        found = app.ledger.by_order(orderId or transactionId or "")
    if found is None:
        raise NotFound("Transaction not found")
    if who.role not in ("Admin", "Employee") and who.id not in (found.get("user"), found.get("consultant")):
        raise Forbidden("Forbidden: Access denied")
    return ok(
        "Payment status fetched",
        {
            "transactionId": found["_id"],
            "status": found["status"],
            "amount": found["amount"],
            "paymentMethod": found["paymentMethod"],
        },
    )


@router.post("/sandbox/checkout", response_model=Envelope[dict[str, str]])
def sandbox_checkout(body: SandboxCheckout, who: CurrentUser, app: AppContainer) -> Any:
    """Sandbox gateway only (never in production): what the buyer's checkout returns for an order
    (`razorpay_*` with a real signature, or PayPal `orderID`/`payerID`), for demos and manual tests."""
    gateway = app.gateway
    if not isinstance(gateway, SandboxGateway) or app.settings.is_production:
        raise NotFound(f"Route {'/api/v1/payments/sandbox/checkout'} not found")
    found = app.ledger.by_order(body.orderId)
    if found is None:
        raise NotFound("Transaction not found")
    if who.id != found.get("user"):
        raise Forbidden("Forbidden: Access denied")
    proof = gateway.approve_paypal(body.orderId) if found["paymentMethod"] == "PayPal" else gateway.pay(body.orderId)
    return ok("Sandbox payment approved", proof)
