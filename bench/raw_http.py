"""A protocol-level HTTP/1.1 load generator for bursts: every request is built as bytes before the start,
written on its own kept-alive connection, and its answer timed when its last byte arrives.

On a 2-core machine the load generator shares the cores with the server it measures. aiohttp costs the
generator a few hundred microseconds of CPU a request (building the request, encoding its JSON body,
parsing the answer), all in the generator's one thread, so in a burst of 200 requests the last answers
wait for the generator as much as for the server. Here the generator's work in the timed window is a
`transport.write` per request and, per answer, the search for the end of its head and its
`Content-Length` (as `bench/socket_fanout.py`'s protocol-level receivers do for Socket.IO).

Only what a burst against our own server needs: `Content-Length` answers (the API's JSON), no chunked
bodies, no redirects, one request in flight per connection."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    at: float  # time.perf_counter() when its last byte arrived

    def json(self) -> Any:
        return json.loads(self.body)


def request_bytes(method: str, host: str, path: str, headers: dict[str, str], body: str | None = None) -> bytes:
    """One HTTP/1.1 request as the bytes on the wire (`body`: JSON text, when given)."""
    payload = b"" if body is None else body.encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload


class _Connection(asyncio.Protocol):
    """One kept-alive connection with at most one request in flight."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.answer: asyncio.Future[Answer] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send(self, request: bytes) -> asyncio.Future[Answer]:
        assert self.transport is not None and (self.answer is None or self.answer.done())
        self.answer = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return self.answer

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(self.buffer) < end + 4 + length:
            return
        at = time.perf_counter()
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        if self.answer is not None and not self.answer.done():
            self.answer.set_result(Answer(int(head[0].split(" ", 2)[1]), body, at))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.answer is not None and not self.answer.done():
            self.answer.set_exception(exc or ConnectionError("the server closed the connection"))


async def burst(host: str, port: int, warm_up: bytes, requests: Sequence[bytes]) -> tuple[float, list[Answer]]:
    """Open one connection per request, send `warm_up` on each (so every connection is accepted and kept
    alive before the start), then write every request at once. Returns the common start
    (`time.perf_counter()` just before the first write) and the answers, in the order of `requests`."""
    loop = asyncio.get_running_loop()
    connections: list[_Connection] = []
    for _ in requests:
        _, protocol = await loop.create_connection(_Connection, host, port)
        connections.append(protocol)
    try:
        warmed = await asyncio.gather(*(connection.send(warm_up) for connection in connections))
        if any(answer.status != 200 for answer in warmed):
            raise RuntimeError(f"warm-up answered {sorted({answer.status for answer in warmed})}")
        await asyncio.sleep(0.2)
        start = time.perf_counter()
        pending = [connection.send(request) for connection, request in zip(connections, requests, strict=True)]
        return start, list(await asyncio.gather(*pending))
    finally:
        for connection in connections:
            if connection.transport is not None:
                connection.transport.close()
