"""Benchmark: the admin's `GET /documents` (`DocumentQueries.list`: first page and `total`) against the
number of documents.

For each size (`--documents` x factor): a throwaway PostgreSQL store migrated to 0022, documents written
by SQL as the documents projection writes them (the seven types in turn; one in twenty `Archived`, one in
fifty `Deleted`, the rest `Active`; spread over 500 clients), then migrated to head (0023 counts them into
`document_counters` and adds the type's and the status's indexes). Then, in this process on the service's
read engine, ABAB rounds of

- `SELECT 1` (the floor: a round trip through the same engine);
- the first page (10) with its total: of every document (not `Deleted`), of one type, of the `Archived`
  ones, and of one client's;
- the same through the statements used before (a count of the list's rows beside the page; the page's
  statement is the same, so with the new indexes; the parties and signed URLs filled in alike).

    .venv/bin/python bench/document_list.py [--documents 25000 --factors 1 4 16 --requests 40]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from alembic import command  # noqa: E402

from bench.common import alternating_p50_ms, bench_store, growth_report  # noqa: E402

TYPES = (
    "ARRAY['Medical Report', 'Consultation Notes', 'Prescription', 'Invoice', 'Lab Results', 'Treatment Plan', 'Other']"
)
DOCUMENTS = f"""
INSERT INTO documents (id, client_id, consultant_id, appointment_id, uploaded_by, file_key, type, status,
                       created_at, seq, document)
SELECT lpad(to_hex(i), 24, '0'), lpad(to_hex(1000000 + i %% 500), 24, '0'), lpad(to_hex(2000000 + i %% 40), 24, '0'),
       NULL, lpad(to_hex(1000000 + i %% 500), 24, '0'), 'documents/' || i || '.pdf', ({TYPES})[1 + i %% 7],
       CASE WHEN i %% 50 = 0 THEN 'Deleted' WHEN i %% 20 = 0 THEN 'Archived' ELSE 'Active' END, '2026-01-01', i,
       json_build_object('_id', lpad(to_hex(i), 24, '0'), 'client', lpad(to_hex(1000000 + i %% 500), 24, '0'),
                         'consultant', lpad(to_hex(2000000 + i %% 40), 24, '0'), 'appointment', NULL,
                         'fileKey', 'documents/' || i || '.pdf')::text
FROM generate_series(1, %(documents)s) AS i
"""
CLIENT = f"{1000000 + 7:024x}"


def documents_of(factor: int, args: argparse.Namespace) -> dict[str, float]:
    from infrastructure.database import create_read_engine
    from infrastructure.document_queries import DocumentQueries
    from infrastructure.document_tables import documents
    from infrastructure.migrations import alembic_config

    size = args.documents * factor
    with contextlib.ExitStack() as stack:
        _, settings = stack.enter_context(bench_store("postgres", prefix="consult-bench-documents-"))
        assert settings.database_url is not None
        config = alembic_config(settings.sqlalchemy_url)
        command.upgrade(config, "0022")
        started = time.perf_counter()
        with psycopg.connect(settings.database_url, autocommit=True) as pg:
            pg.execute(DOCUMENTS, {"documents": size})
            pg.execute("VACUUM ANALYZE")
        command.upgrade(config, "head")  # 0023 counts the documents
        print(f"  {size:,} documents written in {time.perf_counter() - started:.0f} s", flush=True)
        engine = create_read_engine(settings)
        stack.callback(engine.dispose)
        queries = DocumentQueries(engine, lambda key, name: f"/files/{key}")

        def before(client: str | None, type_: str | None, status: str | None) -> tuple[list[str], int]:
            """The route's two statements as they were: the total counted from the rows, and the page."""
            where = [documents.c.status == status if status else documents.c.status != "Deleted"]
            if type_ is not None:
                where.append(documents.c.type == type_)
            if client is not None:
                where.append(documents.c.client_id == client)
            page = sa.select(documents.c.document).where(*where).order_by(documents.c.seq.desc()).limit(10)
            with engine.connect() as conn:
                total = conn.execute(sa.select(sa.func.count()).select_from(documents).where(*where)).scalar_one()
                found = queries._populate(
                    conn, [json.loads(doc) for doc in conn.execute(page).scalars()], with_appointment=True
                )
                return [doc["_id"] for doc in found], int(total)

        def now(client: str | None, type_: str | None, status: str | None) -> tuple[list[str], int]:
            found, total = queries.list(
                client=client, consultant=None, appointment=None, type=type_, status=status, page=1, limit=10
            )
            return [doc["_id"] for doc in found], total

        lists = {"all": (None, None, None), "type": (None, "Lab Results", None), "archived": (None, None, "Archived")}
        lists["client"] = (CLIENT, None, None)
        for name, scope in lists.items():
            assert now(*scope) == before(*scope), name

        def floor() -> None:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1")).all()

        kinds: dict[str, Callable[[], Any]] = {"health": floor}
        for name, scope in lists.items():
            kinds[name] = lambda scope=scope: now(*scope)
            kinds[f"{name}_before"] = lambda scope=scope: before(*scope)
        result = alternating_p50_ms(kinds, args.requests)
    print(f"  {factor}x ({size:,} documents): {result}", flush=True)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=25_000, help="documents at 1x")
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--requests", type=int, default=40, help="calls of each kind per size")
    args = parser.parse_args()
    rows = [
        ("all", "the admin's first page of every document"),
        ("all_before", "the same, the statements before"),
        ("type", "the admin's first page of one type (1 in 7)"),
        ("type_before", "the same, the statements before"),
        ("archived", "the admin's first page of the Archived ones (1 in 20)"),
        ("archived_before", "the same, the statements before"),
        ("client", "one client's first page (1 in 500 of the documents)"),
        ("client_before", "the same, the statements before (the same statements: a party's total is counted)"),
        ("health", "`SELECT 1` on the same engine"),
    ]
    growth_report(
        "document_list.py", lambda factor: documents_of(factor, args), args.factors, args.documents, "documents", rows
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
