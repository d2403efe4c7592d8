"""A route table in front of FastAPI's router: a request goes straight to the router that serves it.

FastAPI (0.165) keeps each included router as one entry of the app's route list and matches a request
against the entries in turn: every route of every router before the right one, and the right router's
routes twice (once to find it, once to select the route). The API has 21 routers and `/health` comes
after all of them: a request to a late router, or a 404, cost 0.5 to 0.7 ms of CPU in matching alone.

The table buckets every route of the app, in FastAPI's order, by the first `KEY_SEGMENTS` segments of
its path (a route whose first segments hold a parameter is in every bucket). A request is matched only
against its bucket, in the same order, and the first route that matches path and method fully is the
one FastAPI would choose: no route outside the bucket can match that path. The route is then run as
its included router runs it once its own search has selected it (`_IncludedRouter._handle_selected`:
the router's form limits and place in FastAPI's scope, the route's match under its effective context,
the selected route in the scope), without that search again (every route of the router before the
right one; 5 to 10% of a hold's event-loop CPU); a route of a router nested in another is handed to
the outer router's `handle`, and an app-level route is run itself. Anything else (no full match: 404, 405, a trailing-slash redirect; a route that is
not a FastAPI route, such as `/docs`) goes through FastAPI's router unchanged. So every answer is the one
FastAPI gives; only the search is shorter. With a FastAPI that does not include routers this way, the
table is not installed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import get_route_path

try:  # FastAPI's router inclusion (0.165); older versions copy the routes into the app's list
    from fastapi.routing import _IncludedRouter
except ImportError:  # pragma: no cover - depends on the installed FastAPI
    _IncludedRouter = None

try:  # what `_IncludedRouter._handle_selected` does once it has selected a route (FastAPI 0.165)
    from fastapi.routing import (
        _FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY,
        _FASTAPI_INCLUDED_ROUTER_KEY,
        _apply_router_form_limits,
        _get_fastapi_scope,
        _update_scope,
    )

    SELECTS_DIRECTLY = True
except ImportError:  # pragma: no cover - depends on the installed FastAPI: the included router selects
    SELECTS_DIRECTLY = False

try:
    from fastapi.telemetry._api import _route_selected
except ImportError:  # pragma: no cover - depends on the installed FastAPI

    def _route_selected(*, scope: Any, path: str | None, mount: bool = False) -> None:
        return None


KEY_SEGMENTS = 3
FALLBACK = None  # an entry whose match sends the request through FastAPI's router


def _key(path: str) -> tuple[str, ...]:
    return tuple(path.split("/")[1 : KEY_SEGMENTS + 1])


class _Entry:
    """One route in FastAPI's order: its path regex, methods and where a full match is dispatched."""

    __slots__ = ("context", "custom", "direct", "included", "methods", "path", "regex", "route")

    def __init__(
        self,
        regex: Any,
        methods: set[str] | None,
        included: Any = None,
        direct: APIRoute | None = None,
        route: Any = None,
        context: Any = None,
    ):
        self.regex = regex
        self.path = ""  # the full path template (set by the table)
        self.methods = methods
        self.included = included  # the _IncludedRouter holding the route
        self.context = context  # its effective route context, when the included router holds it itself
        self.direct = direct  # an APIRoute registered on the app itself
        self.route = route or direct  # the APIRoute (for tests: the one FastAPI selects)
        # a route class with a `matches` of its own (`MultipartRoute`: by content type): FastAPI decides
        self.custom = self.route is not None and type(self.route).matches is not APIRoute.matches


class RouteTable:
    def __init__(self, api: FastAPI):
        self.router = api.router
        self.fallback = self.router.middleware_stack
        self.buckets: dict[tuple[str, ...], list[tuple[_Entry, bool]]] = {}
        self.everywhere: list[tuple[_Entry, bool]] = []  # routes that may match a path of any key
        order: list[tuple[str, _Entry]] = list(self._entries())
        keyed: dict[tuple[str, ...], list[int]] = {}
        wildcard: list[int] = []
        for index, (path, entry) in enumerate(order):
            entry.path = path
            key = _key(path)
            if any("{" in segment for segment in key):
                wildcard.append(index)
            else:
                keyed.setdefault(key, []).append(index)
        for key, indexes in keyed.items():
            merged = sorted(set(indexes) | set(wildcard))
            self.buckets[key] = [(order[i][1], self._is_fallback(order[i][1])) for i in merged]
        self.everywhere = [(order[i][1], self._is_fallback(order[i][1])) for i in wildcard]

    @staticmethod
    def _is_fallback(entry: _Entry) -> bool:
        return entry.included is None and entry.direct is None

    def _entries(self) -> Iterator[tuple[str, _Entry]]:
        for route in self.router.routes:
            if _IncludedRouter is not None and isinstance(route, _IncludedRouter):
                for candidate in route.effective_candidates():  # in order, as `_IncludedRouter._match`
                    nested = isinstance(candidate, _IncludedRouter)  # its own handle selects (not used here)
                    for context in candidate.effective_route_contexts() if nested else [candidate]:
                        if isinstance(context.original_route, APIRoute) and context.path_regex is not None:
                            yield (
                                context.path,
                                _Entry(
                                    context.path_regex,
                                    context.methods or None,
                                    included=route,
                                    route=context.original_route,
                                    context=None if nested or not SELECTS_DIRECTLY else context,
                                ),
                            )
                        else:  # a Starlette route or mount inside a router: FastAPI dispatches it
                            yield getattr(context.starlette_route, "path", "/{any}"), _Entry(None, None)
            elif isinstance(route, APIRoute):
                yield route.path, _Entry(route.path_regex, route.methods or None, direct=route)
            else:  # /openapi.json, /docs, ...: matched here only to hand them to FastAPI
                path = getattr(route, "path", None)
                regex = getattr(route, "path_regex", None)
                yield (path if path is not None and regex is not None else "/{any}"), _Entry(regex, None)

    def select(self, scope: Any) -> _Entry | None:
        """The route FastAPI would dispatch this HTTP request to (its first full match), or None when
        FastAPI must decide (no full match, or a route it dispatches itself)."""
        route_path = get_route_path(scope)
        method = scope["method"]
        for entry, fallback in self.buckets.get(_key(route_path), self.everywhere):
            if entry.regex is None:
                return None
            if not entry.regex.match(route_path):
                continue
            if fallback:
                return None  # a route FastAPI dispatches itself (`/docs`, a mount)
            if entry.methods is not None and method not in entry.methods:
                continue  # FastAPI too goes on to the first full match (none: 405, decided by FastAPI)
            return None if entry.custom else entry
        return None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        entry = self.select(scope) if scope["type"] == "http" else None
        if entry is None:
            await self.fallback(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self.router
        if entry.context is not None:
            await self._selected(entry, scope, receive, send)
            return
        if entry.included is not None:  # its router selects the route and runs it, as FastAPI does
            await entry.included.handle(scope, receive, send)
            return
        route = entry.direct
        assert route is not None
        _, child_scope = route.matches(scope)
        scope.update(child_scope)
        _route_selected(scope=scope, path=route.path_format)
        await route.handle(scope, receive, send)

    @staticmethod
    async def _selected(entry: _Entry, scope: Any, receive: Any, send: Any) -> None:
        """Run a route of an included router as that router's `handle` does once its `_match` has
        selected it (`_IncludedRouter.handle`, then `_handle_selected`), without matching again: the
        router's form limits and its place in FastAPI's scope, the route's match under its effective
        context, the selected route in the scope, then the route itself."""
        included, context, route = entry.included, entry.context, entry.route
        _apply_router_form_limits(scope, included.include_context.form_limits)
        fastapi_scope = _get_fastapi_scope(scope)
        fastapi_scope[_FASTAPI_INCLUDED_ROUTER_KEY] = included
        fastapi_scope[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = context  # while matching, as `_match`
        try:
            _, child_scope = route.matches(scope)
        finally:
            fastapi_scope.pop(_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY, None)
        _update_scope(scope, child_scope)
        _route_selected(scope=scope, path=getattr(context.starlette_route, "path_format", None) or context.path_format)
        _get_fastapi_scope(scope)[_FASTAPI_EFFECTIVE_ROUTE_CONTEXT_KEY] = context
        scope["route"] = route
        await route.handle(scope, receive, send)


def install(api: FastAPI) -> RouteTable | None:
    """Put the table in front of the app's router (call once every route is registered)."""
    if _IncludedRouter is None or getattr(api.router, "form_limits", None):
        return None  # router-level form limits are applied by FastAPI's router.app: leave it
    table = RouteTable(api)
    api.router.middleware_stack = table
    return table
