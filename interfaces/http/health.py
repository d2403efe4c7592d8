"""The body of `GET /api/v1/health`: `up`, or `degraded` while some projection has parked events.

Degraded still answers 200: the process serves requests, and a load balancer must not evict it for
a parked event (an operator looks at `consult doctor`); `parkedEvents` says how many there are."""

from __future__ import annotations

import logging
from typing import Any

from infrastructure import parking
from reporting import parked as reporting_parked

log = logging.getLogger(__name__)


def parked_count(container: Any) -> int:
    """Parked events of the read models, plus the reporting store's when this process owns it."""
    total = parking.count(container.engine)
    store = container.reporting
    if store is not None:
        cursor = store.cursor()
        try:
            total += reporting_parked.count(cursor)
        finally:
            cursor.close()
    return total


def health_body(container: Any) -> dict[str, Any]:
    count = parked_count(container)
    return {"status": "degraded" if count else "up", "parkedEvents": count}
