"""Benchmark: `availability:updated` fan-out to 1,000 Socket.IO clients after a PUT of availability,
against a bare python-socketio broadcast to 1,000 clients in the same run.

- product: a real `consult serve` process (one uvicorn process, projections in-process) holding an
  admin, an Active consultant and a client created over HTTP. Each measured round is one
  `PUT /api/v1/consultant-settings/{id}/availability` (the consultant's token; the Tuesday window
  alternates so the slots really change); the delay of a socket is its receipt time minus the time
  the PUT's response arrived.
- bare: a tiny standalone python-socketio ASGI server under uvicorn, started by this script in a
  process of its own (`--bare-server`), whose `POST /trigger` schedules one
  `AsyncServer.emit("availability:updated", ...)` to every socket and answers at once (as the product
  schedules its emit on the event loop after the projection committed). The difference between the
  two is the product's overhead (HTTP handling of the PUT, command, event store, projection, emit).

1,000 Socket.IO clients per server (websocket transport, the client's token as `auth={"token": ...}`)
are spread over `--receivers` processes (`--receiver`), which timestamp every receipt with
`time.time()` (one host, one clock) and report their own CPU time per round, so one can check that
the client side is not the bottleneck. The clients are the same kind for both servers:
`--client wire` (the default) is `WireClient`, Socket.IO spoken at protocol level over aiohttp
websockets (Engine.IO v4 handshake, `40` connect with the token, pongs, parsed `42` events), about
40 % of the CPU per received event of `--client socketio`, python-socketio's `AsyncClient`. On
this 2-core machine the receivers share the cores with the server, so the lighter client leaves the
server the CPU a deployment's server has (its clients are elsewhere). Rounds alternate product/bare
(ABBA). A round ends when every socket has the event, or after `--timeout` seconds (then the
sockets still waiting are misses).

`--workers N` (PostgreSQL) runs the product as `consult serve --workers N` with Redis: the sockets
spread over N API processes, the projections run in the worker child, which pushes through Redis,
so the push can reach the sockets before the PUT's answer (the API process waits until the worker
has the change); the "after the request was sent" column then compares fairly.

Exit status 1: invalid run (a socket failed to connect, a non-2xx answer, a miss, a duplicate or a
stray event). Exit status 2: valid but the product misses a target (median < 150 ms, p95 < 300 ms).

    .venv/bin/python bench/socket_fanout.py                      # SQLite (embedded default), wire clients
    .venv/bin/python bench/socket_fanout.py --client socketio    # python-socketio AsyncClient receivers
    .venv/bin/python bench/socket_fanout.py --backend postgres   # throwaway database, dropped after
    .venv/bin/python bench/socket_fanout.py --backend postgres --workers 2   # + Redis (REDIS_URL)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (  # noqa: E402
    ROOT,
    Scenario,
    availability_patch,
    bearer,
    bench_settings,
    consult_server,
    cpu_seconds,
    database,
    free_port,
    machine,
    median,
    percentile,
    statuses_text,
    stop_process,
    utc_stamp,
    wait_http,
)

EVENT = "availability:updated"
TAGS = ("product", "bare")


# -- the bare broadcast server (its own process) --------------------------------------------------


def bare_server(port: int) -> None:
    import socketio
    import uvicorn

    from infrastructure.realtime import WEBSOCKET_PROTOCOL  # the product's, so only the product differs

    sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
    sequence = [0]
    pending: set[asyncio.Task[Any]] = set()

    @sio.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not (isinstance(auth, dict) and auth.get("token")):
            raise socketio.exceptions.ConnectionRefusedError("Authentication error: No token provided")

    async def http(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        status, body = 404, b'{"success":false}'
        if scope["path"] == "/health":
            status, body = 200, b'{"success":true}'
        elif scope["path"] == "/trigger" and scope["method"] == "POST":
            sequence[0] += 1
            data = {"consultantId": "bare", "targetUserId": "bare", "reason": "availability", "seq": sequence[0]}
            task = asyncio.get_running_loop().create_task(sio.emit(EVENT, data))  # like LoopBroadcaster
            pending.add(task)
            task.add_done_callback(pending.discard)
            status, body = 200, json.dumps({"success": True, "seq": sequence[0]}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    uvicorn.run(
        socketio.ASGIApp(sio, other_asgi_app=http),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws=WEBSOCKET_PROTOCOL,
    )


# -- a receiver process: many Socket.IO clients, driven over stdin/stdout --------------------------


class WireClient:
    """A Socket.IO client written at protocol level on one aiohttp websocket: Engine.IO v4 over the
    websocket transport, as `socket.io-client` with `transports: ["websocket"]` speaks it.

    Handshake: the server's open packet `0{"sid":..,"pingInterval":..}`; `40{"token":..}` connects the
    default namespace with the auth payload; the answer is `40{"sid":..}` (or `44{..}`, a refusal:
    the connection fails). Then every server ping `2` is answered with a pong `3`, every event
    `42["name",payload]` is parsed (JSON) and handed to `on_event` when its name is the benchmark's,
    and `41` / `1` (namespace disconnect / engine close) end the reader. `disconnect()` sends `41` and
    closes the websocket, as the JS client does.

    Why it exists: python-socketio's `AsyncClient` spends about 2.5 times this client's CPU per
    received event (its engine.io reader and writer tasks, a `wait_for` per packet, queues, the
    event dispatch); 1,000 of them take about as much of the machine's 2 cores per round as the
    server they measure. This client does the same protocol work with one task per socket and
    aiohttp's C frame reader (`--client socketio` keeps the python-socketio receivers)."""

    def __init__(self, ws: Any, on_event: Any):
        self.ws = ws
        self.on_event = on_event
        self.connected = True
        self.reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def connect(cls, session: Any, url: str, token: str, on_event: Any, timeout: float = 60) -> WireClient:
        import aiohttp

        ws = await session.ws_connect(
            url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket",
            timeout=aiohttp.ClientWSTimeout(ws_close=timeout),
            autoping=False,
        )
        try:
            opening = await ws.receive_str(timeout=timeout)
            if not opening.startswith("0") or "sid" not in json.loads(opening[1:]):
                raise ConnectionError(f"not an engine.io open packet: {opening[:80]!r}")
            await ws.send_str("40" + json.dumps({"token": token}))
            answer = await ws.receive_str(timeout=timeout)
            if not answer.startswith("40") or "sid" not in json.loads(answer[2:]):
                raise ConnectionError(f"namespace connection refused: {answer[:200]!r}")
        except BaseException:
            await ws.close()
            raise
        return cls(ws, on_event)

    async def _read(self) -> None:
        import aiohttp

        try:
            async for message in self.ws:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                data = message.data
                if data == "2":  # engine.io ping
                    await self.ws.send_str("3")
                elif data.startswith("42"):
                    name, *args = json.loads(data[2:])
                    if name == EVENT:
                        self.on_event(args[0] if args else None)
                elif data.startswith("41") or data == "1":
                    break
        finally:
            self.connected = False

    async def disconnect(self) -> None:
        if self.connected and not self.ws.closed:
            with contextlib.suppress(Exception):
                await self.ws.send_str("41")
        await self.ws.close()
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


class ReceiverState:
    def __init__(self) -> None:
        self.sockets: dict[str, list[Any]] = {tag: [] for tag in TAGS}
        self.round: dict[str, int | None] = {tag: None for tag in TAGS}
        self.times: dict[str, dict[int, float]] = {tag: {} for tag in TAGS}  # socket index -> receipt
        self.duplicates: Counter[str] = Counter()
        self.strays: Counter[str] = Counter()  # receipts outside any round (never reset)
        self.cpu_start = 0.0
        self.cpu_first = 0.0  # CPU time at the round's first receipt in this process
        self.reported = False


def emit_line(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


async def receiver(kind: str) -> None:
    import aiohttp
    import socketio

    state = ReceiverState()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)

    def report(tag: str, complete: bool) -> None:
        state.reported = True
        now = time.process_time()
        emit_line(
            {
                "type": "round",
                "tag": tag,
                "round": state.round[tag],
                "complete": complete,
                "times": sorted(state.times[tag].values()),
                "cpu": now - state.cpu_start,
                "cpu_receiving": now - state.cpu_first if state.times[tag] else 0.0,
                "duplicates": state.duplicates[tag],
            }
        )

    def handler_for(tag: str, index: int) -> Any:
        def on_event(_payload: Any) -> None:
            now = time.time()
            if state.round[tag] is None:
                state.strays[tag] += 1
                return
            if index in state.times[tag]:
                state.duplicates[tag] += 1
                return
            if not state.times[tag]:
                state.cpu_first = time.process_time()
            state.times[tag][index] = now
            if len(state.times[tag]) == len(state.sockets[tag]) and not state.reported:
                report(tag, True)

        return on_event

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) if kind == "wire" else None

    async def connect(tag: str, url: str, token: str, index: int) -> bool:
        try:
            if session is not None:
                client: Any = await WireClient.connect(session, url, token, handler_for(tag, index))
            else:
                client = socketio.AsyncClient(reconnection=False)
                client.on(EVENT, handler_for(tag, index))
                await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=60)
        except Exception:  # noqa: BLE001 - counted and reported as a failed connection
            return False
        state.sockets[tag].append(client)
        return True

    while True:
        line = await reader.readline()
        if not line:
            break
        command = json.loads(line)
        cmd = command["cmd"]
        if cmd == "connect":
            tag, results = command["tag"], []
            for first in range(0, command["count"], 50):  # 50 handshakes at a time
                batch = range(first, min(command["count"], first + 50))
                results += await asyncio.gather(*(connect(tag, command["url"], command["token"], i) for i in batch))
            emit_line({"type": "connected", "tag": tag, "ok": sum(results), "failed": len(results) - sum(results)})
        elif cmd == "begin":  # a round starts: every receipt from now on belongs to it
            tag = command["tag"]
            state.round[tag], state.times[tag], state.reported = command["round"], {}, False
            state.duplicates[tag] = 0
            state.cpu_start = time.process_time()
            emit_line({"type": "ready", "tag": tag, "round": command["round"]})
        elif cmd == "report":  # the coordinator timed out: say what arrived
            if not state.reported:
                report(command["tag"], False)
        elif cmd == "end":
            state.round[command["tag"]] = None
            emit_line({"type": "ended", "tag": command["tag"]})
        elif cmd == "stats":
            usage = os.times()
            emit_line(
                {
                    "type": "stats",
                    "cpu": usage.user + usage.system,
                    "strays": dict(state.strays),
                    "connected": {t: sum(c.connected for c in state.sockets[t]) for t in TAGS},
                }
            )
        elif cmd == "quit":
            break
    for tag in TAGS:
        await asyncio.gather(*(client.disconnect() for client in state.sockets[tag]), return_exceptions=True)
    if session is not None:
        await session.close()


# -- the coordinator ------------------------------------------------------------------------------


class Receiver:
    def __init__(self, process: asyncio.subprocess.Process, sockets: int):
        self.process = process
        self.sockets = sockets
        self.lines: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                await self.lines.put({"type": "exited"})
                return
            await self.lines.put(json.loads(line))

    async def send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps(command) + "\n").encode())
        await self.process.stdin.drain()

    async def expect(self, kind: str, timeout: float) -> dict[str, Any]:
        while True:
            message = await asyncio.wait_for(self.lines.get(), timeout)
            if message["type"] == "exited":
                raise RuntimeError("a receiver process exited")
            if message["type"] == kind:
                return message


@dataclass
class Round:
    tag: str
    number: int
    status: str
    delays: list[float] = field(default_factory=list)  # seconds after the response, one per socket received
    misses: int = 0
    duplicates: int = 0
    receiver_cpu: list[float] = field(default_factory=list)  # seconds of CPU per receiver process in the round
    # per receiver process: CPU seconds / wall seconds between its first and its last receipt (1.0 = saturated)
    receiver_busy: list[float] = field(default_factory=list)
    response_seconds: float = 0.0  # the PUT / trigger request's own duration
    server_cpu: float = 0.0  # CPU seconds the server's processes used during the round

    @property
    def last(self) -> float:
        return max(self.delays) if self.delays else float("nan")


async def one_round(
    tag: str, number: int, receivers: list[Receiver], fire: Any, timeout: float, server_pid: int
) -> Round:
    for r in receivers:
        await r.send({"cmd": "begin", "tag": tag, "round": number})
    for r in receivers:
        await r.expect("ready", 30)
    cpu_before = tree_cpu_seconds(server_pid)
    sent = time.time()
    status = await fire()
    responded = time.time()
    result = Round(tag, number, status, response_seconds=responded - sent)
    deadline = time.monotonic() + timeout
    reports = []
    for r in receivers:
        try:
            reports.append(await r.expect("round", max(0.01, deadline - time.monotonic())))
        except TimeoutError:
            await r.send({"cmd": "report", "tag": tag})
            reports.append(await r.expect("round", 30))
    result.server_cpu = tree_cpu_seconds(server_pid) - cpu_before
    for r, report in zip(receivers, reports, strict=True):
        result.delays += [t - responded for t in report["times"]]
        result.misses += r.sockets - len(report["times"])
        result.duplicates += report["duplicates"]
        result.receiver_cpu.append(report["cpu"])
        times = report["times"]
        if len(times) > 1 and times[-1] > times[0]:
            result.receiver_busy.append(report["cpu_receiving"] / (times[-1] - times[0]))
    for r in receivers:
        await r.send({"cmd": "end", "tag": tag})
        await r.expect("ended", 30)
    return result


async def coordinate(
    args: argparse.Namespace,
    product_url: str,
    scenario: Scenario,
    bare_url: str,
    pids: dict[str, int],
    out: dict[str, Any],
) -> list[Round]:
    import httpx

    per = [
        args.sockets // args.receivers + (1 if i < args.sockets % args.receivers else 0) for i in range(args.receivers)
    ]
    receivers = []
    for count in per:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).resolve()),
            "--receiver",
            "--client",
            args.client,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
        )
        receivers.append(Receiver(process, count))
    try:
        started = time.perf_counter()
        for tag, url in (("product", product_url), ("bare", bare_url)):
            for r in receivers:
                await r.send({"cmd": "connect", "tag": tag, "url": url, "token": scenario.client, "count": r.sockets})
            connected = [await r.expect("connected", 600) for r in receivers]
            failed = sum(c["failed"] for c in connected)
            print(f"connected {sum(c['ok'] for c in connected)} sockets to {tag} ({failed} failed)", flush=True)
            out.setdefault("connect_failures", 0)
            out["connect_failures"] += failed
        out["connect_seconds"] = time.perf_counter() - started
        await asyncio.sleep(1.0)

        async with httpx.AsyncClient(timeout=60) as http:
            put_url = product_url + scenario.availability_path()
            headers = bearer(scenario.consultant)
            counter = [0]

            async def put() -> str:
                counter[0] += 1
                reply = await http.put(put_url, json=availability_patch(counter[0]), headers=headers)
                return str(reply.status_code)

            async def trigger() -> str:
                reply = await http.post(bare_url + "/trigger")
                return str(reply.status_code)

            fire = {"product": put, "bare": trigger}
            for number in range(args.warmup):  # not measured: connections, caches, first-use paths
                for tag in TAGS:
                    await one_round(tag, -1 - number, receivers, fire[tag], args.timeout, pids[tag])
            rounds = []
            for number in range(args.puts):
                for tag in TAGS if number % 2 == 0 else tuple(reversed(TAGS)):
                    rounds.append(await one_round(tag, number, receivers, fire[tag], args.timeout, pids[tag]))
                if (number + 1) % 10 == 0:
                    done = [r for r in rounds if r.tag == "product"]
                    print(
                        f"{number + 1} rounds: product last-socket median so far "
                        f"{median(r.last for r in done) * 1000:.0f} ms",
                        flush=True,
                    )
        for r in receivers:
            await r.send({"cmd": "stats"})
        stats = [await r.expect("stats", 30) for r in receivers]
        out["receiver_cpu_total"] = sum(s["cpu"] for s in stats)
        out["still_connected"] = {tag: sum(s["connected"][tag] for s in stats) for tag in TAGS}
        out["strays_after"] = sum(sum(s["strays"].values()) for s in stats)
        return rounds
    finally:
        for r in receivers:
            with contextlib.suppress(Exception):
                await r.send({"cmd": "quit"})
        for r in receivers:
            try:
                await asyncio.wait_for(r.process.wait(), 30)
            except TimeoutError:
                r.process.kill()
                await r.process.wait()
            r.reader.cancel()


@contextlib.contextmanager
def bare_process(log_path: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--bare-server", str(port)],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/health", process, log_path)
        yield url, process.pid
    finally:
        stop_process(process)


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and all its descendants (`consult serve --workers N`: uvicorn's
    supervisor, its N API processes and the projection worker)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            children.setdefault(int(stat.read_text().rsplit(")", 1)[1].split()[1]), []).append(int(stat.parent.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        with contextlib.suppress(OSError):
            total += cpu_seconds(current)
        todo += children.get(current, [])
    return total


def ms(value: float) -> str:
    return f"{value * 1000:.0f}"


def summarise(rounds: list[Round], tag: str) -> dict[str, Any]:
    mine = [r for r in rounds if r.tag == tag]
    lasts = [r.last for r in mine]
    every = [d for r in mine for d in r.delays]
    cpu = [sum(r.receiver_cpu) for r in mine]
    busiest = [max(r.receiver_cpu) for r in mine]
    return {
        "rounds": len(mine),
        "statuses": Counter(r.status for r in mine),
        "last_p50": median(lasts),
        "last_p95": percentile(lasts, 0.95),
        "last_max": max(lasts),
        "socket_p50": median(every),
        "first_p50": median(min(r.delays) for r in mine if r.delays),
        "misses": sum(r.misses for r in mine),
        "duplicates": sum(r.duplicates for r in mine),
        "deliveries": len(every),
        "client_cpu_p50": median(cpu),
        "busiest_client_cpu_p50": median(busiest),
        "response_p50": median(r.response_seconds for r in mine),
        "since_sent_p50": median(r.last + r.response_seconds for r in mine),
        "since_sent_p95": percentile((r.last + r.response_seconds for r in mine), 0.95),
        # a mean: /proc counts CPU in 10 ms ticks, too coarse for one round's median
        "server_cpu_mean": sum(r.server_cpu for r in mine) / len(mine),
        "busy_p50": median(max(r.receiver_busy) for r in mine if r.receiver_busy),
    }


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--sockets", type=int, default=1000, help="sockets per server")
    parser.add_argument("--receivers", type=int, default=4, help="client processes holding the sockets")
    parser.add_argument(
        "--client",
        choices=("wire", "socketio"),
        default="wire",
        help="receiving clients: protocol-level Socket.IO clients on aiohttp websockets (wire, the default) "
        "or python-socketio AsyncClients (socketio); the same kind for the product and the bare server",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="`consult serve --workers N` for the product: N API processes sharing the sockets, a projection "
        "worker, Socket.IO emits through Redis (needs --backend postgres)",
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"), help="for --workers above 1"
    )
    parser.add_argument("--puts", type=int, default=60, help="measured PUTs (and as many bare broadcasts)")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured rounds per server first")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds a round waits for every socket")
    parser.add_argument("--receiver", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.workers > 1 and args.backend != "postgres":
        parser.error("--workers above 1 needs --backend postgres (as `consult serve` does)")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.receiver:
        asyncio.run(receiver(args.client))
        return 0
    if args.bare_server:
        bare_server(args.bare_server)
        return 0
    print(f"machine: {machine()}", flush=True)
    command = " ".join([".venv/bin/python bench/socket_fanout.py", *(sys.argv[1:] if argv is None else argv)])
    out: dict[str, Any] = {}
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="consult-bench-fanout-")))
        settings = bench_settings(work, stack.enter_context(database(args.backend)))
        if args.workers > 1:  # a channel of its own: no other process on this Redis reaches the sockets
            os.environ["SOCKETIO_CHANNEL"] = f"consult-bench-fanout-{os.getpid()}"
        served = stack.enter_context(
            consult_server(settings, work / "server.log", args.workers, args.redis_url if args.workers > 1 else None)
        )
        scenario = Scenario(served.url)
        stack.callback(scenario.close)
        bare_url, bare_pid = stack.enter_context(bare_process(work / "bare.log"))
        server_cpu_before = tree_cpu_seconds(served.process.pid)
        rounds = asyncio.run(
            coordinate(args, served.url, scenario, bare_url, {"product": served.process.pid, "bare": bare_pid}, out)
        )
        server_cpu = tree_cpu_seconds(served.process.pid) - server_cpu_before

    product, bare = summarise(rounds, "product"), summarise(rounds, "bare")
    print()
    print(
        f"{utc_stamp()}, `{command}`, {args.backend}, {args.sockets} sockets per server over "
        f"{args.receivers} receiver processes ({args.client} clients), product on {args.workers} API "
        f"process{'es' if args.workers > 1 else ''}, {args.puts} rounds per server (ABBA), timeout {args.timeout:g} s"
    )
    print()
    print(
        "| | rounds | statuses | last socket p50 ms | last socket p95 ms | last socket max ms | "
        "every socket p50 ms | first socket p50 ms | misses | duplicates | request ms p50 | "
        "last socket after the request was sent p50 / p95 ms | server CPU ms per round (mean) |"
    )
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|")
    for name, s in (("product: PUT availability", product), ("bare python-socketio broadcast", bare)):
        print(
            f"| {name} | {s['rounds']} | {statuses_text(s['statuses'])} | {ms(s['last_p50'])} | "
            f"{ms(s['last_p95'])} | {ms(s['last_max'])} | {ms(s['socket_p50'])} | {ms(s['first_p50'])} | "
            f"{s['misses']} | {s['duplicates']} | {ms(s['response_p50'])} | "
            f"{ms(s['since_sent_p50'])} / {ms(s['since_sent_p95'])} | {ms(s['server_cpu_mean'])} |"
        )
    print(
        f"| product - bare | | | {ms(product['last_p50'] - bare['last_p50'])} | "
        f"{ms(product['last_p95'] - bare['last_p95'])} | | {ms(product['socket_p50'] - bare['socket_p50'])} | | | | | "
        f"{ms(product['since_sent_p50'] - bare['since_sent_p50'])} / {ms(product['since_sent_p95'] - bare['since_sent_p95'])} | "
        f"{ms(product['server_cpu_mean'] - bare['server_cpu_mean'])} |"
    )
    print(
        f"| product / bare | | | {product['last_p50'] / bare['last_p50']:.2f}x | "
        f"{product['last_p95'] / bare['last_p95']:.2f}x | | | | | | | | |"
    )
    print()
    print(
        f"Client side: all receiver processes together used a median {ms(product['client_cpu_p50'])} ms "
        f"(product) / {ms(bare['client_cpu_p50'])} ms (bare) of CPU per round of {args.sockets} deliveries; "
        f"the busiest receiver process {ms(product['busiest_client_cpu_p50'])} / "
        f"{ms(bare['busiest_client_cpu_p50'])} ms per round, and was busy {product['busy_p50']:.0%} / "
        f"{bare['busy_p50']:.0%} of the time between its first and its last receipt (median of rounds). "
        f"Receivers' CPU over the whole run {out['receiver_cpu_total']:.1f} s; product server CPU during "
        f"the run {server_cpu:.1f} s. Connecting {2 * args.sockets} sockets took {out['connect_seconds']:.1f} s."
    )
    problems = []
    if out.get("connect_failures"):
        problems.append(f"{out['connect_failures']} sockets failed to connect")
    if any(count != args.sockets for count in out["still_connected"].values()):
        problems.append(f"sockets still connected at the end: {out['still_connected']}")
    for name, s in (("product", product), ("bare", bare)):
        if not all(status.startswith("2") for status in s["statuses"]):
            problems.append(f"{name}: non-2xx answers {statuses_text(s['statuses'])}")
        if s["misses"] or s["duplicates"]:
            problems.append(f"{name}: {s['misses']} misses, {s['duplicates']} duplicates")
    if out["strays_after"]:
        problems.append(f"{out['strays_after']} events arrived outside any round")
    met_median, met_p95 = product["last_p50"] < 0.150, product["last_p95"] < 0.300
    print(
        f"Targets (product, last of {args.sockets} sockets after the PUT's response): median < 150 ms "
        f"{'met' if met_median else 'MISSED'} ({ms(product['last_p50'])} ms); p95 < 300 ms "
        f"{'met' if met_p95 else 'MISSED'} ({ms(product['last_p95'])} ms)."
    )
    if problems:
        for problem in problems:
            print(f"INVALID: {problem}", file=sys.stderr)
        return 1
    return 0 if met_median and met_p95 else 2


if __name__ == "__main__":
    sys.exit(main())
