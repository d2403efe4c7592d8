"""Forwarded client addresses, believed only from the proxies in `FORWARDED_ALLOW_IPS`.

uvicorn's own proxy-header handling trusts 127.0.0.1 unless told otherwise; `consult serve` turns
it off (`proxy_headers=False`) and the app applies uvicorn's middleware itself with the configured
proxies only (addresses, networks such as `10.0.0.0/8`, or `*`). With none configured, the client
address is the connecting peer's and `X-Forwarded-For` is ignored: a client cannot choose its own
rate-limit key. From a trusted proxy the client is the right-most address of `X-Forwarded-For` that
is not itself a trusted proxy."""

from __future__ import annotations

from typing import Any

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware


class TrustedProxies(ProxyHeadersMiddleware):
    def __init__(self, app: Any, trusted_hosts: list[str]):
        super().__init__(app, trusted_hosts=trusted_hosts)
