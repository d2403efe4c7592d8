"""Attaches the DuckDB reporting store to a container: only in the process that owns the store (the
embedded `consult serve`, or `consult worker --reporting`), which then answers the analytics routes."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import duckdb

from infrastructure.bootstrap import Container
from infrastructure.settings import Settings
from reporting.service import Analytics
from reporting.store import LIVE_FILE, ReportingStore


class ReportingLocked(Exception):
    """The DuckDB file is owned (locked) by another process."""


def open_store(settings: Settings, container: Container) -> ReportingStore:
    market = container.market
    try:
        store = ReportingStore(
            settings.data_dir / LIVE_FILE,
            read_notifications=lambda start, limit: list(market.recorder.select_notifications(start, limit)),
            decode=market.mapper.to_domain_event,
            preload=market.mapper.preload_keys,
            max_position=lambda: market.recorder.max_notification_id() or 0,
            zone=ZoneInfo(settings.business_timezone),
            memory_limit=settings.reporting_memory_limit,
            direct=market.mapper.compressor is None and market.mapper.cipher is None,
        )
    except duckdb.IOException as error:
        raise ReportingLocked(f"the reporting store {settings.data_dir / LIVE_FILE} is in use: {error}") from error
    if store.position == 0:
        # An empty store: its upcoming index starts a day behind now (as the background loop keeps it), so
        # filling it from the first event does not add every past appointment to it only to delete them.
        store.advance_upcoming()
    return store


def attach(container: Container) -> Analytics:
    settings = container.settings
    store = open_store(settings, container)
    market = container.market
    analytics = Analytics(
        store,
        lambda: market.recorder.max_notification_id() or 0,
        ZoneInfo(settings.business_timezone),
        timeout=settings.read_your_writes_timeout,
    )
    container.reporting, container.analytics = store, analytics
    return analytics


def owns_reporting(settings: Settings, run_projections: bool) -> bool:
    """The embedded default: the process that runs the projections owns the store, unless
    REPORTING_URL names the reporting process."""
    return run_projections and not settings.reporting_url
