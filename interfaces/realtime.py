"""Socket.IO server on the API's port (path /socket.io): JWT at the handshake, rooms
`user:<id>` and `role:<role>` (contract availability §6.1)."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any
from urllib.parse import parse_qs

import engineio
import socketio
from engineio import packet as eio_packet
from socketio import packet

from infrastructure.security import JwtTokens

log = logging.getLogger(__name__)


class SequentialEmit(socketio.AsyncManager):
    """Local delivery of an emit without a task per recipient.

    python-socketio's manager creates one asyncio task per recipient and waits for them all; each
    task only puts the packet on that socket's engine.io queue, which never waits (the queues are
    unbounded), so one loop over the recipients delivers the same packets in the same order at a
    fraction of the event loop's time (`availability:updated` goes to every socket). Emits with a
    callback keep the library's path (each recipient needs its own ack id)."""

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        if callback is not None:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to, **kwargs)
            return
        room = to or room
        if namespace not in self.rooms:
            return
        if isinstance(data, tuple):
            data = list(data)
        elif data is not None:
            data = [data]
        else:
            data = []
        skip = skip_sid if isinstance(skip_sid, list) else [skip_sid]
        encoded = self.server.packet_class(packet.EVENT, namespace=namespace, data=[event, *data]).encode()
        eio_packets = [
            eio_packet.Packet(eio_packet.MESSAGE, p) for p in (encoded if isinstance(encoded, list) else [encoded])
        ]
        for sid, eio_sid in list(self.get_participants(namespace, room)):
            if sid in skip:
                continue
            for eio_pkt in eio_packets:
                try:
                    await self.server.eio.send_packet(eio_sid, eio_pkt)
                except Exception:  # one broken socket must not keep the event from the others
                    log.exception("emit of %s to %s failed", event, sid)


class RedisSequentialEmit(socketio.AsyncRedisManager, SequentialEmit):
    """Publishes through Redis as python-socketio does; delivers to this process's sockets in one loop
    (the method resolution order puts `SequentialEmit.emit` under the pub/sub manager's)."""


class WriterQueue:
    """The outgoing packet queue of one engine.io socket; `get()` returns a Future, not a coroutine.

    Each socket's writer task waits in `AsyncSocket.poll` with
    `asyncio.wait_for(queue.get(), ping_interval + ping_timeout)`. Handed `asyncio.Queue.get()`, a
    coroutine, `wait_for` on Python 3.11 wraps it in a new task: one task creation and two extra task
    steps per packet per socket, 16 % of the event loop's time in a broadcast to 1,000 sockets (py-spy).
    Handed a Future it waits on it directly (3.12's `wait_for` as well), with the same timeout and the
    same cancellation. The queue is unbounded like engine.io's, hands a put item straight to a waiting
    getter (FIFO otherwise) and keeps `asyncio.Queue`'s accounting for `task_done()` / `join()`, which
    `AsyncSocket.close(wait=True)` relies on. A getter cancelled before it got an item (the poll timed
    out) is skipped, so no item is lost to it. Only the part of `asyncio.Queue` engine.io uses exists."""

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._getters: deque[asyncio.Future[Any]] = deque()
        self._unfinished = 0
        self._finished = asyncio.Event()
        self._finished.set()

    def qsize(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put_nowait(self, item: Any) -> None:
        self._unfinished += 1
        self._finished.clear()
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(item)
                return
        self._items.append(item)

    async def put(self, item: Any) -> None:
        self.put_nowait(item)

    def get_nowait(self) -> Any:
        if not self._items:
            raise asyncio.QueueEmpty
        return self._items.popleft()

    def get(self) -> asyncio.Future[Any]:
        future = asyncio.get_running_loop().create_future()
        if self._items:
            future.set_result(self._items.popleft())
        else:
            self._getters.append(future)
        return future

    def task_done(self) -> None:
        if self._unfinished <= 0:
            raise ValueError("task_done() called too many times")
        self._unfinished -= 1
        if self._unfinished == 0:
            self._finished.set()

    async def join(self) -> None:
        if self._unfinished:
            await self._finished.wait()


def use_writer_queues(eio: engineio.AsyncServer) -> None:
    """A `WriterQueue` per socket of `eio` through engine.io's public `create_queue` hook
    (`BaseSocket.__init__` takes each socket's queue from its server's `create_queue()`); for
    Socket.IO, `eio` is the engine.io server python-socketio makes (`AsyncServer.eio`). `tests/test_realtime_fanout.py` fails if the sockets stop
    taking their queue from it or `poll` stops waiting on `queue.get()`; pyproject pins both
    libraries' major versions."""

    def create_queue(*args: Any, **kwargs: Any) -> WriterQueue:
        return WriterQueue()

    eio.create_queue = create_queue  # type: ignore[method-assign]


def handshake_token(environ: dict[str, Any], auth: Any) -> str | None:
    token = auth.get("token") if isinstance(auth, dict) else None
    if not token:
        token = (parse_qs(environ.get("QUERY_STRING", "")).get("token") or [None])[0]
    if not isinstance(token, str) or not token.strip():
        return None
    token = token.strip()
    return token[7:].strip() if token.startswith("Bearer ") else token


def origin_check(origins: list[str]) -> Any:
    """engine.io's origin rule for handshakes that carry an `Origin` header: one of `origins`, or the
    server's own origin (engine.io's default same-origin rule; clients such as websocket-client send
    it). Handshakes without the header (not from a browser) are not checked by engine.io."""
    allowed = frozenset(origins)

    def check(origin: str | None, environ: dict[str, Any]) -> bool:
        if origin in allowed:
            return True
        scheme = str(environ.get("wsgi.url_scheme", "http"))
        scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
        host = environ.get("HTTP_HOST")
        return bool(host) and origin == f"{scheme}://{host}"

    return check


def create_socket_server(
    tokens: JwtTokens, redis_url: str | None, channel: str, origins: list[str] | None = None
) -> socketio.AsyncServer:
    """`origins`: the browser origins allowed to connect (CORS_ORIGINS), besides the server's own."""
    manager = RedisSequentialEmit(redis_url, channel=channel) if redis_url else SequentialEmit()
    server = socketio.AsyncServer(
        async_mode="asgi", cors_allowed_origins=origin_check(origins or []), client_manager=manager
    )
    use_writer_queues(server.eio)

    @server.event
    async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        token = handshake_token(environ, auth)
        if token is None:
            raise socketio.exceptions.ConnectionRefusedError("Authentication error: No token provided")
        claims = tokens.read_access_token(token)
        if claims is None:
            raise socketio.exceptions.ConnectionRefusedError("Authentication error: Invalid token")
        await server.save_session(sid, {"id": claims["id"], "role": claims["role"]})
        await server.enter_room(sid, f"user:{claims['id']}")
        await server.enter_room(sid, f"role:{claims['role']}")

    @server.event
    async def disconnect(sid: str, *_: Any) -> None:
        log.debug("socket %s disconnected", sid)

    return server
