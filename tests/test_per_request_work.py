"""What a request must not do on the serving path: the work that is decided once at start stays there."""

from __future__ import annotations

import os
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest


class ReadsCounted(MutableMapping[str, str]):
    """`os.environ` that records every key asked for."""

    def __init__(self, environ: MutableMapping[str, str]):
        self.environ = environ
        self.asked: list[str] = []

    def __getitem__(self, key: str) -> str:
        self.asked.append(key)
        return self.environ[key]

    def __contains__(self, key: object) -> bool:
        self.asked.append(str(key))
        return key in self.environ

    def __setitem__(self, key: str, value: str) -> None:
        self.environ[key] = value

    def __delitem__(self, key: str) -> None:
        del self.environ[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.environ)

    def __len__(self) -> int:
        return len(self.environ)


def test_a_request_reads_no_environment_variable(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings are read once, when the app is built; FastAPI's telemetry, when not configured,
    asked the environment for three OpenTelemetry providers on every request."""
    api.get("/api/v1/health")  # anything built lazily on the first request
    counted = ReadsCounted(os.environ)
    monkeypatch.setattr(os, "environ", counted)
    for _ in range(3):
        assert api.get("/api/v1/health").status_code == 200
        assert api.post("/api/v1/appointments/hold", json={}).status_code == 401
    assert counted.asked == []
