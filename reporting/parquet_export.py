"""The reporting store published as Parquet partitions (`consult report export --parquet DIR`).

Layout under DIR (readable by DuckDB, Spark, Polars, pandas/pyarrow or any Parquet reader):

- `<table>/part.parquet` for the dimensions, the rollups, the upcoming index and `reporting_tracking`;
- `<fact>/month=YYYY-MM/part.parquet` for the facts (`transactions` by the business month of
  `created_local`, `appointments` by the business month of `start_local`; `month=none` holds the rows
  without that instant and is always written, so that a fact's glob never matches nothing);
- `_manifest.json`: the reporting position of the export and, per partition, its row count, a digest
  of its rows and the reporting position at which that file was last written;
- `views.sql`: the `CREATE VIEW` statements (tables and the shared views of reporting/schema.py) that
  turn a DuckDB session into the reporting store over these files (`duckdb -init DIR/views.sql`).

Incremental: an export computes, in one read of the source, a digest (row count and the sum of the
rows' hashes) of every partition and writes only the partitions whose digest differs from the
manifest's; partitions that became empty are removed. The digest query scans the store but writes
nothing, so an export after a few events rewrites a few files whatever the size of the history.
Atomic per partition: each file is written to a temporary name in its directory and renamed over the
old one; the manifest is replaced last, so a reader sees, per file, either the old or the new
version, and the manifest names a consistent set once the export returns. Digests depend on the
DuckDB version, so an export after a DuckDB upgrade rewrites every partition once."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from reporting import parked, schema

MANIFEST = "_manifest.json"
VIEWS_FILE = "views.sql"
FORMAT = 1
PARTITIONED = {"transactions": "created_local", "appointments": "start_local"}
NO_MONTH = "none"
EXPORTED = tuple(t for t in (*schema.TABLES, "reporting_tracking") if t != parked.TABLE)


@dataclass
class ExportResult:
    position: int
    written: list[str]
    removed: list[str]
    unchanged: int


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' AND table_name = ? "
        "ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [row[0] for row in rows]


def _digests(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, tuple[int, str]]:
    """Partition name -> (rows, digest) for every non-empty partition of `table`."""
    columns = ", ".join(f'"{c}"' for c in _columns(con, table))
    digest = f"CAST(coalesce(sum(CAST(hash({columns}) AS HUGEINT)), 0) AS VARCHAR)"
    if table in PARTITIONED:
        key = f"coalesce(strftime(date_trunc('month', {PARTITIONED[table]}), '%Y-%m'), '{NO_MONTH}')"
        rows = con.execute(f"SELECT {key}, count(*), {digest} FROM {table} GROUP BY 1").fetchall()
        return {f"{table}/month={part}": (int(n), str(d)) for part, n, d in rows}
    n, d = con.execute(f"SELECT count(*), {digest} FROM {table}").fetchone() or (0, "0")
    return {table: (int(n), str(d))}


def _select(table: str, partition: str) -> str:
    """The rows of one partition (COPY takes no prepared parameters: the bounds are dates made here
    from the partition name, which is made from a date too)."""
    if table not in PARTITIONED:
        return f"SELECT * FROM {table}"
    column, month = PARTITIONED[table], partition.split("=", 1)[1]
    if month == NO_MONTH:
        return f"SELECT * FROM {table} WHERE {column} IS NULL ORDER BY id"
    start = date.fromisoformat(f"{month}-01")
    end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return (
        f"SELECT * FROM {table} WHERE {column} >= DATE '{start.isoformat()}' AND {column} < DATE '{end.isoformat()}'"
        f" ORDER BY {column}, id"
    )


def file_of(directory: Path, partition: str) -> Path:
    return directory / partition / "part.parquet"


def _write(con: duckdb.DuckDBPyConnection, directory: Path, partition: str) -> None:
    table = partition.split("/", 1)[0]
    target = file_of(directory, partition)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".part.parquet.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    con.execute(f"COPY ({_select(table, partition)}) TO {_quote(temporary)} (FORMAT parquet, COMPRESSION zstd)")
    os.replace(temporary, target)


def read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not path.exists():
        return {"format": FORMAT, "position": 0, "partitions": {}}
    return dict(json.loads(path.read_text()))


def _write_text(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


def export(
    con: duckdb.DuckDBPyConnection, directory: Path, progress: Callable[[int], None] | None = None
) -> ExportResult:
    """Export the store `con` reads (in one read transaction of the caller's, or a read-only file)
    into `directory`, writing only the partitions whose rows changed since the manifest's export."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(directory)
    previous: dict[str, Any] = manifest.get("partitions", {})
    if manifest.get("duckdb") != duckdb.__version__ or manifest.get("format") != FORMAT:
        previous = {}  # digests of another DuckDB version are not comparable: rewrite everything
    row = con.execute("SELECT position FROM reporting_tracking WHERE name = ?", [schema.TRACKING]).fetchone()
    position = int(row[0]) if row else 0
    current: dict[str, tuple[int, str]] = {}
    for table in EXPORTED:
        found = _digests(con, table)
        if table in PARTITIONED:
            found.setdefault(f"{table}/month={NO_MONTH}", (0, "0"))
        current.update(found)
    written, partitions = [], {}
    for partition, (rows, digest) in sorted(current.items()):
        before = previous.get(partition)
        if before and before["digest"] == digest and before["rows"] == rows and file_of(directory, partition).exists():
            partitions[partition] = before
            continue
        _write(con, directory, partition)
        written.append(partition)
        partitions[partition] = {"rows": rows, "digest": digest, "position": position}
        if progress:
            progress(1)
    removed = sorted(set(previous) - set(current))
    for partition in removed:
        shutil.rmtree(directory / partition, ignore_errors=True)
    _write_text(
        directory / MANIFEST,
        json.dumps(
            {
                "format": FORMAT,
                "duckdb": duckdb.__version__,
                "position": position,
                "exported_at": datetime.now(UTC).isoformat(),
                "partitions": partitions,
            },
            indent=1,
            sort_keys=True,
        ),
    )
    _write_text(directory / VIEWS_FILE, ";\n".join(view_statements(directory.resolve())) + ";\n")
    return ExportResult(position, written, removed, len(current) - len(written))


def view_statements(directory: Path) -> list[str]:
    """The statements that make a DuckDB session read the export as the reporting store: one view per
    table over its Parquet files, then the shared views of reporting/schema.py."""
    statements = []
    for table in EXPORTED:
        pattern = directory / table / ("month=*/part.parquet" if table in PARTITIONED else "part.parquet")
        statements.append(f"CREATE OR REPLACE VIEW {table} AS SELECT * FROM read_parquet({_quote(pattern)})")
    statements += [s for s in schema.DDL if s.lstrip().startswith("CREATE OR REPLACE VIEW")]
    return statements


def attach(con: duckdb.DuckDBPyConnection, directory: Path) -> None:
    """Make `con` (e.g. `duckdb.connect()`) read the export under `directory` as the reporting store."""
    for statement in view_statements(directory.resolve()):
        con.execute(statement)


def export_snapshot(snapshot: Path, directory: Path, progress: Callable[[int], None] | None = None) -> ExportResult:
    """`consult report export --parquet DIR`: export the analyst snapshot (read-only; the live store,
    owned by the serving process, is never opened)."""
    con = duckdb.connect(str(snapshot), read_only=True)
    try:
        return export(con, directory, progress)
    finally:
        con.close()
