"""Analyst access: ad-hoc SQL over the read-only snapshot of the reporting store.

The snapshot is a complete DuckDB database file that the owner process replaces atomically every few
seconds (`reporting-snapshot.duckdb` in DATA_DIR; its tables are views over a base and a delta,
reporting/snapshot.py). It is opened read-only, so a statement that writes
is refused, and the live store (owned and locked by the serving process) is never touched."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import duckdb

from reporting.store import SNAPSHOT_FILE


class SnapshotMissing(Exception):
    pass


def snapshot_path(data_dir: Path) -> Path:
    return data_dir / SNAPSHOT_FILE


def query(data_dir: Path, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    path = snapshot_path(data_dir)
    if not path.exists():
        raise SnapshotMissing(
            f"no reporting snapshot at {path}: start `consult serve` (or the reporting worker) or run `consult rebuild`"
        )
    con = duckdb.connect(str(path), read_only=True)
    try:
        cursor = con.execute(sql)
        columns = [d[0] for d in cursor.description or []]
        return columns, cursor.fetchall() if columns else []
    finally:
        con.close()


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def run_sql(data_dir: Path, sql: str, *, as_csv: bool = False, limit: int = 1000) -> str:
    columns, rows = query(data_dir, sql)
    if as_csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_text(v) for v in row] for row in rows])
        return buffer.getvalue().removesuffix("\n")
    shown = [[_text(v) for v in row] for row in rows[:limit]]
    widths = [max([len(c), *(len(r[i]) for r in shown)]) for i, c in enumerate(columns)]
    line = "-+-".join("-" * w for w in widths)
    out = [" | ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)), line]
    out += [" | ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in shown]
    more = f" (showing {limit})" if len(rows) > limit else ""
    out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''}{more})")
    return "\n".join(out)
