"""Each consultant's count of Active links (`link_counters`, migration 0018) follows the links through
any history of links, re-links, status changes and removals, a rebuild, and the migration's fill; the
consultant lists read it (`Directory.clients_counts`)."""

from __future__ import annotations

import random
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from domain import links
from domain.appointments import ClientLink
from infrastructure.people_tables import link_counters
from infrastructure.people_tables import links as link_rows
from tests.databases import store_at

CLIENTS = [f"c{n:023x}" for n in range(6)]
CONSULTANTS = [f"k{n:023x}" for n in range(3)]


def counted(conn: sa.Connection) -> dict[str, int]:
    """The Active links of each consultant with a link, counted."""
    active = sa.func.sum(sa.case((link_rows.c.status == "Active", 1), else_=0))
    query = sa.select(link_rows.c.consultant_id, active).group_by(link_rows.c.consultant_id)
    return {consultant: int(n) for consultant, n in conn.execute(query)}


def kept(conn: sa.Connection) -> dict[str, int]:
    return {consultant: int(n) for consultant, n in conn.execute(sa.select(link_counters))}


def change(container: Any, rng: random.Random) -> None:
    client, consultant = rng.choice(CLIENTS), rng.choice(CONSULTANTS)

    def command() -> tuple[None, list[Any]]:
        existing = container.market.find(links.link_uuid(client, consultant), snapshotted=True)
        roll = rng.random()
        if not links.exists(existing) or roll < 0.3:
            link, _ = links.explicit_link(existing, client, consultant, "", "Admin")  # new, or Active again
            return None, [link]
        assert isinstance(existing, ClientLink)
        if roll < 0.5:
            existing.remove("Admin")
        else:
            links.change_status(existing, rng.choice(["Active", "Inactive"]), "Admin")
        return None, [existing]

    container.market.run(command)


def test_the_counters_follow_any_history_of_links_and_a_rebuild(container: Any) -> None:
    rng = random.Random(23)
    for _ in range(5):
        for _ in range(25):
            change(container, rng)
        container.people_runner.catch_up()
        with container.engine.connect() as conn:
            assert kept(conn) == counted(conn)
            assert container.directory.clients_counts(CONSULTANTS) == counted(conn)
    with container.engine.connect() as conn:
        before = kept(conn)
    assert sum(before.values()) and len(before) == len(CONSULTANTS)
    container.people_runner.reset()
    container.people_runner.catch_up()
    with container.engine.connect() as conn:
        assert kept(conn) == before


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0018_counts_the_links_already_projected(tmp_path: Any, kind: str) -> None:
    with store_at(tmp_path, kind, "0017") as (config, engine):
        rng = random.Random(4)
        rows = [
            {
                "id": f"{n:024x}",
                "client_id": client,
                "consultant_id": consultant,
                "status": rng.choice(["Active", "Active", "Inactive", "Removed"]),
                "notes": "",
                "linked_at": "2026-12-04 10:00:00",
                "created_at": "2026-12-04 10:00:00",
                "updated_at": "2026-12-04 10:00:00",
            }
            for n, (client, consultant) in enumerate((c, k) for c in CLIENTS for k in CONSULTANTS)
        ]
        insert = sa.text(
            "INSERT INTO links (id, client_id, consultant_id, status, notes, linked_at, created_at, updated_at) "
            "VALUES (:id, :client_id, :consultant_id, :status, :notes, :linked_at, :created_at, :updated_at)"
        )
        with engine.begin() as conn:
            conn.execute(insert, rows)
        command.upgrade(config, "0018")
        with engine.connect() as conn:
            assert kept(conn) == counted(conn) and len(kept(conn)) == len(CONSULTANTS)
        command.downgrade(config, "0017")
        assert "link_counters" not in sa.inspect(engine).get_table_names()
