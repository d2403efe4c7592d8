"""Benchmark: what the admin overview's statements read and cost as the history around its window grows.

A reporting store (DuckDB file, no event store) holds a fixed window, May 2025 (`--window` consultants
with Completed sessions, their days, twelve appointments in the next hours), padded with 1x, 4x and 16x
`--rows` rows of other months, years and days in each of `appointment_months`, `appointment_years` and
`appointment_days`, written in random order of time (as an import or a bulk history leaves them), and
`--rows` / 10 appointments booked months ahead in the upcoming index. Then the owner's periodic step
(`advance_upcoming`) runs, as the background loop does every ten minutes, and the monthly and yearly
overviews are run `--rounds` times (p50), with the rows DuckDB scanned per statement (EXPLAIN ANALYZE).

Compare two trees side by side by running the script of one tree against the code of another
(CODE_ROOT=<tree> puts that tree first on the path):

    .venv/bin/python bench/overview_padded.py --rows 150000
    CODE_ROOT=<other tree> .venv/bin/python bench/overview_padded.py --rows 150000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, os.environ.get("CODE_ROOT", str(HERE)))

import duckdb  # noqa: E402

from bench.common import machine, median, revision, utc_stamp  # noqa: E402
from reporting.overview import overview  # noqa: E402
from reporting.periods import Period  # noqa: E402
from reporting.store import ReportingStore  # noqa: E402

NOW = datetime(2025, 5, 20, 4, 30)  # UTC: 10:00 in the business time zone
PERIODS = {"monthly": Period("monthly", 2025, 5), "yearly": Period("yearly", 2025, 1)}


def pad(con: duckdb.DuckDBPyConnection, rows: int, window: int) -> None:
    con.execute(
        f"""INSERT INTO appointment_months SELECT month, consultant, 'Completed', 1 + i % 3, 500 * (1 + hash(i) % 4)
            FROM (SELECT i, DATE '2015-01-01' + INTERVAL (i % 120) MONTH AS month, 'p' || (i // 120) AS consultant
                  FROM range({rows // 120 * 120}) r(i)
                  UNION ALL SELECT i, DATE '2025-05-01', 'c' || i FROM range({window}) r(i)) ORDER BY hash(i, month)"""
    )
    con.execute(
        f"""INSERT INTO appointment_years SELECT year, consultant, 'Completed', 1 + i % 3, 500 * (1 + hash(i) % 4)
            FROM (SELECT i, DATE '1985-01-01' + INTERVAL (i % 40) YEAR AS year, 'p' || (i // 40) AS consultant
                  FROM range({rows // 40 * 40}) r(i)
                  UNION ALL SELECT i, DATE '2025-01-01', 'c' || i FROM range({window}) r(i)) ORDER BY hash(i, year)"""
    )
    con.execute(
        f"""INSERT INTO appointment_days SELECT day, 'Completed', category, 1, 500
            FROM (SELECT i, DATE '2015-01-01' + INTERVAL (i % 3650) DAY AS day, 'p' || (i // 3650) AS category
                  FROM range({rows // 3650 * 3650}) r(i)
                  UNION ALL SELECT i, DATE '2025-05-01' + INTERVAL (i % 31) DAY, 'c' || (i // 31)
                  FROM range({window}) r(i)) ORDER BY hash(i, day)"""
    )
    tables = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "appointment_totals" in tables:  # the all-time figures' rollup, where the code has one
        con.execute(
            "INSERT INTO appointment_totals SELECT status, category, sum(n), sum(fee) FROM appointment_days GROUP BY ALL"
        )
    con.execute(
        """INSERT INTO appointments (id, consultant_id, client_id, status, start_at, start_local, fee, deleted)
           SELECT 'soon' || i, 'c' || i, 'k' || i, 'Upcoming', $1::TIMESTAMP + INTERVAL (i) HOUR,
                  $1::TIMESTAMP + INTERVAL (i) HOUR + INTERVAL 330 MINUTE, 500, false FROM range(1, 13) r(i)""",
        [NOW],
    )
    con.execute(
        f"""INSERT INTO upcoming_appointments SELECT * FROM (
                SELECT 'soon' || i AS id, $1::TIMESTAMP + INTERVAL (i) HOUR FROM range(1, 13) r(i)
                UNION ALL SELECT 'ahead' || i, TIMESTAMP '2025-09-01' + INTERVAL (hash(i) % 1000000) MINUTE
                FROM range({rows // 10}) r(i)) ORDER BY hash(id)""",
        [NOW],
    )


class Recording:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con, self.statements = con, list[tuple[str, Any]]()

    def execute(self, sql: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        self.statements.append((sql, params))
        return self.con.execute(sql, params)


def scanned(con: duckdb.DuckDBPyConnection, sql: str, params: Any) -> int:
    plan = json.loads(con.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params).fetchall()[0][1])
    total = 0

    def visit(node: dict[str, Any]) -> None:
        nonlocal total
        total += int(node.get("rows_scanned", 0)) if node.get("type") == "TABLE_SCAN" else 0
        for child in node.get("children", []):
            visit(child)

    for node in plan["operator"]:
        visit(node)
    return total


def measure(path: Path, rows: int, window: int, rounds: int) -> dict[str, tuple[list[int], float]]:
    store = ReportingStore(path, lambda start, limit: [], lambda n: n, lambda: 0, ZoneInfo("Asia/Kolkata"))
    try:
        pad(store.con, rows, window)
        store.con.execute("CHECKPOINT")
        store.advance_upcoming(NOW.replace(tzinfo=UTC))
        store.con.execute("CHECKPOINT")
        out = {}
        with store.reading() as con:
            for view, period in PERIODS.items():
                recording = Recording(con)
                overview(recording, period, NOW.replace(hour=10), NOW)  # type: ignore[arg-type]
                scans = [scanned(con, sql, params) for sql, params in recording.statements]
                times = []
                for _ in range(rounds):
                    began = time.perf_counter()
                    overview(con, period, NOW.replace(hour=10), NOW)
                    times.append(time.perf_counter() - began)
                out[view] = (scans, median(times) * 1000)
        return out
    finally:
        store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=150_000, help="1x padding of each period rollup")
    parser.add_argument("--window", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    import reporting

    commit = revision(Path(reporting.__file__).resolve().parent.parent)  # the code measured (CODE_ROOT)
    print(f"# overview over padded history, {utc_stamp()}, code at {commit}, {machine()}")
    print(f"load {os.getloadavg()[0]:.1f}")
    print("| padding rows per rollup | view | rows scanned per statement | total | overview p50 ms |")
    print("|---:|---|---|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for rows in (args.rows, 4 * args.rows, 16 * args.rows):
            for view, (scans, p50) in measure(
                Path(tmp) / f"padded-{rows}.duckdb", rows, args.window, args.rounds
            ).items():
                print(
                    f"| {rows:,} | {view} | {' + '.join(f'{n:,}' for n in scans)} | {sum(scans):,} | {p50:.1f} |",
                    flush=True,
                )
    print(f"load {os.getloadavg()[0]:.1f}, {utc_stamp()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
