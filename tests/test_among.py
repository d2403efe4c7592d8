"""`infrastructure.tables.among`: `column IN values` as one array parameter on PostgreSQL, so a statement
of a page's parties has the same text (compiled, parsed and prepared once) however many parties there are;
the rows are the IN list's on both backends."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from infrastructure.tables import accounts, among
from tests.databases import store_at


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_among_finds_the_rows_of_the_values_with_one_statement_text(tmp_path: Path, kind: str) -> None:
    with store_at(tmp_path, kind, "head") as (_, engine):
        rows = [
            {
                "id": f"{n:024x}",
                "kind": "client",
                "role": "Client",
                "email": f"p{n}@example.com",
                "created_at": datetime(2026, 12, 5, tzinfo=UTC),
                "seq": n,
                "document": json.dumps({"_id": f"{n:024x}"}),
            }
            for n in range(1, 1_501)
        ]
        with engine.begin() as conn:
            conn.execute(accounts.insert(), rows)
        texts: set[str] = set()
        sa.event.listen(engine, "before_cursor_execute", lambda *args: texts.add(args[2]))
        with engine.connect() as conn:
            longer = f"{5:024x}" + "extra"  # no id, though its first 24 characters are one
            for wanted in ([], [f"{3:024x}"], [f"{n:024x}" for n in range(2, 1_600, 2)], ["nobody"], [longer]):
                query = sa.select(accounts.c.id).where(among(conn, accounts.c.id, iter(wanted))).order_by("id")
                found = sorted(w for w in wanted if len(w) == 24 and w <= f"{1_500:024x}")
                assert list(conn.execute(query).scalars()) == found, wanted[:3]
        # the texts sent: one for 0, 1, 799, 1 and 1 value(s) on PostgreSQL; an IN list's length shows on SQLite
        assert len(texts) == (1 if kind == "postgres" else 3), texts


ODD = ['a"b', "c\\d", "e,f", "{g}", "NULL", "null", " h ", "", "i\\", '"', "j'k", "l m", "é{", "}"]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_among_takes_any_text_as_it_is(tmp_path: Path, kind: str) -> None:
    """Values with quotes, backslashes, commas, braces, spaces or the word NULL match themselves only
    (on PostgreSQL they travel inside one array's text)."""
    with store_at(tmp_path, kind, "head") as (_, engine):
        rows = [
            {
                "id": value,
                "kind": "client",
                "role": "Client",
                "email": f"o{n}@example.com",
                "created_at": datetime(2026, 12, 5, tzinfo=UTC),
                "seq": n,
                "document": "{}",
            }
            for n, value in enumerate([*ODD, "ab", "cd", "h", "i"], start=1)
        ]
        with engine.begin() as conn:
            conn.execute(accounts.insert(), rows)
        with engine.connect() as conn:
            for wanted in ([value] for value in ODD):
                query = sa.select(accounts.c.id).where(among(conn, accounts.c.id, wanted))
                assert list(conn.execute(query).scalars()) == wanted
            query = sa.select(accounts.c.id).where(among(conn, accounts.c.id, ODD))
            assert sorted(conn.execute(query).scalars()) == sorted(ODD)
