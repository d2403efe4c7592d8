"""The analysts' snapshot: a base that a refresh never rewrites, and a small delta beside it.

`reporting-snapshot.duckdb` is a symbolic link to one of two DuckDB files (`reporting-snapshot.a.duckdb`,
`reporting-snapshot.b.duckdb`). A refresh brings the file the link does not point to up to date, in one
transaction, then moves the link to it (atomic rename): readers that have a file open keep reading it,
new readers open the fresh one; no reader ever sees half a refresh.

Inside a file, each keyed table below (facts, dimensions, rollups, the upcoming index) is a view in
`main` over `snapshot_base.<table>` (its rows as of the file's last full copy or fold) and
`snapshot_delta.<table>` (the current rows of the keys changed since, the keys themselves in
`snapshot_delta.<table>_keys`): the base rows whose keys the delta holds are hidden, the delta's rows
added. Analysts read the store's tables and views (reporting/schema.py) under their usual names. A
refresh after a few commands writes the delta and the small tables only; the base tables are not
written, so DuckDB's commit and checkpoint (at DETACH) do not touch them, whatever their size. The
file has no primary keys or indexes: DuckDB rewrites a changed ART index whole at each checkpoint,
which is what made the previous design's refresh grow with the store.

- the projection writes, in the transaction of each batch, the keys of the rows the batch replaced into
  `reporting_changes` (position, table, key): `consultants`, `clients`, `categories`, `appointments`,
  `transactions` by id, `client_consultants` by client and consultant, the rollups' groups by their key
  columns (reporting/rollups.py). A new write path of the projection must journal its keys too
  (tests/test_snapshot_refresh.py compares every table after each kind of command);
- a refresh replaces those keys' rows in the delta by their current rows in the live store (a key whose
  row is gone stays in `<table>_keys` and hides its base row), and copies the small tables whole
  (`consultant_categories`, the parked events, the tracking row); the upcoming view hides the rows the
  owner's `advance` dropped (before the tracking row's `upcoming_since`);
- when the delta holds more than `FOLD_ROWS` keys, the refresh also folds it into the base (the base
  loses the delta's keys and gains its rows, the delta is emptied): the one step that scans the base,
  once per `FOLD_ROWS` changed rows;
- the journal is pruned up to the older position of the two files; `reporting_changes_floor` records
  from where it is complete. A file behind that floor, of another schema or layout, missing, or ahead of
  the live store (a rebuild) is made by a full copy instead.

DuckDB locks a file against writers while any reader has it open: when a reader still holds the file a
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
    "upcoming_appointments": "id",  # the appointments a batch touched; the view hides what `advance` dropped
    **{rollup.table: rollup.key_sql() for rollup in ROLLUPS},  # groups journaled by reporting/rollups.py
}
COPIED = ("reporting_tracking", *(t for t in schema.TABLES if t not in KEYED))
BASE, DELTA = "snapshot_base", "snapshot_delta"  # the schemas of a snapshot file's keyed tables
KEY = "snapshot_key"  # the column of `snapshot_delta.<table>_keys`
FOLD_ROWS = 20_000  # delta keys (all tables) above which a refresh folds the delta into the base
DDL = (
    "CREATE TABLE IF NOT EXISTS reporting_changes (position BIGINT NOT NULL, tbl VARCHAR NOT NULL, key VARCHAR NOT NULL)",
    "CREATE TABLE IF NOT EXISTS reporting_changes_floor (name VARCHAR PRIMARY KEY, floor BIGINT NOT NULL)",
)
OUT = "snapshot_out"
VIEW_DDL = [s for s in schema.DDL if s.lstrip().startswith("CREATE OR REPLACE VIEW")]


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

    def __init__(self, link: Path, fold_rows: int = FOLD_ROWS):
        self.link = link
        self.files = {name: link.with_name(f"{link.stem}.{name}{link.suffix}") for name in ("a", "b")}
        self.positions: dict[str, int] = {}  # position of each file, as far as this process knows
        self.fold_rows = fold_rows
        self.folded = False  # whether the last refresh folded the delta into the base

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
            position, incremental = self._bring_up_to_date(cursor)
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

    def _bring_up_to_date(self, cursor: duckdb.DuckDBPyConnection) -> tuple[int, bool]:
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
            self.folded = False
            if incremental:
                assert held is not None
                self._apply_changes(cursor, held[0])
                if self._delta_keys(cursor) > self.fold_rows:
                    self._fold(cursor)
                    self.folded = True
            else:
                self._copy_everything(cursor)
            cursor.execute("COMMIT")
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        return int(live[0]), incremental

    @staticmethod
    def _held(cursor: duckdb.DuckDBPyConnection) -> tuple[Any, ...] | None:
        """The file's position, schema version and time zone; None when it is not of this layout."""
        tables = {
            (row[0], row[1])
            for row in cursor.execute(
                "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?", [OUT]
            ).fetchall()
        }
        layout = {("main", table) for table in COPIED}
        layout |= {(schema_name, table) for table in KEYED for schema_name in (BASE, DELTA)}
        layout |= {(DELTA, f"{table}_keys") for table in KEYED}
        if not layout <= tables:
            return None
        row = cursor.execute(
            f"SELECT position, schema_version, business_timezone FROM {OUT}.reporting_tracking WHERE name = ?",
            [schema.TRACKING],
        ).fetchone()
        return tuple(row) if row else None

    @staticmethod
    def _apply_changes(cursor: duckdb.DuckDBPyConnection, since: int) -> None:
        """The journaled keys' current rows replace theirs in the delta; the base is not written."""
        changed: dict[str, list[str]] = {}
        for table, key in cursor.execute(
            "SELECT DISTINCT tbl, key FROM reporting_changes WHERE position > ?", [since]
        ).fetchall():
            changed.setdefault(table, []).append(key)
        for table, keys in changed.items():
            key, delta = KEYED[table], f"{OUT}.{DELTA}.{table}"
            cursor.execute(f"DELETE FROM {delta} WHERE {key} IN (SELECT unnest(?::VARCHAR[]))", [keys])
            cursor.execute(
                f"INSERT INTO {delta} SELECT * FROM {table} WHERE {key} IN (SELECT unnest(?::VARCHAR[]))", [keys]
            )
            cursor.execute(
                f"""INSERT INTO {delta}_keys SELECT k FROM unnest(?::VARCHAR[]) AS u(k)
                    WHERE k NOT IN (SELECT {KEY} FROM {delta}_keys)""",
                [keys],
            )
        for table in COPIED:
            cursor.execute(f"DELETE FROM {OUT}.{table}")
            cursor.execute(f"INSERT INTO {OUT}.{table} SELECT * FROM {table}")

    @staticmethod
    def _delta_keys(cursor: duckdb.DuckDBPyConnection) -> int:
        counts = " + ".join(f"(SELECT count(*) FROM {OUT}.{DELTA}.{table}_keys)" for table in KEYED)
        return int(cursor.execute(f"SELECT {counts}").fetchone()[0])  # type: ignore[index]

    @staticmethod
    def _fold(cursor: duckdb.DuckDBPyConnection) -> None:
        """The base loses the delta's keys and gains its rows; the delta is emptied (the views' rows
        do not change)."""
        for table, key in KEYED.items():
            base, delta = f"{OUT}.{BASE}.{table}", f"{OUT}.{DELTA}.{table}"
            cursor.execute(f"DELETE FROM {base} WHERE {key} IN (SELECT {KEY} FROM {delta}_keys)")
            cursor.execute(f"INSERT INTO {base} SELECT * FROM {delta}")
            cursor.execute(f"DELETE FROM {delta}")
            cursor.execute(f"DELETE FROM {delta}_keys")
        cursor.execute(  # what reporting/upcoming.py `advance` dropped (the view hid it until now)
            f"""DELETE FROM {OUT}.{BASE}.upcoming_appointments WHERE start_at <
                (SELECT upcoming_since FROM {OUT}.reporting_tracking WHERE name = ?)""",
            [schema.TRACKING],
        )

    @staticmethod
    def _copy_everything(cursor: duckdb.DuckDBPyConnection) -> None:
        """A fresh copy: the store's keyed tables as bases with empty deltas, the small tables, the views;
        no journal, no constraints or indexes."""
        for (view,) in cursor.execute(
            "SELECT view_name FROM duckdb_views() WHERE database_name = ? AND NOT internal", [OUT]
        ).fetchall():
            cursor.execute(f"DROP VIEW {OUT}.main.{view}")
        for schema_name, table in cursor.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?", [OUT]
        ).fetchall():
            cursor.execute(f"DROP TABLE {OUT}.{schema_name}.{table}")
        for schema_name in (BASE, DELTA):
            cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {OUT}.{schema_name}")
        for table, key in KEYED.items():
            cursor.execute(f"CREATE TABLE {OUT}.{BASE}.{table} AS SELECT * FROM {table}")
            cursor.execute(f"CREATE TABLE {OUT}.{DELTA}.{table} AS SELECT * FROM {table} LIMIT 0")
            cursor.execute(f"CREATE TABLE {OUT}.{DELTA}.{table}_keys ({KEY} VARCHAR NOT NULL)")
            cursor.execute(f"CREATE VIEW {OUT}.main.{table} AS {view_sql(table, key)}")
        for table in COPIED:
            cursor.execute(f"CREATE TABLE {OUT}.main.{table} AS SELECT * FROM {table}")
        for statement in VIEW_DDL:
            cursor.execute(statement.replace("CREATE OR REPLACE VIEW ", f"CREATE OR REPLACE VIEW {OUT}.main.", 1))


def view_sql(table: str, key: str) -> str:
    """A keyed table as analysts read it: the base rows whose keys the delta does not hold, and the delta."""
    rows = (
        f"SELECT b.* FROM {BASE}.{table} AS b ANTI JOIN {DELTA}.{table}_keys AS k ON k.{KEY} = {key} "
        f"UNION ALL SELECT * FROM {DELTA}.{table}"
    )
    if table != "upcoming_appointments":
        return rows
    # the owner's `advance` drops rows before upcoming_since without an event: hidden here, deleted at a fold
    return (
        f"SELECT * FROM ({rows}) WHERE start_at >= "
        f"(SELECT upcoming_since FROM reporting_tracking WHERE name = '{schema.TRACKING}')"
    )
