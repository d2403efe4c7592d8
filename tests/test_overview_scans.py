"""The overview's statements read what its window needs, however much history the store holds (issue 17):
counted by DuckDB's profiler (rows scanned per statement, EXPLAIN ANALYZE) in a store padded with other
months and years of `topConsultants` rows, in no order of time (as an import or a bulk history leaves
them), and with appointments booked far ahead. Before, `topConsultants` read its whole rollup (twice when
a tie crossed the cut) and `recentAppointments` the whole index of upcoming appointments."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from reporting.clustering import ROW_GROUP
from reporting.overview import overview, recent_appointments, top_consultants
from reporting.periods import Period
from reporting.store import ReportingStore
from reporting.upcoming import SOON_AHEAD
from tests.duckdb_plans import Recording, rows_scanned

PADDING = 600_000  # rows of other periods in each of appointment_days, _months and _years (five row groups)
AHEAD = 60_000  # appointments booked months and years ahead
WINDOW = 400  # consultants with Completed sessions in May 2025 (and so in 2025), rows of its days
NOW = datetime(2025, 5, 20, 4, 30)  # UTC: 10:00 in the business time zone
SOON = 12  # appointments in the next twelve hours


def padded(path: Path) -> ReportingStore:
    """A store whose May 2025 holds WINDOW consultants (ties included), among PADDING rows of other months
    and years written in random order, with SOON appointments in the next hours and AHEAD far later; then
    what its owner's background loop does every few minutes (`advance_upcoming`)."""
    store = ReportingStore(path, lambda start, limit: [], lambda n: n, lambda: 0, ZoneInfo("Asia/Kolkata"))
    con = store.con
    consultants = PADDING // 120
    con.execute(
        f"""INSERT INTO appointment_months
            SELECT month, consultant, 'Completed', 1 + i % 3, 500 * (1 + hash(i) % 4) FROM (
                SELECT i, DATE '2015-01-01' + INTERVAL (i % 120) MONTH AS month, 'p' || (i // 120) AS consultant
                FROM range({consultants * 120}) r(i)
                UNION ALL SELECT i, DATE '2025-05-01', 'c' || i FROM range({WINDOW}) r(i))
            ORDER BY hash(i, month)"""
    )
    con.execute(
        f"""INSERT INTO appointment_years
            SELECT year, consultant, 'Completed', 1 + i % 3, 500 * (1 + hash(i) % 4) FROM (
                SELECT i, DATE '1985-01-01' + INTERVAL (i % 40) YEAR AS year, 'p' || (i // 40) AS consultant
                FROM range({PADDING}) r(i)
                UNION ALL SELECT i, DATE '2025-01-01', 'c' || i FROM range({WINDOW}) r(i))
            ORDER BY hash(i, year)"""
    )
    con.execute(
        f"""INSERT INTO appointment_days
            SELECT day, 'Completed', category, 1, 500 FROM (
                SELECT i, DATE '2015-01-01' + INTERVAL (i % 3650) DAY AS day, 'p' || (i // 3650) AS category
                FROM range({PADDING // 3650 * 3650}) r(i)
                UNION ALL SELECT i, DATE '2025-05-01' + INTERVAL (i % 31) DAY, 'c' || (i // 31) FROM range({WINDOW}) r(i))
            ORDER BY hash(i, day)"""
    )
    con.execute(
        f"""INSERT INTO appointments (id, consultant_id, client_id, status, start_at, start_local, fee, deleted)
            SELECT 'soon' || i, 'c' || i, 'k' || i, 'Upcoming', $1::TIMESTAMP + INTERVAL (i) HOUR,
                   $1::TIMESTAMP + INTERVAL (i) HOUR + INTERVAL 330 MINUTE, 500, false FROM range(1, {SOON + 1}) r(i)""",
        [NOW],
    )
    con.execute(
        f"""INSERT INTO upcoming_appointments SELECT * FROM (
                SELECT 'soon' || i AS id, $1::TIMESTAMP + INTERVAL (i) HOUR FROM range(1, {SOON + 1}) r(i)
                UNION ALL SELECT 'ahead' || i, TIMESTAMP '2025-09-01' + INTERVAL (hash(i) % 1000000) MINUTE
                FROM range({AHEAD}) r(i))
            ORDER BY hash(id)""",
        [NOW],
    )
    con.execute("CHECKPOINT")
    store.advance_upcoming(NOW.replace(tzinfo=ZoneInfo("UTC")))
    con.execute("CHECKPOINT")
    return store


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Any:
    store = padded(tmp_path_factory.mktemp("scans") / "padded.duckdb")
    yield store
    store.close()


@pytest.mark.parametrize("period", [Period("monthly", 2025, 5), Period("yearly", 2025, 1)])
def test_top_consultants_read_their_period_not_the_others(store: ReportingStore, period: Period) -> None:
    with store.reading() as con:
        recording = Recording(con)
        ranked = top_consultants(recording, period)  # type: ignore[arg-type]
        scans = [rows_scanned(con, sql, params) for sql, params in recording.statements]
    assert len(ranked) == 5 and all(revenue == 2000 for _, _, revenue, _ in ranked)
    # the period's row groups only (its rows straddle at most two), of the more than PADDING rows held;
    # before: every row of the rollup, twice (a tie crosses the cut here).
    assert sum(scans) <= 2 * ROW_GROUP + WINDOW < PADDING, scans


def test_the_next_appointments_are_read_from_the_next_hours_not_every_future_one(store: ReportingStore) -> None:
    with store.reading() as con:
        recording = Recording(con)
        rows = recent_appointments(recording, NOW)  # type: ignore[arg-type]
        scans = [rows_scanned(con, sql, params) for sql, params in recording.statements]
        held = len(con.execute("SELECT id FROM upcoming_appointments").fetchall())
    assert [row[0] for row in rows] == [f"soon{i}" for i in range(1, 6)]
    assert held == AHEAD + SOON
    # upcoming_soon (the next hundred appointments from an hour ahead), the tracking row, 5 lookups of each
    # table joined; before: the whole index (AHEAD + SOON rows).
    assert sum(scans) <= SOON_AHEAD + 3 * 5 + 1, scans


@pytest.mark.parametrize("period", [Period("monthly", 2025, 5), Period("yearly", 2025, 1)])
def test_each_statement_of_the_overview_reads_its_window_not_the_padding(store: ReportingStore, period: Period) -> None:
    with store.reading() as con:
        recording = Recording(con)
        answer = overview(recording, period, NOW.replace(hour=10), NOW)  # type: ignore[arg-type]
        scans = [(rows_scanned(con, sql, params), " ".join(sql.split())[:60]) for sql, params in recording.statements]
    assert answer["activityTrend"][19 if period.view == "monthly" else 4] > 0
    # before: all of appointment_days (the all-time figures were summed from it) and of the rollups above
    assert max(rows for rows, _ in scans) <= 2 * ROW_GROUP + WINDOW, scans


def test_a_rollup_in_period_order_is_left_as_it_is(store: ReportingStore) -> None:
    assert store.cluster_rollups() == []
    with store.reading() as con:
        assert con.execute("SELECT count(*) FROM appointment_months").fetchone() == (PADDING // 120 * 120 + WINDOW,)


def test_a_scattered_rollup_is_rewritten_in_period_order_with_the_same_rows(tmp_path: Path) -> None:
    store = ReportingStore(
        tmp_path / "small.duckdb", lambda start, limit: [], lambda n: n, lambda: 0, ZoneInfo("Asia/Kolkata")
    )
    try:
        store.con.execute(
            """INSERT INTO appointment_days SELECT DATE '2020-01-01' + INTERVAL (i % 900) DAY, 'Completed', 'c' || (i // 900),
                      1, 100 FROM range(9000) r(i) ORDER BY hash(i)"""
        )
        rows = store.con.execute("SELECT * FROM appointment_days ORDER BY ALL").fetchall()
        assert store.cluster_rollups(slack=0) == ["appointment_days"]
        days = [row[0] for row in store.con.execute("SELECT day FROM appointment_days ORDER BY rowid").fetchall()]
        assert days == sorted(days)
        assert store.con.execute("SELECT * FROM appointment_days ORDER BY ALL").fetchall() == rows
        store.con.execute(  # the primary key still decides the upserts of the projection
            """INSERT INTO appointment_days VALUES (DATE '2020-01-01', 'Completed', 'c0', 1, 100)
               ON CONFLICT DO UPDATE SET n = n + excluded.n"""
        )
        assert store.con.execute(
            "SELECT n FROM appointment_days WHERE day = DATE '2020-01-01' AND category = 'c0'"
        ).fetchone() == (2,)
    finally:
        store.close()


def test_the_next_hours_hold_every_listed_appointment_before_their_end(store: ReportingStore) -> None:
    with store.reading() as con:
        until = con.execute("SELECT upcoming_until FROM reporting_tracking").fetchone()
        soon = con.execute("SELECT * FROM upcoming_soon ORDER BY ALL").fetchall()
        expected = con.execute(
            "SELECT * FROM upcoming_appointments WHERE start_at < ? ORDER BY ALL", [until[0] if until else None]
        ).fetchall()
    assert soon == expected and SOON < len(soon) < SOON_AHEAD  # the hundredth from an hour ahead ends it
