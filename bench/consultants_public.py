"""Benchmark: `GET /api/v1/consultants/public?category=<name>` against `GET /api/v1/health`.

The store gets N Active consultants spread over M categories (each consultant has 1 to 3 entries in
`categories[]`), written in-process as events through the application layer (no HTTP, no bcrypt),
then projected. A real `consult serve` process answers; this process drives the load (asyncio +
aiohttp, a fixed number of concurrent connections, closed loop) on both routes in alternating
rounds, so both routes see the same machine noise, and reports p50/p99 latency, requests/s and the
ratios of the category query to the trivial route.

Every answer's status is counted; a run with any non-2xx answer (or a transport error) is invalid
and the script exits with status 1.

    .venv/bin/python bench/consultants_public.py --backend sqlite
    .venv/bin/python bench/consultants_public.py --backend postgres   # throwaway database, dropped after
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.common import bench_store, consult_server, machine, revision, statuses_text, utc_stamp  # noqa: E402
from bench.load import Summary, alternate, drive  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402

HEALTH = "/api/v1/health"
PUBLIC = "/api/v1/consultants/public"
SAVE_BATCH = 500  # consultants (with their unique keys) per atomic write


# -- the store -----------------------------------------------------------------------------------


def consultant_profile(index: int, entries: list[dict[str, Any]], rng: random.Random) -> dict[str, Any]:
    """A plausible Active consultant, as an admin creates one with `status: Active` (the primary
    `category` mirrors the first `categories[]` entry, as `identity.signup` stores it)."""
    from domain.profiles import category_snapshot, consultant_defaults, normalise_consultant

    return normalise_consultant(
        {
            **consultant_defaults(),
            "name": f"Bench Consultant {index:05d}",
            "email": f"bench.consultant.{index:05d}@example.com",
            "phone": f"+9170{index:08d}",
            "mobile": f"+9170{index:08d}",
            "category": category_snapshot(entries[0]["categoryName"]),
            "categories": entries,
            "fees": rng.choice((500, 800, 1000, 1500, 2000, 2500)),
            "currency": "INR",
            "yearsOfExperience": rng.randint(1, 30),
            "gender": rng.choice(("Male", "Female", "")),
            "bioTitle": "Certified practitioner",
            "languages": ["English", "Hindi"],
            "tags": ["online", "verified"],
            "about": "Helps clients with practical, step-by-step advice. " * 3,
            "city": "Pune",
            "state": "MH",
            "country": "India",
            "status": "Active",
        }
    )


@dataclass
class Population:
    members: dict[str, int]  # consultants listed under each category name
    write_seconds: float
    project_seconds: float


def populate(settings: Settings, consultants: int, categories: int, seed: int) -> Population:
    """Write the catalogue and the consultants as events (one `Registered` event and the unique-key
    claims per consultant, saved in large atomic writes), then project them."""
    from domain.accounts import CONSULTANT, Account, UniqueKey, unique_keys
    from domain.ids import new_object_id
    from infrastructure.bootstrap import build

    rng = random.Random(seed)
    container = build(settings, run_projections=True)
    try:
        started = time.perf_counter()
        catalogue = []
        for number in range(categories):
            title = f"Category {number:02d}"
            catalogue.append((container.people.create_category({"title": title}), title))
        members: Counter[str] = Counter()
        pending: list[Any] = []
        for index in range(consultants):
            chosen = rng.sample(catalogue, rng.randint(1, 3))
            entries = [
                {
                    "_id": new_object_id(),
                    "categoryId": category_id,
                    "categoryName": title,
                    "subcategoryId": None,
                    "subcategoryName": "",
                }
                for category_id, title in chosen
            ]
            members.update(title for _, title in chosen)
            profile = consultant_profile(index, entries, rng)
            account_id = new_object_id()
            account = Account(
                kind=CONSULTANT, account_id=account_id, profile=profile, password_hash=None, channel="admin"
            )
            pending += [
                account,
                *(UniqueKey(key=key, owner=account_id) for key in unique_keys(CONSULTANT, profile).values()),
            ]
            if len(pending) >= SAVE_BATCH * 3 or index == consultants - 1:
                container.market.save(*pending)
                pending = []
        written = time.perf_counter()
        container.runner.catch_up()
        return Population(dict(members), written - started, time.perf_counter() - written)
    finally:
        container.close()


# -- main ----------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--consultants", type=int, default=10_000)
    parser.add_argument("--categories", type=int, default=30)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per route per round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds per route before measuring")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the category spread")
    parser.add_argument("--category", default=None, help="category name queried (default: the first one)")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite data directory")
    args = parser.parse_args(argv)
    if args.consultants < 1 or not 3 <= args.categories <= 100 or args.duration <= 0 or args.concurrency < 1:
        parser.error("need --consultants >= 1, 3 <= --categories <= 100, --duration > 0, --concurrency >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print(f"machine: {machine()}", flush=True)
    command = "bench/consultants_public.py " + " ".join(sys.argv[1:] if argv is None else argv)
    with bench_store(args.backend, keep=args.keep) as (work, settings):
        started = time.perf_counter()
        population = populate(settings, args.consultants, args.categories, args.seed)
        members = population.members
        gc.collect()
        print(
            f"setup: {args.consultants} Active consultants over {args.categories} categories in "
            f"{time.perf_counter() - started:.1f} s ({args.backend}: events written in "
            f"{population.write_seconds:.1f} s, projected in {population.project_seconds:.1f} s)",
            flush=True,
        )

        category = args.category or "Category 00"
        with consult_server(settings, work / "server.log") as served:
            public_url = f"{served.url}{PUBLIC}?category={category.replace(' ', '%20')}"
            probe = httpx.get(public_url, timeout=120)
            listed = probe.json().get("data") or []
            response_bytes = len(probe.content)
            shape_ok = (
                probe.status_code == 200
                and len(listed) == members.get(category, 0)
                and all(doc.get("status") == "Active" for doc in listed)
            )
            print(
                f"response: `{category}` lists {len(listed)} consultants (expected {members.get(category, 0)}), "
                f"{response_bytes / 1024:.0f} KiB of JSON; categories hold {min(members.values())} to "
                f"{max(members.values())} consultants",
                flush=True,
            )

            urls = {HEALTH: f"{served.url}{HEALTH}", f"{PUBLIC}?category={category}": public_url}
            # Warm-up (imports, connection pools, page cache): not in the figures, but its statuses count.
            warmups = [asyncio.run(drive(url, args.warmup, args.concurrency)) for url in urls.values()]
            for route, run in zip(urls, warmups, strict=True):
                print(f"warm-up {route}: {len(run.latencies)} requests, {statuses_text(run.statuses)}", flush=True)
            runs = alternate(
                {route: partial(drive, url, args.duration, args.concurrency) for route, url in urls.items()},
                args.rounds,
                lambda number, route, run: print(
                    f"round {number} {route}: {len(run.latencies)} requests in {run.elapsed:.1f} s, "
                    f"{statuses_text(run.statuses)}",
                    flush=True,
                ),
            )

    health, public = (Summary(route, runs[route]) for route in urls)
    print()
    print(
        f"{utc_stamp()}, commit {revision()}, `{command}`, {args.backend}, {args.consultants} consultants / "
        f"{args.categories} categories, concurrency {args.concurrency}, {args.rounds} x {args.duration:g} s per route"
    )
    print()
    print("| route | requests | req/s | p50 ms | p99 ms | statuses | valid |")
    print("|---|---:|---:|---:|---:|---|---|")
    for summary in (health, public):
        print(
            f"| `GET {summary.route}` | {summary.requests} | {summary.rps:.1f} | {summary.p50_ms:.2f} | "
            f"{summary.p99_ms:.2f} | {statuses_text(summary.statuses)} | {'yes' if summary.valid else 'NO'} |"
        )
    print(
        f"| ratio public / health | | {public.rps / health.rps:.4f} (1/{health.rps / public.rps:.0f}) | "
        f"{public.p50_ms / health.p50_ms:.0f}x | {public.p99_ms / health.p99_ms:.0f}x | | |"
    )
    print()
    print(
        f"Category response: {len(listed)} consultants, {response_bytes} bytes "
        f"({response_bytes / max(1, len(listed)):.0f} bytes per consultant)."
    )
    valid = health.valid and public.valid and shape_ok and all(run.valid for run in warmups)
    if not shape_ok:
        print("INVALID: the category answer did not list exactly the expected Active consultants", file=sys.stderr)
    if not (health.valid and public.valid and all(run.valid for run in warmups)):
        print("INVALID: some answers were not 2xx (see the statuses)", file=sys.stderr)
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
