"""ASGI middleware: request body limit, the contract's rate limits (with RateLimit-* headers) and
realtime pushes sent after the response."""

from __future__ import annotations

import json
import re
from typing import Any

from infrastructure.foreground import Foreground
from infrastructure.projection_runner import ProjectionRunner
from infrastructure.pushes import deferred_pushes
from infrastructure.ratelimit import Verdict

API = "/api/v1"
AUTH = "/api/v1/auth"


async def _send_json(send: Any, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]) -> None:
    payload = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BodyLimit:
    """Refuse bodies over `max_bytes` with 413 before they reach a handler.

    `streamed` names routes (path -> their own limit) whose handlers read the body as a stream and
    count it themselves (uploads): their body is passed through unbuffered, and only a declared
    length over their limit is refused here (413 `File too large`). `multipart` does the same for
    routes that also take JSON (method, path pattern, limit): only their multipart/form-data bodies
    are streamed, a JSON body keeps the global limit."""

    def __init__(
        self,
        app: Any,
        max_bytes: int,
        streamed: dict[str, int] | None = None,
        multipart: list[tuple[str, re.Pattern[str], int]] | None = None,
    ):
        self.app = app
        self.max_bytes = max_bytes
        self.streamed = streamed or {}
        self.multipart = multipart or []

    def _multipart_limit(self, scope: Any, headers: dict[bytes, bytes]) -> int | None:
        if not headers.get(b"content-type", b"").lower().startswith(b"multipart/form-data"):
            return None
        for method, pattern, limit in self.multipart:
            if scope.get("method") == method and pattern.fullmatch(scope.get("path", "")):
                return limit
        return None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        streamed_limit = self.streamed.get(scope.get("path", ""))
        if streamed_limit is None and self.multipart:
            streamed_limit = self._multipart_limit(scope, headers)
        if streamed_limit is not None:
            if declared is not None and declared.isdigit() and int(declared) > streamed_limit:
                await _send_json(send, 413, {"success": False, "message": "File too large"}, [])
                return
            await self.app(scope, receive, send)
            return
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _send_json(send, 413, {"success": False, "message": "Request body too large"}, [])
            return
        # Read the whole body first (it is at most max_bytes): a refusal raised while FastAPI reads
        # a streamed (chunked) body would be turned into a 400 by its body parser.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client disconnected
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_bytes:
                await _send_json(send, 413, {"success": False, "message": "Request body too large"}, [])
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _headers(verdict: Verdict, window: int) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-policy", f"{verdict.limit};w={window}".encode()),
        (b"ratelimit-limit", str(verdict.limit).encode()),
        (b"ratelimit-remaining", str(verdict.remaining).encode()),
        (b"ratelimit-reset", str(verdict.reset_seconds).encode()),
    ]


class RateLimit:
    """Whole API: `RATE_LIMIT_MAX` per window per IP; `/auth/*`: `AUTH_RATE_LIMIT_MAX` as well."""

    def __init__(self, app: Any, limiter: Any, api_max: int, auth_max: int, window: int):
        self.app = app
        self.limiter = limiter
        self.api_max = api_max
        self.auth_max = auth_max
        self.window = window

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(API) or scope.get("method") == "OPTIONS":
            await self.app(scope, receive, send)
            return
        ip = (scope.get("client") or ("unknown", 0))[0]
        verdict = await self.limiter.hit(f"api:{ip}", self.api_max, self.window)
        if not verdict.allowed:
            await _send_json(
                send,
                429,
                {"success": False, "message": "Too many requests. Please try again later."},
                _headers(verdict, self.window),
            )
            return
        if path.startswith(AUTH + "/") or path == AUTH:
            verdict = await self.limiter.hit(f"auth:{ip}", self.auth_max, self.window)
            if not verdict.allowed:
                await _send_json(
                    send,
                    429,
                    {"success": False, "message": "Too many attempts. Please try again later."},
                    _headers(verdict, self.window),
                )
                return
        extra = _headers(verdict, self.window)

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


class PushAfterResponse:
    """A request that drives the projections (read-your-writes) commits its events' read-model
    changes before it answers; their pushes (`availability:updated` to every socket, ...) are sent
    only once the response is written, so the caller does not wait behind the fan-out. The requests
    in flight are counted here too (infrastructure/foreground.py: background work makes way)."""

    def __init__(self, app: Any, runner: ProjectionRunner, foreground: Foreground):
        self.app = app
        self.runner = runner
        self.foreground = foreground

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        foreground = self.foreground
        foreground.in_flight += 1
        try:
            with deferred_pushes() as pushes:
                try:
                    await self.app(scope, receive, send)
                finally:
                    if pushes:  # committed: sent even if the handler failed afterwards
                        self.runner.send(pushes)
        finally:
            foreground.in_flight -= 1
