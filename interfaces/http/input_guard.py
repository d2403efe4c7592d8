"""ASGI middleware: a NUL character or an over-long value in the path or the query string is a 400
before routing (PostgreSQL text cannot hold NUL, so such a value must never reach a query or an
event). Bodies are checked field by field by `interfaces.http.fields.Body`."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from interfaces.http.fields import MAX_QUERY_TEXT
from interfaces.http.middleware import _send_json


def query_problems(path: str, query_string: str) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    if "\x00" in path:
        errors.append({"field": "path", "message": '"path" must not contain NUL characters'})
    for key, value in parse_qsl(query_string, keep_blank_values=True):
        name = key.replace("\x00", "")[:50] or "query"
        if "\x00" in key or "\x00" in value:
            errors.append({"field": name, "message": f'"{name}" must not contain NUL characters'})
        elif len(value) > MAX_QUERY_TEXT:
            errors.append({"field": name, "message": f'"{name}" must be at most {MAX_QUERY_TEXT} characters'})
    return errors


class RejectUnstorableQuery:
    """400 with the contract's validation envelope (`/appointments`: the messages joined by `, `)."""

    def __init__(self, app: Any, joined_message_prefixes: tuple[str, ...] = ()):
        self.app = app
        self.joined = joined_message_prefixes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = scope.get("query_string", b"").decode("latin-1")
        path = scope.get("path", "")
        if "\x00" not in path and "%00" not in raw and len(raw) <= MAX_QUERY_TEXT:
            await self.app(scope, receive, send)
            return
        errors = query_problems(path, raw)
        if not errors:
            await self.app(scope, receive, send)
            return
        joined = any(path.startswith(prefix) for prefix in self.joined)
        message = ", ".join(e["message"] for e in errors) if joined else "Validation failed"
        await _send_json(send, 400, {"success": False, "message": message, "errors": errors}, [])
