"""Benchmark: the analytics overview and the serving process's memory on a large event store
(issue 17: overview p50 under 50 ms at 10 M events, RSS under 1 GiB), over a store loaded by
`bench/bulk_load.py` (or `bench/analytics.py --keep --load-only`).

1. Ingestion, in this process: a fresh DuckDB reporting store catching up from position 0 through
   `reporting.wiring.open_store` (the code the serving process runs), its time and rate, this
   process's peak memory, the analyst snapshot publish; then the raw notification-log read
   (`select_notifications` in batches of 5,000, no decoding) over the first `--raw-events` events.
2. A real `consult serve` (one process: API, projections and the reporting store, the embedded
   default) started on that store, as a restarted deployment would be: the admin logs in, 10
   warm-up rounds of the overview (monthly and yearly), the rounds start once the server has
   published the analyst snapshot of the login's position; then `--requests` rounds of
   `GET /api/v1/health`, the monthly and the yearly overview, one request at a time. Memory of the
   serving process (VmRSS, and VmHWM = its peak since start) after the warm-up and at the end,
   sampled every round; its CPU time (utime + stime) per round.

    .venv/bin/python bench/overview_scale.py --reuse postgresql://postgres@127.0.0.1:5432/consult_bench_kept_...
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.analytics import timed_http, wait_for_snapshot  # noqa: E402
from bench.common import (  # noqa: E402
    API,
    HEALTH,
    bench_admin_login,
    bench_settings,
    consult_server,
    machine,
    median,
    percentile,
    utc_stamp,
)
from bench.scale import READY_TIMEOUT, memory_mib  # noqa: E402

IST = ZoneInfo("Asia/Kolkata")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ingest(settings: Any, raw_events: int) -> dict[str, Any]:
    from infrastructure.bootstrap import build
    from reporting.store import LIVE_FILE
    from reporting.wiring import open_store

    container = build(settings, run_projections=False)
    try:
        events = container.market.recorder.max_notification_id() or 0
        store = open_store(settings, container)
        try:
            started, last, done = time.perf_counter(), [time.perf_counter()], [0]

            def progress(batch: int) -> None:
                done[0] += batch
                if time.perf_counter() - last[0] > 60:
                    last[0] = time.perf_counter()
                    rate = done[0] / (last[0] - started)
                    print(f"  ingested {done[0]} ({rate:.0f}/s, load {os.getloadavg()[0]:.1f})", flush=True)

            store.catch_up(progress)
            seconds = time.perf_counter() - started
            assert store.position == events, (store.position, events)
            started = time.perf_counter()
            store.publish_snapshot(force=True)
            snapshot_seconds = time.perf_counter() - started
        finally:
            store.close()
        recorder, count, position = container.market.recorder, 0, 0
        started = time.perf_counter()
        while count < raw_events and (batch := recorder.select_notifications(position + 1, 5000)):
            count += len(batch)
            position = batch[-1].id
        raw_rate = count / (time.perf_counter() - started)
    finally:
        container.close()
    return {
        "events": events,
        "ingest_s": round(seconds, 1),
        "ingest_per_s": round(events / seconds),
        "ratio_to_raw_read": round(events / seconds / raw_rate, 3),
        "raw_read_per_s": round(raw_rate),
        "ingest_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "snapshot_publish_s": round(snapshot_seconds, 1),
        "store_mb": round((settings.data_dir / LIVE_FILE).stat().st_size / 1e6),
    }


def serve(settings: Any, work: Path, events: int, requests: int) -> dict[str, Any]:
    from reporting.store import SNAPSHOT_FILE

    out: dict[str, Any] = {}
    with (
        consult_server(settings, work / "server.log", ready_timeout=READY_TIMEOUT) as served,
        httpx.Client(base_url=served.url, timeout=120) as client,
    ):
        pid = served.process.pid
        out["rss_after_start_mib"] = round(memory_mib(pid)[0])
        headers = bench_admin_login(client)
        today = datetime.now(IST)
        views = {
            "monthly": {"viewType": "monthly", "year": today.year, "month": today.month},
            "yearly": {"viewType": "yearly", "year": today.year},
        }
        first = {name: timed_http(client, API + "/analytics/overview", p, headers) for name, p in views.items()}
        out["first_request_ms"] = {name: round(s * 1000, 1) for name, s in first.items()}
        for _ in range(10):
            for params in views.values():
                timed_http(client, API + "/analytics/overview", params, headers)
        out["snapshot_wait_s"] = round(wait_for_snapshot(work / "var" / SNAPSHOT_FILE, events, timeout=1800), 1)
        out["rss_after_warmup_mib"], out["peak_after_warmup_mib"] = (round(x) for x in memory_mib(pid))
        times: dict[str, list[float]] = {"health": [], "monthly": [], "yearly": []}
        highest, cpu = 0.0, cpu_seconds(pid)
        spent = dict.fromkeys(times, 0.0)  # server CPU during each kind of request (clock ticks, summed)

        def timed(name: str, path: str, params: dict[str, Any], auth: dict[str, str]) -> None:
            before = cpu_seconds(pid)
            times[name].append(timed_http(client, path, params, auth))
            spent[name] += cpu_seconds(pid) - before

        for _ in range(requests):
            timed("health", HEALTH, {}, {})
            for name, params in views.items():
                timed(name, API + "/analytics/overview", params, headers)
            highest = max(highest, memory_mib(pid)[0])
        out["server_cpu_ms_per_round"] = round((cpu_seconds(pid) - cpu) / requests * 1000, 1)
        out["server_cpu_ms_per_request"] = {name: round(s / requests * 1000, 1) for name, s in spent.items()}
        rss, peak = memory_mib(pid)
        out |= {"rss_end_mib": round(rss), "rss_highest_sampled_mib": round(highest), "peak_vmhwm_mib": round(peak)}
    for name, values in times.items():
        out[name] = {"p50_ms": round(median(values) * 1000, 1), "p95_ms": round(percentile(values, 0.95) * 1000, 1)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse", required=True, help="the event store's URL (bench/bulk_load.py prints it)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--raw-events", type=int, default=2_000_000, help="raw-read rate over this many events")
    args = parser.parse_args()
    print(f"machine: {machine()}; {utc_stamp()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="consult-bench-overview-") as scratch:
        work = Path(scratch)
        settings = bench_settings(work, args.reuse)
        ingested = ingest(settings, args.raw_events)
        print(f"ingestion: {json.dumps(ingested)}; load {os.getloadavg()}", flush=True)
        served = serve(settings, work, ingested["events"], args.requests)
        print(f"served: {json.dumps(served)}; load {os.getloadavg()}; {utc_stamp()}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
