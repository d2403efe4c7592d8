"""Benchmark: `GET /api/v1/appointments/available-slots?consultant=&date=` against `GET /api/v1/health`.

A real `consult serve` process (one uvicorn process, projections in-process, rate limits lifted)
holds an admin, an Active consultant whose settings were PUT once (30-minute sessions, so a Tuesday
has 16 slots) and a client, all created over HTTP. This process is the load generator: asyncio +
aiohttp, a fixed number of persistent connections in a closed loop, the client's bearer token on
every request, the two routes in alternating rounds (ABBA) so both see the same machine noise. It
reports requests/s and p50/p99 latency per route and the ratios slots / health.

Every status is counted and every slots answer is compared with the first one; any non-2xx answer,
transport error or differing body makes the run invalid (exit status 1). Exit status 2: a valid run
that misses the target (throughput ratio below --target).

    .venv/bin/python bench/available_slots.py                      # SQLite (embedded default)
    .venv/bin/python bench/available_slots.py --backend postgres   # throwaway database, dropped after
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.common import (  # noqa: E402
    API,
    HEALTH,
    POSTGRES_ADMIN_URL,
    bearer,
    bench_store,
    cpu_seconds,
    machine,
    scenario_server,
    statuses_text,
    utc_stamp,
    weekday_two_weeks_ahead,
)
from bench.load import Summary, alternate, drive, per_round_ratios  # noqa: E402

SLOTS = API + "/appointments/available-slots"


def backends_cpu(database_url: str, stack: contextlib.ExitStack) -> Callable[[], dict[int, float]]:
    """CPU seconds so far of each PostgreSQL backend connected to the database of `database_url`
    (PostgreSQL runs on this machine), by pid, for `bench.load.drive`."""
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    admin = stack.enter_context(psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5))

    def by_pid() -> dict[int, float]:
        pids = admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
        ).fetchall()
        seconds = {}
        for (pid,) in pids:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                seconds[pid] = cpu_seconds(pid)
        return seconds

    return by_pid


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per route per round")
    parser.add_argument("--rounds", type=int, default=4, help="rounds; each drives both routes (ABBA order)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds per route before measuring")
    parser.add_argument("--target", type=float, default=0.5, help="required slots/health throughput ratio")
    parser.add_argument(
        "--pause",
        action="store_true",
        help="after the warm-up print the server's pid and wait for Enter (to attach py-spy)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"machine: {machine()}", flush=True)
    command = ".venv/bin/python bench/available_slots.py " + " ".join(sys.argv[1:] if argv is None else argv)
    day = weekday_two_weeks_ahead()
    with contextlib.ExitStack() as stack:
        work, settings = stack.enter_context(bench_store(args.backend, prefix="consult-bench-slots-"))
        database_cpu = backends_cpu(settings.database_url, stack) if settings.database_url else None
        served, scenario = stack.enter_context(scenario_server(settings, work))
        scenario.http.put(
            f"/consultant-settings/{scenario.consultant_id}/availability",
            json={"sessionSettings": {"defaultDuration": 30, "bufferTime": 0}},
            headers=bearer(scenario.consultant),
        ).raise_for_status()
        headers = bearer(scenario.client)
        slots_url = f"{served.url}{SLOTS}?consultant={scenario.consultant_id}&date={day.isoformat()}"
        probe = httpx.get(slots_url, headers=headers, timeout=30)
        probe.raise_for_status()
        slots = probe.json()["data"]
        print(
            f"probe: {day.isoformat()} ({day.strftime('%A')}) has {len(slots)} open slots "
            f"({slots[0]} .. {slots[-1]}), {len(probe.content)} bytes",
            flush=True,
        )
        if len(slots) != 16:
            print("INVALID: expected 16 half-hour slots from 09:00 to 17:00", file=sys.stderr)
            return 1

        routes = {"health": (served.url + HEALTH, None), "available-slots": (slots_url, probe.content)}
        for url, expected in routes.values():  # warm-up: imports, thread pool, connection pools, page cache
            warm = asyncio.run(drive(url, args.warmup, args.concurrency, headers, expected))
            if not warm.valid:
                print(
                    f"INVALID warm-up on {url}: {statuses_text(warm.statuses)}, {warm.wrong_bodies} wrong bodies",
                    file=sys.stderr,
                )
                return 1
        if args.pause:
            input(f"server pid {served.process.pid}; attach a profiler, then press Enter ")
        measured = {
            route: partial(
                drive, url, args.duration, args.concurrency, headers, expected, served.process.pid, database_cpu
            )
            for route, (url, expected) in routes.items()
        }
        runs = alternate(
            measured,
            args.rounds,
            lambda number, route, run: print(
                f"round {number} {route}: {len(run.latencies) / run.elapsed:.0f} req/s, "
                f"{statuses_text(run.statuses)}, wrong bodies {run.wrong_bodies}",
                flush=True,
            ),
        )

    health, slots_summary = Summary("health", runs["health"]), Summary("available-slots", runs["available-slots"])
    ratio = slots_summary.rps / health.rps
    print()
    print(
        f"{utc_stamp()}, `{command}`, {args.backend}, {args.concurrency} connections, "
        f"{args.rounds} rounds x {args.duration:g} s per route (ABBA), date {day.isoformat()}"
    )
    print()
    print(
        "| route | requests | req/s | p50 ms | p99 ms | server CPU ms / request | database CPU ms / request "
        "| statuses | valid |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---|")
    for summary, label in ((health, f"`GET {HEALTH}`"), (slots_summary, f"`GET {SLOTS}?consultant=&date=`")):
        database_ms = f"{summary.database_cpu_ms:.2f}" if database_cpu else "-"
        print(
            f"| {label} | {summary.requests} | {summary.rps:.0f} | {summary.p50_ms:.1f} | {summary.p99_ms:.1f} | "
            f"{summary.cpu_ms:.2f} | {database_ms} | {statuses_text(summary.statuses)} | "
            f"{'yes' if summary.valid else 'NO'} |"
        )
    print(
        f"| ratio slots / health | | **{ratio:.2f}** | {slots_summary.p50_ms / health.p50_ms:.2f}x | "
        f"{slots_summary.p99_ms / health.p99_ms:.2f}x | {slots_summary.cpu_ms / health.cpu_ms:.2f}x | | | |"
    )
    per_round = per_round_ratios(runs["available-slots"], runs["health"])
    print()
    print("Per-round throughput ratios: " + ", ".join(f"{value:.2f}" for value in per_round))
    met = ratio >= args.target
    print(f"Target: throughput ratio >= {args.target}: {'met' if met else 'MISSED'} ({ratio:.2f}).")
    if not (health.valid and slots_summary.valid):
        print("INVALID: some answers were not 2xx or had an unexpected body (see the statuses)", file=sys.stderr)
        return 1
    return 0 if met else 2


if __name__ == "__main__":
    sys.exit(main())
