"""The analysts' snapshot, refreshed incrementally.

`reporting-snapshot.duckdb` is a symbolic link to one of two DuckDB files (`reporting-snapshot.a.duckdb`,
`reporting-snapshot.b.duckdb`). A refresh brings the file the link does not point to up to date and
then moves the link to it (atomic rename): readers that have a file open keep reading it, new readers
open the fresh one. Bringing a file up to date copies only what changed since its own position:

- the projection writes, in the transaction of each batch, the keys of the rows the batch replaced into
  `reporting_changes` (position, table, key): `consultants`, `clients`, `categories`, `appointments`,
  `transactions` by id, `client_consultants` by client and consultant, the rollups' groups by their key
  columns (reporting/rollups.py). A new write path of the projection must journal its keys too
  (tests/test_snapshot_refresh.py compares every table after each kind of command);
- a refresh deletes those keys from the file and copies their current rows from the live store, and
  copies the small tables whole (`consultant_categories`, the parked events and the tracking row), and
  drops from the upcoming index what the owner's `advance` dropped (rows before `upcoming_since`), all in
  one transaction on a consistent read of the live store;
- the journal is pruned up to the older position of the two files; `reporting_changes_floor` records
  from where it is complete. A file behind that floor, of another schema, missing, or ahead of the
  live store (a rebuild) is made by a full copy instead.

A refresh therefore costs what changed (plus the small tables), not the size of the history. DuckDB
locks a file against writers while any reader has it open: when a reader still holds the file a
refresh would write, the refresh is skipped and tried again at the next interval (the link keeps
pointing at the other, complete file)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import duckdb

from domain.privacy import Erasure
from reporting import schema
from reporting.rollups import ROLLUPS

KEYED = {
    "consultants": "id",
    "clients": "id",
    "categories": "id",
    "appointments": "id",
    "transactions": "id",
    "client_consultants": "client_id || '|' || consultant_id",
    "upcoming_appointments": "id",  # the appointments a batch touched; `advance` is replayed on the file
    **{rollup.table: rollup.key_sql() for rollup in ROLLUPS},  # groups journaled by reporting/rollups.py
}
COPIED = ("reporting_tracking", *(t for t in schema.TABLES if t not in KEYED))
JOURNAL = ("reporting_changes", "reporting_changes_floor")
DDL = (
    "CREATE TABLE IF NOT EXISTS reporting_changes (position BIGINT NOT NULL, tbl VARCHAR NOT NULL, key VARCHAR NOT NULL)",
    "CREATE TABLE IF NOT EXISTS reporting_changes_floor (name VARCHAR PRIMARY KEY, floor BIGINT NOT NULL)",
)
OUT = "snapshot_out"


def ensure(con: duckdb.DuckDBPyConnection, position: int) -> None:
    """Create the journal; a store that had none is journaled from its current position on."""
    for statement in DDL:
        con.execute(statement)
    con.execute("INSERT INTO reporting_changes_floor VALUES (?, ?) ON CONFLICT DO NOTHING", [schema.TRACKING, position])


def reset(con: duckdb.DuckDBPyConnection) -> None:
    """Inside the caller's transaction (a rebuild): the journal starts again at position 0."""
    con.execute("DELETE FROM reporting_changes")
    con.execute("UPDATE reporting_changes_floor SET floor = 0")


def record(con: duckdb.DuckDBPyConnection, position: int, batch: Any, events: list[Any]) -> None:
    """Inside the projection's transaction: journal the keys of the rows the batch replaced (the
    rollups journal their changed groups themselves, at position -1 until here)."""
    con.execute("UPDATE reporting_changes SET position = ? WHERE position = -1", [position])
    tables, keys = [], []
    for table in ("consultants", "clients", "categories", "appointments", "transactions"):
        for key in batch.rows[table]:
            tables.append(table)
            keys.append(key)
    for key in batch.rows["appointments"]:  # reporting/upcoming.py `replace` touches exactly these
        tables.append("upcoming_appointments")
        keys.append(key)
    for link in batch.links:
        tables.append("client_consultants")
        keys.append(f"{link['client_id']}|{link['consultant_id']}")
    for client_id, consultant_id, _ in batch.link_changes:  # status changes of existing links
        tables.append("client_consultants")
        keys.append(f"{client_id}|{consultant_id}")
    if keys:
        con.execute(
            "INSERT INTO reporting_changes SELECT ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
            [position, tables, keys],
        )
    for event in events:
        if isinstance(event, Erasure.Recorded):  # reporting/projection.py `erase_person` rewrites names in place
            con.execute(
                """INSERT INTO reporting_changes SELECT ?, 'appointments', id FROM appointments
                   WHERE client_id = ? OR consultant_id = ?""",
                [position, event.account_id, event.account_id],
            )
            for table in ("clients", "consultants"):
                con.execute("INSERT INTO reporting_changes VALUES (?, ?, ?)", [position, table, event.account_id])


def skip(con: duckdb.DuckDBPyConnection, position: int) -> None:
    """Inside the projection's transaction, when no snapshot file exists (a first catch-up, a rebuild):
    nothing needs the journal, so the batch is not journaled; the next file is a full copy anyway."""
    con.execute("DELETE FROM reporting_changes WHERE position = -1")
    con.execute("UPDATE reporting_changes_floor SET floor = greatest(floor, ?)", [position])


def prune(con: duckdb.DuckDBPyConnection, upto: int) -> None:
    """Inside the caller's transaction: forget the changes both files have (positions <= upto)."""
    con.execute("DELETE FROM reporting_changes WHERE position <= ?", [upto])
    con.execute("UPDATE reporting_changes_floor SET floor = greatest(floor, ?)", [upto])


class Buffers:
    """The two files behind the snapshot link, and the refresh of the one the link does not name."""

    def __init__(self, link: Path):
        self.link = link
        self.files = {name: link.with_name(f"{link.stem}.{name}{link.suffix}") for name in ("a", "b")}
        self.positions: dict[str, int] = {}  # position of each file, as far as this process knows

    def current(self) -> str | None:
        if self.link.is_symlink():
            target = os.readlink(self.link)
            for name, path in self.files.items():
                if path.name == target:
                    return name
        return None

    def exist(self) -> bool:
        return any(path.exists() for path in self.files.values())

    def discard(self) -> None:
        """Forget both files (after a rebuild); readers that have one open keep it."""
        for path in self.files.values():
            path.unlink(missing_ok=True)
            path.with_name(path.name + ".wal").unlink(missing_ok=True)
        self.positions.clear()

    def refresh(self, cursor: duckdb.DuckDBPyConnection) -> tuple[int, bool] | None:
        """Bring the file the link does not name up to the live store's current state (read through
        `cursor`, a connection of its own) and move the link to it. Returns (position, incremental), or
        None when a reader holds that file (try later)."""
        name = "b" if self.current() == "a" else "a"
        path = self.files[name]
        try:
            cursor.execute(f"ATTACH '{path}' AS {OUT}")
        except duckdb.IOException:
            return None  # a reader has it open: DuckDB refuses a writer
        try:
            position, incremental = self._bring_up_to_date(cursor, path)
        finally:
            cursor.execute(f"DETACH {OUT}")
        temporary = self.link.with_name(f".{self.link.name}.{os.getpid()}.link")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(path.name)
        os.replace(temporary, self.link)
        self.positions[name] = position
        return position, incremental

    def prunable(self) -> int | None:
        """The position both files have reached (the journal is not needed before it)."""
        return min(self.positions.values()) if len(self.positions) == 2 else None

    def _bring_up_to_date(self, cursor: duckdb.DuckDBPyConnection, path: Path) -> tuple[int, bool]:
        cursor.execute("BEGIN TRANSACTION")
        try:
            live = cursor.execute(
                "SELECT position, schema_version, business_timezone FROM reporting_tracking WHERE name = ?",
                [schema.TRACKING],
            ).fetchone()
            floor = cursor.execute("SELECT floor FROM reporting_changes_floor").fetchone()
            assert live is not None and floor is not None, "the reporting store has no tracking row"
            held = self._held(cursor)
            incremental = held is not None and held[1:] == live[1:] and floor[0] <= held[0] <= live[0]
            if incremental:
                assert held is not None
                self._apply_changes(cursor, held[0])
            else:
                self._copy_everything(cursor)
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        return int(live[0]), incremental

    @staticmethod
    def _held(cursor: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
        tables = {
            row[0]
            for row in cursor.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [OUT]
            ).fetchall()
        }
        if not {"reporting_tracking", *schema.TABLES} <= tables:
            return None
        row = cursor.execute(
            f"SELECT position, schema_version, business_timezone FROM {OUT}.reporting_tracking WHERE name = ?",
            [schema.TRACKING],
        ).fetchone()
        return tuple(row) if row else None

    @staticmethod
    def _apply_changes(cursor: duckdb.DuckDBPyConnection, since: int) -> None:
        changed: dict[str, list[str]] = {}
        for table, key in cursor.execute(
            "SELECT DISTINCT tbl, key FROM reporting_changes WHERE position > ?", [since]
        ).fetchall():
            changed.setdefault(table, []).append(key)
        for table, keys in changed.items():
            key = KEYED[table]
            cursor.execute(f"DELETE FROM {OUT}.{table} WHERE {key} IN (SELECT unnest(?::VARCHAR[]))", [keys])
            cursor.execute(
                f"INSERT INTO {OUT}.{table} SELECT * FROM {table} WHERE {key} IN (SELECT unnest(?::VARCHAR[]))", [keys]
            )
        for table in COPIED:
            cursor.execute(f"DELETE FROM {OUT}.{table}")
            cursor.execute(f"INSERT INTO {OUT}.{table} SELECT * FROM {table}")
        # what reporting/upcoming.py `advance` dropped from the index since (upcoming_since is in the tracking row)
        cursor.execute(
            f"""DELETE FROM {OUT}.upcoming_appointments WHERE start_at <
                (SELECT upcoming_since FROM {OUT}.reporting_tracking WHERE name = ?)""",
            [schema.TRACKING],
        )

    @staticmethod
    def _copy_everything(cursor: duckdb.DuckDBPyConnection) -> None:
        """A fresh copy: the store's tables, views and indexes, without the journal."""
        for view in schema.VIEWS:
            cursor.execute(f"DROP VIEW IF EXISTS {OUT}.{view}")
        for table in (*schema.TABLES, "reporting_tracking", *JOURNAL):
            cursor.execute(f"DROP TABLE IF EXISTS {OUT}.{table}")
        catalog = cursor.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
        cursor.execute(f'COPY FROM DATABASE "{catalog}" TO {OUT} (SCHEMA)')
        for table in JOURNAL:
            cursor.execute(f"DROP TABLE IF EXISTS {OUT}.{table}")
        for table in ("reporting_tracking", *schema.TABLES):
            cursor.execute(f"INSERT INTO {OUT}.{table} SELECT * FROM {table}")
