"""The route table in front of FastAPI's router (`interfaces.http.route_table`) selects, for every
request, the route FastAPI itself selects, and leaves every other decision (404, 405, redirects,
`/docs`) to FastAPI: the answers are the same with and without it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute, _IncludedRouter
from fastapi.testclient import TestClient
from starlette.routing import Match

from interfaces.http.app import create_app
from interfaces.http.route_table import RouteTable
from tests.conftest import make_settings

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
PARAMETER = re.compile(r"{[^}]+}")
SAMPLES = ("0123456789abcdef01234567", "me", "profile", "x")
EXTRA_PATHS = (
    "/",
    "/api/v1",
    "/api/v1/",
    "/api/v1/nothing",
    "/api/v1/appointments/",
    "/api/v1/appointments/hold/",
    "/api/v1/consultants/me",
    "/api/v1/users/profile",
    "/api/v1/health",
    "/api/v1/health/",
    "//api/v1/health",
    "/docs",
    "/openapi.json",
    "/socket.io/",
)


@pytest.fixture
def app(tmp_path: Path) -> Any:
    return create_app(make_settings(tmp_path))


def _scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"", "headers": []}


def _fastapi_choice(api: Any, scope: dict[str, Any]) -> Any:
    """What FastAPI's router dispatches to: the first route or included router that matches fully."""
    for route in api.router.routes:
        match, _ = route.matches(dict(scope))
        if match == Match.FULL:
            return route
    return None


def _paths(table: RouteTable) -> set[str]:
    """Every route's path with its parameters filled (an id, `me`, ...), and the paths around them."""
    templates = {entry.path for bucket in table.buckets.values() for entry, _ in bucket if entry.route}
    return set(EXTRA_PATHS) | {PARAMETER.sub(value, template) for template in templates for value in SAMPLES}


def test_every_request_is_sent_where_fastapi_sends_it(app: Any) -> None:
    api = app.other_asgi_app
    table = api.router.middleware_stack
    assert isinstance(table, RouteTable)
    checked = dispatched = 0
    customs = [entry for bucket in table.buckets.values() for entry, _ in bucket if entry.custom]
    assert len(customs) == 3  # the multipart-only routes of `profile_images`
    for path in sorted(_paths(table)):
        for method in METHODS:
            scope = _scope(method, path)
            entry = table.select(dict(scope))
            expected = _fastapi_choice(api, scope)
            checked += 1
            if entry is None:  # FastAPI decides: no full match, a route it runs itself (`/docs`), or a
                # path and method of a route that matches by content type too (multipart uploads)
                deferred = any(e.custom and e.regex.match(path) and method in e.methods for e in customs)
                assert deferred or not isinstance(expected, (APIRoute, _IncludedRouter)), (method, path, expected)
                continue
            dispatched += 1
            if entry.included is not None:
                assert expected is entry.included, (method, path)
                _, _, selected, _ = entry.included._match(dict(scope))
                assert selected is entry.route, (method, path, selected, entry.route)
            else:
                assert expected is entry.direct, (method, path)
    assert dispatched > 150 and checked > dispatched  # every route, and the refusals around them


def test_answers_are_the_same_with_and_without_the_table(app: Any) -> None:
    api = app.other_asgi_app
    table = api.router.middleware_stack
    requests = [
        ("GET", "/api/v1/health"),
        ("GET", "/api/v1/health/"),  # FastAPI's trailing-slash redirect
        ("GET", "/api/v1/nothing"),  # 404
        ("PUT", "/api/v1/health"),  # FastAPI's 405, answered as 404 by the error handlers
        ("DELETE", "/api/v1/appointments/hold"),  # 401: `/appointments/{id}`
        ("POST", "/api/v1/appointments/hold"),  # 401 (no token)
        ("GET", "/api/v1/consultants/me"),  # 401: `/consultants/me` before `/consultants/{id}`
        ("GET", "/api/v1/consultants/nothex"),  # public route, 400 on the id
        ("GET", "/api/v1/appointments/0123456789abcdef01234567"),  # 401
        ("PATCH", "/api/v1/appointments/0123456789abcdef01234567"),  # 401 after a GET route of the same path
        ("GET", "/api/v1/agora/recording/status/0123456789abcdef01234567"),  # the last router
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
    ]

    def answers(client: TestClient) -> list[tuple[int, bytes, str | None]]:
        out = []
        for method, path in requests:
            reply = client.request(
                method, path, json={} if method in ("POST", "PATCH") else None, follow_redirects=False
            )
            body = reply.content if path != "/api/v1/health" else str(sorted(reply.json())).encode()
            out.append((reply.status_code, body, reply.headers.get("location")))
        return out

    with TestClient(app) as client:
        with_table = answers(client)
        api.router.middleware_stack = table.fallback
        try:
            without = answers(client)
        finally:
            api.router.middleware_stack = table
    assert with_table == without
    assert [status for status, _, _ in with_table][:6] == [200, 307, 404, 404, 401, 401]


def test_the_reporting_process_routes_through_the_table_too(tmp_path: Path) -> None:
    from infrastructure.bootstrap import build
    from interfaces.http.app import create_reporting_api

    container = build(make_settings(tmp_path), run_projections=False)
    try:
        api = create_reporting_api(container)
        table = api.router.middleware_stack
        assert isinstance(table, RouteTable)
        requests = [("GET", "/api/v1/health"), ("GET", "/api/v1/analytics/overview"), ("GET", "/api/v1/nothing")]
        with TestClient(api) as client:
            with_table = [client.get(path).status_code for _, path in requests]
            assert table.select(_scope("GET", "/api/v1/analytics/overview")) is not None
            api.router.middleware_stack = table.fallback
            without = [client.get(path).status_code for _, path in requests]
        assert with_table == without == [200, 401, 404]
    finally:
        container.close()


def test_a_selected_route_is_run_without_its_router_matching_again(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The table runs the route it selected as the included router would once its own search had
    selected it; the router's search (`_IncludedRouter._match`, every route of the router before the
    right one) is not run again. The route sees the scope FastAPI's own dispatch builds."""
    searches: list[str] = []
    search, handle = _IncludedRouter._match, APIRoute.handle
    seen: list[tuple[Any, ...]] = []

    def counted(self: Any, scope: Any) -> Any:
        searches.append(scope["path"])
        return search(self, scope)

    async def recorded(self: Any, scope: Any, receive: Any, send: Any) -> None:
        fastapi = scope.get("fastapi", {})
        seen.append(
            (
                scope["route"],
                scope["endpoint"],
                scope["path_params"],
                fastapi.get("included_router"),
                fastapi.get("effective_route_context"),
                scope.get("router"),
            )
        )
        await handle(self, scope, receive, send)

    monkeypatch.setattr(_IncludedRouter, "_match", counted)
    monkeypatch.setattr(APIRoute, "handle", recorded)
    api = app.other_asgi_app
    requests = [("POST", "/api/v1/appointments/hold"), ("GET", "/api/v1/appointments/0123456789ABCDEF01234567")]
    with TestClient(app) as client:
        for method, path in requests:
            assert client.request(method, path, json={}).status_code == 401
        assert searches == []
        monkeypatch.setattr(api.router, "middleware_stack", api.router.middleware_stack.fallback)
        for method, path in requests:
            assert client.request(method, path, json={}).status_code == 401
        assert searches  # FastAPI's own dispatch searches the router
    assert len(seen) == 4 and seen[:2] == seen[2:]
    assert seen[1][2] == {"id": "0123456789ABCDEF01234567"}
