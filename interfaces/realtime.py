"""Socket.IO server on the API's port (path /socket.io): JWT at the handshake, rooms
`user:<id>` and `role:<role>` (contract availability §6.1)."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

import socketio

from infrastructure.security import JwtTokens

log = logging.getLogger(__name__)


def handshake_token(environ: dict[str, Any], auth: Any) -> str | None:
    token = auth.get("token") if isinstance(auth, dict) else None
    if not token:
        token = (parse_qs(environ.get("QUERY_STRING", "")).get("token") or [None])[0]
    if not isinstance(token, str) or not token.strip():
        return None
    token = token.strip()
    return token[7:].strip() if token.startswith("Bearer ") else token


def create_socket_server(tokens: JwtTokens, redis_url: str | None, channel: str) -> socketio.AsyncServer:
    manager = socketio.AsyncRedisManager(redis_url, channel=channel) if redis_url else None
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
