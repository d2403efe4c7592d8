"""A reader's lists start past the broadcasts it has cleared (`infrastructure.inbox_bounds`, migration
0022): the answers stay the plain queries' after random histories of clearing, hiding, reading, deleting
and expiring (a rebuild comes to the same bounds), a broadcast projected below a bound is listed, and on
PostgreSQL a cleared reader's list, a category tab and `grouped` read a few rows, not every broadcast."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from domain.notifications import CATEGORIES, notify
from infrastructure.inbox_queries import InboxQueries, _bounds, _latest_statement, _list_statements, _totals
from infrastructure.people_tables import inbox, inbox_bounds, inbox_states
from tests.databases import rows_read, store_at
from tests.test_inbox_lists import ADMIN, READERS, assert_lists_are_the_plain_queries, plain_page


def caught_up(container: Any) -> None:
    for runner in container.runners:
        runner.catch_up()


def broadcast(container: Any, rng: random.Random, reader: Any, **extra: Any) -> None:
    target = rng.choice([{"recipientRole": reader.role}, {"isGlobal": True}])
    content = {"name": f"N{rng.randrange(1000)}", "message": "m", "category": rng.choice(CATEGORIES)}
    container.inbox.send(ADMIN, {**content, **target, **extra})


def clearing_history(container: Any, rng: random.Random, steps: int) -> None:
    """Mostly broadcasts and clears, with hides, reads, deletes for everyone and expiring broadcasts."""
    service, queries = container.inbox, InboxQueries(container.engine)
    now = datetime.now(UTC)
    for _ in range(steps):
        reader = rng.choice(READERS)
        roll = rng.random()
        if roll < 0.5:
            expiring = rng.random() < 0.15  # one already past is seen by nobody, and stays so
            extra = {"expiresAt": (now + timedelta(days=rng.choice([-1, 1]))).isoformat()} if expiring else {}
            broadcast(container, rng, reader, **extra)
            continue
        if roll < 0.55:
            service.send(ADMIN, {"name": "P", "message": "m", "recipient": reader.id})
            continue
        _, broadcasts = queries.ids(reader.id, reader.role, unread_only=False)
        if not broadcasts:
            continue
        if roll < 0.7:
            service.delete_all(reader)
        elif roll < 0.85:
            service.delete(reader, rng.choice(broadcasts))  # hidden for the reader
        elif roll < 0.95:
            service.mark_read(reader, rng.choice(broadcasts))
        else:
            service.delete(ADMIN, rng.choice(broadcasts))  # gone for everyone
    caught_up(container)


def audience_rows(name: str) -> Any:
    return inbox.c.is_global.is_(True) if name == "global" else inbox.c.recipient_role == name[5:]


def below_bounds(engine: sa.Engine) -> tuple[int, int]:
    """(notifications below their readers' bounds, those of them the reader still sees): the second is 0."""
    below = seen = 0
    with engine.connect() as conn:
        for reader, name, created, seq in conn.execute(sa.select(inbox_bounds)).all():
            state = inbox_states.alias()
            rows = (
                sa.select(inbox.c.expires_at, state.c.hidden)
                .select_from(
                    inbox.outerjoin(state, sa.and_(state.c.notification_id == inbox.c.id, state.c.reader_id == reader))
                )
                .where(audience_rows(name), sa.tuple_(inbox.c.created_at, inbox.c.seq) < sa.tuple_(created, seq))
            )
            for expires, hidden in conn.execute(rows):
                below += 1
                if not hidden and (expires is None or expires.replace(tzinfo=UTC) > datetime.now(UTC)):
                    seen += 1
    return below, seen


def bounds(engine: sa.Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return sorted(map(tuple, conn.execute(sa.select(inbox_bounds))))


def test_lists_from_the_bounds_are_the_plain_queries_after_clearing_histories_and_a_rebuild(container: Any) -> None:
    rng = random.Random(22)
    for _ in range(3):
        clearing_history(container, rng, 40)
        assert_lists_are_the_plain_queries(container.engine)
        assert below_bounds(container.engine)[1] == 0
    below, _ = below_bounds(container.engine)
    assert below > 20, "the bounds leave nothing behind them: the test does not exercise them"
    before = bounds(container.engine)
    container.people_runner.reset()
    container.people_runner.catch_up()
    assert bounds(container.engine) == before
    assert_lists_are_the_plain_queries(container.engine)


def test_a_clear_moves_the_bound_past_everything_expired_included_and_a_later_broadcast_is_listed(
    container: Any,
) -> None:
    reader = READERS[0]
    rng = random.Random(5)
    for n in range(6):
        broadcast(container, rng, reader)
        if n == 2:  # expired: nobody sees it, the clear does not hide it, the bound passes it
            broadcast(container, rng, reader, expiresAt=(datetime.now(UTC) - timedelta(hours=1)).isoformat())
    container.inbox.delete_all(reader)
    caught_up(container)
    queries = InboxQueries(container.engine)
    assert queries.page(reader.id, reader.role, {}, "createdAt", False, 1, 10)[0] == []
    assert below_bounds(container.engine) == (7, 0)
    broadcast(container, rng, reader)
    caught_up(container)
    assert len(queries.page(reader.id, reader.role, {}, "createdAt", False, 1, 10)[0]) == 1
    assert_lists_are_the_plain_queries(container.engine)


def test_a_broadcast_projected_below_a_bound_brings_it_down_and_is_listed(container: Any) -> None:
    reader = READERS[0]
    rng = random.Random(8)
    for _ in range(5):
        container.inbox.send(ADMIN, {"name": "G", "message": "m", "isGlobal": True})
    container.inbox.delete_all(reader)
    caught_up(container)
    assert below_bounds(container.engine)[0] == 5

    def older() -> tuple[str, list[Any]]:  # as an import (its original `createdAt`), or a late commit
        note = notify(None, {"name": "Old", "message": "m", "isGlobal": True, "category": rng.choice(CATEGORIES)})
        (sent,) = note.pending_events
        object.__setattr__(sent, "timestamp", datetime(1969, 12, 31, 23, 0, tzinfo=UTC))  # before any epoch
        return note.notification_id, [note]

    old_id = container.inbox.market.run(older)
    caught_up(container)
    assert below_bounds(container.engine) == (0, 0)  # lowered to the old one, which the reader sees
    listed = InboxQueries(container.engine).page(reader.id, reader.role, {}, "createdAt", True, 1, 10)[0]
    assert [item["_id"] for item in listed] == [old_id]
    assert_lists_are_the_plain_queries(container.engine)
    container.inbox.delete_all(reader)
    caught_up(container)
    assert below_bounds(container.engine) == (6, 0)


@pytest.mark.postgres
def test_a_cleared_readers_reads_walk_a_few_rows_not_its_cleared_broadcasts(container: Any) -> None:
    if container.engine.dialect.name != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    reader = READERS[3]  # the admin: its role's broadcasts and the global ones
    rng = random.Random(9)
    for n in range(300):
        target = {"recipientRole": "Admin"} if n % 2 else {"isGlobal": True}
        container.inbox.send(ADMIN, {"name": f"N{n}", "message": "m", "category": "payments", **target})
    container.inbox.delete_all(reader)
    for _ in range(3):
        broadcast(container, rng, reader, category="payments")
    caught_up(container)
    with container.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        now = datetime.now(UTC)
        params = {"me": reader.id, "role": reader.role, "now": now, "limit": 10, "offset": 0, "depth": 10}
        params.update(_bounds(conn, params, _totals(conn, params, [None])[None][2]))  # as `page` reads them
        for filtered in ((), ("category",)):
            for ascending in (False, True):
                _, page = _list_statements("createdAt", ascending, filtered, None)
                values = {**params, "category": "payments"}
                assert len(conn.execute(page, values).all()) == 3
                assert rows_read(conn, page, "inbox", values) <= 12, (filtered, ascending)
        assert len(conn.execute(_latest_statement(("payments",)), params).all()) == 2
        assert rows_read(conn, _latest_statement(("payments",)), "inbox", params) <= 6
        ids, total = plain_page(conn, reader, {}, "createdAt", False, 1, 10)
    assert total == 3 and len(ids) == 3


def inbox_indexes(engine: sa.Engine) -> list[tuple[Any, ...]]:
    found = sa.inspect(engine).get_indexes("inbox")
    return sorted((index["name"], tuple(index["column_names"])) for index in found)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0022_starts_with_no_bound_and_its_downgrade_restores_the_indexes(tmp_path: Any, kind: str) -> None:
    """(Lists over rows and hidden states already stored, through this migration: `test_inbox_lists`'
    migration test, which upgrades to the head.)"""
    with store_at(tmp_path, kind, "0021") as (config, engine):
        before = inbox_indexes(engine)
        command.upgrade(config, "head")
        assert bounds(engine) == []
        assert ("ix_inbox_global_created", ("created_at", "seq")) in inbox_indexes(engine)
        command.downgrade(config, "0021")
        assert "inbox_bounds" not in sa.inspect(engine).get_table_names()
        assert inbox_indexes(engine) == before
