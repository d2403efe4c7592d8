"""Benchmark: `GET /api/v1/notifications/unread-count` (the bell on every page of both apps) against
`GET /api/v1/health`, at 64 concurrent connections.

A real `consult serve` process answers. The client whose count is asked has an inbox of personal
notifications and role broadcasts (some read, some hidden), sent over HTTP before the run; the count
is four counter rows the people projection keeps plus the unexpired expiring notifications (an index
range), so it does not grow with the inbox. The two routes are driven in alternating rounds (the
same machine noise for both); the script prints requests/s, p50/p99 and the ratio, and exits 1 when
any answer is not 2xx or the count is not the one expected.

    .venv/bin/python bench/unread_count.py --backend sqlite
    .venv/bin/python bench/unread_count.py --backend postgres   # throwaway database, dropped after
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import (  # noqa: E402
    API,
    HEALTH,
    Scenario,
    bearer,
    bench_store,
    machine,
    scenario_server,
    statuses_text,
    utc_stamp,
)
from bench.load import Summary, alternate, drive, per_round_ratios  # noqa: E402

UNREAD = API + "/notifications/unread-count"


def fill_inbox(scenario: Scenario, personal: int, broadcasts: int) -> int:
    """Personal notifications and Client broadcasts; a third of each read, a tenth of the broadcasts
    hidden. Returns the unread count the client must see."""
    admin, client = bearer(scenario.admin), bearer(scenario.client)
    ids: list[tuple[str, bool]] = []
    for n in range(personal):
        body = {"name": f"Note {n}", "message": "Personal", "recipient": scenario.client_id}
        reply = scenario.http.post("/notifications", json=body, headers=admin)
        reply.raise_for_status()
        ids.append((reply.json()["data"]["_id"], False))
    for n in range(broadcasts):
        body = {"name": f"Notice {n}", "message": "To every client", "recipientRole": "Client"}
        reply = scenario.http.post("/notifications", json=body, headers=admin)
        reply.raise_for_status()
        ids.append((reply.json()["data"]["_id"], True))
    gone = 0
    for index, (notification_id, broadcast) in enumerate(ids):
        if index % 3 == 0:
            scenario.http.patch(f"/notifications/{notification_id}/read", headers=client).raise_for_status()
            gone += 1
        elif broadcast and index % 10 == 1:
            scenario.http.delete(f"/notifications/{notification_id}", headers=client).raise_for_status()
            gone += 1
    return len(ids) - gone


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="per route per round")
    parser.add_argument("--personal", type=int, default=300)
    parser.add_argument("--broadcasts", type=int, default=300)
    args = parser.parse_args(argv)
    print(f"date: {utc_stamp()}\nmachine: {machine()}")
    print(f"command: .venv/bin/python bench/unread_count.py {' '.join(sys.argv[1:] if argv is None else argv)}")
    with bench_store(args.backend) as (work, settings), scenario_server(settings, work) as (served, scenario):
        expected = fill_inbox(scenario, args.personal, args.broadcasts)
        headers = bearer(scenario.client)
        counted = scenario.http.get("/notifications/unread-count", headers=headers).json()["data"]["count"]
        print(f"inbox: {args.personal} personal + {args.broadcasts} broadcasts; unread count {counted}")
        if counted != expected:
            print(f"INVALID: unread count {counted}, expected {expected}")
            return 1
        routes = {
            "health": partial(drive, served.url + HEALTH, args.seconds, args.connections),
            "unread-count": partial(drive, served.url + UNREAD, args.seconds, args.connections, headers),
        }
        asyncio.run(drive(served.url + HEALTH, 1.0, args.connections))  # warm-up
        asyncio.run(drive(served.url + UNREAD, 1.0, args.connections, headers))
        runs = alternate(routes, args.rounds)
    summaries = {route: Summary(route, done) for route, done in runs.items()}
    print(
        f"\n{args.backend}, {args.connections} connections, {args.rounds} rounds x {args.seconds:g} s per route (ABBA)"
    )
    print("| route | requests/s | p50 ms | p99 ms | answers |\n|---|---|---|---|---|")
    for route, summary in summaries.items():
        print(
            f"| `{route}` | {summary.rps:.0f} | {summary.p50_ms:.1f} | {summary.p99_ms:.1f} | "
            f"{statuses_text(summary.statuses)} |"
        )
    ratio = summaries["unread-count"].rps / summaries["health"].rps
    rounds = ", ".join(f"{r:.2f}" for r in per_round_ratios(runs["unread-count"], runs["health"]))
    print(f"\nunread-count / health throughput: {ratio:.2f} (per round {rounds}; target >= 0.5)")
    if not all(set(summary.statuses) == {"200"} for summary in summaries.values()):
        print("INVALID: some answers were not 200")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
