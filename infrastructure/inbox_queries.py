"""Reads of the inbox read models (people.md §1.2, §1.3): what a reader sees, with its read state.

None of the reads the apps make scans the reader's notifications:
- the unread count (`unread_plan`) and a list's total (`_totals`, of all categories or of one, read or
  unread) add up counter rows kept by the people projection, and count live the unexpired
  notifications that carry an `expiresAt` (an index range, usually empty);
- a list in its default order (`createdAt`, either way) is the merge of each audience's first rows
  (`_newest`), an index range each, in every category or in one; `grouped`'s newest `createdAt` of a
  category is the top of that merge.
What is skipped on the way is what the reader cannot see: broadcasts it has hidden, expired notifications.
The other orders, and the `type` and `priority` filters (no app sends them), sort and count as queries."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from domain.notifications import CATEGORIES
from infrastructure.directory_projection import iso_utc
from infrastructure.inbox_bounds import bound_params, from_bound
from infrastructure.json_text import loads
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


# the three audiences of a reader, disjoint: a notification has one of them (`people_projection.audience`
# stores a role only on a broadcast to it), and each is an equality served by its indexes in the order
# (`created_at`, `seq`), one of them per category
AUDIENCES = (
    inbox.c.recipient == sa.bindparam("me"),
    inbox.c.recipient_role == sa.bindparam("role"),
    inbox.c.is_global == sa.true(),
)


# the same audiences as a list walks them: each broadcast audience from the reader's bound on
SHOWN_AUDIENCES = (
    AUDIENCES[0],
    sa.and_(AUDIENCES[1], from_bound("role")),
    sa.and_(AUDIENCES[2], from_bound("global")),
)


def _audience(bounded: bool = False) -> Any:
    return sa.or_(*(SHOWN_AUDIENCES if bounded else AUDIENCES))


def _ordered(columns: list[Any], ascending: bool) -> list[Any]:
    return [column.asc() if ascending else column.desc() for column in columns]


def _newest(where: list[Any], ascending: bool, depth: Any) -> sa.Select[Any]:
    """The reader's notifications matching `where` (whose audience clause is replaced by each audience
    in turn) in the default order (`created_at`, then `seq`): the merge of each audience's first `depth`
    rows, each an index range read in order, so a page costs the same whatever the reader's history."""
    common = where[1:]
    sides = []
    for audience in SHOWN_AUDIENCES:
        side = (
            sa.select(inbox.c.document, READ_AT.label("read_at"), inbox.c.created_at, inbox.c.seq)
            .select_from(WITH_STATE)
            .where(audience, *common)
            .order_by(*_ordered([inbox.c.created_at, inbox.c.seq], ascending))
            .limit(depth)
            .subquery()
        )
        sides.append(sa.select(side))
    merged = sa.union_all(*sides).subquery()
    return sa.select(merged).order_by(*_ordered([merged.c.created_at, merged.c.seq], ascending)).limit(depth)


FILTERED = ("category", "type", "priority")


@functools.cache
def _list_statements(sort_by: str, ascending: bool, filtered: tuple[str, ...], read: bool | None) -> Any:
    """(count, page) statements of a list with these filters (their values bound: `category`, ...; the
    page's `limit`, `offset` and, in the default order, `depth` = offset + limit), built once per shape."""
    where = _visible(bounded=True)
    where += [getattr(inbox.c, key) == sa.bindparam(key) for key in filtered]
    if read is not None:
        where.append(READ_AT.is_not(None) if read else READ_AT.is_(None))
    count = sa.select(sa.func.count()).select_from(WITH_STATE).where(*where)
    if sort_by == "createdAt":
        rows = _newest(where, ascending, sa.bindparam("depth"))
    else:
        column: Any = sa.case((READ_AT.is_(None), 0), else_=1) if sort_by == "read" else SORTABLE[sort_by]
        ordered = _ordered([column, inbox.c.seq], ascending)
        rows = sa.select(inbox.c.document, READ_AT).select_from(WITH_STATE).where(*where).order_by(*ordered)
    return count, rows.limit(sa.bindparam("limit")).offset(sa.bindparam("offset"))


@functools.cache
def _latest_statement(categories: tuple[str, ...]) -> Any:
    """(category, `createdAt`) of the newest notification the reader sees in each audience and each of
    `categories` (an index range each; a personal notification is never hidden: no join), in one
    statement; the newest of a category is the latest of its rows."""
    unexpired = sa.or_(inbox.c.expires_at.is_(None), inbox.c.expires_at > sa.bindparam("now"))
    shown = sa.or_(MINE.c.hidden.is_(None), MINE.c.hidden.is_(False))
    newest_first = (inbox.c.created_at.desc(), inbox.c.seq.desc())
    tops = []
    for category in categories:
        top = sa.select(sa.literal(category).label("category"), inbox.c.created_at).where(
            inbox.c.category == category, unexpired
        )
        personal, *broadcasts = SHOWN_AUDIENCES
        sides = [top.where(personal)] + [top.select_from(WITH_STATE).where(side, shown) for side in broadcasts]
        tops += [sa.select(side.order_by(*newest_first).limit(1).subquery()) for side in sides]
    return sa.union_all(*tops)


def counter_keys(reader: str, role: str, category: str | None) -> dict[str, str]:
    """The keys of the counters a reader's totals add up (`people_tables.inbox_counters`), by name; of one
    category, or (None) of all."""
    suffix = "" if category is None else f":{category}"
    own = {name: f"{name}:{reader}{suffix}" for name in ("mine", "user", "hidden", "seen")}
    return {**own, "role": f"role:{role}{suffix}", "global": f"global{suffix}"}


def _totals(
    conn: sa.Connection, params: dict[str, Any], categories: list[str | None]
) -> dict[str | None, tuple[int, int, int]]:
    """(visible, unread, hidden broadcasts) notifications of the reader (`params`' `me` and `role`) in each
    of `categories` (None: all of them), in two statements whatever their number: the counters
    (`people_tables`), and the live count of the unexpired notifications that carry an `expiresAt` (an
    index range)."""
    keys = {category: counter_keys(params["me"], params["role"], category) for category in categories}
    wanted = [key for named in keys.values() for key in named.values()]
    counters = {key: n for key, n in conn.execute(COUNTERS, {"keys": wanted})}
    live = {category: (int(n), int(unread)) for category, n, unread in conn.execute(EXPIRING, params)}
    totals = {}
    for category, named in keys.items():
        n = {name: int(counters.get(key, 0)) for name, key in named.items()}
        expiring = [v for c, v in live.items() if category is None or c == category]
        broadcasts = n["role"] + n["global"]
        visible = max(0, n["mine"] + broadcasts - n["hidden"]) + sum(v[0] for v in expiring)
        unread = max(0, n["user"] + broadcasts - n["seen"]) + sum(v[1] for v in expiring)
        totals[category] = (visible, unread, n["hidden"])
    return totals


def _bounds(conn: sa.Connection, params: dict[str, Any], hidden: int) -> dict[str, Any]:
    """The reader's bounds for `from_bound` (`inbox_bounds`). Read only when the reader has hidden
    broadcasts: a bound is raised by a hide alone, and none (from the first row on) is always right."""
    if hidden:
        return bound_params(conn, params["me"], params["role"])
    return bound_params(None, params["me"], params["role"])


def _visible(bounded: bool = False) -> list[Any]:
    """Seen by the reader: its audience (first: `_newest` replaces it), not hidden by it, not expired;
    `bounded`: each broadcast audience from the reader's bound on (what a walk of the rows needs)."""
    return [
        _audience(bounded),
        sa.or_(MINE.c.hidden.is_(None), MINE.c.hidden.is_(False)),
        sa.or_(inbox.c.expires_at.is_(None), inbox.c.expires_at > sa.bindparam("now")),
    ]


EXPIRING_UNREAD = (
    sa.select(sa.func.count())
    .select_from(WITH_STATE)
    .where(inbox.c.expires_at > sa.bindparam("now"), _audience(), MINE.c.reader_id.is_(None), inbox.c.read_at.is_(None))
)


COUNTERS = sa.select(inbox_counters.c.key, inbox_counters.c.n).where(
    inbox_counters.c.key.in_(sa.bindparam("keys", expanding=True))
)
# the reader's visible notifications that carry an `expiresAt` and have not expired, by category
EXPIRING = (
    sa.select(inbox.c.category, sa.func.count(), sa.func.sum(sa.case((READ_AT.is_(None), 1), else_=0)))
    .select_from(WITH_STATE)
    .where(inbox.c.expires_at > sa.bindparam("now"), *_visible())
    .group_by(inbox.c.category)
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
    keys = counter_keys(reader, role, None)
    binds = {"k_user": keys["user"], "k_role": keys["role"], "k_all": keys["global"], "k_seen": keys["seen"]}
    return {**binds, "me": reader, "role": role, "now": now}


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
    doc: dict[str, Any] = loads(document)
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
    ) -> tuple[list[dict[str, Any]], dict[str, int], int]:
        """A page of the reader's list, its pagination, and the reader's unread count (all categories)."""
        filtered = tuple(key for key in FILTERED if filters.get(key) is not None)
        read = filters.get("read")
        count, rows = _list_statements(sort_by, ascending, filtered, read)
        params = {**self._params(reader, role), **{key: filters[key] for key in filtered}}
        params.update(limit=limit, offset=(page - 1) * limit, depth=page * limit)
        category = filters.get("category")
        with self.engine.connect() as conn:
            totals = _totals(conn, params, [None, category])
            params.update(_bounds(conn, params, totals[None][2]))
            if filtered in ((), ("category",)):
                visible, unread, _ = totals[category]
                total = visible if read is None else (unread if read is False else visible - unread)
            else:  # filters no app sends: counted
                total = int(conn.execute(count, params).scalar() or 0)
            found = conn.execute(rows, params).all()
        pagination = {"page": page, "limit": limit, "total": total, "pages": math.ceil(total / limit)}
        return [shown(document, read_at) for document, read_at, *_ in found], pagination, totals[None][1]

    def grouped(self, reader: str, role: str) -> list[dict[str, Any]]:
        """One item per category the reader sees a notification of: its totals from the counters, its
        newest `createdAt` from the top of each audience's rows of that category."""
        params = self._params(reader, role)
        with self.engine.connect() as conn:
            totals = _totals(conn, params, list(CATEGORIES))
            present = tuple(category for category in CATEGORIES if totals[category][0])
            latest: dict[str, datetime] = {}
            params.update(_bounds(conn, params, sum(totals[category][2] for category in present)))
            for category, created in conn.execute(_latest_statement(present), params) if present else ():
                latest[category] = max(latest.get(category, created), created)
        ordered = sorted(latest, key=lambda category: _aware(latest[category]), reverse=True)
        return [
            {
                "_id": category,
                "count": totals[category][0],
                "unreadCount": totals[category][1],
                "latest": iso_utc(_aware(latest[category])),
            }
            for category in ordered
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
        where = _visible(bounded=True)
        if unread_only:
            where.append(READ_AT.is_(None))
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(inbox.c.id, inbox.c.recipient).select_from(WITH_STATE).where(*where).order_by(inbox.c.seq),
                {**self._params(reader, role), **bound_params(conn, reader, role)},
            ).all()
        return [i for i, r in rows if r is not None], [i for i, r in rows if r is None]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
