"""Reads of the ledger's read models: transaction lists with their parties populated, payment
status lookups, balances, and the earnings of a period (catalogue stats)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from infrastructure.json_text import loads
from infrastructure.personal_fields import deleted_party
from infrastructure.tables import (
    accounts,
    among,
    appointments,
    consultant_balances,
    documents_by_id,
    transaction_counters,
    transactions,
)


def month_window(now: datetime, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The business-time-zone calendar month of `now`, half-open."""
    local = now.astimezone(zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following


def earnings_in(since: datetime, until: datetime) -> Any:
    """Per consultant: the net of Success payments created in [since, until) whose appointment is
    Completed (payments with no appointment count at once), in minor units (CONTRACT.md rule)."""
    return (
        sa.select(transactions.c.consultant_id, sa.func.sum(transactions.c.net_minor).label("earned_minor"))
        .select_from(transactions.outerjoin(appointments, appointments.c.id == transactions.c.appointment_id))
        .where(
            transactions.c.kind == "Payment",
            transactions.c.status == "Success",
            transactions.c.created_at >= since,
            transactions.c.created_at < until,
            sa.or_(transactions.c.appointment_id.is_(None), appointments.c.status == "Completed"),
        )
        .group_by(transactions.c.consultant_id)
    )


class LedgerQueries:
    def __init__(self, engine: sa.Engine, invoice_url: Callable[[str, str], str]):
        self.engine = engine
        self.invoice_url = invoice_url

    def list(
        self, *, party: str | None, consultant_only: bool, kind: str | None, page: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Newest first. `party`: the id whose transactions are visible (None = all); with
        `consultant_only` as the consultant, else as the user or the consultant. Neither the page nor
        the total reads more than the page's depth: the total is read from the counters the projection
        keeps (`transaction_counters`), and a party's page as user or consultant merges the newest rows
        of each side (an index range each) instead of sorting all its rows."""
        t = transactions.c
        kinds = [t.kind == kind] if kind else []
        c = transaction_counters.c
        scopes = ["all"] if party is None else ["consultant"] if consultant_only else ["user", "consultant", "both"]
        counted = (  # a party's rows as user plus as consultant, less those where it is both (counted twice)
            sa.select(sa.func.coalesce(sa.func.sum(sa.case((c.scope == "both", -c.n), else_=c.n)), 0))
            .where(c.scope.in_(scopes), c.party == (party or ""))
            .where(*([c.kind == kind] if kind else []))
        )
        if party is None or consultant_only:
            sides = [t.consultant_id == party] if party is not None else []
            rows: Any = sa.select(t.seq, t.document).where(*sides, *kinds).subquery()
        else:  # the newest page-depth rows as user and as consultant; UNION drops a row that is both
            depth = page * limit
            rows = sa.union(
                *(
                    sa.select(side.c.seq, side.c.document)
                    for side in (
                        sa.select(t.seq, t.document)
                        .where(column == party, *kinds)
                        .order_by(t.seq.desc())
                        .limit(depth)
                        .subquery()
                        for column in (t.user_id, t.consultant_id)
                    )
                )
            ).subquery()
        query = sa.select(rows.c.document).order_by(rows.c.seq.desc()).limit(limit).offset((page - 1) * limit)
        with self.engine.connect() as conn:
            total = int(conn.execute(counted).scalar() or 0)
            documents = [loads(raw) for raw in conn.execute(query).scalars()]
            return self._populate(conn, documents), total

    def document(self, transaction_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            raw = conn.execute(sa.select(transactions.c.document).where(transactions.c.id == transaction_id)).scalar()
            return self._public(loads(raw)) if raw else None

    def by_order(self, order_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            raw = (
                conn.execute(
                    sa.select(transactions.c.document)
                    .where(transactions.c.order_id == order_id)
                    .order_by(transactions.c.seq)
                )
                .scalars()
                .first()
            )
            return self._public(loads(raw)) if raw else None

    def balances(self) -> dict[str, dict[str, int]]:
        """Every consultant's balance read model in minor units."""
        with self.engine.connect() as conn:
            return {
                row.consultant_id: {"earned": int(row.earned_minor), "paid_out": int(row.paid_out_minor)}
                for row in conn.execute(sa.select(consultant_balances))
            }

    def party_names(self, ids: list[str]) -> dict[str, dict[str, Any]]:
        with self.engine.connect() as conn:
            return documents_by_id(conn, accounts, [i for i in ids if i])

    def _public(self, document: dict[str, Any]) -> dict[str, Any]:
        key, filename = document.pop("invoiceKey", None), document.pop("invoiceFilename", None)
        if key:
            document["invoiceUrl"] = self.invoice_url(key, filename or "")
        return document

    def _populate(self, conn: sa.Connection, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        documents = [self._public(d) for d in documents]
        ids = {d["user"] for d in documents if d.get("user")} | {
            d["consultant"] for d in documents if d.get("consultant")
        }
        parties = (
            {
                row.id: (row.kind, loads(row.document))
                for row in conn.execute(
                    sa.select(accounts.c.id, accounts.c.kind, accounts.c.document).where(
                        among(conn, accounts.c.id, ids)
                    )
                )
            }
            if ids
            else {}
        )
        booked = documents_by_id(conn, appointments, {d["appointment"] for d in documents if d.get("appointment")})
        for document in documents:
            user = parties.get(document.get("user") or "")
            if user is None and document.get("user"):
                document["user"] = deleted_party(document["user"])
            elif user is not None:
                profile = user[1]
                document["user"] = {
                    "_id": document["user"],
                    "email": profile.get("email", ""),
                    "fullName": profile.get("fullName") or profile.get("displayName") or profile.get("name") or "",
                }
            consultant = parties.get(document.get("consultant") or "")
            if consultant is None and document.get("consultant"):
                document["consultant"] = deleted_party(document["consultant"])
            elif consultant is not None:
                profile = consultant[1]
                document["consultant"] = {
                    "_id": document["consultant"],
                    "name": profile.get("name", ""),
                    "displayName": profile.get("displayName", ""),
                    "fullName": profile.get("displayName") or profile.get("name") or profile.get("fullName", ""),
                    "email": profile.get("email", ""),
                    "category": _snapshot(profile.get("category")),
                    "subcategory": _snapshot(profile.get("subcategory")),
                }
            appointment = booked.get(document.get("appointment") or "")
            if appointment is not None:
                payment = appointment.get("payment") or {}
                document["appointment"] = {
                    "_id": appointment["_id"],
                    "reason": appointment.get("reason", ""),
                    "session": appointment.get("session", "Video Call"),
                    "status": appointment.get("status"),
                    "payment": {
                        k: payment.get(k)
                        for k in ("amount", "status", "method", "transactionId", "invoiceUrl")
                        if k in payment
                    },
                }
        return documents


def _snapshot(value: Any) -> dict[str, str]:
    value = value if isinstance(value, dict) else {}
    return {
        "name": value.get("name", ""),
        "description": value.get("description", ""),
        "imageUrl": value.get("imageUrl", ""),
    }
