"""Benchmark: what one small catch-up batch of the reporting projection costs as the store grows.

The serving process catches its DuckDB store up about once a second, so its batches are small (a
second of commands). A batch must cost what its rows cost, not what the store holds. Here:

1. A small real history enters through the application (`bench/analytics.py`'s loader: consultants,
   clients, categories, appointments, ledger transactions) on the embedded SQLite store.
2. For each size, a fresh DuckDB reporting store is padded with that many old rows in each of
   `appointments` and `transactions` (deleted appointments and failed payments: in no figure), then
   catches up the history in batches of `--batch` events, timed batch by batch (CPU of the process
   and wall clock).

Sizes are 0 and then 1x, 4x and 16x of `--rows`. Compare two trees side by side by running the
script of one tree against the code of another (CODE_ROOT=<tree> puts that tree first on the path):

    .venv/bin/python bench/reporting_batch.py --rows 250000
    CODE_ROOT=<other tree> .venv/bin/python bench/reporting_batch.py --rows 250000
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, os.environ.get("CODE_ROOT", str(HERE)))

from bench.analytics import load  # noqa: E402
from bench.common import bench_settings, machine, revision, utc_stamp  # noqa: E402
from infrastructure.bootstrap import build  # noqa: E402
from reporting.store import ReportingStore  # noqa: E402


def pad(store: ReportingStore, rows: int) -> None:
    store.con.execute(
        f"""INSERT INTO appointments (id, consultant_id, status, start_at, start_local, fee, deleted)
            SELECT left(md5('a' || i), 24), 'padding', 'Completed', TIMESTAMP '2019-01-01', TIMESTAMP '2019-01-01', 100, true
            FROM range({rows}) r(i)"""
    )
    store.con.execute(
        f"""INSERT INTO transactions (id, kind, status, amount, user_id, appointment_id, created_local, earned)
            SELECT left(md5('t' || i), 24), 'Payment', 'Failed', 100, 'padding', left(md5('a' || i), 24),
                   TIMESTAMP '2019-01-01', false
            FROM range({rows}) r(i)"""
    )


def measure(container, work: Path, rows: int, batch: int) -> tuple[int, float, float]:
    """(batches, ms of process CPU per batch, ms of wall per batch) of catching up the whole history."""
    market = container.market
    store = ReportingStore(
        work / f"padded-{rows}.duckdb",
        read_notifications=lambda start, limit: list(market.recorder.select_notifications(start, limit)),
        decode=market.mapper.to_domain_event,
        max_position=lambda: market.recorder.max_notification_id() or 0,
        zone=ZoneInfo("Asia/Kolkata"),
        batch_size=batch,
    )
    try:
        pad(store, rows)
        store.con.execute("CHECKPOINT")
        end = market.recorder.max_notification_id() or 0
        cpu, wall, batches = [], [], 0
        while store.position < end:
            c, w = time.process_time(), time.perf_counter()
            store._process_batch(None)  # one batch, as the background loop runs it
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - w)
            batches += 1
        assert not store.parked_events()
        return batches, statistics.median(cpu) * 1000, statistics.median(wall) * 1000
    finally:
        store.close()
        for leftover in work.glob(f"padded-{rows}.duckdb*"):
            leftover.unlink()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=250_000, help="1x padding of each fact table")
    parser.add_argument("--batch", type=int, default=50, help="events per catch-up batch")
    parser.add_argument("--transactions", type=int, default=1500)
    parser.add_argument("--appointments", type=int, default=300)
    args = parser.parse_args()
    import reporting

    commit = revision(Path(reporting.__file__).resolve().parent.parent)  # the code measured (CODE_ROOT)
    print(f"# reporting batch cost, {utc_stamp()}, code at {commit}, {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        container = build(bench_settings(work, None), run_projections=False)
        try:
            load(container, args.transactions, args.appointments, random.Random(7))
            print("| padding rows per fact table | batches | CPU ms per batch (median) | wall ms per batch (median) |")
            print("|---:|---:|---:|---:|")
            for rows in (0, args.rows, 4 * args.rows, 16 * args.rows):
                batches, cpu, wall = measure(container, work, rows, args.batch)
                print(f"| {rows:,} | {batches} | {cpu:.1f} | {wall:.1f} |", flush=True)
        finally:
            container.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
