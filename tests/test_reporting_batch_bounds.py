"""A small batch of the reporting projection reads the rows it changes, not the store (issue 17): the
rollups group the batch's rows from their staged copies, and rows are loaded and replaced by an `IN` of
parameters that DuckDB answers through the primary key. Before, every batch scanned the whole
`appointments` and `transactions` tables several times (about 110 ms a scan at 4 M rows), so the
catch-up after each second of commands grew with the store. Counted by DuckDB's own profiler: the rows
each statement of a batch scanned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from tests import analytics_history as history
from tests.test_analytics_consistency import check_derived, store_from_events

PADDING = 20_000  # rows added to each fact table before the history is applied


class Profiled:
    """The store's connection, adding up the rows DuckDB scanned for the statements of each transaction
    (one batch and its tracking position)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, output: Path):
        self._con, self._output = con, output
        self.scanned, self.batches = 0, list[int]()
        con.execute("PRAGMA enable_profiling = 'json'")
        con.execute(f"SET profiling_output = '{output}'")

    def execute(self, sql: str, *params: Any) -> duckdb.DuckDBPyConnection:
        if sql.startswith("BEGIN"):
            self.scanned = 0
        self._output.unlink(missing_ok=True)
        result = self._con.execute(sql, *params)
        if self._output.exists():  # transaction statements write no profile
            self.scanned += json.loads(self._output.read_text())["query"]["total_rows_scanned"]
        if sql.startswith("COMMIT"):
            self.batches.append(self.scanned)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def pad(con: duckdb.DuckDBPyConnection) -> None:
    """Old history the batches never touch: deleted appointments and failed payments (in no figure), their
    ids spread over the whole id range as a long-lived store's rows are (updates move rows to the end of
    the table, so no row group holds a narrow range of ids that DuckDB could skip)."""
    con.execute(
        f"""INSERT INTO appointments (id, consultant_id, status, start_at, start_local, fee, deleted)
            SELECT left(md5('a' || i), 24), 'padding', 'Completed', TIMESTAMP '2019-01-01', TIMESTAMP '2019-01-01', 100, true
            FROM range({PADDING}) r(i)"""
    )
    con.execute(
        f"""INSERT INTO transactions (id, kind, status, amount, user_id, appointment_id, created_local, earned)
            SELECT left(md5('t' || i), 24), 'Payment', 'Failed', 100, 'padding', left(md5('a' || i), 24),
                   TIMESTAMP '2019-01-01', false
            FROM range({PADDING}) r(i)"""
    )


def test_a_small_batch_scans_the_rows_it_changes_not_the_store(container: Any, tmp_path: Path) -> None:
    for person in (*history.CONSULTANTS, *history.CLIENTS):
        person.id = ""
    history.script(container)
    store = store_from_events(container, tmp_path / "padded.duckdb")  # batches of 7 events
    try:
        pad(store.con)
        profiled = Profiled(store.con, tmp_path / "profile.json")
        store.con = profiled  # type: ignore[assignment]
        store.catch_up()
        assert len(profiled.batches) > 10 and not store.parked_events()
        # What is left: the payments of a batch's appointments are found by a scan of `transactions`
        # (no index on appointment_id): one table's worth (20k rows), against 56k in the worst batch before.
        assert max(profiled.batches) < 1.5 * PADDING, profiled.batches
        store.con = profiled._con
        store.con.execute("DELETE FROM appointments WHERE consultant_id = 'padding'")  # without the padding,
        store.con.execute("DELETE FROM transactions WHERE user_id = 'padding'")  # the rollups equal the facts
        check_derived(store)
    finally:
        store.close()
