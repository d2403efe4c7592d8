"""The documents per type and status (`document_counters`, migration 0023: the admin's `GET /documents`
total) follow the documents through any history of uploads, edits of the type or the status and
deletions, a rebuild, and the migration's fill; every list's total is its count of rows and its pages are
the plain query's, whether the total came from the counters (no party named) or from the rows."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command

from domain.documents import DOCUMENT_TYPES, STATUSES, Document
from infrastructure.document_tables import document_counters, documents
from tests.databases import store_at

PARTIES = [f"{n:024x}" for n in range(1, 4)]


def counted(conn: sa.Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute(sa.select(documents.c.type, documents.c.status, sa.func.count()).group_by("type", "status"))
    return {(type_, status): int(n) for type_, status, n in rows}


def kept(conn: sa.Connection) -> dict[tuple[str, str], int]:
    return {(type_, status): int(n) for type_, status, n in conn.execute(sa.select(document_counters))}


def uploaded(document_id: str, type_: str, status: str | None = None, client: str = PARTIES[0]) -> Document:
    fields = {"title": f"Doc {document_id[-4:]}", "type": type_, **({"status": status} if status else {})}
    return Document(
        document_id=document_id,
        client_id=client,
        consultant_id=PARTIES[1],
        appointment_id=None,
        uploaded_by=client,
        file={"fileKey": f"documents/{document_id}.pdf", "fileName": f"{document_id}.pdf", "fileSize": 10},
        fields=fields,
    )


def change(container: Any, rng: random.Random, made: list[str], n: int) -> None:
    if not made or rng.random() < 0.4:
        document_id = f"{n:024x}"
        status = rng.choice(STATUSES) if rng.random() < 0.5 else None
        fresh = uploaded(document_id, rng.choice(DOCUMENT_TYPES), status, client=rng.choice(PARTIES))
        container.market.run(lambda: (None, [fresh]))
        made.append(document_id)
        return
    document_id = rng.choice(made)

    def command() -> tuple[None, list[Any]]:
        found = container.market.find(Document.create_id(document_id))
        assert isinstance(found, Document)
        roll = rng.random()
        if roll < 0.35:
            found.update({"status": rng.choice(STATUSES)})
        elif roll < 0.6:
            found.update({"type": rng.choice(DOCUMENT_TYPES), "title": "renamed"})
        elif roll < 0.75:
            found.update({"description": "only the text"})
        else:
            found.delete()
            made.remove(document_id)
        return None, [found]

    container.market.run(command)


def assert_every_total_is_its_count(container: Any) -> None:
    queries = container.document_queries
    for party in (None, PARTIES[1]):
        for type_ in (None, *DOCUMENT_TYPES):
            for status in (None, *STATUSES):
                where = [documents.c.status == status if status else documents.c.status != "Deleted"]
                if type_ is not None:
                    where.append(documents.c.type == type_)
                if party is not None:
                    where.append(documents.c.client_id == party)
                plain = sa.select(documents.c.id).where(*where).order_by(documents.c.seq.desc())
                with container.engine.connect() as conn:
                    rows = list(conn.execute(plain).scalars())
                for page in (1, 2):
                    found, total = queries.list(
                        client=party, consultant=None, appointment=None, type=type_, status=status, page=page, limit=4
                    )
                    assert total == len(rows), (party, type_, status)
                    assert [d["_id"] for d in found] == rows[(page - 1) * 4 : page * 4], (party, type_, status, page)


def test_the_counters_follow_any_history_and_a_rebuild(container: Any) -> None:
    rng = random.Random(23)
    made: list[str] = []
    for round_ in range(4):
        for n in range(40):
            change(container, rng, made, round_ * 100 + n)
        with container.engine.connect() as conn:
            assert {key: n for key, n in kept(conn).items() if n} == counted(conn), round_
        assert_every_total_is_its_count(container)
    with container.engine.connect() as conn:
        before = kept(conn)
    assert len(before) >= 10 and 0 not in before.values()  # a counter back at zero is no row
    for runner in container.runners:  # a rebuild from the log comes to the same rows
        runner.reset()
        runner.catch_up()
    with container.engine.connect() as conn:
        assert kept(conn) == before


def test_a_batch_that_uploads_edits_and_deletes_one_document_nets_out(container: Any) -> None:
    """One command's events in one batch: the row is written, changed and gone before the counters are."""
    fresh = uploaded("a" * 24, "Invoice")
    fresh.update({"status": "Archived"})
    kept_one = uploaded("b" * 24, "Invoice")
    kept_one.update({"type": "Prescription"})
    container.market.run(lambda: (None, [fresh, kept_one]))
    fresh.delete()
    container.market.run(lambda: (None, [fresh]))
    with container.engine.connect() as conn:
        assert kept(conn) == counted(conn) == {("Prescription", "Active"): 1}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_migration_0023_counts_the_documents_already_projected(tmp_path: Any, kind: str) -> None:
    with store_at(tmp_path, kind, "0022") as (config, engine):
        rng = random.Random(3)
        rows = [
            {
                "id": f"{n:024x}",
                "client_id": PARTIES[0],
                "consultant_id": PARTIES[1],
                "uploaded_by": PARTIES[0],
                "file_key": f"documents/{n}.pdf",
                "type": rng.choice(DOCUMENT_TYPES),
                "status": rng.choice(STATUSES),
                "created_at": datetime(2026, 12, 5, 10, tzinfo=UTC),
                "seq": n,
                "document": "{}",
            }
            for n in range(150)
        ]
        with engine.begin() as conn:
            conn.execute(documents.insert(), rows)
        command.upgrade(config, "0023")
        with engine.connect() as conn:
            assert kept(conn) == counted(conn) and sum(kept(conn).values()) == 150
        indexes = {index["name"] for index in sa.inspect(engine).get_indexes("documents")}
        assert {"ix_documents_type_seq", "ix_documents_status_seq"} <= indexes
        command.downgrade(config, "0022")
        assert "document_counters" not in sa.inspect(engine).get_table_names()
        indexes = {index["name"] for index in sa.inspect(engine).get_indexes("documents")}
        assert not {"ix_documents_type_seq", "ix_documents_status_seq"} & indexes
