"""The HTTP foundation every route shares (contract auth §1, §2.2-2.3, CONTRACT.md "Envelope, validation,
auth" and "Configuration names"): unknown routes, validation errors, unknown fields, token transport,
body limit, rate limits (in process and shared through Redis), CORS and the OpenAPI coverage."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
from fastapi.testclient import TestClient

from interfaces.http.app import create_app
from tests.conftest import Server, bearer, create_admin, make_settings, signup

API = "/api/v1"
ROUTES_TXT = Path(__file__).resolve().parents[2] / "shared" / "routes.txt"  # ../shared beside the checkout
IN_SCOPE = ("/auth", "/categories", "/subcategories", "/consultants", "/clients", "/users")
ROUTES_IN_SCOPE = """
POST /auth/send-otp
POST /auth/verify-otp
POST /auth/login
POST /auth/register
POST /auth/signup
POST /auth/forgot-password
PUT /auth/reset-password/{resettoken}
POST /auth/create-admin
GET /categories
POST /categories
PATCH /categories/{id}
DELETE /categories/{id}
GET /subcategories
GET /subcategories/{id}
POST /subcategories
PATCH /subcategories/{id}
DELETE /subcategories/{id}
GET /consultants/public
GET /consultants
GET /consultants/{id}
POST /consultants
PATCH /consultants/{id}
DELETE /consultants/{id}
POST /consultants/{id}/approve
POST /consultants/{id}/reject
POST /consultants/{id}/block
POST /consultants/{id}/unblock
GET /clients/profile
PATCH /clients/profile
GET /clients
GET /clients/{id}
PATCH /clients/{id}
GET /users
POST /users
PATCH /users/{id}
DELETE /users/{id}
GET /users/consultants/active
"""  # the lines of routes.txt under IN_SCOPE


def refused(reply: Any, status: int, message: str) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["success"] is False and body["message"] == message, body
    return body  # type: ignore[no-any-return]


# -- routing and validation --------------------------------------------------------------------


def test_unknown_routes_and_methods_answer_the_404_envelope(api):
    assert api.get(f"{API}/xyz").json() == {"success": False, "message": "Route /api/v1/xyz not found"}
    assert api.get(f"{API}/xyz").status_code == 404
    refused(api.get(f"{API}/categories/a/b/c"), 404, "Route /api/v1/categories/a/b/c not found")
    refused(api.get(f"{API}/nothing?page=2"), 404, "Route /api/v1/nothing?page=2 not found")
    # a known path with a method it does not serve is a 404 envelope as well (Express has no 405)
    refused(api.put(f"{API}/categories", json={}), 404, "Route /api/v1/categories not found")
    refused(api.put(f"{API}/consultants/public", json={}), 404, "Route /api/v1/consultants/public not found")
    refused(api.post(f"{API}/clients/profile", json={}), 404, "Route /api/v1/clients/profile not found")


def test_validation_errors_report_every_field_with_dotted_paths(api):
    body = refused(
        api.post(
            f"{API}/auth/signup",
            json={
                "email": "not-an-email",
                "mobile": "12",
                "role": "Consultant",
                "fees": -1,
                "categories": [{"categoryId": "", "categoryName": "Legal"}, {"categoryId": 5}, "oops"],
            },
        ),
        400,
        "Validation failed",
    )
    assert set(body) == {"success", "message", "errors"}
    assert all(
        set(error) == {"field", "message"} and isinstance(error["message"], str) and error["message"]
        for error in body["errors"]
    )
    fields = [error["field"] for error in body["errors"]]
    assert {
        "fullName",
        "email",
        "mobile",
        "fees",
        "categories.0.categoryId",
        "categories.1.categoryId",
        "categories.2",
    } <= set(fields), fields
    assert {"field": "fullName", "message": "Full name is required"} in body["errors"]

    admin = bearer(create_admin(api))
    # nested objects and union members keep the request's own path (no type or class names)
    body = refused(
        api.post(
            f"{API}/consultants",
            headers=admin,
            json={
                "name": "Jo",
                "email": "jo@example.com",
                "phone": "9876543210",
                "category": 5,
                "commission": {"platformPercent": 101},
                "education": [{"institute": "X"}, {"startYear": [1]}],
            },
        ),
        400,
        "Validation failed",
    )
    fields = {error["field"] for error in body["errors"]}
    assert fields == {"category", "commission.platformPercent", "education.1.startYear"}, body["errors"]
    body = refused(
        api.post(
            f"{API}/consultants",
            headers=admin,
            json={"name": "Jo", "email": "jo@example.com", "phone": "9876543210", "category": {"name": ""}},
        ),
        400,
        "Validation failed",
    )
    assert {error["field"] for error in body["errors"]} == {"category", "category.name"}
    # an object-level rule reports the empty path; a malformed body too
    assert (
        refused(
            api.patch(f"{API}/categories/0123456789abcdef01234567", json={}, headers=admin), 400, "Validation failed"
        )["errors"][0]["field"]
        == ""
    )
    body = refused(
        api.post(f"{API}/categories", content=b'{"title": ', headers={**admin, "Content-Type": "application/json"}),
        400,
        "Validation failed",
    )
    assert body["errors"][0]["field"] == ""
    # query parameters and path parameters are validated the same way
    body = refused(
        api.get(f"{API}/clients", params={"page": "first", "limit": 0}, headers=admin), 400, "Validation failed"
    )
    assert {error["field"] for error in body["errors"]} == {"page", "limit"}
    assert refused(api.get(f"{API}/consultants/zzz", headers=admin), 400, "Validation failed")["errors"] == [
        {"field": "id", "message": '"id" must be a valid 24-character hex id'}
    ]


def test_unknown_fields_in_bodies_and_queries_are_ignored(api):
    admin = bearer(create_admin(api))
    category = api.post(f"{API}/categories", headers=admin, json={"title": "Legal", "colour": "red", "nested": {}})
    assert category.status_code == 201, category.text
    assert "colour" not in category.json()["data"] and "nested" not in category.json()["data"]
    category_id = category.json()["data"]["_id"]
    consultant = signup(
        api,
        "Consultant",
        media=["x"],
        pricing={"hour": 1},
        categories=[{"categoryId": category_id, "category": "stripped", "extra": 1}],
    )
    detail = api.get(f"{API}/consultants/{consultant['user']['id']}", headers=admin).json()["data"]
    assert "media" not in detail and "pricing" not in detail
    assert set(detail["categories"][0]) == {"_id", "categoryId", "categoryName", "subcategoryId", "subcategoryName"}
    patched = api.patch(
        f"{API}/consultants/{consultant['user']['id']}",
        headers=admin,
        json={
            "about": "x",
            "availability": {"monday": []},
            "commission": {"platformPercent": 5, "bonus": 1},
            "education": [{"institute": "IIT", "grade": "A"}],
        },
    )
    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    assert "availability" not in data and "bonus" not in data["commission"] and "grade" not in data["education"][0]
    for url, headers in (
        (f"{API}/categories?sort=asc&x=1", {}),
        (f"{API}/subcategories?foo=bar", {}),
        (f"{API}/consultants/public?limit=5&page=2&sort=name", {}),
        (f"{API}/consultants?whatever=1", admin),
        (f"{API}/clients?sort=name&order=desc", admin),
        (f"{API}/users?role=Admin&x=y", admin),
        (f"{API}/users/consultants/active?categoryId=1", admin),
        (f"{API}/clients/profile?x=1", bearer(signup(api, "Client")["token"])),
    ):
        reply = api.get(url, headers=headers)
        assert reply.status_code == 200, (url, reply.text)
        assert reply.json()["success"] is True


# -- tokens ------------------------------------------------------------------------------------


def test_token_transport_and_refusals(api, settings):
    token = create_admin(api)
    assert api.get(f"{API}/users", params={"token": token}).status_code == 200
    assert api.get(f"{API}/users", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    no_token = {"success": False, "message": "Access denied. No token provided."}
    for headers in ({}, {"Authorization": f"bearer {token}"}, {"Authorization": token}, {"Authorization": "Bearer "}):
        reply = api.get(f"{API}/users", headers=headers)
        assert (reply.status_code, reply.json()) == (401, no_token), headers
    refused(api.get(f"{API}/users", params={"token": "garbage"}), 401, "Invalid or expired token")
    refused(api.get(f"{API}/users", headers=bearer(token + "x")), 401, "Invalid or expired token")

    claims = jwt.decode(token, options={"verify_signature": False})
    now = int(time.time())
    secret = settings.resolved_jwt_secret
    expired = jwt.encode({**claims, "iat": now - 7200, "exp": now - 60}, secret, algorithm="HS256")
    refused(api.get(f"{API}/users", headers=bearer(expired)), 401, "Invalid or expired token")
    refused(api.get(f"{API}/users", params={"token": expired}), 401, "Invalid or expired token")
    forged = jwt.encode({**claims, "exp": now + 600}, "another-secret-" + "y" * 32, algorithm="HS256")
    refused(api.get(f"{API}/users", headers=bearer(forged)), 401, "Invalid or expired token")
    fresh = jwt.encode({**claims, "iat": now, "exp": now + 600}, secret, algorithm="HS256")
    assert api.get(f"{API}/users", headers=bearer(fresh)).status_code == 200

    # a registration token is never an access token
    otp = api.post(f"{API}/auth/send-otp", json={"mobile": "+919555555555"}).json()["data"]["otp"]
    registration = api.post(f"{API}/auth/verify-otp", json={"mobile": "+919555555555", "otp": otp})
    registration_token = registration.json()["data"]["registrationToken"]
    refused(api.get(f"{API}/consultants", headers=bearer(registration_token)), 401, "Invalid or expired token")
    # a token whose role names another store than its id's account is refused
    client = signup(api, "Client")
    as_admin = jwt.encode(
        {
            "id": client["user"]["id"],
            "email": client["user"]["email"],
            "role": "Admin",
            "typ": "access",
            "iat": now,
            "exp": now + 600,
        },
        secret,
        algorithm="HS256",
    )
    refused(api.get(f"{API}/users", headers=bearer(as_admin)), 401, "Invalid or expired token")


# -- body limit --------------------------------------------------------------------------------


def test_oversize_bodies_are_refused_and_nothing_is_stored(api):
    admin = bearer(create_admin(api))
    huge = b'{"title": "' + b"x" * 1_100_000 + b'"}'
    too_large = {"success": False, "message": "Request body too large"}
    reply = api.post(f"{API}/categories", content=huge, headers={**admin, "Content-Type": "application/json"})
    assert (reply.status_code, reply.json()) == (413, too_large)

    def streamed() -> Any:  # chunked transfer, no Content-Length
        yield b'{"title": "'
        for _ in range(25):
            yield b"y" * 50_000
        yield b'"}'

    reply = api.post(f"{API}/categories", content=streamed(), headers={**admin, "Content-Type": "application/json"})
    assert (reply.status_code, reply.json()) == (413, too_large)
    big_signup = {
        "fullName": "Big Body",
        "email": "big@example.com",
        "mobile": "+919812345678",
        "role": "Client",
        "padding": "z" * 1_100_000,
    }
    assert api.post(f"{API}/auth/signup", json=big_signup).status_code == 413
    assert api.get(f"{API}/categories").json()["data"] == []
    assert api.get(f"{API}/clients", headers=admin).json()["data"]["pagination"]["total"] == 0

    def small_streamed() -> Any:
        yield b'{"title": '
        yield b'"Streamed"}'

    reply = api.post(
        f"{API}/categories", content=small_streamed(), headers={**admin, "Content-Type": "application/json"}
    )
    assert reply.status_code == 201, reply.text
    assert [c["title"] for c in api.get(f"{API}/categories").json()["data"]] == ["Streamed"]


# -- rate limits -------------------------------------------------------------------------------


def quiet_window() -> int:
    """A rate-limit window of its own that does not end during the test (so counts cannot reset
    under it), and whose keys no other test shares."""
    return next(w for w in iter(lambda: random.randrange(86_400, 1_000_000), None) if w - int(time.time()) % w > 300)


def assert_limit_headers(reply: Any, limit: int, remaining: int, window: int) -> None:
    assert reply.headers["RateLimit-Limit"] == str(limit)
    assert reply.headers["RateLimit-Remaining"] == str(remaining)
    assert 0 < int(reply.headers["RateLimit-Reset"]) <= window
    assert not any(name.lower().startswith("x-ratelimit") for name in reply.headers)


def test_rate_limits_per_client(tmp_path, backend):
    window = quiet_window()
    settings = make_settings(
        tmp_path, backend, rate_limit_max=5, auth_rate_limit_max=3, rate_limit_window_seconds=window
    )
    with TestClient(create_app(settings)) as client:
        for remaining in (2, 1, 0):  # every /auth route counts, success or failure
            reply = client.post(f"{API}/auth/login", json={"email": "nobody@example.com", "password": "x"})
            assert reply.status_code == 401, reply.text
            assert_limit_headers(reply, 3, remaining, window)
        reply = client.post(f"{API}/auth/send-otp", json={"mobile": "+919812345678"})
        assert (reply.status_code, reply.json()) == (
            429,
            {"success": False, "message": "Too many attempts. Please try again later."},
        )
        assert_limit_headers(reply, 3, 0, window)

        # the four /auth requests also counted against the whole-API limit of 5
        reply = client.get(f"{API}/categories")
        assert reply.status_code == 200
        assert_limit_headers(reply, 5, 0, window)
        for _ in range(2):
            reply = client.get(f"{API}/categories")
            assert (reply.status_code, reply.json()) == (
                429,
                {"success": False, "message": "Too many requests. Please try again later."},
            )
            assert_limit_headers(reply, 5, 0, window)
        assert client.get(f"{API}/xyz").status_code == 429  # unknown routes are limited as well


def test_rate_limit_is_shared_across_processes_through_redis(tmp_path, redis_url):
    """A `consult serve` process and this test's own app process count one client IP together."""
    import redis

    store = redis.Redis.from_url(redis_url)

    def start_clean() -> None:
        for key in store.scan_iter(match="consult:rl:*"):
            store.delete(key)

    window = quiet_window()
    limits = {"rate_limit_max": 5, "auth_rate_limit_max": 3, "redis_url": redis_url}
    start_clean()  # the server's readiness probe is rate limited too
    server = Server(
        make_settings(tmp_path / "server", None, **limits), extra_env={"RATE_LIMIT_WINDOW_SECONDS": str(window)}
    )
    try:
        local = create_app(make_settings(tmp_path / "local", None, rate_limit_window_seconds=window, **limits))
        with TestClient(local, client=("127.0.0.1", 50000)) as here:
            start_clean()

            def there(path: str) -> Any:
                return httpx.get(server.url + path, timeout=10)

            answers = [ask(f"{API}/categories") for ask in (there, here.get, there, here.get, there)]
            assert [reply.status_code for reply in answers] == [200] * 5
            assert [reply.headers["RateLimit-Remaining"] for reply in answers] == ["4", "3", "2", "1", "0"]
            for ask in (here.get, there):
                reply = ask(f"{API}/categories")
                assert (reply.status_code, reply.json()["message"]) == (
                    429,
                    "Too many requests. Please try again later.",
                )
                assert_limit_headers(reply, 5, 0, window)
            assert list(store.scan_iter(match="consult:rl:api:127.0.0.1:*"))
    finally:
        server.stop()


# -- CORS and OpenAPI --------------------------------------------------------------------------


def test_cors_for_configured_origins(tmp_path):
    origin = "https://admin.example.com"
    settings = make_settings(tmp_path, None, cors_origins=f"{origin}, https://app.example.com")
    with TestClient(create_app(settings)) as client:
        reply = client.get(f"{API}/categories", headers={"Origin": origin})
        assert reply.status_code == 200
        assert reply.headers["Access-Control-Allow-Origin"] == origin
        exposed = [h.strip().lower() for h in reply.headers["Access-Control-Expose-Headers"].split(",")]
        assert "content-disposition" in exposed
        preflight = client.options(
            f"{API}/consultants/0123456789abcdef01234567",
            headers={
                "Origin": "https://app.example.com",
                "Access-Control-Request-Method": "PATCH",
                "Access-Control-Request-Headers": "Authorization, Content-Type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        assert "PATCH" in preflight.headers["Access-Control-Allow-Methods"]
        assert "authorization" in preflight.headers["Access-Control-Allow-Headers"].lower()
        # an error answer carries the CORS headers too, so the apps can read its message
        denied = client.get(f"{API}/users", headers={"Origin": origin})
        assert denied.status_code == 401 and denied.headers["Access-Control-Allow-Origin"] == origin
        stranger = client.get(f"{API}/categories", headers={"Origin": "https://evil.example.net"})
        assert "Access-Control-Allow-Origin" not in stranger.headers


def routes_in_scope(text: str, prefixes: tuple[str, ...] = IN_SCOPE) -> set[tuple[str, str]]:
    wanted = set()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            method, path = line.split()
            if path.startswith(prefixes):
                wanted.add((method.upper(), re.sub(r"\{[^}]+\}", "{}", API + path)))
    return wanted


def test_openapi_documents_every_route_in_scope(api):
    wanted = routes_in_scope(ROUTES_IN_SCOPE)
    assert len(wanted) == 37
    if ROUTES_TXT.exists():  # every route either app calls (../shared/routes.txt), not only the copy above
        every = routes_in_scope(ROUTES_TXT.read_text(), ("/",))
        assert wanted <= every and len(every) >= 110
        wanted = every
    spec = api.get("/openapi.json").json()
    documented = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path.rstrip("/")))
        for path, operations in spec["paths"].items()
        for method in operations
    }
    assert sorted(wanted - documented) == []
    assert api.get("/docs").status_code == 200
