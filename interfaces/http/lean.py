"""`LeanRoute`: the booking routes served without FastAPI's per-request machinery on their common path.

For each request FastAPI (0.165) builds the endpoint's error context, solves the dependency tree
(a cache key and a parameter walk per dependency, at every level), validates the body through it
and wraps the endpoint call; under 200-way contention on one slot that was about a third of a
losing hold's event-loop CPU. A `LeanRoute` is declared, documented and validated like any route,
and is served by FastAPI's own handler except on the one path where the outcome is known to be
FastAPI's call of the endpoint: a body that is a JSON object (`application/json`), a principal that
authenticates, and a body its model validates. On that path the route calls the endpoint itself,
with the values FastAPI would pass (the principal from the same dependency function, the body
validated by FastAPI's own field of the route, the same request object). Everything else (no or
another body, malformed JSON, not an object, a body the model refuses) is handed to FastAPI's
handler, which answers it as before; authentication is not repeated there (the principal is kept
on the request). The order of the answers is FastAPI's: malformed JSON before authentication,
authentication before the body's validation.

Only endpoints made of one body model, the principal (`CurrentUser`), the container
(`AppContainer`) and the request are supported; any other signature is refused when the route is
built, so a route cannot silently lose a parameter."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from fastapi import APIRouter, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from interfaces.http.deps import container, current_principal
from interfaces.http.money import ExactJsonRoute

E = TypeVar("E", bound=Callable[..., Any])
# the dependencies a lean route resolves itself: each a coroutine function of the request alone
RESOLVERS: frozenset[Callable[[Request], Awaitable[Any]]] = frozenset({current_principal, container})


def _is_json(content_type: str | None) -> bool:
    """`application/json` with or without parameters: the media type FastAPI decodes as JSON for
    certain (`+json` suffixes and other spellings are left to FastAPI itself)."""
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


class LeanRoute(ExactJsonRoute):
    """An `ExactJsonRoute` that calls its endpoint directly on the common path (module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        stock = APIRoute.get_route_handler(self)  # FastAPI's handler, given the exact-JSON request below
        dependant = self.dependant
        if dependant.path_params or dependant.query_params or dependant.header_params or dependant.cookie_params:
            raise TypeError(f"LeanRoute {self.path}: path, query, header or cookie parameters are not supported")
        if len(dependant.body_params) != 1:
            raise TypeError(f"LeanRoute {self.path}: exactly one body model is needed")
        body_field = dependant.body_params[0]
        if not (
            inspect.isclass(body_field.field_info.annotation)
            and issubclass(body_field.field_info.annotation, BaseModel)
        ):
            raise TypeError(f"LeanRoute {self.path}: the body must be a pydantic model")
        resolved: list[tuple[str, Callable[[Request], Awaitable[Any]]]] = []
        for dependency in dependant.dependencies:
            if dependency.call not in RESOLVERS or dependency.name is None:
                raise TypeError(f"LeanRoute {self.path}: dependency {dependency.call!r} is not supported")
            resolved.append((dependency.name, dependency.call))
        others = (
            dependant.response_param_name,
            dependant.background_tasks_param_name,
            dependant.websocket_param_name,
            dependant.http_connection_param_name,
            dependant.security_scopes_param_name,
        )
        if any(others):
            raise TypeError(f"LeanRoute {self.path}: only the body, dependencies and the request are supported")
        endpoint, body_name, request_name = self.endpoint, body_field.name, dependant.request_param_name
        is_coroutine = inspect.iscoroutinefunction(endpoint)

        async def lean(request: Request) -> Response:
            if not _is_json(request.headers.get("content-type")):
                return await stock(request)
            try:
                body = await request.json()
            except Exception:  # malformed JSON, not UTF-8, nested too deep...: FastAPI's answer (before authentication)
                return await stock(request)
            if not isinstance(body, dict):
                return await stock(request)
            values: dict[str, Any] = {}
            for name, resolve in resolved:  # in FastAPI's order: before the body is validated
                values[name] = await resolve(request)
            value, errors = body_field.validate(body, {}, loc=("body",))
            if errors:
                return await stock(request)  # FastAPI's own answer to the refused body
            values[body_name] = value
            if request_name is not None:
                values[request_name] = request
            answer = await endpoint(**values) if is_coroutine else await run_in_threadpool(endpoint, **values)
            if not isinstance(answer, Response):
                raise TypeError(f"LeanRoute {self.path}: the endpoint must answer a Response")
            return answer

        return self.exact(lean)


def lean_post(router: APIRouter, path: str, **options: Any) -> Callable[[E], E]:
    """`@router.post(path, **options)` served as a `LeanRoute`."""

    def register(endpoint: E) -> E:
        router.add_api_route(path, endpoint, methods=["POST"], route_class_override=LeanRoute, **options)
        return endpoint

    return register
