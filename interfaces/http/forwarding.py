"""API processes that do not own the reporting store forward `/api/v1/analytics/*` to the process
that does (`REPORTING_URL`), unchanged: method, path, query, headers (including the bearer token,
which the reporting process checks) and the answer's status, body and headers."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.types import ASGIApp, Receive, Scope, Send

from interfaces.http.envelope import fail

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
        "proxy-authenticate",
        "host",
        "content-length",
    }
)


class ForwardAnalytics:
    def __init__(self, app: ASGIApp, base_url: str, prefix: str, timeout: float = 30.0):
        self.app = app
        self.prefix = prefix
        self.client = httpx.AsyncClient(base_url=base_url.rstrip("/"), timeout=timeout)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        headers = [
            (k.decode("latin-1"), v.decode("latin-1"))
            for k, v in scope["headers"]
            if k.decode("latin-1").lower() not in HOP_BY_HOP
        ]
        query = scope.get("query_string", b"").decode("latin-1")
        target = scope["path"] + (f"?{query}" if query else "")
        try:
            reply = await self.client.request(scope["method"], target, headers=headers)
        except httpx.HTTPError:
            response: Any = fail(503, "The reporting process is not reachable")
            await response(scope, receive, send)
            return
        out = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in reply.headers.items()
            if k.lower() not in HOP_BY_HOP and k.lower() != "content-encoding"
        ]
        out.append((b"content-length", str(len(reply.content)).encode()))
        await send({"type": "http.response.start", "status": reply.status_code, "headers": out})
        await send({"type": "http.response.body", "body": reply.content})
