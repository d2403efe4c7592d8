"""`upcoming_appointments`: an index of the appointments the overview's `recentAppointments` can list
(not deleted, not Hold, Expired or Cancelled) that start at or after `reporting_tracking.upcoming_since`.

The next five appointments from now are read from it instead of from every appointment whenever
now >= upcoming_since. The owner of the store keeps upcoming_since about a day behind its wall clock
(`ReportingStore.advance_upcoming`, run by the background loop), so the index holds the future and the
last day only. Invariant, in every committed state: the table holds exactly the listable appointments
with start_at >= upcoming_since (the projection maintains it in the transaction of each batch, and
`advance` drops the rows it leaves behind in its own), so both sources give the same answer; with a
clock behind upcoming_since (a test clock, a skewed host) the overview reads the appointments instead.

`upcoming_soon` is the part of that index before `reporting_tracking.upcoming_until`, so that the next
five are read from a day or two of appointments instead of every future one (DuckDB uses no index for a
range, and the index is smaller than the row group its zone maps could skip): it holds exactly the
listable appointments with upcoming_since <= start_at < upcoming_until, whatever upcoming_until is. Any
other listable appointment from now on starts at or after upcoming_until, later than all of its rows, so
five of its rows from now on are the next five; with fewer, the overview reads the whole index.
`advance` moves upcoming_until to the start of the `SOON_AHEAD`th appointment after the moment it is
given (infinity when there are fewer) and fills the table again."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import duckdb

from reporting.columns import ids_in
from reporting.schema import TRACKING

NOT_LISTED = ("Hold", "Expired", "Cancelled")
SOON_AHEAD = 100  # appointments kept in `upcoming_soon` after the horizon `advance` is given


def listed(row: dict[str, Any]) -> bool:
    return not row["deleted"] and row["status"] is not None and row["status"] not in NOT_LISTED


def since(con: duckdb.DuckDBPyConnection) -> datetime:
    row = con.execute("SELECT upcoming_since FROM reporting_tracking WHERE name = ?", [TRACKING]).fetchone()
    assert row is not None, "the reporting store has no tracking row"
    return row[0]  # type: ignore[no-any-return]


def bounds(con: duckdb.DuckDBPyConnection) -> tuple[datetime, bool]:
    """upcoming_since, and whether upcoming_soon ends before the index does (upcoming_until is finite)."""
    row = con.execute(
        "SELECT upcoming_since, isfinite(upcoming_until) FROM reporting_tracking WHERE name = ?", [TRACKING]
    ).fetchone()
    assert row is not None, "the reporting store has no tracking row"
    return row[0], row[1]


def replace(con: duckdb.DuckDBPyConnection, rows: Iterable[dict[str, Any]], existing: set[str]) -> None:
    """In the projection's transaction: the appointments a batch touched (`existing`: those stored
    before it) leave the index, and come back when listable and starting at or after upcoming_since."""
    rows = list(rows)
    if not rows:
        return
    start = since(con)
    if existing:
        for table in ("upcoming_appointments", "upcoming_soon"):
            where, params = ids_in("id", sorted(existing))  # through the index's primary key when short
            con.execute(f"DELETE FROM {table} WHERE {where}", params)
    kept = [row for row in rows if listed(row) and row["start_at"] >= start]
    if kept:
        con.execute(
            "INSERT INTO upcoming_appointments SELECT unnest($1::VARCHAR[]), unnest($2::TIMESTAMP[])",
            [[row["id"] for row in kept], [row["start_at"] for row in kept]],
        )
        con.execute(
            """INSERT INTO upcoming_soon SELECT * FROM (SELECT unnest($1::VARCHAR[]) AS id, unnest($2::TIMESTAMP[]) AS s)
               WHERE s < (SELECT upcoming_until FROM reporting_tracking WHERE name = $3)""",
            [[row["id"] for row in kept], [row["start_at"] for row in kept], TRACKING],
        )


def advance(con: duckdb.DuckDBPyConnection, moment: datetime, horizon: datetime | None = None) -> None:
    """In the caller's transaction: move upcoming_since forward to `moment` (naive UTC; never back)
    and drop the rows that now start before it; then end upcoming_soon at the `SOON_AHEAD`th listed
    appointment from `horizon` (naive UTC; by default `moment`) and fill it again."""
    con.execute(
        "UPDATE reporting_tracking SET upcoming_since = ? WHERE name = ? AND upcoming_since < ?",
        [moment, TRACKING, moment],
    )
    con.execute(
        "DELETE FROM upcoming_appointments WHERE start_at < (SELECT upcoming_since FROM reporting_tracking "
        "WHERE name = ?)",
        [TRACKING],
    )
    con.execute(
        f"""UPDATE reporting_tracking SET upcoming_until = coalesce(
                (SELECT start_at FROM upcoming_appointments WHERE start_at >= $1
                 ORDER BY start_at LIMIT 1 OFFSET {SOON_AHEAD - 1}), TIMESTAMP 'infinity')
            WHERE name = $2""",
        [horizon or moment, TRACKING],
    )
    con.execute("DELETE FROM upcoming_soon")
    con.execute(
        """INSERT INTO upcoming_soon SELECT * FROM upcoming_appointments
           WHERE start_at < (SELECT upcoming_until FROM reporting_tracking WHERE name = ?)""",
        [TRACKING],
    )
