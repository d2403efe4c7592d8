"""The overview's statements read what its window needs, not what the store has grown to (issue 17):
`topConsultants` ranks the one row per consultant of its month or year (no grouping of the months),
with the ranking of the facts (ties across the cut included); a payout summary reads one consultant's
groups through an index; an empty store opened by the service starts its upcoming index a day back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest

from infrastructure.settings import Settings
from reporting import schema, upcoming
from reporting.overview import payout_sql, top_consultants
from reporting.periods import Period
from tests.duckdb_plans import Recording, operators
from tests.test_analytics_consistency import DERIVED

# The ranking as it was defined before the year rollup: the facts grouped over the window, then ordered.
RANKED_FROM_FACTS = """
    SELECT coalesce(nullif(c.name, ''), 'Unknown Consultant') AS name,
           coalesce(nullif(c.primary_category, ''), nullif(c.primary_subcategory, ''), 'General'),
           per.revenue, per.sessions
    FROM (SELECT coalesce(consultant_id, '') AS consultant_id, sum(fee) AS revenue, count(*) AS sessions
          FROM appointment_facts WHERE status = 'Completed' AND start_local >= $1 AND start_local < $2 GROUP BY 1) per
    LEFT JOIN consultants c ON c.id = per.consultant_id
    ORDER BY per.revenue DESC, per.sessions DESC, name, per.consultant_id LIMIT 5"""
CONSULTANTS = [  # id, name (ids and names in different orders; an empty name is "Unknown Consultant")
    ("c01", "Zed"),
    ("c02", "Asha"),
    ("c03", "Mira"),
    ("c04", ""),
    ("c05", "Bo"),
    ("c06", "Kai"),
    ("c07", "Asha"),
    ("c08", "Lee"),
]


def store(appointments: list[tuple[str, str | None, str, str, int]]) -> duckdb.DuckDBPyConnection:
    """A reporting store holding these appointments (id, consultant, status, local start, fee) and their
    rollups, grouped from them by the rollups' defining statements."""
    con = duckdb.connect()
    schema.ensure(con, "Asia/Kolkata")
    con.executemany(
        "INSERT INTO consultants (id, name, primary_category, deleted) VALUES (?, ?, ?, false)",
        [(cid, name, "Legal" if index % 2 else "") for index, (cid, name) in enumerate(CONSULTANTS)],
    )
    con.executemany(
        """INSERT INTO appointments (id, consultant_id, status, start_local, start_at, fee, deleted)
           VALUES (?, ?, ?, CAST(? AS TIMESTAMP), CAST(? AS TIMESTAMP), ?, false)""",
        [(aid, cid, status, start, start, fee) for aid, cid, status, start, fee in appointments],
    )
    for table in ("appointment_months", "appointment_years"):
        con.execute(f"INSERT INTO {table} {DERIVED[table]}")
    return con


def history() -> list[tuple[str, str | None, str, str, int]]:
    """Ties everywhere: six consultants with one 1000 session in May 2025 (the cut falls inside them),
    two with more in the year, a Cancelled one, one with no consultant, and another year."""
    rows = [(f"may-{cid}", cid, "Completed", "2025-05-10 10:00:00", 1000) for cid, _ in CONSULTANTS[:6]]
    rows += [(f"may-{cid}-x", cid, "Cancelled", "2025-05-11 10:00:00", 9000) for cid, _ in CONSULTANTS[6:]]
    rows += [("may-none", None, "Completed", "2025-05-12 10:00:00", 1000)]
    rows += [(f"jun-{cid}", cid, "Completed", "2025-06-01 09:00:00", 500) for cid, _ in CONSULTANTS[4:8]]
    rows += [("jun-c08-2", "c08", "Completed", "2025-06-30 23:30:00", 500)]
    rows += [(f"y24-{cid}", cid, "Completed", "2024-12-31 23:00:00", 3000) for cid, _ in CONSULTANTS]
    return rows


@pytest.mark.parametrize(
    "period",
    [Period("monthly", 2025, 5), Period("monthly", 2025, 6), Period("monthly", 2025, 7)]
    + [Period("yearly", 2025, 1), Period("yearly", 2024, 1)],
)
def test_top_consultants_rank_as_the_facts_do(period: Period) -> None:
    con = store(history())
    window = period.window
    assert top_consultants(con, period) == con.execute(RANKED_FROM_FACTS, [window.start, window.end]).fetchall()


def test_a_tie_across_the_cut_is_decided_by_name_then_id() -> None:
    con = store(history())
    names = [row[0] for row in top_consultants(con, Period("monthly", 2025, 5))]
    assert names == ["Asha", "Bo", "Kai", "Mira", "Unknown Consultant"]  # of seven tied at 1000 and one session


def test_a_year_is_ranked_from_one_row_per_consultant_without_grouping() -> None:
    con = store(history())
    recording = Recording(con)
    top_consultants(recording, Period("yearly", 2025, 1))  # type: ignore[arg-type]
    plans = [operators(con, sql, params) for sql, params in recording.statements]
    scanned = {table.split()[0].rsplit(".", 1)[-1] for plan in plans for kind, table in plan if kind == "TABLE_SCAN"}
    assert "appointment_years" in scanned and "appointment_months" not in scanned, scanned
    assert not [kind for plan in plans for kind, _ in plan if "GROUP_BY" in kind]


def test_a_payout_summary_reads_its_consultant_through_an_index() -> None:
    con = duckdb.connect()
    schema.ensure(con, "Asia/Kolkata")
    con.execute(
        """INSERT INTO transaction_months SELECT DATE '2025-01-01' + INTERVAL (i % 24) MONTH, 'c' || (i // 24),
                  'Payment', 'Success', true, 1, 100, 10, 90 FROM range(24000) r(i)"""
    )
    plan = operators(con, payout_sql("transaction_months", "WHERE consultant_id = ?"), ["c7"])
    assert ("TABLE_SCAN", "memory.main.transaction_months Index Scan") in plan, plan


def test_an_empty_store_opened_by_the_service_starts_its_upcoming_index_a_day_back(
    settings: Settings, container: Any
) -> None:
    from reporting.wiring import open_store

    reporting = open_store(settings.model_copy(update={"data_dir": settings.data_dir / "fresh"}), container)
    try:
        with reporting.reading() as con:
            since = upcoming.since(con)
    finally:
        reporting.close()
    now = datetime.now(UTC).replace(tzinfo=None)
    assert now - timedelta(days=1, minutes=5) < since <= now - timedelta(days=1)


def test_the_reporting_store_returns_what_duckdb_freed_to_the_system(tmp_path: Any) -> None:
    """Memory of the service (issue 17): DuckDB's allocator purges freed memory in the background, so a
    full snapshot copy does not leave the serving process holding its size after it."""
    from zoneinfo import ZoneInfo

    from reporting.store import ReportingStore

    reporting = ReportingStore(
        tmp_path / "store.duckdb", lambda start, limit: [], lambda n: n, lambda: 0, ZoneInfo("Asia/Kolkata")
    )
    try:
        setting = reporting.cursor().execute("SELECT current_setting('allocator_background_threads')").fetchone()
    finally:
        reporting.close()
    assert setting == (True,)
