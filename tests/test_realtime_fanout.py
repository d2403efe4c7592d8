"""The Socket.IO server's engine.io adaptation (`interfaces.realtime.WriterQueue`, set through
engine.io's public `create_queue` hook by `use_writer_queues`):
the queue keeps `asyncio.Queue`'s behaviour, engine.io's writer still takes its packets from it without
a task per packet (these tests fail if python-engineio's internals change under us), and on a real
uvicorn websocket the pings, the events and both kinds of disconnect still work."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import engineio
import pytest
import socketio
import uvicorn
import websocket
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_socket import AsyncSocket

from infrastructure.realtime import WEBSOCKET_PROTOCOL
from interfaces.realtime import WriterQueue, create_socket_server, use_writer_queues
from tests.conftest import free_port


def test_writer_queue_behaves_as_an_unbounded_fifo_with_task_accounting():
    async def scenario() -> None:
        q = WriterQueue()
        q.put_nowait("a")
        await q.put("b")
        assert q.qsize() == 2 and not q.empty()
        assert await q.get() == "a"
        assert q.get_nowait() == "b"
        with pytest.raises(asyncio.QueueEmpty):
            q.get_nowait()

        waiting = q.get()  # a getter registered before the put gets the item
        assert not waiting.done()
        q.put_nowait("c")
        assert await waiting == "c"
        assert q.empty()

        gone = q.get()  # a getter cancelled (a timed-out poll) loses nothing
        gone.cancel()
        q.put_nowait("d")
        assert q.qsize() == 1
        assert await q.get() == "d"

        joined = asyncio.ensure_future(q.join())  # four items put, none done yet
        for _ in range(3):
            q.task_done()
        await asyncio.sleep(0.01)
        assert not joined.done()
        q.task_done()
        await asyncio.wait_for(joined, 1)
        with pytest.raises(ValueError):
            q.task_done()
        await asyncio.wait_for(q.join(), 1)  # nothing unfinished: returns at once

    asyncio.run(scenario())


def test_socket_server_gives_every_engineio_socket_a_writer_queue():
    server = create_socket_server(tokens=None, redis_url=None, channel="test")  # type: ignore[arg-type]
    assert type(server) is socketio.AsyncServer and type(server.eio) is engineio.AsyncServer  # the libraries' own
    assert isinstance(AsyncSocket(server.eio, "sid").queue, WriterQueue)
    assert not isinstance(AsyncSocket(socketio.AsyncServer(async_mode="asgi").eio, "sid").queue, WriterQueue)


def test_engineio_poll_reads_the_writer_queue_without_a_task_per_packet():
    """What the gain rests on: `AsyncSocket.poll` waits on `queue.get()` through `wait_for`; with a
    Future no extra task exists while it waits (with `asyncio.Queue` on Python 3.11 there is one)."""

    async def scenario() -> None:
        server = engineio.AsyncServer(async_mode="asgi", ping_interval=0.05, ping_timeout=0.05)
        use_writer_queues(server)
        sock = AsyncSocket(server, "sid")
        for _ in range(3):
            polling = asyncio.ensure_future(sock.poll())
            await asyncio.sleep(0.001)
            assert not polling.done()
            assert asyncio.all_tasks() == {asyncio.current_task(), polling}
            first, second = eio_packet.Packet(eio_packet.MESSAGE, "x"), eio_packet.Packet(eio_packet.PING)
            sock.queue.put_nowait(first)
            sock.queue.put_nowait(second)
            assert await asyncio.wait_for(polling, 1) == [first, second]  # the waiting one, then the rest
            assert sock.queue._unfinished == 0  # poll marked both done (what close(wait=True) waits for)
            sock.queue.put_nowait(first)  # put before the poll: no waiting at all
            assert await asyncio.wait_for(sock.poll(), 1) == [first]
        sock.queue.put_nowait(None)  # the reader's "connection gone"
        assert await sock.poll() == []
        with pytest.raises(eio_exceptions.QueueEmpty):  # nothing within ping_interval + ping_timeout
            await sock.poll()
        sock.queue.put_nowait(eio_packet.Packet(eio_packet.NOOP))  # the timed-out getter took nothing
        assert len(await asyncio.wait_for(sock.poll(), 1)) == 1

    asyncio.run(scenario())


class LiveServer:
    """python-socketio's server with writer queues under a real uvicorn (the product's websocket protocol) in a thread, with a
    short ping cycle so that the pings and a ping timeout happen within the test."""

    def __init__(self, ping_interval: float = 0.3, ping_timeout: float = 0.6):
        self.sio = socketio.AsyncServer(async_mode="asgi", ping_interval=ping_interval, ping_timeout=ping_timeout)
        use_writer_queues(self.sio.eio)
        self.connected: set[str] = set()
        self.auth: dict[str, Any] = {}
        self.disconnected: dict[str, Any] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

        @self.sio.event
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
            self.loop = asyncio.get_running_loop()
            if auth == {"token": "refused"}:
                raise socketio.exceptions.ConnectionRefusedError("Authentication error: Invalid token")
            self.auth[sid] = auth
            self.connected.add(sid)

        @self.sio.event
        async def disconnect(sid: str, reason: Any = None) -> None:
            self.disconnected[sid] = reason

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.uvicorn = uvicorn.Server(
            uvicorn.Config(
                socketio.ASGIApp(self.sio), host="127.0.0.1", port=self.port, log_level="warning", ws=WEBSOCKET_PROTOCOL
            )
        )
        self.thread = threading.Thread(target=self.uvicorn.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.uvicorn.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)

    def emit(self, event: str, data: Any) -> None:
        assert self.loop is not None
        asyncio.run_coroutine_threadsafe(self.sio.emit(event, data), self.loop).result(5)

    def stop(self) -> None:
        self.uvicorn.should_exit = True
        self.thread.join(10)


@pytest.fixture
def live() -> Any:
    server = LiveServer()
    yield server
    server.stop()


def wait_until(condition: Any, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_pings_events_and_a_client_disconnect_over_a_real_websocket(live):
    received: list[Any] = []
    client = socketio.Client(reconnection=False)
    client.on("availability:updated", received.append)
    client.connect(live.url, transports=["websocket"], wait_timeout=10)
    try:
        time.sleep(2.0)  # six ping cycles, each ping sent through the writer queue and answered
        assert client.connected and len(live.connected) == 1 and not live.disconnected
        for n in range(3):
            live.emit("availability:updated", {"consultantId": "c", "n": n})
        wait_until(lambda: len(received) == 3)
        assert [event["n"] for event in received] == [0, 1, 2]
    finally:
        client.disconnect()
    wait_until(lambda: live.disconnected.keys() == live.connected)


def test_a_client_that_never_answers_pings_is_disconnected(live):
    ws = websocket.create_connection(
        live.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket", timeout=10
    )
    try:
        opening = ws.recv()
        assert opening.startswith("0") and json.loads(opening[1:])["sid"]
        ws.send("40")
        assert ws.recv().startswith("40")
        wait_until(lambda: len(live.connected) == 1)
        assert ws.recv() == "2"  # the first ping, through the writer queue; never answered
        wait_until(lambda: live.disconnected.keys() == live.connected, timeout=5)
        (reason,) = live.disconnected.values()
        # the service task's ping check and the reader's own timeout (ping_interval + ping_timeout after
        # the last packet received) fall due together; either one drops the socket
        assert reason in (live.sio.reason.PING_TIMEOUT, live.sio.reason.TRANSPORT_CLOSE)
    finally:
        ws.close()


def test_the_benchmark_wire_client_speaks_socket_io(live):
    """`bench/socket_fanout.py`'s protocol-level receiver: handshake with the auth token, pongs (it stays
    connected over several ping cycles), parsed events of the benchmark's name only, a refusal fails
    the connection, and its disconnect reaches the server."""
    import aiohttp

    from bench.socket_fanout import EVENT, WireClient

    async def scenario() -> None:
        received: list[Any] = []
        async with aiohttp.ClientSession() as session:
            with pytest.raises(ConnectionError, match="refused"):
                await WireClient.connect(session, live.url, "refused", received.append, timeout=10)
            client = await WireClient.connect(session, live.url, "secret", received.append, timeout=10)
            assert list(live.auth.values()) == [{"token": "secret"}]
            await asyncio.sleep(2.0)  # six ping cycles
            assert client.connected and not live.disconnected
            await asyncio.to_thread(live.emit, "something:else", {"n": -1})
            for n in range(3):
                await asyncio.to_thread(live.emit, EVENT, {"consultantId": "c", "n": n})
            for _ in range(250):
                if len(received) == 3:
                    break
                await asyncio.sleep(0.02)
            assert [event["n"] for event in received] == [0, 1, 2]
            await client.disconnect()
        await asyncio.to_thread(wait_until, lambda: live.disconnected.keys() == live.connected)

    asyncio.run(scenario())
