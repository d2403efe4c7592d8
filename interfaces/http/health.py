"""What `GET /api/v1/health` adds about the projections: `projectionLag`, per projection, the
event log's head minus the projection's tracking position (0 = up to date). The read-model
projections are read from their tracking table (whoever runs them: this process or a worker); the
DuckDB reporting store appears when this process owns it. The figures are read at most once per
`FRESH_FOR` seconds per process, so the health route stays the trivial route that load balancers
poll and benchmarks compare against."""

from __future__ import annotations

import threading
import time
from typing import Any

import sqlalchemy as sa

from infrastructure.tables import projection_tracking

FRESH_FOR = 1.0
_cache: dict[int, tuple[float, dict[str, int]]] = {}
_lock = threading.Lock()


def _lag(container: Any) -> dict[str, int]:
    head = int(container.market.recorder.max_notification_id() or 0)
    with container.engine.connect() as conn:
        rows = conn.execute(sa.select(projection_tracking.c.name, projection_tracking.c.position)).all()
    lag = {str(name): max(0, head - int(position or 0)) for name, position in rows}
    if container.reporting is not None:
        lag["reporting"] = max(0, head - int(container.reporting.position))
    return lag


def projection_health(container: Any) -> dict[str, Any]:
    now = time.monotonic()
    with _lock:
        cached = _cache.get(id(container))
    if cached is None or now - cached[0] >= FRESH_FOR:
        cached = (now, _lag(container))
        with _lock:
            _cache[id(container)] = cached
    return {"projectionLag": dict(cached[1])}
