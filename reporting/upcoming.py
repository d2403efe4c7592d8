"""`upcoming_appointments`: an index of the appointments the overview's `recentAppointments` can list
(not deleted, not Hold, Expired or Cancelled) that start at or after `reporting_tracking.upcoming_since`.

The next five appointments from now are read from it instead of from every appointment whenever
now >= upcoming_since. The owner of the store keeps upcoming_since about a day behind its wall clock
(`ReportingStore.advance_upcoming`, run by the background loop), so the index holds the future and the
last day only. Invariant, in every committed state: the table holds exactly the listable appointments
with start_at >= upcoming_since (the projection maintains it in the transaction of each batch, and
`advance` drops the rows it leaves behind in its own), so both sources give the same answer; with a
clock behind upcoming_since (a test clock, a skewed host) the overview reads the appointments instead."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import duckdb

from reporting.schema import TRACKING

NOT_LISTED = ("Hold", "Expired", "Cancelled")


def listed(row: dict[str, Any]) -> bool:
    return not row["deleted"] and row["status"] is not None and row["status"] not in NOT_LISTED


def since(con: duckdb.DuckDBPyConnection) -> datetime:
    row = con.execute("SELECT upcoming_since FROM reporting_tracking WHERE name = ?", [TRACKING]).fetchone()
    assert row is not None, "the reporting store has no tracking row"
    return row[0]  # type: ignore[no-any-return]


def replace(con: duckdb.DuckDBPyConnection, rows: Iterable[dict[str, Any]], existing: set[str]) -> None:
    """In the projection's transaction: the appointments a batch touched (`existing`: those stored
    before it) leave the index, and come back when listable and starting at or after upcoming_since."""
    rows = list(rows)
    if not rows:
        return
    start = since(con)
    if existing:
        con.execute("DELETE FROM upcoming_appointments WHERE id IN (SELECT unnest(?))", [sorted(existing)])
    kept = [row for row in rows if listed(row) and row["start_at"] >= start]
    if kept:
        con.execute(
            "INSERT INTO upcoming_appointments SELECT unnest($1::VARCHAR[]), unnest($2::TIMESTAMP[])",
            [[row["id"] for row in kept], [row["start_at"] for row in kept]],
        )


def advance(con: duckdb.DuckDBPyConnection, moment: datetime) -> None:
    """In the caller's transaction: move upcoming_since forward to `moment` (naive UTC; never back)
    and drop the rows that now start before it."""
    con.execute(
        "UPDATE reporting_tracking SET upcoming_since = ? WHERE name = ? AND upcoming_since < ?",
        [moment, TRACKING, moment],
    )
    con.execute(
        "DELETE FROM upcoming_appointments WHERE start_at < (SELECT upcoming_since FROM reporting_tracking "
        "WHERE name = ?)",
        [TRACKING],
    )
