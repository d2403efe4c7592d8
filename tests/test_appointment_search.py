"""`GET /appointments?q=` on PostgreSQL (migration 0024): a needle few appointments hold is answered from
the trigram index of `search_text`, not by walking every appointment in the list's order, and a needle
many hold is still walked in order (a page of it reads about the page, not every match). Looked at in the
plans, on 12,000 appointments; the answers are the plain query's, on SQLite too (which scans)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from infrastructure.appointment_queries import list_query
from infrastructure.tables import appointments
from tests.databases import rows_read, rows_read_generic, store_at

ROWS = 12_000
START = datetime(2026, 1, 1, tzinfo=UTC)
WORDS = "headache follow up consultation anxiety back pain skin rash diet plan review results sleep".split()
RARE = "zygomatic fracture"  # in 6 of the appointments
ODD = "50%_off o'neil\\path"  # in one


def fill(engine: sa.Engine) -> None:
    rng = random.Random(7)
    rows = []
    for n in range(ROWS):
        reason = " ".join(rng.choice(WORDS) for _ in range(5))
        if n % (ROWS // 6) == 17:
            reason += " " + RARE
        if n == 21:  # what a LIKE pattern or an SQL literal must escape
            reason += " " + ODD
        rows.append(
            {
                "id": f"{10_000 + n:024x}",
                "consultant_id": f"{n % 40:024x}",
                "client_id": f"{1_000 + n % 700:024x}",
                "status": ("Completed", "Upcoming", "Cancelled", "Hold")[n % 4],
                "start_at": START + timedelta(hours=n),
                "end_at": START + timedelta(hours=n, minutes=45),
                "search_text": f"{reason}\n".lower(),
                "document": json.dumps({"_id": f"{10_000 + n:024x}"}),
            }
        )
    with engine.begin() as conn:
        conn.execute(appointments.insert(), rows)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE appointments" if engine.dialect.name == "postgresql" else "ANALYZE")


def search(q: str, limit: int, **scope: Any) -> sa.Select[Any]:
    arguments: dict[str, Any] = {"client_id": None, "consultant_id": None, "status": None, "start_from": None}
    return list_query(**{**arguments, "start_to": None, "q": q, "page": 1, "limit": limit, **scope})


def plainly(conn: sa.Connection, q: str, limit: int) -> list[str]:
    """The same page without the query's machinery: every row tested in Python."""
    rows = conn.execute(
        sa.select(appointments.c.id, appointments.c.search_text)
        .where(appointments.c.status != "Hold")
        .order_by(appointments.c.start_at, appointments.c.id)
    )
    return [row.id for row in rows if q.lower() in row.search_text][:limit]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_rare_needle_reads_its_matches_and_a_common_one_a_page(tmp_path: Path, kind: str) -> None:
    with store_at(tmp_path, kind, "head") as (_, engine):
        fill(engine)
        with engine.connect() as conn:
            needles = [(RARE, 1000), ("ZYGOMATIC", 20), ("pain", 20), ("pain skin", 1000), (ODD, 1000)]
            needles += [("%", 1000), ("_", 1000), ("'", 1000), ("\\", 1000), ("0%_O", 1000)]
            for q, limit in needles:
                found = [json.loads(doc)["_id"] for doc in conn.execute(search(q, limit)).scalars()]
                assert found == plainly(conn, q, limit), q
            assert len(plainly(conn, RARE, 1000)) == 6 and len(plainly(conn, ODD, 1000)) == 1
            assert len(plainly(conn, "%", 1000)) == 1
            if kind != "postgres":
                return
            # the admin app asks for the first 1,000: the rare needle's few matches, not the 12,000 walked
            assert rows_read(conn, search(RARE, 1000), "appointments") <= 20
            assert rows_read(conn, search("zygomatic", 20), "appointments") <= 20
            # a common needle (in about a third): its page, walked in order, not every match
            assert rows_read(conn, search("pain", 20), "appointments") <= 200
            # so on a connection that prepared the statement and settled on its generic plan (the needle
            # unknown to the planner): the server runs that plan with every later needle
            assert rows_read_generic(conn, search(RARE, 1000), "appointments") <= 20
            assert rows_read_generic(conn, search("pain", 20), "appointments") <= 200
            # and a consultant's search keeps to that consultant's appointments either way
            assert rows_read(conn, search(RARE, 1000, consultant_id=f"{17 % 40:024x}"), "appointments") <= 400


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0024_indexes_the_search_on_postgresql_only(tmp_path: Path, kind: str) -> None:
    with store_at(tmp_path, kind, "0024") as (config, engine):
        names = {str(index["name"]) for index in sa.inspect(engine).get_indexes("appointments")}
        assert ("ix_appointments_search_trgm" in names) == (kind == "postgres")
        command.downgrade(config, "0023")
        names = {str(index["name"]) for index in sa.inspect(engine).get_indexes("appointments")}
        assert "ix_appointments_search_trgm" not in names
        command.upgrade(config, "0024")
