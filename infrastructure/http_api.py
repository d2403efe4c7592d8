"""JSON-over-HTTPS calls of the external adapters (payment gateways): httpx and tenacity.

One `httpx.Client` per adapter, made once: its connections are kept alive and reused across calls
(TLS set up once, not per request), and every request has a connect and a read timeout.

Retries (tenacity, exponential back-off, `ATTEMPTS` in all) only where repeating is safe:
- a failure to connect (nothing reached the server) is retried for every call;
- a call the caller marks `idempotent` (GETs, POSTs carrying an idempotency key, requests the API
  itself refuses to apply twice) is also retried after a timeout or a connection broken mid-request
  (a kept-alive connection the server closed, say).
An answer, whatever its status, is never repeated here: it goes back to the caller, whose own policy
decides (refunds are retried durably, with back-off and the admins told, by `application.refunds`).
The last error is what the caller gets.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

TIMEOUT = httpx.Timeout(20.0, connect=5.0)
ATTEMPTS = 3


def _no_connection(error: BaseException) -> bool:
    return isinstance(error, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout))


def _transport_failure(error: BaseException) -> bool:
    return isinstance(error, httpx.TransportError)


class HttpApi:
    def __init__(
        self,
        base_url: str,
        headers: dict[str, str] | None = None,
        *,
        timeout: httpx.Timeout = TIMEOUT,
        attempts: int = ATTEMPTS,
        backoff: float = 0.2,
    ):
        self.client = httpx.Client(base_url=base_url, headers=headers, timeout=timeout)
        self.attempts = attempts
        self.backoff = backoff

    def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        """The status and JSON body (`{}` if none or not JSON) of one call, retried as the module says."""

        def send() -> httpx.Response:
            return self.client.request(method, path, content=content, headers=headers)

        retrying = Retrying(
            retry=retry_if_exception(_transport_failure if idempotent else _no_connection),
            stop=stop_after_attempt(self.attempts),
            wait=wait_exponential(multiplier=self.backoff, max=5),
            reraise=True,
        )
        reply: httpx.Response = retrying(send)
        try:
            payload = json.loads(reply.content or b"{}")
        except ValueError:
            payload = {}
        return reply.status_code, payload if isinstance(payload, dict) else {}

    def close(self) -> None:
        self.client.close()
