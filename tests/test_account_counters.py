"""The accounts per kind and status (`account_counters`, migration 0020: the admin's `GET /clients` total)
follow the accounts through any history of registrations, approvals, rejections, blocks, profile edits
of the status and deletions, a rebuild, and the migration's fill; the list's total reads them."""

from __future__ import annotations

import random
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from domain.accounts import Account
from domain.errors import Conflict
from infrastructure.tables import account_counters, accounts
from tests.databases import store_at

KINDS = ("client", "consultant")
STATUSES = ("Active", "Pending", "Blocked", None)


def counted(conn: sa.Connection) -> dict[tuple[str, str], int]:
    status = sa.func.coalesce(accounts.c.status, "")
    rows = conn.execute(sa.select(accounts.c.kind, status, sa.func.count()).group_by(accounts.c.kind, status))
    return {(kind, state): int(n) for kind, state, n in rows}


def kept(conn: sa.Connection) -> dict[tuple[str, str], int]:
    return {(kind, state): int(n) for kind, state, n in conn.execute(sa.select(account_counters))}


def change(container: Any, rng: random.Random, made: list[str], n: int) -> None:
    if not made or rng.random() < 0.3:
        account_id = f"{n:024x}"
        profile = {"fullName": f"Person {n}", "email": f"p{n}@example.com"}
        state = rng.choice(STATUSES)
        if state is not None:
            profile["status"] = state
        fresh = Account(kind=rng.choice(KINDS), account_id=account_id, profile=profile, password_hash=None, channel="x")
        container.market.run(lambda: (None, [fresh]))
        made.append(account_id)
        return
    account_id = rng.choice(made)

    def command() -> tuple[None, list[Any]]:
        found = container.market.find(Account.create_id(account_id))
        assert isinstance(found, Account)
        roll = rng.random()
        try:
            if roll < 0.2:
                found.approve()
            elif roll < 0.35:
                found.reject()
            elif roll < 0.55:
                found.block()
            elif roll < 0.7:
                found.unblock()
            elif roll < 0.8:
                found.record_login("x")
            elif roll < 0.92:
                found.update_profile({"status": rng.choice(["Active", "Inactive", "Pending"])})
            else:
                found.delete()
                made.remove(account_id)
        except Conflict:
            return None, []
        return None, [found]

    container.market.run(command)


def test_the_counters_follow_any_history_and_a_rebuild(container: Any) -> None:
    rng = random.Random(41)
    made: list[str] = []
    for round_ in range(5):
        for n in range(30):
            change(container, rng, made, round_ * 100 + n)
        with container.engine.connect() as conn:
            assert {key: n for key, n in kept(conn).items() if n} == counted(conn), round_
            clients = {state: n for (kind, state), n in counted(conn).items() if kind == "client"}
        assert container.directory.clients(None, None, None, 1, 10)[1] == sum(clients.values())
        for state in ("Active", "Blocked", "Pending"):
            assert container.directory.clients(None, state, None, 1, 10)[1] == clients.get(state, 0), state
    with container.engine.connect() as conn:
        before = kept(conn)
    assert len(before) >= 6 and 0 not in before.values()  # a counter back at zero is no row
    for runner in container.runners:  # a rebuild from the log comes to the same rows
        runner.reset()
        runner.catch_up()
    with container.engine.connect() as conn:
        assert kept(conn) == before


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0020_counts_the_accounts_already_projected(tmp_path: Any, kind: str) -> None:
    with store_at(tmp_path, kind, "0019") as (config, engine):
        rng = random.Random(2)
        rows = [
            {
                "id": f"{n:024x}",
                "kind": rng.choice(KINDS),
                "role": "Client",
                "email": f"p{n}@example.com",
                "status": rng.choice(STATUSES),
                "created_at": "2026-12-04T10:00:00.000Z",
                "seq": n,
                "document": "{}",
            }
            for n in range(120)
        ]
        with engine.begin() as conn:
            conn.execute(accounts.insert(), rows)
        command.upgrade(config, "0020")
        with engine.connect() as conn:
            assert kept(conn) == counted(conn) and len(kept(conn)) == len(KINDS) * len(STATUSES)
        command.downgrade(config, "0019")
        assert "account_counters" not in sa.inspect(engine).get_table_names()
