"""`GET /appointments` reads one page of an index in the list's order, whatever the number of appointments:
the admin's list (every appointment, holds left out, oldest first: `ix_appointments_start`, migration 0017),
with a status or a window, and a party's list. Looked at in the plans, on 3,000 appointments: a sort of
them all reads every one (the admin's list did, 65 ms at 200,000 for a page of 20)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from infrastructure.appointment_queries import list_query
from infrastructure.migrations import alembic_config
from infrastructure.tables import appointments
from tests.databases import postgres_database, rows_read

ROWS = 3_000
LIMIT = 20
START = datetime(2026, 1, 1, tzinfo=UTC)
STATUSES = ("Completed", "Upcoming", "Cancelled", "Completed", "Hold")
SCOPES: dict[str, dict[str, Any]] = {
    "the admin's": {},
    "the admin's, one status": {"status": "Completed"},
    "a consultant's": {"consultant_id": f"{1:024x}"},
    "a client's": {"client_id": f"{1_000:024x}"},
}


def party(n: int) -> str:
    return f"{n:024x}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    with contextlib.ExitStack() as stack:
        url = (
            f"sqlite:///{tmp_path / 'store.db'}"
            if request.param == "sqlite"
            else stack.enter_context(postgres_database())
        )
        command.upgrade(alembic_config(url), "head")
        made = sa.create_engine(url)
        stack.callback(made.dispose)
        rows = [
            {
                "id": f"{10_000 + n:024x}",
                "consultant_id": party(n % 20),
                "client_id": party(1_000 + n % 500),
                "status": STATUSES[n % len(STATUSES)],
                "start_at": START + timedelta(hours=n),
                "end_at": START + timedelta(hours=n, minutes=45),
                "search_text": "",
                "document": json.dumps({"_id": f"{10_000 + n:024x}"}),
            }
            for n in range(ROWS)
        ]
        with made.begin() as conn:
            conn.execute(appointments.insert(), rows)
            conn.exec_driver_sql("ANALYZE")
        yield made


def sqlite_plan(conn: sa.Connection, query: sa.Select[Any]) -> list[str]:
    compiled = query.compile(dialect=conn.dialect)
    values = tuple(compiled.params[name] for name in compiled.positiontup or [])
    return [row[-1] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(compiled), values)]


def test_every_scope_reads_one_page_of_its_index(engine: sa.Engine) -> None:
    scopes = dict(SCOPES)
    if engine.dialect.name == "postgresql":  # (SQLite's plan text does not depend on the window's values)
        window = {"start_from": START + timedelta(hours=1_000), "start_to": START + timedelta(hours=2_000)}
        scopes["the admin's, a window"] = window
    with engine.connect() as conn:
        for name, scope in scopes.items():
            arguments = {"client_id": None, "consultant_id": None, "status": None, "start_from": None}
            arguments.update(start_to=None, q=None, limit=LIMIT)
            for page in (1, 4):
                query = list_query(**{**arguments, **scope, "page": page})
                assert len(conn.execute(query).all()) == LIMIT or name == "a client's", name
                if engine.dialect.name == "postgresql":
                    # the page and what comes before it, with what the filters skip on the way (40% of the
                    # appointments are `Completed`): a few hundred rows, never the whole table
                    assert rows_read(conn, query, "appointments") <= 5 * page * LIMIT + 10, (name, page)
                else:
                    plan = sqlite_plan(conn, query)
                    assert not [line for line in plan if "TEMP B-TREE FOR ORDER BY" in line], (name, plan)
                    assert any("USING INDEX" in line for line in plan), (name, plan)
