"""The totals and pages of GET /transactions: totals from the counters the ledger projection keeps
(migration 0015), a party's page merged from its newest rows as user and as consultant.

Every list the route answers (all, a party as user or consultant, a consultant's own, each with or
without a kind) has a `total` equal to the count of its rows: after transactions of every kind between
assorted parties (some with no user or no consultant, some where the user is the consultant), after a
rebuild of the read models from the log, and in a store migrated with rows already projected; and its
pages hold the rows the plain query returns, in its order."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from domain.ledger import KINDS, PENDING, SUCCESS, Transaction
from infrastructure.tables import transaction_counters, transactions
from tests.databases import store_at

PARTIES = [f"{n:024x}" for n in range(1, 5)]


def matching(party: str | None, consultant_only: bool, kind: str | None) -> list[Any]:
    """The conditions of the list's rows, written plainly (as the route's query was before)."""
    where: list[Any] = []
    if party is not None:
        c = transactions.c
        where.append(
            c.consultant_id == party if consultant_only else sa.or_(c.user_id == party, c.consultant_id == party)
        )
    if kind:
        where.append(transactions.c.kind == kind)
    return where


def counted(conn: Any, party: str | None, consultant_only: bool, kind: str | None) -> int:
    """The rows of the list, counted."""
    where = matching(party, consultant_only, kind)
    return int(conn.execute(sa.select(sa.func.count()).select_from(transactions).where(*where)).scalar_one())


def page_ids(conn: Any, party: str | None, consultant_only: bool, kind: str | None, page: int, limit: int) -> list[str]:
    query = (
        sa.select(transactions.c.id).where(*matching(party, consultant_only, kind)).order_by(transactions.c.seq.desc())
    )
    return list(conn.execute(query.limit(limit).offset((page - 1) * limit)).scalars())


def every_list() -> list[tuple[str | None, bool, str | None]]:
    kinds: list[str | None] = [None, *KINDS]
    return [(None, False, kind) for kind in kinds] + [
        (party, only, kind) for party in PARTIES for only in (False, True) for kind in kinds
    ]


def assert_totals_are_counts(container: Any) -> None:
    """Every list's total is its count, and its first pages (of 3) are its rows, newest first."""
    with container.engine.connect() as conn:
        for party, only, kind in every_list():
            for page in (1, 2, 3):
                data, total = container.ledger.list(party=party, consultant_only=only, kind=kind, page=page, limit=3)
                assert total == counted(conn, party, only, kind), (party, only, kind)
                assert [d["_id"] for d in data] == page_ids(conn, party, only, kind, page, 3), (party, only, kind, page)


def test_every_lists_total_is_its_count_after_writes_and_a_rebuild(container: Any) -> None:
    rng = random.Random(5)
    for round_ in range(6):
        recorded = []
        for n in range(rng.randrange(1, 12)):  # a command's write may hold several transactions
            user = rng.choice([*PARTIES, None])
            consultant = user if rng.random() < 0.15 else rng.choice([*PARTIES, None])
            recorded.append(
                Transaction(
                    transaction_id=f"{round_:04x}{n:020x}",
                    kind=rng.choice(KINDS),
                    status=rng.choice([PENDING, SUCCESS]),
                    amount=Decimal("100.00"),
                    platform_fee=Decimal("10.00"),
                    net_amount=Decimal("90.00"),
                    currency="INR",
                    user_id=user,
                    consultant_id=consultant,
                    appointment_id=None,
                    payment_method="Razorpay",
                    reference=None,
                    metadata={},
                    snapshots={},
                )
            )
        container.market.run(lambda recorded=recorded: (None, recorded))
        assert_totals_are_counts(container)
    with container.engine.connect() as conn:
        assert counted(conn, None, False, None) > 20
        assert conn.execute(sa.select(sa.func.count()).where(transaction_counters.c.scope == "both")).scalar_one()
        before = sorted(map(tuple, conn.execute(sa.select(transaction_counters))))
    for runner in container.runners:  # a rebuild from the log comes to the same counters
        runner.reset()
        runner.catch_up()
    with container.engine.connect() as conn:
        assert sorted(map(tuple, conn.execute(sa.select(transaction_counters)))) == before
    assert_totals_are_counts(container)


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_store_with_projected_transactions_gets_their_counters(tmp_path: Any, kind: str) -> None:
    """Migration 0015 fills the counters from the rows already projected; its downgrade drops them."""
    with store_at(tmp_path, kind, "0014") as (config, engine):
        rng = random.Random(9)
        rows = []
        for n in range(300):
            user = rng.choice([*PARTIES, None, ""])
            rows.append(
                {
                    "id": f"{n:024x}",
                    "kind": rng.choice(KINDS),
                    "status": SUCCESS,
                    "user_id": user,
                    "consultant_id": user if rng.random() < 0.1 else rng.choice([*PARTIES, None]),
                    "amount_minor": 100,
                    "net_minor": 90,
                    "created_at": "2026-12-04 10:00:00",
                    "seq": n,
                    "document": "{}",
                }
            )
        insert = sa.text(
            "INSERT INTO transactions (id, kind, status, user_id, consultant_id, amount_minor, net_minor, "
            "created_at, seq, document) VALUES (:id, :kind, :status, :user_id, :consultant_id, :amount_minor, "
            ":net_minor, :created_at, :seq, :document)"
        )
        with engine.begin() as conn:
            conn.execute(insert, rows)
        command.upgrade(config, "head")
        from infrastructure.ledger_queries import LedgerQueries

        queries = LedgerQueries(engine, lambda kind, key: "")
        with engine.connect() as conn:
            for party, only, kind_ in every_list():
                total = queries.list(party=party, consultant_only=only, kind=kind_, page=1, limit=1)[1]
                assert total == counted(conn, party, only, kind_), (party, only, kind_)
        command.downgrade(config, "0014")
        with engine.connect() as conn:
            assert "transaction_counters" not in sa.inspect(conn).get_table_names()
