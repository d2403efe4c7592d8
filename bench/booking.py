"""Benchmark: booking throughput on distinct slots on PostgreSQL against the raw rate of
single-aggregate saves of `eventsourcing` in the same run, and the latency of the losing requests
under 200-way contention on one slot over HTTP (issue 4 §4).

One throwaway PostgreSQL database. Three parts:

1. In process (the application layer the routes call): `--threads` threads in a closed loop,
   alternating rounds (ABAB...) of
   - raw saves: `StockStore.save(Probe(n))`, one new trivial aggregate per save, by a plain
     `eventsourcing` application with eventsourcing's own PostgreSQL recorder on the same event
     store (the baseline of the target);
   - raw saves through the service's recorder (`infrastructure.event_store.OneTripRecorder`, which
     the holds use): `container.market.save(Probe(n))`, shown beside it;
   - holds: `container.bookings.hold(...)` on distinct slots (every consultant-day aggregate is
     used by one thread at a time), as served: the command loads the accounts, settings and
     consultant-day aggregates, checks the slot rule, saves appointment + day in one atomic write,
     and waits for the in-process projection (read-your-writes);
   - holds, write side only: the same command with the read-your-writes wait switched off (the
     projections catch up afterwards).
2. Over HTTP: a real `consult serve` process on the same database; `--connections` aiohttp
   connections in a closed loop POST /appointments/hold on distinct slots.
3. Contention over HTTP: `--contenders` clients (200) POST /appointments/hold on one slot at once,
   `--contests` times per load generator (a new slot each time); the status counts and the latency
   of the losers (409) from the common start. Two generators take turns: `bench.raw_http` (every
   request built before the start and written on its own kept-alive connection, each answer timed at
   its last byte; the target's figure), and one aiohttp session (its per-request CPU, in the same
   process and on the same 2 cores as the server's, is part of what it times).

Exit status 0 when both targets are met (throughput of holds as served >= `--target-ratio` x raw
saves; p99 of losers < `--target-p99-ms`), 2 when a valid run misses one, 1 when a run is invalid
(an unexpected status, or not exactly one winner per contended slot).

    .venv/bin/python bench/booking.py                                  # prints the figures
    .venv/bin/python bench/booking.py --write /path/of/a/report.md  (figures are then copied into docs/BENCHMARKS.md)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import queue
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from eventsourcing.application import Application  # noqa: E402
from eventsourcing.domain import Aggregate, event  # noqa: E402

from application.bookings import Caller  # noqa: E402
from application.marketplace import Marketplace, NoBarrier  # noqa: E402
from bench import raw_http  # noqa: E402
from bench.common import bearer, bench_settings, consult_server, database, percentile  # noqa: E402
from infrastructure.bootstrap import Container, build  # noqa: E402
from infrastructure.database import event_store_env  # noqa: E402
from infrastructure.settings import Settings  # noqa: E402

POSTGRES_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
API = "/api/v1"
IST = ZoneInfo("Asia/Kolkata")
DEFAULT_SLOTS = ("09:00", "10:15", "11:30", "12:45", "14:00", "15:15")  # 60 minutes, 15-minute buffer
TAKEN = "Slot is already booked or held by another user"


NOTES = [
    "- A stock raw save is eventsourcing's write transaction: BEGIN, the table lock that keeps the notification",
    "  log gap-free, the INSERT, COMMIT (three round trips; the lock is held while the writing thread waits for",
    "  the GIL between the last two). The service's recorder sends the same statements as one call of a",
    "  server-side function (one round trip; the lock is held only for the server's own time). A hold is one",
    "  read query for every aggregate it checks (accounts, settings, client link, the consultant-day aggregates",
    "  within 120 minutes of the interval), which returns only the events written after the states this process",
    "  has cached, the pure slot rule, then one write of the appointment and its day aggregate(s), then (as",
    "  served) the projection of its events before it answers: from the committed notifications this process",
    "  holds, the claim of the tracking row, the two inserts and COMMIT in one pipelined round trip.",
    "- With 8 threads the holds are bound by the interpreter (about 1.2 to 1.5 ms of CPU per hold as served,",
    "  the process busy 70 to 90% of the time), the stock raw saves by the database (about 0.7 ms of CPU each,",
    "  the process busy 30 to 60%).",
    "- Over HTTP most of the CPU is the web stack (uvicorn, the middleware, FastAPI routing and dependency",
    "  solving, the thread-pool hops), not the command.",
    "- Under contention the holds of one consultant-day take turns in the process (interfaces.http.turns):",
    "  the requests that arrive while one runs wait on the event loop, then run together, load after the",
    "  winner committed, and answer 409 without a write or a retry. Every loser still pays the web stack,",
    "  authentication (a JWT and an account-status read) and one loading query; p99 is close to the time the",
    "  process needs to serve the whole burst, on 2 cores shared with the load generator.",
]


class Probe(Aggregate):
    """The trivial aggregate of the raw-save baseline."""

    @event("Created")
    def __init__(self, n: int) -> None:
        self.n = n


# -- setup ---------------------------------------------------------------------------------------


def weekdays(count: int, weeks_ahead: int = 2) -> list[date]:
    today = datetime.now(UTC).date()
    day = today + timedelta(days=7 * weeks_ahead - today.weekday())
    out = []
    while len(out) < count:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def interval(day: date, hhmm: str) -> tuple[datetime, datetime]:
    start = datetime.combine(day, datetime.strptime(hhmm, "%H:%M").time(), tzinfo=IST)
    return start, start + timedelta(minutes=60)


def iso(moment: datetime) -> str:
    return moment.isoformat()


class People:
    """Accounts made through the application layer (the tokens work against the server too)."""

    def __init__(self, container: Container):
        self.container = container
        self.serial = 0

    def make(self, role: str) -> tuple[str, str]:
        self.serial += 1
        unique = f"{self.serial:06d}{secrets.token_hex(2)}"
        data = self.container.identity.signup(
            {
                "fullName": f"Bench {role} {self.serial}",
                "email": f"{role.lower()}{unique}@example.com",
                "mobile": ("+9196" if role == "Consultant" else "+9197") + f"{self.serial:08d}",
                "password": "secret1",
                "role": role,
            }
        )
        account_id = str(data["user"]["id"])
        if role == "Consultant":
            self.container.people.set_consultant_status(account_id, "approve")
        return account_id, str(data["token"])


@dataclass(frozen=True)
class Slot:
    consultant: str
    day: date
    start: str


def distinct_slots(consultants: list[str], days: list[date]) -> list[Slot]:
    """Every default slot of every consultant-day, ordered so that neighbours in the list use
    different consultant-day aggregates (concurrent workers rarely touch the same one)."""
    return [Slot(c, d, s) for s in DEFAULT_SLOTS for d in days for c in consultants]


# -- part 1: in process ---------------------------------------------------------------------------


@dataclass
class Rate:
    ops: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.ops / self.seconds if self.seconds else 0.0


def closed_loop(threads: int, work: list[Any], do: Callable[[Any], None]) -> Rate:
    """Run `do` over `work` with `threads` workers pulling from one queue; the wall time of all."""
    items: queue.Queue[Any] = queue.Queue()
    for item in work:
        items.put(item)
    latencies: list[float] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start_gate = threading.Barrier(threads + 1)

    def worker() -> None:
        start_gate.wait()
        mine = []
        while True:
            try:
                item = items.get_nowait()
            except queue.Empty:
                break
            began = time.perf_counter()
            try:
                do(item)
            except BaseException as error:  # noqa: BLE001
                errors.append(error)
                break
            mine.append(time.perf_counter() - began)
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    start_gate.wait()
    began = time.perf_counter()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} operations failed; first: {errors[0]!r}")
    return Rate(len(latencies), elapsed, latencies)


class StockStore(Application[Any]):
    """A plain `eventsourcing` application on the service's event store (same table, same pool
    sizes) with eventsourcing's own PostgreSQL recorder: the baseline of the target."""

    name = Marketplace.name


def stock_store(settings: Settings) -> StockStore:
    env = {k: v for k, v in event_store_env(settings).items() if k != "APPLICATION_RECORDER_TOPIC"}
    return StockStore(env=env)


def in_process(container: Container, people: People, args: argparse.Namespace) -> dict[str, Rate]:
    per_round = args.ops
    consultants = [people.make("Consultant")[0] for _ in range(args.consultants)]
    client, _ = people.make("Client")
    days_needed = -(-per_round * args.rounds * 2 // (len(DEFAULT_SLOTS) * len(consultants)))
    slots = distinct_slots(consultants, weekdays(days_needed + 1))
    assert len(slots) >= per_round * args.rounds * 2, "not enough distinct slots"
    caller = Caller(client, "Client")
    market = container.market
    counter = iter(range(10**9))

    stock = stock_store(container.settings)

    def raw(_: Any) -> None:
        stock.save(Probe(n=next(counter)))

    def raw_service(_: Any) -> None:
        market.save(Probe(n=next(counter)))

    def hold(slot: Slot) -> None:
        start, end = interval(slot.day, slot.start)
        container.bookings.hold(caller, slot.consultant, client, start, end)

    # warm up both paths (connections, caches)
    closed_loop(args.threads, list(range(args.threads * 4)), raw)
    closed_loop(args.threads, list(range(args.threads * 4)), raw_service)
    warm = [Slot(c, weekdays(1, weeks_ahead=8)[0], s) for c in consultants[:2] for s in DEFAULT_SLOTS]
    closed_loop(args.threads, warm, hold)

    totals = {
        "raw saves": Rate(),
        "raw saves (service's recorder)": Rate(),
        "holds (as served)": Rate(),
        "holds (write side only)": Rate(),
    }
    cursor = 0
    served_barrier = market.barrier
    for round_index in range(args.rounds):
        for name in totals:
            if name.startswith("raw saves"):
                rate = closed_loop(args.threads, list(range(per_round)), raw if name == "raw saves" else raw_service)
            else:
                batch, cursor = slots[cursor : cursor + per_round], cursor + per_round
                market.barrier = served_barrier if name == "holds (as served)" else NoBarrier()
                try:
                    rate = closed_loop(args.threads, batch, hold)
                finally:
                    market.barrier = served_barrier
                container.runner.catch_up()
            total = totals[name]
            total.ops += rate.ops
            total.seconds += rate.seconds
            total.latencies += rate.latencies
            print(f"  round {round_index + 1} {name}: {rate.per_second:.0f}/s", flush=True)
    stock.close()
    return totals


# -- parts 2 and 3: over HTTP ---------------------------------------------------------------------


def hold_body(consultant: str, client: str, slot: Slot) -> dict[str, str]:
    start, end = interval(slot.day, slot.start)
    return {"consultant": consultant, "client": client, "startAt": iso(start), "endAt": iso(end)}


async def http_throughput(
    url: str, client: tuple[str, str], slots: list[Slot], connections: int
) -> tuple[Rate, Counter[int]]:
    client_id, token = client
    work: asyncio.Queue[Slot] = asyncio.Queue()
    for slot in slots:
        work.put_nowait(slot)
    statuses: Counter[int] = Counter()
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(url, connector=connector, headers={"Authorization": f"Bearer {token}"}) as session:
        await asyncio.gather(*(session.get(API + "/health") for _ in range(connections)))

        async def worker() -> None:
            while not work.empty():
                slot = work.get_nowait()
                began = time.perf_counter()
                async with session.post(
                    API + "/appointments/hold", json=hold_body(slot.consultant, client_id, slot)
                ) as reply:
                    await reply.read()
                    statuses[reply.status] += 1
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    return Rate(len(latencies), elapsed, latencies), statuses


@dataclass
class Contest:
    statuses: Counter[int]
    messages: Counter[str]
    losers: list[float]  # seconds
    winners: list[float]


async def contention(url: str, clients: list[tuple[str, str]], slot: Slot, generator: str) -> Contest:
    """Every client holds `slot` at once: with `generator` "raw" the protocol-level generator of
    `bench.raw_http` (requests built before the start, latency to each answer's last byte from the common
    start), with "aiohttp" one aiohttp session (each request sent by its own task, timed from the moment
    that task starts after the common start). Both build every body before the start."""
    bodies = [(json.dumps(hold_body(slot.consultant, client_id, slot)), token) for client_id, token in clients]
    results: list[tuple[int, str, float]] = []
    if generator == "raw":
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        requests = [
            raw_http.request_bytes("POST", f"{host}:{port}", API + "/appointments/hold", bearer(token), body)
            for body, token in bodies
        ]
        warm_up = raw_http.request_bytes("GET", f"{host}:{port}", API + "/health", {})
        start, answers = await raw_http.burst(host, port, warm_up, requests)
        for answer in answers:
            results.append((answer.status, str(answer.json().get("message", "")), answer.at - start))
    else:
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(url, connector=connector) as session:
            await asyncio.gather(*(session.get(API + "/health") for _ in clients))  # open every connection
            go = asyncio.Event()

            async def contender(body: str, token: str) -> None:
                await go.wait()
                began = time.perf_counter()
                async with session.post(
                    API + "/appointments/hold",
                    data=body,
                    headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                ) as reply:
                    answer = await reply.json()
                results.append((reply.status, str(answer.get("message", "")), time.perf_counter() - began))

            tasks = [asyncio.create_task(contender(body, token)) for body, token in bodies]
            await asyncio.sleep(0.2)
            go.set()
            await asyncio.gather(*tasks)
    return Contest(
        Counter(s for s, _, _ in results),
        Counter(m for s, m, _ in results if s != 200),
        [t for s, _, t in results if s == 409],
        [t for s, _, t in results if s == 200],
    )


# -- report ---------------------------------------------------------------------------------------


def contention_lines(generator: str, contests: list[Contest], invalid: list[str]) -> list[str]:
    losers = [t for c in contests for t in c.losers]
    statuses = sum((c.statuses for c in contests), Counter())
    return [
        f"- {generator}: status counts {dict(sorted(statuses.items()))} (exactly one 200 per slot: "
        f"{'NO' if any('contest' in i for i in invalid) else 'yes'}); refusals "
        f"{dict(sum((c.messages for c in contests), Counter()))}; losers (409) from the common start: "
        f"p50 {ms(percentile(losers, 0.5))} ms, p90 {ms(percentile(losers, 0.9))} ms, p99 "
        f"{ms(percentile(losers, 0.99))} ms, max {ms(max(losers) if losers else float('nan'))} ms "
        f"({len(losers)} requests); winners {', '.join(ms(t) + ' ms' for c in contests for t in c.winners)}",
    ]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def machine(load_before: tuple[float, float, float]) -> str:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=5) as conn:
        version = str(conn.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
    from importlib.metadata import version as installed

    return (
        f"`nproc` {len(os.sched_getaffinity(0))}, {cpu}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}, PostgreSQL {version}, eventsourcing "
        f"{installed('eventsourcing')}; load average before the run "
        f"{load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f} (1/5/15 min)"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=8, help="in-process workers (same for raw saves and holds)")
    parser.add_argument("--ops", type=int, default=300, help="operations per in-process round and kind")
    parser.add_argument("--rounds", type=int, default=3, help="in-process rounds (each runs every kind once)")
    parser.add_argument("--consultants", type=int, default=40)
    parser.add_argument("--connections", type=int, default=16, help="HTTP connections for the throughput part")
    parser.add_argument("--http-ops", type=int, default=600)
    parser.add_argument("--contenders", type=int, default=200)
    parser.add_argument("--contests", type=int, default=5, help="contended slots per load generator")
    parser.add_argument(
        "--generators",
        default="raw,aiohttp",
        help="load generators of the contention part, taking turns on fresh slots: raw (bench.raw_http, "
        "the figure of the target) and/or aiohttp",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="API processes for the HTTP parts (above 1: plus a projection worker, needs Redis)",
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--target-ratio", type=float, default=0.6)
    parser.add_argument("--target-p99-ms", type=float, default=400.0)
    parser.add_argument("--write", type=Path, help="write the report (markdown) to this file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_before = os.getloadavg()
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "`.venv/bin/python bench/booking.py " + " ".join(sys.argv[1:] if argv is None else argv) + "`"
    work = Path(tempfile.mkdtemp(prefix="bench-booking-"))
    invalid: list[str] = []
    with database("postgres") as url:
        settings = bench_settings(work, url)
        container = build(settings, run_projections=True)
        people = People(container)
        try:
            print("part 1: in process", flush=True)
            local = in_process(container, people, args)
            # accounts for the HTTP parts, made now (the server projects them on start)
            http_consultants = [people.make("Consultant")[0] for _ in range(args.consultants)]
            http_client = people.make("Client")
            generators = args.generators.split(",")
            contest_consultants = [people.make("Consultant")[0] for _ in range(args.contests * len(generators))]
            contenders = [people.make("Client") for _ in range(args.contenders)]
        finally:
            container.close()
        print("parts 2 and 3: over HTTP", flush=True)
        with consult_server(
            settings, work / "server.log", workers=args.workers, redis_url=args.redis_url if args.workers > 1 else None
        ) as served:
            base = served.url
            days = weekdays(-(-args.http_ops // (len(DEFAULT_SLOTS) * args.consultants)) + 1, weeks_ahead=3)
            slots = distinct_slots(http_consultants, days)[: args.http_ops]
            asyncio.run(
                http_throughput(
                    base, http_client, distinct_slots(http_consultants, weekdays(1, 9))[:64], args.connections
                )
            )  # warm-up
            over_http, http_statuses = asyncio.run(http_throughput(base, http_client, slots, args.connections))
            if set(http_statuses) != {200}:
                invalid.append(f"HTTP throughput statuses {dict(http_statuses)}")
            contests: dict[str, list[Contest]] = {generator: [] for generator in generators}
            for index, consultant in enumerate(contest_consultants):
                generator = generators[index % len(generators)]
                slot = Slot(consultant, weekdays(1, weeks_ahead=2)[0], DEFAULT_SLOTS[index % len(DEFAULT_SLOTS)])
                contest = asyncio.run(contention(base, contenders, slot, generator))
                contests[generator].append(contest)
                print(
                    f"  contest {index + 1} ({generator}): {dict(contest.statuses)}, losers p99 "
                    f"{ms(percentile(contest.losers, 0.99))} ms",
                    flush=True,
                )
                if contest.statuses != Counter({200: 1, 409: args.contenders - 1}) or set(contest.messages) != {TAKEN}:
                    invalid.append(f"contest {index + 1}: {dict(contest.statuses)} {dict(contest.messages)}")

    raw, served, write_only = local["raw saves"], local["holds (as served)"], local["holds (write side only)"]
    raw_service = local["raw saves (service's recorder)"]
    ratio_served = served.per_second / raw.per_second
    ratio_write = write_only.per_second / raw.per_second
    ratio_http = over_http.per_second / raw.per_second
    p99s = {generator: percentile([t for c in runs for t in c.losers], 0.99) for generator, runs in contests.items()}
    p99 = p99s[generators[0]]  # the target's figure: the first generator's
    ratio_met = ratio_served >= args.target_ratio
    p99_met = p99 * 1000 < args.target_p99_ms

    def row(name: str, rate: Rate, ratio: float | None) -> str:
        return (
            f"| {name} | {rate.ops} | {rate.per_second:.0f} | {ms(statistics.median(rate.latencies))} | "
            f"{ms(percentile(rate.latencies, 0.99))} | {'' if ratio is None else f'{ratio:.2f}'} |"
        )

    lines = [
        "# Benchmarks: booking (issue 4)",
        "",
        "Booking throughput on distinct slots on PostgreSQL against the raw rate of single-aggregate saves of",
        "`eventsourcing` measured in the same run, and the latency of the losing requests under 200-way contention",
        "on one slot over HTTP. Script: `bench/booking.py` (its docstring describes the method).",
        "",
        f"- Date: {started_at}",
        f"- Machine: {machine(load_before)}",
        f"- Command: {command}",
        "- Database: a throwaway PostgreSQL database on 127.0.0.1 (dropped afterwards). HTTP parts: "
        + (
            "one `consult serve` process (uvicorn, projections in-process)"
            if args.workers == 1
            else f"`consult serve --workers {args.workers}` ({args.workers} API processes without projections, one "
            "`consult worker` child running them, Redis for Socket.IO and rate limits; read-your-writes by polling "
            "the committed projection position)"
        )
        + "; the load generator on the same machine.",
        "",
        f"## Throughput on distinct slots ({args.threads} in-process threads; {args.connections} HTTP connections)",
        "",
        "| what | operations | per second | p50 ms | p99 ms | ratio to raw saves |",
        "|---|---:|---:|---:|---:|---:|",
        row("raw `eventsourcing` saves (one trivial aggregate each, eventsourcing's recorder)", raw, None),
        row(
            "raw saves through the service's recorder (`infrastructure.event_store`)",
            raw_service,
            raw_service.per_second / raw.per_second,
        ),
        row("holds through the application layer, as served (read-your-writes projection)", served, ratio_served),
        row("holds through the application layer, write side only", write_only, ratio_write),
        row(f"holds over HTTP (POST /appointments/hold, {args.connections} connections)", over_http, ratio_http),
        "",
        f"In process: {args.rounds} alternating rounds of {args.ops} operations per kind; {args.consultants} "
        f"consultants x weekdays x 6 default slots, ordered so that concurrent workers rarely share a "
        f"consultant-day aggregate. Every hold answered 200 (HTTP statuses: {dict(http_statuses)}).",
        "",
        f"## Contention: {args.contenders} clients hold one slot at once, {args.contests} times per load "
        f"generator ({', '.join(generators)}, taking turns), over HTTP",
        "",
        *[line for generator, runs in contests.items() for line in contention_lines(generator, runs, invalid)],
        "",
        "## Targets",
        "",
        f"- Holds as served >= {args.target_ratio} x raw saves of eventsourcing: {ratio_served:.2f} -> "
        f"{'met' if ratio_met else 'NOT met'} (write side only: {ratio_write:.2f}, "
        f"{'met' if ratio_write >= args.target_ratio else 'not met'}; over HTTP: {ratio_http:.2f}; "
        f"as served against the raw saves through the service's own recorder: "
        f"{served.per_second / raw_service.per_second:.2f})",
        f"- p99 of the losing requests under {args.contenders}-way contention < {args.target_p99_ms:.0f} ms: "
        f"{ms(p99)} ms ({generators[0]} generator) -> {'met' if p99_met else 'NOT met'}"
        + "".join(f"; {generator} generator: {ms(value)} ms" for generator, value in list(p99s.items())[1:]),
    ]
    lines += ["", "## Where the time goes", ""] + NOTES
    if invalid:
        lines += ["", "## INVALID RUN", ""] + [f"- {problem}" for problem in invalid]
    report = "\n".join(lines) + "\n"
    if args.write:
        args.write.write_text(report)
    print(report)
    if invalid:
        return 1
    return 0 if ratio_met and p99_met else 2


if __name__ == "__main__":
    sys.exit(main())
