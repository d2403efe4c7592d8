"""Benchmark: the analyst snapshot refresh (reporting/snapshot.py) at several store sizes.

For each size (`--transactions` x each factor of `--factors`, appointments a fifth of that):

1. Load the history as events through the application (`market.save()` of many aggregates per call,
   the loader of bench/analytics.py) into a throwaway SQLite event store; a fresh DuckDB reporting
   store catches up from position 0.
2. Two full refreshes (`publish_snapshot(force=True)`: each of the two snapshot files is made by a
   full copy the first time; this is also what every refresh cost before the refresh was incremental).
3. `--rounds` rounds of: one command's worth of events (a paid appointment: an `Appointment` and its
   `Transaction`, saved together), the store catches up, then one refresh, timed. Each of these is
   incremental (the run fails otherwise) and the snapshot's position is the store's.
4. One more command and a refresh that folds the delta into the base (reporting/snapshot.py does that
   once per `FOLD_ROWS` changed rows; forced here by a fold threshold of 0), timed: the one step that
   scans the base, so its cost grows with the store.

It prints, per size, the events, the store file's size, the full copy's time and the incremental
refresh's median and maximum, its ratio to the full copy and to the first size's median, its median
CPU time and bytes written by the process (both far less sensitive to a loaded machine than the wall
clock), and the fold;
"independent of store size" means the incremental median stays flat as the store grows (p50 / 1x p50
near 1).

    .venv/bin/python bench/snapshot.py                                  # 20,000 transactions x 1, 4
    .venv/bin/python bench/snapshot.py --transactions 50000 --factors 1 4 16
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.analytics import load  # noqa: E402
from bench.common import bench_settings, machine, median, utc_stamp  # noqa: E402
from domain.appointments import Appointment  # noqa: E402
from domain.ids import new_object_id  # noqa: E402
from domain.ledger import Transaction  # noqa: E402


def paid_appointment(consultant: str, client: str, rng: random.Random) -> list[Any]:
    start = datetime.now(UTC) + timedelta(days=rng.randint(1, 60), hours=rng.randint(0, 23))
    appointment_id = new_object_id()
    fee = Decimal(rng.choice((500, 1000, 1500)))
    return [
        Appointment(
            appointment_id=appointment_id,
            consultant_id=consultant,
            client_id=client,
            start=start,
            end=start + timedelta(hours=1),
            status="Upcoming",
            expires_at=None,
            fields={"fee": int(fee), "session": "Video Call", "category": "Legal"},
            created_by="Client",
        ),
        Transaction(
            transaction_id=new_object_id(),
            kind="Payment",
            status="Success",
            amount=fee,
            platform_fee=fee / 10,
            net_amount=fee - fee / 10,
            currency="INR",
            user_id=client,
            consultant_id=consultant,
            appointment_id=appointment_id,
            payment_method="Razorpay",
            reference="order_bench",
            metadata={},
            snapshots={},
        ),
    ]


def bytes_written() -> int:
    """What this process has written so far (all files; Linux `/proc/self/io`, -1 elsewhere): a
    refresh's share does not depend on the machine's load, unlike its time."""
    try:
        counters = dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())
    except OSError:
        return -1
    return int(counters["wchar"])


def measure(transactions: int, rounds: int, seed: int) -> dict[str, Any]:
    from infrastructure.bootstrap import build
    from reporting.store import LIVE_FILE
    from reporting.wiring import open_store

    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        settings = bench_settings(work, None)
        container = build(settings, run_projections=False)
        try:
            started = time.perf_counter()
            loaded = load(container, transactions, transactions // 5, rng)
            load_seconds = time.perf_counter() - started
            store = open_store(settings, container)
            try:
                store.catch_up()
                with store.reading() as con:
                    consultant, client = con.execute(
                        "SELECT consultant_id, client_id FROM appointments WHERE client_id IS NOT NULL LIMIT 1"
                    ).fetchone()  # type: ignore[misc]
                full = []
                for _ in range(2):
                    began = time.perf_counter()
                    assert store.publish_snapshot(force=True)
                    full.append(time.perf_counter() - began)
                refreshes, cpu, written = [], [], []
                for _ in range(rounds):
                    container.market.save(*paid_appointment(consultant, client, rng))
                    store.catch_up()
                    bytes_before, cpu_before = bytes_written(), time.process_time()
                    began = time.perf_counter()
                    assert store.publish_snapshot()
                    refreshes.append(time.perf_counter() - began)
                    cpu.append(time.process_time() - cpu_before)
                    written.append(bytes_written() - bytes_before)
                    assert store.last_refresh_incremental, "a refresh after one command must be incremental"
                    assert not store._buffers.folded, "the delta of a few rounds stays under the fold threshold"
                store._buffers.fold_rows = 0  # the occasional fold of the delta into the base, timed once
                container.market.save(*paid_appointment(consultant, client, rng))
                store.catch_up()
                began = time.perf_counter()
                assert store.publish_snapshot() and store._buffers.folded
                fold = time.perf_counter() - began
                return {
                    "events": store.position,
                    "load_seconds": load_seconds,
                    "loaded": loaded,
                    "store_mb": sum(
                        path.stat().st_size / 1e6
                        for path in (work / "var" / LIVE_FILE, work / "var" / (LIVE_FILE + ".wal"))
                        if path.exists()
                    ),
                    "full": max(full),
                    "incremental_median": median(refreshes),
                    "incremental_max": max(refreshes),
                    "cpu_median": median(cpu),
                    "written_median": median(written),
                    "fold": fold,
                }
            finally:
                store.close()
        finally:
            container.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=20_000)
    parser.add_argument("--factors", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {machine()}; {utc_stamp()}", flush=True)
    print(
        "| size | events | store file | full copy | incremental refresh p50 | max | p50 / full copy "
        "| p50 / 1x p50 | CPU p50 | written p50 | fold |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    first = None
    for factor in args.factors:
        result = measure(args.transactions * factor, args.rounds, args.seed)
        first = first or result["incremental_median"]
        print(
            f"| {factor}x | {result['events']:,} | {result['store_mb']:.1f} MB | {result['full'] * 1000:.0f} ms | "
            f"{result['incremental_median'] * 1000:.1f} ms | {result['incremental_max'] * 1000:.1f} ms | "
            f"{result['incremental_median'] / result['full']:.3f} | {result['incremental_median'] / first:.2f} | "
            f"{result['cpu_median'] * 1000:.1f} ms | {result['written_median'] / 1e6:.2f} MB | "
            f"{result['fold'] * 1000:.0f} ms |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
