"""The rollups the overview reads one period of, kept in the order of their period.

DuckDB skips a row group (122,880 rows) whose zone map (min and max of a column) excludes a filter, and
uses no index for a period's thousands of rows, so `WHERE month = $1` reads only the month's row groups
when the table is in month order, and all of it otherwise. The projection appends a new group where its
batch puts it: in event order, which is roughly the order of the periods (bookings come shortly before
their month), but an import, a bulk history or late changes to old periods scatter them. The owner of the
store checks the spread now and then (`keep`, from the background loop: two scans of each table) and
rewrites a table in key order when some period reads more than `SLACK` rows beyond its own: a copy into a
new table with the same definition, swapped in by name in the caller's transaction (readers in their own
transactions keep the old one). The rows and their keys are unchanged, so the snapshot journal has
nothing to record."""

from __future__ import annotations

import duckdb

from reporting.rollups import APPOINTMENT_DAYS, APPOINTMENT_MONTHS, APPOINTMENT_YEARS, Rollup

ROW_GROUP = 122_880  # DuckDB's rows per row group
SLACK = 2 * ROW_GROUP  # rows a period may read beyond its own before its table is rewritten
CLUSTERED = (APPOINTMENT_MONTHS, APPOINTMENT_YEARS, APPOINTMENT_DAYS)  # each keyed by its period first

# At worst over the periods: the rows of the row groups whose range of periods holds the period (what
# a statement on it reads), less the period's own rows. Row groups are taken as runs of ROW_GROUP rowids.
EXCESS = """
    WITH groups AS (SELECT rowid // {rows} AS row_group, min({key}) AS low, max({key}) AS high, count(*) AS n
                    FROM {table} GROUP BY 1),
         periods AS (SELECT {key} AS period, count(*) AS n FROM {table} GROUP BY 1)
    SELECT coalesce(max(scanned - n), 0)
    FROM (SELECT p.period, p.n, sum(g.n) AS scanned FROM periods p JOIN groups g ON p.period BETWEEN g.low AND g.high
          GROUP BY ALL)"""


def excess(con: duckdb.DuckDBPyConnection, rollup: Rollup) -> int:
    """The most rows a statement on one period of the rollup reads beyond the period's own."""
    row = con.execute(EXCESS.format(rows=ROW_GROUP, key=rollup.keys[0][0], table=rollup.table)).fetchone()
    return int(row[0]) if row else 0


def rewrite(con: duckdb.DuckDBPyConnection, rollup: Rollup) -> None:
    """In the caller's transaction: the rollup's rows again, in key order, under its name."""
    ordered = f"{rollup.table}_ordered"
    keys = ", ".join(name for name, _ in rollup.keys)
    con.execute(f"DROP TABLE IF EXISTS {ordered}")
    con.execute(rollup.ddl(ordered))
    con.execute(f"INSERT INTO {ordered} SELECT * FROM {rollup.table} ORDER BY {keys}")
    con.execute(f"DROP TABLE {rollup.table}")
    con.execute(f"ALTER TABLE {ordered} RENAME TO {rollup.table}")


def keep(con: duckdb.DuckDBPyConnection, slack: int = SLACK) -> list[str]:
    """In the caller's transaction: rewrite each period rollup whose spread exceeds `slack`; the tables
    rewritten."""
    rewritten = []
    for rollup in CLUSTERED:
        if excess(con, rollup) > slack:
            rewrite(con, rollup)
            rewritten.append(rollup.table)
    return rewritten
