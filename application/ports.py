"""Ports: what the application needs from the outside world. Adapters live in infrastructure/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO, Protocol
from uuid import UUID

from domain.accounts import Account as DomainAccount
from domain.appointments import Appointment
from domain.errors import DomainError


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password: str, hashed: str) -> bool: ...


class SmsSender(Protocol):
    def send(self, mobile: str, text: str) -> None: ...


class Mailer(Protocol):
    def send(self, to: str, template: str, data: dict[str, Any]) -> None: ...


class ProjectionBarrier(Protocol):
    """Read-your-writes: block (bounded) until the read models have processed `position`."""

    def wait_for(self, position: int, first: int | None = None) -> None:
        """Raises `ChangeNotApplied` when a projection parked an event between `first` and `position`."""


class Account(Protocol):
    """What the identity service reads of an account (a row of the read model)."""

    id: str
    kind: str
    role: str
    email: str
    status: str | None
    password_hash: str | None
    document: dict[str, Any]


class AccountDirectory(Protocol):
    def by_email(self, kind: str, email: str) -> Account | None: ...
    def by_phone(self, kind: str, phones: list[str]) -> Account | None: ...
    def by_id(self, kind: str, account_id: str) -> Account | None: ...
    def admin_exists(self) -> bool: ...


class CatalogueLookup(Protocol):
    def category(self, category_id: str) -> dict[str, Any] | None: ...
    def subcategory(self, subcategory_id: str) -> dict[str, Any] | None: ...
    def category_by_title(self, title: str) -> dict[str, Any] | None: ...
    def subcategory_by_title(self, title: str) -> dict[str, Any] | None: ...
    def child_ids(self, category_id: str) -> list[str]: ...


class OneTimeSecrets(Protocol):
    """Secrets with an expiry (OTP codes, reset tokens), stored hashed outside the event store."""

    def put_otp(self, mobile: str, code_hash: str, expires_at: float) -> None: ...
    def check_otp(self, mobile: str, code_hash: str, now: float, max_attempts: int) -> str: ...
    def delete_otp(self, mobile: str) -> None: ...
    def consume_otp(self, mobile: str, code_hash: str) -> bool: ...
    def put_reset(self, token_hash: str, kind: str, account_id: str, expires_at: float) -> None: ...
    def take_reset(self, token_hash: str, now: float) -> tuple[str, str] | None: ...
    def clear_reset(self, kind: str, account_id: str) -> None: ...


class TokenIssuer(Protocol):
    def access_token(self, account_id: str, email: str, role: str) -> str: ...
    def registration_token(self, mobile: str) -> str: ...
    def read_registration_token(self, token: str) -> str | None: ...


class GatewayOrder(Protocol):
    order_id: str
    amount_minor: int  # smallest currency unit (paise) as the gateway charges it
    currency: str


class PaymentGateway(Protocol):
    """A payment gateway (Razorpay-compatible orders and signatures; PayPal orders and captures).

    `verify` checks a payment proof and returns (order id, payment or capture id, metadata to merge);
    it raises `domain.errors.Invalid` for a proof that does not check out."""

    key_id: str

    def create_order(
        self, method: str, amount_minor: int, currency: str, receipt: str, notes: dict[str, Any]
    ) -> GatewayOrder: ...
    def verify(self, method: str, proof: dict[str, Any]) -> tuple[str, str, dict[str, Any]]: ...
    def refund(self, method: str, payment_reference: str, amount_minor: int, currency: str, receipt: str) -> str: ...


class ChangeNotApplied(DomainError):
    """A command's events are recorded (durable) but a read-model projection could not apply one
    of them and parked it (see `consult doctor`): the command answers at once instead of waiting
    out the read-your-writes timeout for a change that will not become visible. A server fault,
    not the client's (the interfaces answer 500), with a message that says the change itself was recorded."""

    def __init__(self, position: int, error: str):
        super().__init__("The change was recorded but could not be applied; an operator has been alerted")
        self.position = position
        self.error = error


class AttemptCounter(Protocol):
    """Counts attempts per key in a window that starts with the key's first attempt (shared between
    processes when backed by Redis). `take` reserves one attempt and says whether it is within
    `limit`; `give_back` returns a reserved attempt that turned out not to count (a success)."""

    def take(self, key: str, limit: int, window: int) -> bool: ...
    def give_back(self, key: str) -> None: ...


class FileStore(Protocol):
    """Where uploaded files and invoice PDFs live (a directory under DATA_DIR, or an S3 bucket).
    Keys are already checked against the grammar of `domain.files`; bytes go in and out in chunks."""

    def put(self, key: str, source: BinaryIO) -> int: ...
    def size(self, key: str) -> int | None: ...
    def open(self, key: str) -> tuple[int, Iterator[bytes]] | None: ...  # (size, chunks)
    def delete(self, key: str) -> bool: ...
    def keys(self, prefix: str) -> list[str]: ...  # every stored key starting with `prefix`


class BookingMoney(Protocol):
    """What the booking use cases need of the money side: each method returns the aggregates to save
    in the booking's own atomic write (payments, refunds, earnings), or carries out a refund that
    write decided. Implemented by `application.payments.Payments`; `NoLedger` when none is wired."""

    takes_payments: bool

    def prefetch_ids(self, consultant_id: str, proof: Any) -> tuple[list[UUID], list[UUID]]:
        """The aggregates that settling a hold paid with `proof` reads, to load in the booking's own
        read (one round trip), and those of them that start from a snapshot."""
        ...

    def settle_for_hold(
        self, hold: Appointment, proof: Any, client: DomainAccount, consultant: DomainAccount
    ) -> tuple[dict[str, Any], list[Any]]: ...
    def settle_lost_hold(
        self, hold: Appointment, proof: Any, client: DomainAccount, consultant: DomainAccount
    ) -> list[Any]: ...
    def offline_payment(
        self,
        appointment_id: str,
        consultant: DomainAccount,
        client: DomainAccount,
        payment: dict[str, Any] | None,
        completed: bool,
        by_role: str = ...,
    ) -> tuple[dict[str, Any], list[Any]]: ...
    def after_status_change(self, appointment: Appointment, before: str, by_role: str, now: datetime) -> list[Any]: ...
    def complete_refunds_of(self, appointment_id: str) -> None: ...
    def complete_refund_of_proof(self, proof: Any) -> None: ...
