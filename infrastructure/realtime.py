"""Broadcasters that deliver projection pushes to Socket.IO clients.

- In the process that serves sockets: schedule `AsyncServer.emit` on the server's event loop.
- In a projection worker with Redis: python-socketio's write-only Redis manager, which every
  API process (running AsyncRedisManager) relays to its own sockets."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from infrastructure.pushes import Emit

log = logging.getLogger(__name__)
# uvicorn's sans-I/O websockets protocol for `consult serve`: about two thirds of the event loop's time
# per delivered message of its legacy `websockets` protocol (the `auto` choice), measured on a
# 1,000-socket fan-out.
WEBSOCKET_PROTOCOL = "websockets-sansio"


class LoopBroadcaster:
    def __init__(self, server: Any):
        self.server = server
        self.loop: asyncio.AbstractEventLoop | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def emit(self, message: Emit) -> None:
        if self.loop is None or self.loop.is_closed():
            log.debug("socket server not running: dropped %s", message.event)
            return
        coroutine = self.server.emit(message.event, message.data, to=message.room)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.loop.create_task(coroutine)
        else:
            asyncio.run_coroutine_threadsafe(coroutine, self.loop)


class RedisBroadcaster:
    def __init__(self, url: str, channel: str):
        import socketio

        self.manager = socketio.RedisManager(url, channel=channel, write_only=True)

    def emit(self, message: Emit) -> None:
        self.manager.emit(message.event, message.data, room=message.room, namespace="/")
