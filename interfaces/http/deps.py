"""Dependencies shared by the routers: the container, the current principal and role checks."""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Path, Request
from pydantic import AfterValidator

from domain.accounts import CLIENT, CONSULTANT, USER, account_status_refusal
from infrastructure.bootstrap import Container
from infrastructure.directory import status_plan, statuses_plan
from infrastructure.reads import Plan, run_plan
from interfaces.http.errors import ApiError
from interfaces.http.turns import Turns

KIND_OF_ROLE = {"Consultant": CONSULTANT, "Client": CLIENT, "Admin": USER, "Employee": USER}
HEX_ID = r"^[0-9a-fA-F]{24}$"
T = TypeVar("T")


def container_of(request: Request) -> Container:
    return request.app.state.container  # type: ignore[no-any-return]


def turns_of(request: Request) -> Turns:
    """The app's `Turns`: booking commands of one consultant-day take turns in this process."""
    return request.app.state.turns  # type: ignore[no-any-return]


async def container(request: Request) -> Container:
    """A dependency: `async`, so resolving it costs no thread-pool hop."""
    return container_of(request)


READS_AT_ONCE = 8
_limiters: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, anyio.CapacityLimiter] = weakref.WeakKeyDictionary()


def _reads_limiter() -> anyio.CapacityLimiter:
    """One limiter per event loop (an anyio limiter belongs to the loop it was first used on)."""
    loop = asyncio.get_running_loop()
    limiter = _limiters.get(loop)
    if limiter is None:
        limiter = _limiters[loop] = anyio.CapacityLimiter(READS_AT_ONCE)
    return limiter


async def read_model(app: Container, plan: Plan[T]) -> T:
    """Run a short read-model plan (`infrastructure.reads`) from async code. Embedded SQLite reads
    are in-process work on a WAL database (a reader never waits for a writer), so they run inline: a
    thread-pool hop would cost more than the query. On PostgreSQL a query waits on the network: it
    runs on the event loop through the async connections opened by the app's lifespan, or, on a
    loop those do not serve, in a worker thread, at most `READS_AT_ONCE` at a time under their own
    limiter: a burst of requests authenticating (one status read each) then never queues ahead of
    the commands in the route's thread pool (a winning hold under 200-way contention did)."""
    if app.reads is not None and app.reads.serves_this_loop():
        return await app.reads.run(plan)
    if app.settings.uses_postgres:
        return await anyio.to_thread.run_sync(functools.partial(run_plan, app.engine, plan), limiter=_reads_limiter())
    return run_plan(app.engine, plan)


async def account_status(app: Container, account_id: str) -> tuple[str, str | None] | None:
    """(kind, status) of the account as it is now. On the server's loop the checks of concurrent
    requests are read together (`infrastructure.reads.Lookups`: one query per burst instead of one
    per request, each still made after its request asked)."""
    if app.reads is not None and app.reads.serves_this_loop():
        return await app.reads.lookups(statuses_plan).get(account_id)
    return await read_model(app, status_plan(account_id))


@dataclass(frozen=True)
class Principal:
    id: str
    email: str
    role: str
    kind: str
    status: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "Admin"


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip() or None
    return request.query_params.get("token") or None


async def current_principal(request: Request) -> Principal:
    """Authenticate the token, then check the account as it is now (blocked means refused at once)."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = bearer_token(request)
    if not token:
        raise ApiError(401, "Access denied. No token provided.")
    app = container_of(request)
    claims = app.tokens.read_access_token(token)
    if claims is None:
        raise ApiError(401, "Invalid or expired token")
    found = await account_status(app, str(claims["id"]))
    kind = KIND_OF_ROLE.get(str(claims["role"]))
    if found is None or found[0] != kind:  # deleted account, or a token of another store
        raise ApiError(401, "Invalid or expired token")
    refusal = account_status_refusal(kind, found[1])
    if refusal:
        raise ApiError(403, refusal)
    principal = Principal(str(claims["id"]), str(claims.get("email", "")), str(claims["role"]), kind, found[1])
    request.state.principal = principal
    return principal


def require(*roles: str) -> Callable[..., Principal]:
    async def dependency(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in roles:
            raise ApiError(403, "Forbidden: Access denied")
        return principal

    return dependency


CurrentUser = Annotated[Principal, Depends(current_principal)]
AppContainer = Annotated[Container, Depends(container)]
ObjectIdPath = Annotated[str, Path(pattern=HEX_ID, description="24-character hex id"), AfterValidator(str.lower)]
