"""A consultant's sessions per client (`client_sessions`, migration 0019: the `sessions` and
`lastSession*` of `GET /client-consultants/consultant/:id/clients`) follow the appointments through any
history of completions, cancellations, reopenings, moves and deletions, a rebuild, and the migration's fill."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from domain.appointments import Appointment
from domain.transitions import TransitionRefused
from infrastructure.tables import appointments, client_sessions
from tests.databases import store_at

CONSULTANTS = [f"a{n:023x}" for n in range(2)]
CLIENTS = [f"b{n:023x}" for n in range(3)]
PAST = datetime(2026, 6, 1, 9, tzinfo=UTC)


def counted(conn: sa.Connection) -> dict[tuple[str, str], tuple[int, datetime]]:
    """The Completed appointments of each pair, and their latest start, counted."""
    query = (
        sa.select(
            appointments.c.consultant_id,
            appointments.c.client_id,
            sa.func.count(),
            sa.func.max(appointments.c.start_at),
        )
        .where(appointments.c.status == "Completed")
        .group_by(appointments.c.consultant_id, appointments.c.client_id)
    )
    return {(c, k): (int(n), last) for c, k, n, last in conn.execute(query)}


def kept(conn: sa.Connection) -> dict[tuple[str, str], tuple[int, datetime]]:
    return {(c, k): (int(n), last) for c, k, n, last in conn.execute(sa.select(client_sessions))}


def step(container: Any, rng: random.Random, made: list[str], n: int) -> None:
    if not made or rng.random() < 0.3:
        appointment_id = f"{n:024x}"
        start = PAST + timedelta(days=rng.randrange(60), hours=rng.randrange(8))
        fresh = Appointment(
            appointment_id=appointment_id,
            consultant_id=rng.choice(CONSULTANTS),
            client_id=rng.choice(CLIENTS),
            start=start,
            end=start + timedelta(minutes=45),
            status=rng.choice(["Upcoming", "Completed"]),
            expires_at=None,
            fields={},
            created_by="Admin",
        )
        container.market.run(lambda: (None, [fresh]))
        made.append(appointment_id)
        return
    appointment_id = rng.choice(made)

    def command() -> tuple[None, list[Any]]:
        found = container.market.find(Appointment.create_id(appointment_id))
        assert isinstance(found, Appointment)
        roll = rng.random()
        try:
            if roll < 0.25:
                found.complete()
            elif roll < 0.45:
                found.cancel("Admin")
            elif roll < 0.65:
                found.change_status(rng.choice(["Upcoming", "Completed"]), "Admin")
            elif roll < 0.85:
                start = PAST + timedelta(days=rng.randrange(60), hours=rng.randrange(8))
                found.reschedule(start, start + timedelta(minutes=45), "Admin")
            else:
                found.delete("Admin")
                made.remove(appointment_id)
        except TransitionRefused:
            return None, []
        return None, [found]

    container.market.run(command)


def test_the_sessions_follow_any_history_and_a_rebuild(container: Any) -> None:
    rng = random.Random(31)
    made: list[str] = []
    for round_ in range(6):
        for n in range(30):
            step(container, rng, made, round_ * 100 + n)
        with container.engine.connect() as conn:
            assert kept(conn) == counted(conn), round_
    with container.engine.connect() as conn:
        before = kept(conn)
    assert len(before) >= 4 and any(n > 1 for n, _ in before.values())
    for consultant in CONSULTANTS:
        assert {k: v for (c, k), v in before.items() if c == consultant} == container.links.reads.sessions(consultant)
    for runner in container.runners:  # a rebuild from the log comes to the same rows
        runner.reset()
        runner.catch_up()
    with container.engine.connect() as conn:
        assert kept(conn) == before


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0019_counts_the_appointments_already_projected(tmp_path: Any, kind: str) -> None:
    with store_at(tmp_path, kind, "0018") as (config, engine):
        rng = random.Random(8)
        rows = []
        for n in range(200):
            start = PAST + timedelta(hours=rng.randrange(2_000))
            rows.append(
                {
                    "id": f"{n:024x}",
                    "consultant_id": rng.choice(CONSULTANTS),
                    "client_id": rng.choice(CLIENTS),
                    "status": rng.choice(["Upcoming", "Completed", "Cancelled", "Hold"]),
                    "start_at": start,
                    "end_at": start + timedelta(minutes=45),
                    "search_text": "",
                    "document": "{}",
                }
            )
        with engine.begin() as conn:
            conn.execute(appointments.insert(), rows)
        command.upgrade(config, "0019")
        with engine.connect() as conn:
            assert kept(conn) == counted(conn) and len(kept(conn)) == len(CONSULTANTS) * len(CLIENTS)
        command.downgrade(config, "0018")
        assert "client_sessions" not in sa.inspect(engine).get_table_names()
