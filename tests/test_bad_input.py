"""Bad input is a 4xx with the contract's envelope, never a 5xx, and nothing a request sends is stored
in a form the read models cannot hold (issue 12, sections 1 and 3; CONTRACT.md "Robustness").

Each test is a reproduction that failed before validation ran ahead of the events."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import bearer, create_admin, login, signup


def _invalid(reply: Any, field: str | None = None, message: str = "Validation failed") -> dict[str, Any]:
    """400 with `errors: [{field, message}]`; `message` is `Validation failed`, on /appointments the
    field messages joined by `, ` (CONTRACT.md "Validation errors")."""
    assert reply.status_code == 400, reply.text
    body = reply.json()
    assert isinstance(body.get("errors"), list) and body["errors"], body
    if "/api/v1/appointments" in str(reply.request.url):
        message = ", ".join(error["message"] for error in body["errors"])
    assert body["success"] is False and body["message"] == message, body
    if field is not None:
        assert field in [error["field"] for error in body["errors"]], body
    return body  # type: ignore[no-any-return]


@pytest.fixture
def admin(api: Any) -> dict[str, str]:
    return bearer(create_admin(api))


def _consultant(api: Any, admin: dict[str, str]) -> tuple[str, dict[str, str]]:
    data = signup(api, "Consultant")
    consultant_id = data["user"]["id"]
    assert api.post(f"/api/v1/consultants/{consultant_id}/approve", headers=admin).status_code == 200
    return consultant_id, bearer(login(api, data["user"]["email"], "secret1", "Consultant"))


def _client(api: Any) -> tuple[str, dict[str, str]]:
    data = signup(api, "Client")
    return data["user"]["id"], bearer(data["token"])


def _writes_still_visible(api: Any, admin: dict[str, str]) -> None:
    """A later ordinary write is visible at once (a jammed projection would make it wait and miss)."""
    created = api.post("/api/v1/categories", headers=admin, json={"title": "Still Works"})
    assert created.status_code == 201, created.text
    titles = [c["title"] for c in api.get("/api/v1/categories").json()["data"]]
    assert "Still Works" in titles


def test_null_category_status_is_refused_and_nothing_is_stored(api: Any, admin: dict[str, str]) -> None:
    _invalid(api.post("/api/v1/categories", headers=admin, json={"title": "X1", "status": None}), "status")
    assert all(c["title"] != "X1" for c in api.get("/api/v1/categories").json()["data"])
    _writes_still_visible(api, admin)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"title": "Ok\u0000title"}, "title"),
        ({"title": "Fine", "description": "a" * 100_000}, "description"),
        ({"title": "Fine", "image": "x" * 100_000}, "image"),
        ({"title": "Fine", "rating": "NaN"}, "rating"),
        ({"title": "Fine", "consultants": 10**30}, "consultants"),
        ({"title": 12345}, "title"),
    ],
)
def test_values_a_category_cannot_hold_are_refused(api: Any, admin: dict[str, str], body: Any, field: str) -> None:
    _invalid(api.post("/api/v1/categories", headers=admin, json=body), field)
    assert api.get("/api/v1/categories").json()["data"] == []


def test_null_mobile_on_own_client_profile(api: Any, admin: dict[str, str]) -> None:
    _, client = _client(api)
    _invalid(api.patch("/api/v1/clients/profile", headers=client, json={"mobile": None}), "mobile")
    assert api.get("/api/v1/clients/profile", headers=client).json()["data"]["mobile"]
    _writes_still_visible(api, admin)


def test_null_email_on_every_account_update(api: Any, admin: dict[str, str]) -> None:
    consultant_id, consultant = _consultant(api, admin)
    client_id, _ = _client(api)
    created = api.post(
        "/api/v1/users",
        headers=admin,
        json={
            "userId": "EMP42",
            "fullName": "Emma",
            "email": "emma@example.com",
            "mobile": "9700000042",
            "role": "Employee",
        },
    )
    user_id = created.json()["data"]["id"]
    _invalid(api.patch(f"/api/v1/consultants/{consultant_id}", headers=consultant, json={"email": None}), "email")
    _invalid(api.patch(f"/api/v1/clients/{client_id}", headers=admin, json={"email": None}), "email")
    _invalid(api.patch(f"/api/v1/users/{user_id}", headers=admin, json={"email": None}), "email")
    assert api.get(f"/api/v1/clients/{client_id}", headers=admin).json()["data"]["email"]
    _writes_still_visible(api, admin)


def test_nul_byte_and_huge_text_in_profile_fields(api: Any, admin: dict[str, str]) -> None:
    consultant_id, consultant = _consultant(api, admin)
    _, client = _client(api)
    _invalid(api.patch("/api/v1/clients/profile", headers=client, json={"city": "Pu\u0000ne"}), "city")
    _invalid(api.patch(f"/api/v1/consultants/{consultant_id}", headers=consultant, json={"about": "x\u0000"}), "about")
    _invalid(
        api.patch(
            f"/api/v1/consultants/{consultant_id}", headers=consultant, json={"name": "N", "about": "y" * 100_000}
        ),
        "about",
    )
    _invalid(api.patch(f"/api/v1/consultants/{consultant_id}", headers=consultant, json={"tags": ["a\u0000"]}), "tags")
    _writes_still_visible(api, admin)


def test_huge_page_numbers_are_refused_or_empty(api: Any, admin: dict[str, str]) -> None:
    _, client = _client(api)
    for path, headers in (
        ("/api/v1/appointments?page=74265226679296416", client),
        ("/api/v1/clients?page=1e20", admin),
        ("/api/v1/clients?page=74265226679296416", admin),
        ("/api/v1/transactions?page=74265226679296416", admin),
        ("/api/v1/appointments?limit=74265226679296416", client),
    ):
        reply = api.get(path, headers=headers)
        assert reply.status_code in (200, 400), (path, reply.text)
        if reply.status_code == 400 and path.startswith("/api/v1/transactions"):  # its own raw bodies
            assert reply.json() == {"message": "Invalid page: a positive integer is required"}
        elif reply.status_code == 400:
            _invalid(reply)


@pytest.mark.parametrize("query", ["q=a%00b", "category=a%00b", "status=Active%00"])
def test_nul_byte_in_public_consultant_query(api: Any, query: str) -> None:
    reply = api.get(f"/api/v1/consultants/public?{query}")
    _invalid(reply)


def test_nul_byte_in_any_query_or_path_is_refused(api: Any, admin: dict[str, str]) -> None:
    for path in (
        "/api/v1/clients?search=a%00",
        "/api/v1/appointments?q=a%00",
        "/api/v1/payments/status?orderId=order_%00",
        "/api/v1/auth/reset-password/abc%00def",
    ):
        method = api.put if "reset-password" in path else api.get
        kwargs: dict[str, Any] = {"json": {"password": "Passw0rdOK"}} if method is api.put else {}
        _invalid(method(path, headers=admin, **kwargs))


def test_nul_byte_in_sandbox_checkout_order_id(api: Any) -> None:
    _, client = _client(api)
    reply = api.post("/api/v1/payments/sandbox/checkout", headers=client, json={"orderId": "order_\u0000x"})
    _invalid(reply, "orderId")


def test_nul_byte_in_login_and_otp(api: Any) -> None:
    _invalid(api.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "pw\u0000"}), "password")
    _invalid(
        api.post("/api/v1/auth/verify-otp", json={"mobile": "+919800000000", "otp": "123456", "role": "Cli\u0000"})
    )


def test_wrong_types_are_refused(api: Any, admin: dict[str, str]) -> None:
    consultant_id, consultant = _consultant(api, admin)
    _invalid(api.patch(f"/api/v1/consultants/{consultant_id}", headers=consultant, json={"fees": None}), "fees")
    _invalid(api.patch(f"/api/v1/consultants/{consultant_id}", headers=consultant, json={"fees": "abc"}), "fees")
    _invalid(api.patch(f"/api/v1/consultants/{consultant_id}", headers=consultant, json={"fees": 1e300}), "fees")
    _invalid(
        api.patch(f"/api/v1/consultants/{consultant_id}", headers=consultant, json={"firstName": None}), "firstName"
    )
    reply = api.put(
        f"/api/v1/consultant-settings/{consultant_id}/availability",
        headers=consultant,
        json={"slotDurationMin": None},
    )
    assert reply.status_code in (200, 400), reply.text
    _writes_still_visible(api, admin)


def test_payout_text_with_nul_is_refused(api: Any, admin: dict[str, str]) -> None:
    consultant_id, _ = _consultant(api, admin)
    for body in ({"notes": "n\u0000"}, {"referenceId": "ref\u0000"}):
        reply = api.post(
            "/api/v1/transactions/payout", headers=admin, json={"consultantId": consultant_id, "amount": 1, **body}
        )
        assert reply.status_code == 400, reply.text
        assert reply.json() == {"message": "notes and referenceId must not contain NUL characters"}


# -- the domain's guard: the last line before the event store, whatever the caller ---------------


def test_storable_values() -> None:
    from domain.storable import MAX_STORED_TEXT, problems

    assert list(problems({"a": "fine", "b": [1, 2.5, True, None], "c": {"d": "ü" * 100}})) == []
    assert list(problems({"a": "x\x00"})) == [("a", "must not contain NUL characters")]
    assert list(problems({"a": {"b": ["y" * (MAX_STORED_TEXT + 1)]}})) == [
        ("a.b", f"must be at most {MAX_STORED_TEXT} characters")
    ]
    assert list(problems({"n": float("nan"), "i": 2**64, "k": {"\x00": 1}})) == [
        ("n", "is out of range"),
        ("i", "is out of range"),
        ("k", "must not contain NUL characters"),
    ]


def test_a_command_never_records_an_unstorable_event(container: Any) -> None:
    """Called below the HTTP layer (as an import or a future route would): refused, nothing stored."""
    from domain.errors import Invalid
    from interfaces.http.errors import status_of

    before = container.market.recorder.max_notification_id()
    for fields in (
        {"title": "Tax\x00"},
        {"title": "Tax", "description": "d" * 50_000},
        {"title": "T", "rating": 1e300},
    ):
        with pytest.raises(Invalid) as refused:
            container.people.create_category({"status": "Active", **fields})
        assert status_of(refused.value) == 400 and refused.value.message == "Validation failed"
        assert refused.value.errors and refused.value.errors[0]["field"] in fields
    assert container.market.recorder.max_notification_id() == before
    container.people.create_category({"title": "Tax", "status": "Active"})
    assert container.market.recorder.max_notification_id() > (before or 0)


def test_registration_category_names_fit_the_read_model(api: Any, admin: dict[str, str]) -> None:
    """A 300-character category name at signup was stored and jammed the projection on PostgreSQL."""
    for category in ({"name": "x" * 300}, "y" * 300):
        reply = api.post(
            "/api/v1/auth/signup",
            json={
                "fullName": "Long Category",
                "email": "long.category@example.com",
                "mobile": "+919812345678",
                "password": "secret1",
                "role": "Consultant",
                "category": category,
            },
        )
        _invalid(reply, "category")
    _writes_still_visible(api, admin)
