"""Issue 12 §4: forwarded client addresses count only from proxies in FORWARDED_ALLOW_IPS (none by
default, so a client cannot pick its own rate-limit key with X-Forwarded-For); REST CORS and the
Socket.IO handshake accept exactly the origins of CORS_ORIGINS (by default in development the two
apps' dev servers, http://localhost:3000 and http://localhost:5173)."""

from __future__ import annotations

from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from interfaces.http.app import create_app
from tests.conftest import Server, make_settings

API = "/api/v1"
ALLOWED = ("http://localhost:3000", "http://localhost:5173")
REFUSED = ("http://localhost:8080", "https://evil.example.net", "null")


def test_a_client_cannot_choose_its_rate_limit_key_with_x_forwarded_for(tmp_path: Path) -> None:
    """Through a real `consult serve` (uvicorn) on 127.0.0.1, which uvicorn itself would trust."""
    limit = 20
    server = Server(make_settings(tmp_path, rate_limit_max=limit))
    try:
        with httpx.Client(base_url=server.url + API, timeout=30) as http:
            statuses = [
                http.get("/categories", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code
                for n in range(limit + 1)
            ]
        assert 429 in statuses, statuses  # one budget for the one real peer, whatever the header says
    finally:
        server.stop()


def test_forwarded_addresses_from_a_configured_proxy_are_the_clients(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, rate_limit_max=3, forwarded_allow_ips="10.0.0.0/8")
    with TestClient(create_app(settings), client=("10.1.2.3", 40000)) as proxy:
        for n in range(4):  # four clients behind the proxy: each its own budget
            for _ in range(3):
                reply = proxy.get(f"{API}/categories", headers={"X-Forwarded-For": f"198.51.100.{n}, 10.9.9.9"})
                assert reply.status_code == 200, reply.text
        assert proxy.get(f"{API}/categories", headers={"X-Forwarded-For": "198.51.100.0"}).status_code == 429
    with TestClient(create_app(settings), client=("192.0.2.7", 40000)) as stranger:  # not a listed proxy
        statuses = [
            stranger.get(f"{API}/categories", headers={"X-Forwarded-For": f"198.51.100.{n}"}).status_code
            for n in range(10, 14)
        ]
        assert statuses == [200, 200, 200, 429]


def preflight(api: TestClient, origin: str) -> httpx.Response:
    return api.options(
        f"{API}/auth/login",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )


def engineio_open(api: TestClient, origin: str) -> httpx.Response:
    return api.get("/socket.io/", params={"EIO": "4", "transport": "polling"}, headers={"Origin": origin})


def test_cors_and_socketio_accept_the_dev_origins_by_default(tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(tmp_path))) as api:
        for origin in ALLOWED:
            reply = preflight(api, origin)
            assert reply.status_code == 200 and reply.headers["access-control-allow-origin"] == origin, origin
            opened = engineio_open(api, origin)
            assert opened.status_code == 200 and opened.text.startswith("0{"), (origin, opened.text)
            assert opened.headers["access-control-allow-origin"] == origin
        for origin in REFUSED:
            reply = preflight(api, origin)
            assert reply.status_code == 400 and "access-control-allow-origin" not in reply.headers, origin
            refused = engineio_open(api, origin)
            assert refused.status_code == 400, (origin, refused.text)
        # non-browser clients (no Origin header) still connect
        assert api.get("/socket.io/", params={"EIO": "4", "transport": "polling"}).status_code == 200


def test_configured_origins_replace_the_defaults(tmp_path: Path) -> None:
    site = "https://app.example.com"
    delivery = {
        "smtp_host": "127.0.0.1",
        "sms_provider": "twilio",
        "twilio_account_sid": "AC" + "0" * 32,
        "twilio_auth_token": "token",
        "twilio_from": "+15005550006",
    }  # (production refuses the logging adapters; nothing is sent here)
    settings = make_settings(tmp_path, cors_origins=site, environment="production", **delivery)
    with TestClient(create_app(settings)) as api:
        assert preflight(api, site).headers.get("access-control-allow-origin") == site
        assert engineio_open(api, site).status_code == 200
        for origin in ALLOWED:
            assert preflight(api, origin).status_code == 400
            assert engineio_open(api, origin).status_code == 400
