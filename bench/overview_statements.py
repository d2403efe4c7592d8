"""Benchmark: each DuckDB statement the analytics overview (monthly and yearly) and a consultant's
payout summary run, timed one by one on a reporting store, with the rows DuckDB scanned per table
(EXPLAIN ANALYZE): which statement's cost grows with the store (issue 17, the 10 M events row).

The store is built once from an event store loaded by `bench/bulk_load.py` (ingested from position 0
through `reporting.wiring.open_store`, as `bench/overview_scale.py` does) into `--data DIR` and kept
there, so two sizes can be compared side by side; a store already at the event store's position is
reused as it is. `--minutes`: ingestion stops after that long, at a batch boundary, and the prefix of the
log it reached is measured (run again to go on). The statements are those the code runs: the overview
and the payout summary run on a connection that records each statement and its parameters, which are
then run again `--rounds` times each (median and p95, with the statement's share of the whole answer).

    .venv/bin/python bench/overview_statements.py --reuse postgresql://...kept_1 --data DIR1 --reuse ...
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb  # noqa: E402

from bench.common import bench_settings, machine, median, percentile, utc_stamp  # noqa: E402

IST = ZoneInfo("Asia/Kolkata")


class Recording:
    """A DuckDB connection that records the statements run through it (and runs them)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, into: list[tuple[str, Any]]):
        self.con, self.into = con, into

    def execute(self, sql: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        self.into.append((sql, params))
        return self.con.execute(sql, params)


class Deadline(Exception):
    """Ingestion stopped at a batch boundary: the store holds a prefix of the log (bench/bulk_load.py writes
    the appointments and transactions in random order of time, so a prefix is a smaller store of the same shape)."""


def build(url: str, data: Path, minutes: float | None = None) -> Path:
    """The reporting store of the event store at `url`, in `data` (ingested unless already there; for at
    most `minutes`, then measured as far as it got)."""
    from infrastructure.bootstrap import build as build_container
    from reporting.store import LIVE_FILE
    from reporting.wiring import open_store

    settings = bench_settings(data, url)
    container = build_container(settings, run_projections=False)
    try:
        store = open_store(settings, container)
        try:
            started, events = time.perf_counter(), container.market.recorder.max_notification_id() or 0
            first, last = store.position, [started]

            def progress(batch: int) -> None:
                if time.perf_counter() - last[0] > 60:
                    last[0] = time.perf_counter()
                    rate = (store.position - first) / (last[0] - started)
                    print(f"  ingested to {store.position} ({rate:.0f}/s, load {os.getloadavg()[0]:.1f})", flush=True)
                if minutes is not None and time.perf_counter() - started > minutes * 60:
                    raise Deadline

            if store.position < events:
                with contextlib.suppress(Deadline):
                    store.catch_up(progress)
                seconds = time.perf_counter() - started
                print(
                    f"  ingested {store.position - first} events to {store.position} of {events} in {seconds:.0f} s "
                    f"({(store.position - first) / seconds:.0f}/s)",
                    flush=True,
                )
            if hasattr(store, "cluster_rollups"):  # what the owner's loop does every ten minutes
                print(f"  rollups rewritten in period order: {store.cluster_rollups() or 'none'}", flush=True)
        finally:
            store.close()
    finally:
        container.close()
    return settings.data_dir / LIVE_FILE


def answers(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[str, list[tuple[str, Any]]]]:
    """(name, statements) of the monthly and yearly overview and of the busiest consultant's payout summary."""
    from reporting.overview import overview, payout_summary
    from reporting.periods import Period

    now = datetime.now(UTC)
    local, utc = now.astimezone(IST).replace(tzinfo=None), now.replace(tzinfo=None)
    for view in ("monthly", "yearly"):
        statements: list[tuple[str, Any]] = []
        overview(Recording(con, statements), Period(view, local.year, local.month), local, utc)  # type: ignore[arg-type]
        yield view, statements
    (consultant,) = con.execute(
        "SELECT consultant_id FROM appointment_months GROUP BY 1 ORDER BY sum(n) DESC LIMIT 1"
    ).fetchone() or ("",)
    statements = []
    payout_summary(Recording(con, statements), consultant)  # type: ignore[arg-type]
    yield "payout", statements


def scanned(con: duckdb.DuckDBPyConnection, sql: str, params: Any) -> str:
    """The tables a statement scans: rows scanned (row groups scanned / in the table), from EXPLAIN ANALYZE."""
    plan = json.loads(con.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params).fetchall()[0][1])
    found = []

    def visit(node: dict[str, Any]) -> None:
        if node.get("type") == "TABLE_SCAN":
            table = node["extra_info"].get("Table", "?").rsplit(".", 1)[-1]
            groups = f"{node.get('row_groups_scanned', '?')}/{node.get('total_row_groups_to_scan', '?')}"
            kind = "index" if "Index" in node["extra_info"].get("Type", "") else "seq"
            found.append(f"{table} {kind} {node.get('rows_scanned', '?')} ({groups} rg)")
        for child in node.get("children", []):
            visit(child)

    for node in plan["operator"]:
        visit(node)
    return ", ".join(found)


def measure(path: Path, rounds: int, memory_limit: str) -> None:
    con = duckdb.connect(str(path), read_only=True, config={"memory_limit": memory_limit})
    try:
        events = con.execute("SELECT position FROM reporting_tracking").fetchone()[0]
        print(f"\nstore at {events} events ({path.stat().st_size / 1e6:.0f} MB); load {os.getloadavg()}", flush=True)
        for name, statements in answers(con):
            for sql, params in statements:  # warm: the blocks read once
                con.execute(sql, params).fetchall()
            whole = []
            for _ in range(rounds):
                began = time.perf_counter()
                for sql, params in statements:
                    con.execute(sql, params).fetchall()
                whole.append(time.perf_counter() - began)
            total = median(whole)
            print(f"{name}: {len(statements)} statements, {total * 1000:.2f} ms p50 together", flush=True)
            for sql, params in statements:
                times = []
                for _ in range(rounds):
                    began = time.perf_counter()
                    con.execute(sql, params).fetchall()
                    times.append(time.perf_counter() - began)
                text = " ".join(sql.split())[:90]
                print(
                    f"  {median(times) * 1000:7.2f} ms p50 {percentile(times, 0.95) * 1000:7.2f} p95 "
                    f"({median(times) / total:4.0%})  scans {scanned(con, sql, params) or '-'}  | {text}",
                    flush=True,
                )
    finally:
        con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse", action="append", required=True, help="an event store's URL (repeatable)")
    parser.add_argument("--data", action="append", required=True, help="where its reporting store is kept")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--memory-limit", default="512MB")
    parser.add_argument("--minutes", type=float, help="ingest for at most this long, then measure the prefix")
    args = parser.parse_args()
    assert len(args.reuse) == len(args.data), "one --data per --reuse"
    print(f"machine: {machine()}; {utc_stamp()}", flush=True)
    paths = [build(url, Path(data), args.minutes) for url, data in zip(args.reuse, args.data, strict=True)]
    for path in paths:
        measure(path, args.rounds, args.memory_limit)
    print(f"\nload {os.getloadavg()}; {utc_stamp()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
