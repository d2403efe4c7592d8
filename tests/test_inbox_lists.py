"""The inbox's lists without a scan (migration 0016): `GET /notifications`' total from the counters,
its default order as the merge of each audience's newest rows, and `grouped` from the counters, checked
against the plain queries (a count and a sort of everything the reader sees) after random histories of
sends, reads, hides, deletes and expiring notifications, after a rebuild, and after the migration."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from application.inbox import Reader
from domain.notifications import CATEGORIES
from infrastructure.directory_projection import iso_utc
from infrastructure.inbox_queries import READ_AT, SORTABLE, WITH_STATE, InboxQueries, _aware, _visible
from infrastructure.people_tables import inbox, inbox_counters, inbox_states
from tests.databases import store_at

ADMIN = Reader("a" * 24, "Admin")
READERS = [Reader(f"{n:024x}", role) for n, role in enumerate(["Client", "Client", "Consultant", "Admin"], 1)]
TYPES = ("system", "appointment", "payment", "other")
PRIORITIES = ("low", "normal", "high")
FILTERS: list[dict[str, Any]] = [
    {},
    {"read": True},
    {"read": False},
    *({"category": category} for category in CATEGORIES),
    *({"category": category, "read": read} for category in ("appointments", "general") for read in (True, False)),
    {"type": "payment"},
    {"priority": "high", "read": False},
]


def plain_page(
    conn: sa.Connection, reader: Reader, filters: dict[str, Any], sort_by: str, ascending: bool, page: int, limit: int
) -> tuple[list[str], int]:
    """The list as a count and a sort of every visible notification (the queries before migration 0016)."""
    where = _visible()
    for key in ("category", "type", "priority"):
        if key in filters:
            where.append(getattr(inbox.c, key) == filters[key])
    if "read" in filters:
        where.append(READ_AT.is_not(None) if filters["read"] else READ_AT.is_(None))
    params = {"me": reader.id, "role": reader.role, "now": datetime.now(UTC)}
    total = conn.execute(sa.select(sa.func.count()).select_from(WITH_STATE).where(*where), params).scalar_one()
    column = SORTABLE[sort_by]
    order = [column.asc(), inbox.c.seq.asc()] if ascending else [column.desc(), inbox.c.seq.desc()]
    ids = conn.execute(
        sa.select(inbox.c.id)
        .select_from(WITH_STATE)
        .where(*where)
        .order_by(*order)
        .limit(limit)
        .offset((page - 1) * limit),
        params,
    ).scalars()
    return list(ids), int(total)


def plain_groups(conn: sa.Connection, reader: Reader) -> list[tuple[str, int, int, str]]:
    params = {"me": reader.id, "role": reader.role, "now": datetime.now(UTC)}
    unread = sa.func.sum(sa.case((READ_AT.is_(None), 1), else_=0))
    rows = conn.execute(
        sa.select(inbox.c.category, sa.func.count(), unread, sa.func.max(inbox.c.created_at))
        .select_from(WITH_STATE)
        .where(*_visible())
        .group_by(inbox.c.category)
        .order_by(sa.func.max(inbox.c.created_at).desc()),
        params,
    ).all()
    return [(category, int(count), int(n), iso_utc(_aware(latest))) for category, count, n, latest in rows]


def assert_lists_are_the_plain_queries(engine: sa.Engine) -> None:
    queries = InboxQueries(engine)
    with engine.connect() as conn:
        for reader in READERS:
            for filters in FILTERS:
                for ascending in (False, True):
                    for page in (1, 2, 3):
                        data, pagination, unread = queries.page(
                            reader.id, reader.role, filters, "createdAt", ascending, page, 4
                        )
                        ids, total = plain_page(conn, reader, filters, "createdAt", ascending, page, 4)
                        assert [item["_id"] for item in data] == ids, (reader, filters, ascending, page)
                        assert pagination == {"page": page, "limit": 4, "total": total, "pages": math.ceil(total / 4)}
                        assert unread == plain_page(conn, reader, {"read": False}, "name", False, 1, 1)[1]
            data, _, _ = queries.page(reader.id, reader.role, {}, "priority", False, 2, 5)
            assert [item["_id"] for item in data] == plain_page(conn, reader, {}, "priority", False, 2, 5)[0]
            groups = queries.grouped(reader.id, reader.role)
            listed = [(g["_id"], g["count"], g["unreadCount"], g["latest"]) for g in groups]
            assert listed == plain_groups(conn, reader), reader
            assert queries.unread_count(reader.id, reader.role) == unread


def random_history(container: Any, rng: random.Random, steps: int) -> None:
    service, queries = container.inbox, InboxQueries(container.engine)
    now = datetime.now(UTC)
    for _ in range(steps):
        reader = rng.choice(READERS)
        roll = rng.random()
        if roll < 0.55:
            content: dict[str, Any] = {
                "name": f"N{rng.randrange(1000)}",
                "message": "m",
                "category": rng.choice(CATEGORIES),
                "type": rng.choice(TYPES),
                "priority": rng.choice(PRIORITIES),
            }
            if rng.random() < 0.15:  # counted live while it lasts; one already past is seen by nobody
                content["expiresAt"] = (now + timedelta(days=rng.choice([-1, 1]))).isoformat()
            audience = rng.choice(["personal", "personal", "role", "global"])
            if audience == "personal":
                content["recipient"] = reader.id
            elif audience == "role":
                content["recipientRole"] = reader.role
            else:
                content["isGlobal"] = True
            service.send(ADMIN, content)
            continue
        personal, broadcasts = queries.ids(reader.id, reader.role, unread_only=False)
        seen = personal + broadcasts
        if roll < 0.97 and not seen:
            continue
        if roll < 0.75:
            service.mark_read(reader, rng.choice(seen))
        elif roll < 0.9:
            service.delete(reader, rng.choice(seen))  # personal: deleted; broadcast: hidden for the reader
        elif roll < 0.94:
            service.delete(ADMIN, rng.choice(seen))  # gone for everyone, the readers' states with it
        elif roll < 0.97:
            service.mark_all_read(reader)
        else:
            service.delete_all(reader)
    for runner in container.runners:
        runner.catch_up()


def test_every_list_is_the_plain_query_after_random_histories_and_a_rebuild(container: Any) -> None:
    rng = random.Random(17)
    for _ in range(4):
        random_history(container, rng, 60)
        assert_lists_are_the_plain_queries(container.engine)
    with container.engine.connect() as conn:
        before = sorted(map(tuple, conn.execute(sa.select(inbox_counters))))
        hidden = conn.execute(sa.select(sa.func.count()).where(inbox_states.c.hidden.is_(True))).scalar_one()
        keys = {key for key, _ in before}
    assert hidden and any(k.startswith("hidden:") for k in keys) and any(k.startswith("mine:") for k in keys)
    assert {f"global:{category}" for category in CATEGORIES} & keys
    container.people_runner.reset()  # a rebuild from the log comes to the same counters
    container.people_runner.catch_up()
    with container.engine.connect() as conn:
        assert sorted(map(tuple, conn.execute(sa.select(inbox_counters)))) == before
    assert_lists_are_the_plain_queries(container.engine)


def test_a_reader_with_hundreds_of_notifications_pages_through_them_all(container: Any) -> None:
    """Deep pages and both orders: every page of the merge is the plain sort's, up to the last."""
    reader = READERS[2]
    rng = random.Random(3)
    for n in range(130):
        target = rng.choice([{"recipient": reader.id}, {"recipientRole": reader.role}, {"isGlobal": True}])
        container.inbox.send(ADMIN, {"name": f"N{n}", "message": "m", "category": rng.choice(CATEGORIES), **target})
    for runner in container.runners:
        runner.catch_up()
    queries = InboxQueries(container.engine)
    with container.engine.connect() as conn:
        for ascending in (False, True):
            listed = []
            for page in range(1, 8):
                data, pagination, _ = queries.page(reader.id, reader.role, {}, "createdAt", ascending, page, 20)
                listed += [item["_id"] for item in data]
                assert pagination["total"] == 130
            assert listed == plain_page(conn, reader, {}, "createdAt", ascending, 1, 200)[0]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0016_counts_the_rows_already_projected(tmp_path: Any, kind: str) -> None:
    """Migration 0016 computes every counter from the rows (as the projection would have kept them);
    its downgrade leaves the counters 0015 knew."""
    with store_at(tmp_path, kind, "0015") as (config, engine):
        rng = random.Random(11)
        now = datetime.now(UTC)
        notes, states = [], []
        for n in range(240):
            who = rng.choice(READERS)
            audience = rng.choice(["personal", "role", "global"])
            expires = rng.choice([None, None, None, None, now + timedelta(days=1), now - timedelta(days=1)])
            personal = audience == "personal"
            created = now - timedelta(minutes=rng.randrange(10_000))
            notes.append(
                {
                    "id": f"{n:024x}",
                    "recipient": who.id if personal else None,
                    "recipient_role": who.role if audience == "role" else None,
                    "is_global": audience == "global",
                    "name": f"N{n}",
                    "type": rng.choice(TYPES),
                    "category": rng.choice(CATEGORIES),
                    "priority": rng.choice(PRIORITIES),
                    "read_at": now if personal and rng.random() < 0.4 else None,
                    "created_at": created,
                    "updated_at": created,
                    "expires_at": expires,
                    "seq": n,
                    "document": f'{{"_id": "{n:024x}"}}',
                }
            )
            if not personal:
                for reader in rng.sample(READERS, 2):
                    if audience == "global" or reader.role == who.role:
                        hidden = rng.random() < 0.5
                        states.append(
                            {
                                "reader_id": reader.id,
                                "notification_id": f"{n:024x}",
                                "read_at": None if hidden and rng.random() < 0.5 else now,
                                "hidden": hidden,
                            }
                        )
        with engine.begin() as conn:
            conn.execute(inbox.insert(), notes)
            conn.execute(inbox_states.insert(), states)
        command.upgrade(config, "head")  # the reads need the later tables; no later migration counts
        assert_lists_are_the_plain_queries(engine)
        with engine.connect() as conn:
            keys = set(conn.execute(sa.select(inbox_counters.c.key)).scalars())
        assert any(k.startswith("hidden:") for k in keys) and any(k.count(":") == 2 for k in keys)
        command.downgrade(config, "0015")
        with engine.connect() as conn:
            left = set(conn.execute(sa.select(inbox_counters.c.key)).scalars())
        assert left and all(k == "global" or k.split(":")[0] in ("user", "role", "seen") for k in left)
        assert all(k.count(":") == (0 if k == "global" else 1) for k in left)


def test_the_routes_categories_are_the_ones_counted() -> None:
    """`grouped` reads the counters of `CATEGORIES`: the routes accept exactly those."""
    from typing import get_args

    from interfaces.http.routers.notifications import Category

    assert get_args(Category) == CATEGORIES
