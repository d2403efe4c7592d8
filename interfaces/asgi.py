"""Entry point for ASGI servers: `uvicorn interfaces.asgi:create --factory`."""

from __future__ import annotations

import gc
from typing import Any

from interfaces.http.app import create_app


def create() -> Any:
    app = create_app()
    # The objects of the start-up (routes, models, metadata: most of the heap) never become garbage:
    # frozen, the collector stops rescanning them, which was about a fifth of the CPU of a burst of
    # 200 requests (measured with `bench/booking.py`'s contention part).
    gc.collect()
    gc.freeze()
    return app
