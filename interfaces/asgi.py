"""Entry point for ASGI servers: `uvicorn interfaces.asgi:create --factory`."""

from __future__ import annotations

from typing import Any

from interfaces.http.app import create_app


def create() -> Any:
    return create_app()
