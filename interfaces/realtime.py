"""Socket.IO server on the API's port (path /socket.io): JWT at the handshake, rooms
`user:<id>` and `role:<role>` (contract availability §6.1)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

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

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None, skip_sid: Any = None,
                   callback: Any = None, to: Any = None, **kwargs: Any) -> None:
        if callback is not None:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid, callback=callback, to=to,
                               **kwargs)
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
        eio_packets = [eio_packet.Packet(eio_packet.MESSAGE, p) for p in
                       (encoded if isinstance(encoded, list) else [encoded])]
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


def handshake_token(environ: dict[str, Any], auth: Any) -> str | None:
    token = auth.get("token") if isinstance(auth, dict) else None
    if not token:
        token = (parse_qs(environ.get("QUERY_STRING", "")).get("token") or [None])[0]
    if not isinstance(token, str) or not token.strip():
        return None
    token = token.strip()
    return token[7:].strip() if token.startswith("Bearer ") else token


def create_socket_server(tokens: JwtTokens, redis_url: str | None, channel: str) -> socketio.AsyncServer:
    manager = RedisSequentialEmit(redis_url, channel=channel) if redis_url else SequentialEmit()
    server = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*", client_manager=manager)

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
