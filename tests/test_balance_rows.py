"""Consultant balances kept by running totals (infrastructure/ledger_projection.py, migration 0014).

Every event of a consultant's `Earnings` is projected by statements whose cost does not depend on the
consultant's history; the totals must stay equal to what the aggregate itself computes after any order
of payments, completions, reopenings, refunds and payouts, on both backends, and a store migrated
from the JSON state keeps its balances."""

from __future__ import annotations

import contextlib
import json
import random
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from application.marketplace import Marketplace
from domain.ledger import Earnings
from infrastructure.migrations import alembic_config
from infrastructure.tables import balance_completions, balance_payments, consultant_balances
from tests.databases import postgres_database


def balance_of(container: Any, consultant_id: str) -> tuple[int, int, int]:
    """(earned, paid out, payment rows) of the consultant's balance read model, in minor units."""
    with container.engine.connect() as conn:
        row = conn.execute(
            sa.select(consultant_balances.c.earned_minor, consultant_balances.c.paid_out_minor).where(
                consultant_balances.c.consultant_id == consultant_id
            )
        ).one()
        count = conn.execute(sa.select(sa.func.count()).select_from(balance_payments)).scalar_one()
    return int(row[0]), int(row[1]), int(count)


def minor(amount: Decimal) -> int:
    return int(amount * 100)


def test_the_totals_follow_the_aggregate_through_any_order_of_events(container: Any) -> None:
    market: Marketplace = container.market
    rng = random.Random(17)
    consultant_id = "c" * 24
    earnings = Earnings(consultant_id=consultant_id)
    market.save(earnings)
    appointments = [f"{n:024x}" for n in range(6)]
    live: set[str] = set()
    for step in range(120):
        earnings = market.find(earnings.id)  # a fresh copy of the committed state each time
        choice = rng.random()
        if choice < 0.35 or not live:
            tx = f"{rng.randrange(10):024x}"  # a payment counted again replaces its entry
            earnings.count_payment(tx, rng.choice([*appointments, None]), Decimal(rng.randrange(1, 900)))
            live.add(tx)
        elif choice < 0.5:
            earnings.withdraw(rng.choice(sorted(live)))
        elif choice < 0.8:
            earnings.set_completed(rng.choice(appointments), rng.random() < 0.7)
        elif earnings.remaining > 0:
            earnings.pay_out(f"p{step}", min(earnings.remaining, Decimal(rng.randrange(1, 300))), "INR")
        container.market.run(lambda earnings=earnings: (None, [earnings]))
        committed = market.find(earnings.id)
        earned, paid, rows = balance_of(container, consultant_id)
        assert (earned, paid, rows) == (minor(committed.earned), minor(committed.paid_out), len(committed.payments))
    with container.engine.connect() as conn:
        completions = conn.execute(sa.select(balance_completions.c.appointment_id)).scalars().all()
    assert sorted(completions) == sorted(a for a, on in committed.completed.items() if on)
    before = balance_of(container, consultant_id)
    for runner in container.runners:  # a rebuild from the log comes to the same rows
        runner.reset()
        runner.catch_up()
    assert balance_of(container, consultant_id) == before


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_store_with_balances_as_json_state_keeps_them(tmp_path: Any, kind: str) -> None:
    """Migration 0014 moves each consultant's JSON state into rows; its downgrade puts it back."""
    with contextlib.ExitStack() as stack:
        url = f"sqlite:///{tmp_path / 'store.db'}" if kind == "sqlite" else stack.enter_context(postgres_database())
        migrated_with_balances(url)


def migrated_with_balances(url: str) -> None:
    config = alembic_config(url)
    command.upgrade(config, "0013")
    state = {
        "payments": {
            "t1": {"appointment": "a1", "net_minor": 90000},
            "t2": {"appointment": None, "net_minor": 5000},
            "t3": {"appointment": "a2", "net_minor": 700},
        },
        "completed": {"a1": True},
        "paid_minor": 1000,
    }
    # and 150 more consultants of 8 payments each: past one page of states and one chunk of rows
    others = {
        f"agg{n:03d}": {
            "payments": {f"t{n}-{k}": {"appointment": f"a{n}-{k}", "net_minor": 100 + k} for k in range(8)},
            "completed": {f"a{n}-{k}": True for k in range(0, 8, 2)},
            "paid_minor": n,
        }
        for n in range(150)
    }
    insert = sa.text(
        "INSERT INTO consultant_balances (consultant_id, aggregate_id, earned_minor, paid_out_minor, state) "
        "VALUES (:consultant, :agg, 0, :paid, :state)"
    )
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(insert, {"consultant": "c1", "agg": "agg1", "paid": 1000, "state": json.dumps(state)})
        for agg, other in others.items():
            conn.execute(
                insert, {"consultant": "c" + agg, "agg": agg, "paid": other["paid_minor"], "state": json.dumps(other)}
            )
    command.upgrade(config, "head")
    mine = " WHERE aggregate_id = 'agg1'"
    with engine.connect() as conn:
        payments = conn.execute(
            sa.text("SELECT transaction_id, appointment_id, net_minor FROM balance_payments" + mine)
        )
        assert sorted(map(tuple, payments)) == [("t1", "a1", 90000), ("t2", None, 5000), ("t3", "a2", 700)]
        assert conn.execute(sa.text("SELECT aggregate_id, appointment_id FROM balance_completions" + mine)).all() == [
            ("agg1", "a1")
        ]
        counts = [
            conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("balance_payments", "balance_completions")
        ]
        assert counts == [3 + 150 * 8, 1 + 150 * 4]
        assert "state" not in {c["name"] for c in sa.inspect(conn).get_columns("consultant_balances")}
    command.downgrade(config, "0013")
    with engine.connect() as conn:
        back = dict(map(tuple, conn.execute(sa.text("SELECT aggregate_id, state FROM consultant_balances"))))
        assert {agg: json.loads(text) for agg, text in back.items()} == {"agg1": state, **others}
        columns = {c["name"]: c for c in sa.inspect(conn).get_columns("consultant_balances")}
        assert columns["state"]["default"] is None  # as revision 0013 made it
    engine.dispose()
