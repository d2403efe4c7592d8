"""The right of access (contract people §4.2): the export of everything the service holds about the
caller, as a registry of sections read from the read models.

A feature that holds more personal data adds one section with `@section("name", roles...)` (a function
of the `Export` context returning a JSON value); the export of each role is its sections in
registration order. Rules every section keeps: only the caller's own data; never a password hash, OTP
or reset token of anyone; the other party of an appointment or a transaction appears by id and name
only (its e-mail and phone are that person's data, not the caller's)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from domain.accounts import CLIENT, CONSULTANT
from domain.privacy import CONSENT_DEFAULTS
from domain.profiles import PRIVATE_FIELDS
from infrastructure.directory_projection import iso_utc
from infrastructure.document_tables import documents
from infrastructure.json_text import loads
from infrastructure.personal_fields import DELETED_NAME
from infrastructure.platform_tables import platform_settings
from infrastructure.tables import accounts, among, appointments, consultant_settings, transactions

SECRET_KEYS = PRIVATE_FIELDS | {"password_hash", "passwordHash"}
APPOINTMENT_FIELDS = ("_id", "date", "startAt", "endAt", "status", "session", "fee", "reason", "notes", "category")
TRANSACTION_FIELDS = (
    "_id",
    "amount",
    "currency",
    "type",
    "status",
    "paymentMethod",
    "platformFee",
    "netAmount",
    "appointment",
    "createdAt",
)
CONSENT_KEYS = ("termsAcceptedAt", "privacyAcceptedAt", "marketingConsent", "dataProcessingConsent")


@dataclass(frozen=True)
class Export:
    conn: sa.Connection
    account_id: str
    kind: str
    role: str


@dataclass(frozen=True)
class Section:
    name: str
    roles: tuple[str, ...]
    build: Callable[[Export], Any]


SECTIONS: list[Section] = []


def section(name: str, *roles: str) -> Callable[[Callable[[Export], Any]], Callable[[Export], Any]]:
    def register(build: Callable[[Export], Any]) -> Callable[[Export], Any]:
        SECTIONS[:] = [s for s in SECTIONS if not (s.name == name and set(s.roles) == set(roles))]
        SECTIONS.append(Section(name, roles, build))
        return build

    return register


def export(engine: sa.Engine, account_id: str, kind: str, role: str) -> dict[str, Any]:
    out: dict[str, Any] = {"exportedAt": iso_utc(datetime.now(UTC))}
    with engine.connect() as conn:
        context = Export(conn, account_id, kind, role)
        for part in SECTIONS:
            if role in part.roles:
                out[part.name] = part.build(context)
    return out


def without_secrets(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: without_secrets(v) for k, v in value.items() if k not in SECRET_KEYS}
    if isinstance(value, list):
        return [without_secrets(v) for v in value]
    return value


def _party(party_id: str | None, name: Any) -> dict[str, Any] | None:
    if not party_id:
        return None
    return {"_id": party_id, "fullName": name or DELETED_NAME}


def _names(conn: sa.Connection, ids: set[str]) -> dict[str, str]:
    if not ids:
        return {}
    return dict(conn.execute(sa.select(accounts.c.id, accounts.c.name).where(among(conn, accounts.c.id, ids))).all())


def _name_only(snapshot: Any) -> dict[str, Any] | None:
    return {"name": snapshot.get("name", "")} if isinstance(snapshot, dict) else None


# -- sections (in the order of the contract's documents) ---------------------------------------------


@section("profile", "Client", "Consultant", "Admin", "Employee")
def profile(context: Export) -> dict[str, Any] | None:
    raw = context.conn.execute(sa.select(accounts.c.document).where(accounts.c.id == context.account_id)).scalar()
    if raw is None:
        return None
    document = without_secrets(loads(raw))
    if context.kind in (CLIENT, CONSULTANT):
        for key in CONSENT_KEYS:
            document.setdefault(key, CONSENT_DEFAULTS.get(key))
    return document  # type: ignore[no-any-return]


@section("appointments", "Client", "Consultant")
def own_appointments(context: Export) -> list[dict[str, Any]]:
    mine = appointments.c.client_id if context.kind == CLIENT else appointments.c.consultant_id
    rows = context.conn.execute(
        sa.select(appointments.c.document)
        .where(mine == context.account_id, appointments.c.status != "Hold")
        .order_by(appointments.c.start_at, appointments.c.id)
    ).scalars()
    documents = [loads(raw) for raw in rows]
    other = "consultant" if context.kind == CLIENT else "client"
    names = _names(context.conn, {d[other] for d in documents})
    out = []
    for document in documents:
        item = {key: document.get(key) for key in APPOINTMENT_FIELDS}
        item[other] = _party(document[other], names.get(document[other]))
        item["client" if context.kind == CLIENT else "consultant"] = context.account_id
        own, theirs = ("clientSnapshot", "consultantSnapshot")[:: 1 if context.kind == CLIENT else -1]
        item[own] = document.get(own)
        item[theirs] = _name_only(document.get(theirs))
        item["payment"] = {k: v for k, v in (document.get("payment") or {}).items() if k != "invoiceUrl"}
        out.append(item)
    return out


DOCUMENT_FIELDS = (
    "_id",
    "title",
    "type",
    "appointment",
    "createdAt",
    "updatedAt",
    "description",
    "status",
    "fileKey",
    "fileName",
    "originalFileName",
    "fileSize",
    "mimeType",
)


@section("documents", "Client", "Consultant")
def own_documents(context: Export) -> list[dict[str, Any]]:
    """The documents naming the person (contract people §4.2, platform §4): metadata and the file's
    key (the HTTP layer adds a signed `fileUrl`), `Deleted` ones left out; the other party and the
    uploader by id (and the other party's name) only."""
    mine = documents.c.client_id if context.kind == CLIENT else documents.c.consultant_id
    rows = context.conn.execute(
        sa.select(documents.c.document).where(mine == context.account_id).order_by(documents.c.seq.desc())
    ).scalars()
    found = [loads(raw) for raw in rows]
    other = "consultant" if context.kind == CLIENT else "client"
    names = _names(context.conn, {d[other] for d in found if d.get(other)})
    out = []
    for document in found:
        if document.get("status") == "Deleted":
            continue
        item = {key: document.get(key) for key in DOCUMENT_FIELDS}
        item[other] = _party(document.get(other), names.get(document.get(other) or ""))
        item["client" if context.kind == CLIENT else "consultant"] = context.account_id
        item["uploadedBy"] = document.get("uploadedBy")
        out.append(item)
    return out


@section("transactions", "Client", "Consultant")
def own_transactions(context: Export) -> list[dict[str, Any]]:
    mine = transactions.c.user_id if context.kind == CLIENT else transactions.c.consultant_id
    rows = context.conn.execute(
        sa.select(transactions.c.document).where(mine == context.account_id).order_by(transactions.c.seq)
    ).scalars()
    documents = [loads(raw) for raw in rows]
    other = "consultant" if context.kind == CLIENT else "user"
    names = _names(context.conn, {d[other] for d in documents if d.get(other)})
    out = []
    for document in documents:
        item = {key: document.get(key) for key in TRANSACTION_FIELDS}
        item[other] = _party(document.get(other), names.get(document.get(other) or ""))
        item["user" if context.kind == CLIENT else "consultant"] = context.account_id
        own, theirs = ("userSnapshot", "consultantSnapshot")[:: 1 if context.kind == CLIENT else -1]
        item[own] = document.get(own)
        item[theirs] = _name_only(document.get(theirs))
        out.append(item)
    return out


@section("settings", "Consultant")
def own_settings(context: Export) -> dict[str, Any] | None:
    raw = context.conn.execute(
        sa.select(consultant_settings.c.document).where(consultant_settings.c.consultant_id == context.account_id)
    ).scalar()
    return loads(raw) if raw else None


@section("adminSettings", "Admin", "Employee")
def own_admin_settings(context: Export) -> dict[str, Any] | None:
    """The caller's own admin settings: its `profile` section (platform-wide sections are not personal
    data), or None when it never saved one."""
    row = context.conn.execute(
        sa.select(platform_settings.c.document, platform_settings.c.created_at, platform_settings.c.updated_at).where(
            platform_settings.c.key == "profile:" + context.account_id
        )
    ).first()
    if row is None:
        return None
    profile = loads(row.document).get("profile")
    if profile is None:
        return None
    return {"admin": context.account_id, "profile": profile, "createdAt": row.created_at, "updatedAt": row.updated_at}


@section("notifications", "Client", "Consultant", "Admin", "Employee")
def own_notifications(context: Export) -> list[dict[str, Any]]:
    """No inbox read model exists yet: the inbox feature replaces this section with the caller's
    personal notifications (`name`, `message`, `type`, `category`, `read`, `createdAt`)."""
    return []


@section("consents", "Client", "Consultant")
def consents(context: Export) -> dict[str, Any]:
    raw = context.conn.execute(sa.select(accounts.c.document).where(accounts.c.id == context.account_id)).scalar()
    document = loads(raw) if raw else {}
    return {key: document.get(key, CONSENT_DEFAULTS.get(key)) for key in CONSENT_KEYS}


# -- what the erasure command asks the read models ----------------------------------------------------


def live_bookings_of(engine: sa.Engine) -> Callable[[str, str], list[tuple[str, str]]]:
    def bookings_of(kind: str, account_id: str) -> list[tuple[str, str]]:
        column = appointments.c.client_id if kind == CLIENT else appointments.c.consultant_id
        if kind not in (CLIENT, CONSULTANT):
            return []
        with engine.connect() as conn:
            return [
                (row.id, row.status)
                for row in conn.execute(
                    sa.select(appointments.c.id, appointments.c.status)
                    .where(column == account_id, appointments.c.status.in_(("Hold", "Upcoming")))
                    .order_by(appointments.c.start_at)
                )
            ]

    return bookings_of


def documents_of(engine: sa.Engine) -> Callable[[str], list[str]]:
    def of(account_id: str) -> list[str]:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(documents.c.id)
                    .where(sa.or_(documents.c.client_id == account_id, documents.c.consultant_id == account_id))
                    .order_by(documents.c.seq)
                ).scalars()
            )

    return of


def other_active_admins(engine: sa.Engine) -> Callable[[str], list[str]]:
    def others(account_id: str) -> list[str]:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    sa.select(accounts.c.id).where(
                        accounts.c.kind == "user",
                        accounts.c.role == "Admin",
                        accounts.c.status == "Active",
                        accounts.c.id != account_id,
                    )
                ).scalars()
            )

    return others
