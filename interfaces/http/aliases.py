"""Old ids accepted wherever the id they stand for is (contract mongo-import §3, availability.md §0).

After an import, the `users` id of a linked consultant (and of a legacy Client row merged into a
client) names that account (`domain.aliases`). Such an id names nothing else in the service, so it
is replaced by the account's id at the edge, in the path, the query string and a JSON body, and
every route (slots, consultant detail, settings, appointment filters, links, analytics, payouts)
accepts it without knowing about aliases. The map is read once when the app is built: aliases are
only added by `consult import`, which runs with the service stopped. Without aliases the middleware
is not installed at all."""

from __future__ import annotations

import re
from typing import Any

from domain.aliases import IdAliases, aliases_id

OBJECT_ID = re.compile(rb"(?<![0-9a-fA-F])([0-9a-fA-F]{24})(?![0-9a-fA-F])")
JSON_ID = re.compile(rb'"([0-9a-fA-F]{24})"')  # a JSON string that is exactly an id


def load_aliases(market: Any) -> dict[str, str]:
    found = market.find(aliases_id(), readonly=True)
    return dict(found.aliases) if isinstance(found, IdAliases) else {}


class ResolveAliases:
    """Installed inside `BodyLimit`, which hands over the body in one message."""

    def __init__(self, app: Any, aliases: dict[str, str]):
        self.app = app
        self.aliases = {old.encode(): new.encode() for old, new in aliases.items()}

    def _swap(self, match: re.Match[bytes]) -> bytes:
        ident = match.group(1)
        return match.group(0).replace(ident, self.aliases.get(ident.lower(), ident))

    def _replace(self, text: bytes, pattern: re.Pattern[bytes] = OBJECT_ID) -> bytes:
        """Both ids are 24 characters: lengths (and `content-length`) do not change."""
        return pattern.sub(self._swap, text) if text else text

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        scope = dict(scope)
        new_path = self._replace(path.encode()).decode()
        if new_path != path:
            scope["path"] = new_path
            scope["raw_path"] = self._replace(scope.get("raw_path") or path.encode())
        scope["query_string"] = self._replace(scope.get("query_string", b""))
        headers = dict(scope.get("headers") or [])
        if not headers.get(b"content-type", b"").lower().startswith(b"application/json"):
            await self.app(scope, receive, send)
            return

        async def resolved() -> Any:
            message = await receive()
            if message["type"] == "http.request" and not message.get("more_body"):
                message = {**message, "body": self._replace(message.get("body", b""), JSON_ID)}
            return message

        await self.app(scope, resolved, send)
