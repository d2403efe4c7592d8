"""Coalesced lookups on the event loop (`infrastructure.reads.Lookups`), as the principal's status
check uses them on PostgreSQL: a burst is read in a few queries with the answers each query would
give alone; a lookup asked while a query runs waits for the next one (it sees every change committed
before it asked); a failed query fails only its own lookups; a lookup that gives up is skipped."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from infrastructure.bootstrap import Container, build
from infrastructure.directory import statuses_plan
from infrastructure.reads import AsyncReads, Plan
from tests.conftest import make_settings, postgres_database
from tests.conftest import signed_up as account

pytestmark = pytest.mark.postgres
SLEEP = sa.select(sa.func.pg_sleep(sa.bindparam("seconds")))
BROKEN = sa.select(sa.text("no_such_column"))


@pytest.fixture
def container(tmp_path: Any) -> Iterator[Container]:
    with postgres_database() as url:
        built = build(make_settings(tmp_path, url), run_projections=True)
        yield built
        built.close()


def set_status(container: Container, account_id: str, status: str) -> None:
    """Change the read model's row directly (what the people projection does on block/approve)."""
    assert container.reads is not None
    with psycopg.connect(container.reads.conninfo, autocommit=True) as pg:
        pg.execute("UPDATE accounts SET status = %s WHERE id = %s", (status, account_id))


def test_a_burst_is_read_in_few_queries_with_the_answers_of_one_query_each(container: Container) -> None:
    people = [account(container, "Client") for _ in range(4)] + [account(container, "Consultant")]
    set_status(container, people[1], "Blocked")
    asked = [people[i % len(people)] for i in range(60)] + ["f" * 24, "e" * 24]
    batches: list[list[str]] = []

    def many(ids: list[str]) -> Plan[dict[str, tuple[str, str | None]]]:
        batches.append(list(ids))
        return statuses_plan(ids)

    async def main() -> tuple[list[Any], list[Any]]:
        assert container.reads is not None
        reads = AsyncReads(container.reads.conninfo, 2)
        await reads.open()
        try:
            burst = await asyncio.gather(*(reads.lookups(many).get(i) for i in asked))
            alone = [await reads.lookups(many).get(i) for i in asked[:5]]
            return burst, alone
        finally:
            await reads.close()

    burst, alone = asyncio.run(main())
    expected = [container.directory.status_of(i) for i in asked]
    assert burst == expected and alone == expected[:5]
    assert burst[1] == ("client", "Blocked") and burst[4][0] == "consultant" and burst[-2:] == [None, None]
    assert len(batches) <= 3 + 5  # the burst: one query, plus at most two for the ones asked meanwhile
    assert sorted(batches[0] + [i for b in batches[1:-5] for i in b]) == sorted(set(asked))
    assert batches[-5:] == [[i] for i in asked[:5]]  # alone: one query each, at once


def test_a_lookup_asked_while_a_query_runs_is_read_by_the_next_query(container: Container) -> None:
    client = account(container, "Client")
    batches: list[list[str]] = []

    def read_then_linger(ids: list[str]) -> Plan[dict[str, tuple[str, str | None]]]:
        batches.append(list(ids))
        found = yield from statuses_plan(ids)
        yield SLEEP, {"seconds": 0.4}  # the query's answer is read; its connection still busy
        return found

    async def main() -> tuple[Any, Any]:
        assert container.reads is not None
        reads = AsyncReads(container.reads.conninfo, 2)
        await reads.open()
        try:
            lookups = reads.lookups(read_then_linger)
            first = asyncio.ensure_future(lookups.get(client))
            await asyncio.sleep(0.2)
            await asyncio.to_thread(set_status, container, client, "Blocked")  # committed before the 2nd asks
            second = await lookups.get(client)
            return await first, second
        finally:
            await reads.close()

    first, second = asyncio.run(main())
    assert first == ("client", "Active") and second == ("client", "Blocked")
    assert batches == [[client], [client]]


def test_a_failed_query_fails_its_own_lookups_only_and_a_lookup_that_gave_up_is_skipped(
    container: Container,
) -> None:
    client = account(container, "Client")
    broken = True

    def flaky(ids: list[str]) -> Plan[dict[str, tuple[str, str | None]]]:
        if broken:
            yield SLEEP, {"seconds": 0.2}
            yield BROKEN, {}
        return (yield from statuses_plan(ids))

    async def main() -> None:
        nonlocal broken
        assert container.reads is not None
        reads = AsyncReads(container.reads.conninfo, 2)
        await reads.open()
        try:
            lookups = reads.lookups(flaky)
            failing = [asyncio.ensure_future(lookups.get(client)) for _ in range(3)]
            gave_up = asyncio.ensure_future(lookups.get(client))
            await asyncio.sleep(0.05)
            gave_up.cancel()
            outcomes = await asyncio.gather(*failing, return_exceptions=True)
            assert all(isinstance(outcome, psycopg.errors.UndefinedColumn) for outcome in outcomes)
            assert gave_up.cancelled()
            broken = False
            assert await asyncio.gather(*(lookups.get(client) for _ in range(3))) == [("client", "Active")] * 3
        finally:
            await reads.close()

    asyncio.run(main())
