"""The ASGI application: FastAPI under /api/v1 with Socket.IO beside it on /socket.io."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import socketio
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from infrastructure.bootstrap import Container, build
from infrastructure.realtime import LoopBroadcaster, RedisBroadcaster
from infrastructure.settings import Settings
from interfaces.http import errors, redaction
from interfaces.http.aliases import ResolveAliases, load_aliases
from interfaces.http.envelope import ok
from interfaces.http.forwarding import ForwardAnalytics
from interfaces.http.health import current_reading, health_body
from interfaces.http.input_guard import RejectUnstorableQuery
from interfaces.http.middleware import BodyLimit, PushAfterResponse, RateLimit
from interfaces.http.proxies import TrustedProxies
from interfaces.http.route_table import install as install_route_table
from interfaces.http.routers import (
    accounts,
    admin_settings,
    analytics,
    appointments,
    auth,
    catalogue,
    clients,
    consultant_settings,
    consultants,
    documents,
    links,
    locations,
    notifications,
    payments,
    privacy,
    profile_images,
    storage,
    transactions,
    uploads,
    users,
    video,
)
from interfaces.http.turns import Turns
from interfaces.realtime import create_socket_server
from reporting.wiring import ReportingLocked, attach, owns_reporting

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"
# FastAPI matches a request against the routes in order (every router's routes in turn): the booking
# routes, the hottest under load, come first (measured 0.2-0.3 ms of CPU per hold request when they
# were seventh). No two routers share a path prefix, so the order changes nothing else.
ROUTERS = (
    appointments.router,
    auth.router,
    catalogue.router,
    profile_images.router,  # before /consultants, /clients: its multipart-only routes share their paths
    privacy.router,  # before /consultants and /users: `/consultants/me`, `/users/profile` beat their `/{id}`
    consultants.router,
    clients.router,
    users.router,
    consultant_settings.router,
    payments.router,
    transactions.router,
    storage.router,
    analytics.router,
    notifications.router,
    links.router,
    accounts.router,
    uploads.router,
    documents.router,
    admin_settings.router,
    locations.router,
    video.router,
)


def telemetry(settings: Settings) -> Any:
    """FastAPI's telemetry as configured (`OTEL_TELEMETRY`): FastAPI's own defaults when on; when off,
    every part off, so that a request does not look for OpenTelemetry providers in the environment."""
    return None if settings.otel_telemetry else {"tracing": False, "metrics": False, "logs": False}


def create_api(app_container: Container) -> FastAPI:
    settings = app_container.settings

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        broadcaster = app_container.runner.broadcaster
        if isinstance(broadcaster, LoopBroadcaster):
            broadcaster.bind(asyncio.get_running_loop())
        app_container.start_background()
        if app_container.reads is not None:
            await app_container.reads.open()
        yield
        if app_container.reads is not None:
            await app_container.reads.close()
        await asyncio.get_running_loop().run_in_executor(None, app_container.close)

    api = FastAPI(
        title="Consultation marketplace API",
        version="1.0",
        lifespan=lifespan,
        docs_url="/docs",
        description="Event-sourced drop-in for the marketplace's Node backend. Envelope "
        "`{success, message, data}`; errors `{success: false, message, errors?}`.",
        telemetry=telemetry(settings),
    )
    api.state.container = app_container
    api.state.turns = Turns()
    errors.install(api, joined_message_prefixes=(f"{API_PREFIX}/appointments",))
    for router in ROUTERS:
        api.include_router(router, prefix=API_PREFIX)

    @api.get(f"{API_PREFIX}/health", tags=["ops"])
    async def health() -> Any:
        return ok("OK", health_body(await current_reading(app_container)))  # degraded: still 200

    install_route_table(api)  # every route is registered: a request is matched in its bucket only
    api.add_middleware(PushAfterResponse, runner=app_container.runner, foreground=app_container.foreground)
    if app_container.analytics is None and settings.reporting_url:
        api.add_middleware(ForwardAnalytics, base_url=settings.reporting_url, prefix=f"{API_PREFIX}/analytics")
    aliases = load_aliases(app_container.market)
    if aliases:  # inside BodyLimit (one body message), outside the analytics forwarding
        api.add_middleware(ResolveAliases, aliases=aliases)
    api.add_middleware(
        RateLimit,
        limiter=app_container.limiter,
        api_max=settings.rate_limit_max,
        auth_max=settings.auth_rate_limit_max,
        window=settings.rate_limit_window_seconds,
    )
    api.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        streamed=uploads.STREAMED_LIMITS,
        multipart=profile_images.MULTIPART_LIMITS,
    )
    api.add_middleware(RejectUnstorableQuery, joined_message_prefixes=(f"{API_PREFIX}/appointments",))
    # added last = outermost: 413 and 429 answers carry CORS headers too, so browsers can read them
    api.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origin_list,
        allow_origin_regex=None,  # CORS_ORIGINS only (its default outside production: the apps' dev servers)
        allow_credentials=True,
        allow_methods=["GET", "HEAD", "PUT", "PATCH", "POST", "DELETE"],
        allow_headers=["*"],
        expose_headers=["Content-Disposition"],
    )
    if settings.forwarded_allow_list:  # outermost: the client address every layer sees
        api.add_middleware(TrustedProxies, trusted_hosts=settings.forwarded_allow_list)
    return api


def create_reporting_api(app_container: Container) -> FastAPI:
    """The HTTP face of `consult worker --reporting`: the analytics routes (and health) only. API
    processes forward to it and apply the rate limits and CORS themselves."""
    api = FastAPI(
        title="Consultation marketplace reporting",
        version="1.0",
        docs_url="/docs",
        telemetry=telemetry(app_container.settings),
    )
    api.state.container = app_container
    errors.install(api)
    api.include_router(analytics.router, prefix=API_PREFIX)

    @api.get(f"{API_PREFIX}/health", tags=["ops"])
    async def health() -> Any:
        store = app_container.reporting
        body = health_body(await current_reading(app_container))
        return ok("OK", {**body, "reportingPosition": store.position if store else None})

    install_route_table(api)
    return api


def create_app(settings: Settings | None = None, *, run_projections: bool | None = None) -> Any:
    """Build the whole service. A process runs the projections unless told otherwise
    (`CONSULT_RUN_PROJECTIONS=0` is set by `consult serve --workers N` for its API processes)."""
    settings = settings or Settings()
    redaction.install()  # reset tokens and ?token= never reach the access log
    if run_projections is None:
        run_projections = os.environ.get("CONSULT_RUN_PROJECTIONS", "1") != "0"
    app_container = build(settings, run_projections=run_projections)
    if owns_reporting(settings, run_projections):
        try:
            attach(app_container)
        except ReportingLocked as locked:  # another process on this DATA_DIR owns the store
            log.warning("%s: this process does not serve analytics (set REPORTING_URL to forward them)", locked)
    tokens = app_container.tokens
    server = create_socket_server(tokens, settings.redis_url, settings.socketio_channel, settings.cors_origin_list)
    if run_projections:
        app_container.set_broadcaster(LoopBroadcaster(server))
    elif settings.redis_url:
        app_container.set_broadcaster(RedisBroadcaster(settings.redis_url, settings.socketio_channel))
    api = create_api(app_container)
    asgi = socketio.ASGIApp(server, other_asgi_app=api, socketio_path="socket.io")
    asgi.state = api.state  # tests and tools reach the container through the ASGI app
    asgi.socket_server = server
    return asgi
