"""Reads of the inbox read models (people.md §1.2, §1.3): what a reader sees, with its read state.

The unread count is `unread_plan`: four counter rows (kept by the people projection) and the
unexpired notifications that carry an `expiresAt` (an index range, usually empty): never a scan
of the reader's notifications."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from infrastructure.directory_projection import iso_utc
from infrastructure.people_tables import inbox, inbox_counters, inbox_states
from infrastructure.reads import Plan, run_plan
from infrastructure.tables import accounts

SORTABLE = {
    "createdAt": inbox.c.created_at,
    "updatedAt": inbox.c.updated_at,
    "priority": inbox.c.priority,
    "name": inbox.c.name,
    "type": inbox.c.type,
    "category": inbox.c.category,
}

MINE = inbox_states.alias("mine")
READ_AT = sa.func.coalesce(inbox.c.read_at, MINE.c.read_at)
WITH_STATE = inbox.outerjoin(
    MINE, sa.and_(MINE.c.notification_id == inbox.c.id, MINE.c.reader_id == sa.bindparam("me"))
)


def _audience() -> Any:
    return sa.or_(
        inbox.c.recipient == sa.bindparam("me"),
        sa.and_(inbox.c.recipient.is_(None), inbox.c.recipient_role == sa.bindparam("role")),
        inbox.c.is_global.is_(True),
    )


def _visible() -> list[Any]:
    """Seen by the reader: its audience, not hidden by it, not expired."""
    return [
        _audience(),
        sa.or_(MINE.c.hidden.is_(None), MINE.c.hidden.is_(False)),
        sa.or_(inbox.c.expires_at.is_(None), inbox.c.expires_at > sa.bindparam("now")),
    ]


EXPIRING_UNREAD = (
    sa.select(sa.func.count())
    .select_from(WITH_STATE)
    .where(inbox.c.expires_at > sa.bindparam("now"), _audience(), MINE.c.reader_id.is_(None), inbox.c.read_at.is_(None))
)


# The sum of the reader's counter rows, and the unread notifications that carry an `expiresAt` and
# have not expired yet (usually none: an index range).
SEEN = sa.bindparam("k_seen")
COUNTED = (
    sa.select(
        sa.func.coalesce(
            sa.func.sum(sa.case((inbox_counters.c.key == SEEN, -inbox_counters.c.n), else_=inbox_counters.c.n)), 0
        )
    )
    .where(inbox_counters.c.key.in_([sa.bindparam("k_user"), sa.bindparam("k_role"), sa.bindparam("k_all"), SEEN]))
    .scalar_subquery()
)
UNREAD = sa.select(COUNTED, EXPIRING_UNREAD.scalar_subquery())
# The same, with the caller's account as it is now (the per-request status check), in ONE statement:
# the bell polls this route on every page, so it costs one round trip to the database in all.
STATUS_AND_UNREAD = sa.select(accounts.c.kind, accounts.c.status, COUNTED, EXPIRING_UNREAD.scalar_subquery()).where(
    accounts.c.id == sa.bindparam("me")
)


def _unread_params(reader: str, role: str, now: datetime) -> dict[str, Any]:
    keys = {"k_user": f"user:{reader}", "k_role": f"role:{role}", "k_all": "global", "k_seen": f"seen:{reader}"}
    return {**keys, "me": reader, "role": role, "now": now}


def unread_plan(reader: str, role: str, now: datetime) -> Plan[int]:
    rows = yield UNREAD, _unread_params(reader, role, now)
    counted, expiring = rows[0]
    return max(0, int(counted)) + int(expiring)


def status_and_unread_plan(reader: str, role: str, now: datetime) -> Plan[tuple[str, str | None, int] | None]:
    """(kind, status, unread count) of the caller's account, or None when it does not exist."""
    rows = yield STATUS_AND_UNREAD, _unread_params(reader, role, now)
    if not rows:
        return None
    kind, status, counted, expiring = rows[0]
    return kind, status, max(0, int(counted)) + int(expiring)


@dataclass(frozen=True)
class Found:
    id: str
    recipient: str | None
    role: str | None
    is_global: bool
    read: bool
    hidden: bool
    visible: bool
    document: dict[str, Any]


def shown(document: str, read_at: datetime | None) -> dict[str, Any]:
    """The stored document with the reader's read state."""
    doc: dict[str, Any] = json.loads(document)
    doc["read"] = read_at is not None
    if read_at is not None:
        doc["readAt"] = iso_utc(read_at)
        doc["updatedAt"] = max(doc.get("updatedAt") or "", iso_utc(read_at))
    return doc


class InboxQueries:
    def __init__(self, engine: sa.Engine):
        self.engine = engine

    def unread_count(self, reader: str, role: str) -> int:
        return run_plan(self.engine, unread_plan(reader, role, datetime.now(UTC)))

    def _params(self, reader: str, role: str) -> dict[str, Any]:
        return {"me": reader, "role": role, "now": datetime.now(UTC)}

    def page(
        self, reader: str, role: str, filters: dict[str, Any], sort_by: str, ascending: bool, page: int, limit: int
    ) -> tuple[list[dict[str, Any]], dict[str, int]]:
        where = _visible()
        for key in ("category", "type", "priority"):
            if filters.get(key) is not None:
                where.append(getattr(inbox.c, key) == filters[key])
        if filters.get("read") is True:
            where.append(READ_AT.is_not(None))
        elif filters.get("read") is False:
            where.append(READ_AT.is_(None))
        column: Any = sa.case((READ_AT.is_(None), 0), else_=1) if sort_by == "read" else SORTABLE[sort_by]
        order = [column.asc() if ascending else column.desc(), inbox.c.seq.asc() if ascending else inbox.c.seq.desc()]
        params = self._params(reader, role)
        with self.engine.connect() as conn:
            total = int(
                conn.execute(sa.select(sa.func.count()).select_from(WITH_STATE).where(*where), params).scalar() or 0
            )
            rows = conn.execute(
                sa.select(inbox.c.document, READ_AT)
                .select_from(WITH_STATE)
                .where(*where)
                .order_by(*order)
                .limit(limit)
                .offset((page - 1) * limit),
                params,
            ).all()
        pagination = {"page": page, "limit": limit, "total": total, "pages": math.ceil(total / limit)}
        return [shown(document, read_at) for document, read_at in rows], pagination

    def grouped(self, reader: str, role: str) -> list[dict[str, Any]]:
        query = (
            sa.select(
                inbox.c.category,
                sa.func.count(),
                sa.func.sum(sa.case((READ_AT.is_(None), 1), else_=0)),
                sa.func.max(inbox.c.created_at),
            )
            .select_from(WITH_STATE)
            .where(*_visible())
            .group_by(inbox.c.category)
            .order_by(sa.func.max(inbox.c.created_at).desc())
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query, self._params(reader, role)).all()
        return [
            {"_id": category, "count": int(count), "unreadCount": int(unread or 0), "latest": iso_utc(_aware(latest))}
            for category, count, unread, latest in rows
        ]

    def find(self, notification_id: str, reader: str, role: str) -> Found | None:
        """A notification by id, whoever it is for, with this reader's state and whether it sees it."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(
                    inbox.c.recipient,
                    inbox.c.recipient_role,
                    inbox.c.is_global,
                    inbox.c.document,
                    READ_AT,
                    MINE.c.hidden,
                    inbox.c.expires_at,
                )
                .select_from(WITH_STATE)
                .where(inbox.c.id == notification_id),
                {"me": reader},
            ).first()
        if row is None:
            return None
        recipient, to_role, everyone, document, read_at, hidden, expires = row
        if expires is not None and _aware(expires) <= datetime.now(UTC):
            return None  # expired: as if deleted
        visible = recipient == reader if recipient else bool(everyone or to_role == role)
        return Found(
            notification_id,
            recipient,
            to_role,
            bool(everyone),
            read_at is not None,
            bool(hidden),
            visible and not hidden,
            shown(document, read_at),
        )

    def ids(self, reader: str, role: str, *, unread_only: bool) -> tuple[list[str], list[str]]:
        """(personal ids, broadcast ids) the reader sees (only the unread ones when asked)."""
        where = _visible()
        if unread_only:
            where.append(READ_AT.is_(None))
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(inbox.c.id, inbox.c.recipient).select_from(WITH_STATE).where(*where).order_by(inbox.c.seq),
                self._params(reader, role),
            ).all()
        return [i for i, r in rows if r is not None], [i for i, r in rows if r is None]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
