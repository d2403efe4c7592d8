"""`/admin-settings` (contract platform §6.6): one platform-wide set, a profile per admin, the public
subset always 200, writes validated (400, nothing stored), the caller's own id only, and a rebuild
of the read models gives the same answers."""

from __future__ import annotations

import threading
from typing import Any

import jwt
import sqlalchemy as sa

from domain.platform_settings import PlatformSettings, default_sections
from infrastructure.platform_tables import platform_settings
from tests.conftest import bearer, create_admin, employee_token, refused, signup

API = "/api/v1/admin-settings"


def admin_id(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["id"])


def second_admin(api: Any, admin: dict[str, str]) -> str:
    reply = api.post(
        "/api/v1/users",
        headers=admin,
        json={
            "userId": "ADM2",
            "fullName": "Second Admin",
            "email": "second@example.com",
            "mobile": "9000000077",
            "role": "Admin",
        },
    )
    assert reply.status_code == 201, reply.text
    otp = api.post("/api/v1/auth/send-otp", json={"mobile": "9000000077"}).json()["data"]["otp"]
    login = api.post("/api/v1/auth/verify-otp", json={"mobile": "9000000077", "otp": otp, "role": "Admin"})
    assert login.status_code == 200, login.text
    return str(login.json()["data"]["token"])


def test_public_defaults_then_saved_values_and_never_private_sections(api):
    public = api.get(f"{API}/public")
    assert public.status_code == 200 and public.json()["message"] == "Public settings retrieved successfully"
    defaults = default_sections("INR", "Asia/Kolkata")
    data = public.json()["data"]
    assert {k: data[k] for k in ("security", "platform", "general")} == {
        k: defaults[k] for k in ("security", "platform", "general")
    }
    assert set(data) == {"_id", "id", "security", "platform", "general"}

    token = create_admin(api)
    me = admin_id(token)
    terms = {"termsAndConditions": "<h1>Terms</h1><script>x()</script>", "privacyPolicy": "<p>Privacy</p>"}
    saved = api.put(f"{API}/{me}/security", headers=bearer(token), json={**terms, "admin": "x"})
    assert saved.status_code == 200 and saved.json() == {
        "success": True,
        "message": "Security settings updated successfully",
        "data": terms,
    }
    api.put(f"{API}/{me}/profile", headers=bearer(token), json={"name": "Root", "email": "root@example.com"})
    api.put(f"{API}/{me}/notifications", headers=bearer(token), json={"sms": True})
    after = api.get(f"{API}/public").json()["data"]
    assert after["security"] == terms  # stored as given, the platform's (not one admin's)
    assert "profile" not in after and "notifications" not in after and "admin" not in after
    assert "root@example.com" not in str(after)


def test_sections_merge_validate_and_belong_to_the_platform_or_the_admin(api):
    token = create_admin(api)
    me, auth = admin_id(token), bearer(token)
    whole = api.get(f"{API}/{me}", headers=auth)
    assert whole.status_code == 200 and whole.json()["message"] == "Admin settings retrieved successfully"
    assert set(whole.json()["data"]) >= {"profile", "platform", "general", "notifications", "security", "admin"}
    assert whole.json()["data"]["general"]["currency"] == "INR"  # the defaults tell the truth

    general = api.put(f"{API}/{me}/general", headers=auth, json={"timeFormat": "24h", "currency": "inr", "extra": 1})
    assert general.status_code == 200 and general.json()["message"] == "General settings updated successfully"
    assert general.json()["data"] == {**default_sections("INR", "Asia/Kolkata")["general"], "timeFormat": "24h"}
    platform = api.put(f"{API}/{me}/platform", headers=auth, json={"name": "NexFutrr", "version": "2.0"})
    assert platform.json()["data"] == {"name": "NexFutrr", "description": "", "version": "2.0"}
    profile = api.put(f"{API}/{me}/profile", headers=auth, json={"name": "Root", "email": ""})
    assert profile.json()["message"] == "Profile settings updated successfully"

    bad_bodies = {
        "general": [
            {"timeFormat": "13h"},
            {"currency": "RUPEE"},
            {"platformName": "x"},
            {"timezone": "z" * 51},
            {"language": None},
        ],
        "notifications": [{"sms": "maybe"}, {"email": None}],
        "platform": [{"description": "d" * 1001}, {"version": "v" * 21}],
        "profile": [{"email": "not-an-email"}, {"name": "n" * 101}],
        "security": [{"termsAndConditions": "t" * 100_001}, {"privacyPolicy": "a\x00b"}, {"privacyPolicy": 5}],
    }
    before = api.get(f"{API}/{me}", headers=auth).json()["data"]
    for section, bodies in bad_bodies.items():
        for body in bodies:
            reply = api.put(f"{API}/{me}/{section}", headers=auth, json=body)
            assert reply.status_code == 400, (section, body, reply.text)
            assert reply.json()["message"] == "Validation failed" and reply.json()["errors"], reply.text
    assert api.get(f"{API}/{me}", headers=auth).json()["data"] == before  # nothing stored

    # another admin shares the platform sections but has its own profile, and reaches only its own id
    other = second_admin(api, auth)
    theirs = api.get(f"{API}/{admin_id(other)}", headers=bearer(other)).json()["data"]
    assert theirs["general"]["timeFormat"] == "24h" and theirs["platform"]["name"] == "NexFutrr"
    assert theirs["profile"] == {"name": "", "email": ""}
    refused(api.get(f"{API}/{me}", headers=bearer(other)), 403, "Forbidden: Access denied")
    refused(
        api.put(f"{API}/{me}/general", headers=bearer(other), json={"timeFormat": 1}), 403, "Forbidden: Access denied"
    )
    refused(api.get(f"{API}/not-an-id", headers=auth), 400, "Validation failed")

    refused(api.get(f"{API}/{me}"), 401, "Access denied. No token provided.")
    client = signup(api, "Client")
    refused(api.get(f"{API}/{client['user']['id']}", headers=bearer(client["token"])), 403, "Forbidden: Access denied")
    employee = employee_token(api, auth)
    refused(api.put(f"{API}/{me}/security", headers=bearer(employee), json={}), 403, "Forbidden: Access denied")


def test_concurrent_first_writes_create_one_settings_aggregate(settings, container):
    """Two service instances on one store (as two processes), each hammered by four threads: the first
    writes race to create the platform aggregate; the event store lets one win and the others retry."""
    from infrastructure.bootstrap import build

    other = build(settings, run_projections=True)
    try:
        services = [container.platform.settings_service, other.platform.settings_service]
        errors: list[BaseException] = []
        start = threading.Barrier(8)

        def write(index: int) -> None:
            service = services[index % 2]
            try:
                start.wait()
                service.update_section(f"{index:024x}", "general", {"language": f"Lang {index}"})
                service.update_section(f"{index:024x}", "platform", {"description": f"by {index}"})
            except BaseException as error:  # noqa: BLE001
                errors.append(error)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        with container.engine.connect() as conn:
            rows = conn.execute(sa.select(platform_settings.c.key)).scalars().all()
        assert rows == ["platform"]  # one platform aggregate: every writer after the first updated it
        events = container.market.recorder.select_events(PlatformSettings.create_id())
        assert len(events) == 1 + 16  # created once, then each of the 16 writes recorded
        container.runner.catch_up()
        general = container.platform.settings_queries.public()["general"]
        assert general["language"] in {f"Lang {i}" for i in range(8)}
    finally:
        other.close()


def test_rebuild_keeps_the_settings(container):
    service, queries = container.platform.settings_service, container.platform.settings_queries
    first, second = "a" * 24, "b" * 24
    service.update_section(first, "security", {"termsAndConditions": "<p>v1</p>"})
    service.update_section(second, "security", {"termsAndConditions": "<p>v2</p>"})
    service.update_section(first, "profile", {"name": "First"})
    service.update_section(second, "general", {"dateFormat": "DD/MM/YYYY"})
    answers = queries.public(), queries.of_admin(first), queries.of_admin(second)
    assert answers[0]["security"]["termsAndConditions"] == "<p>v2</p>"
    container.runner.reset()
    assert queries.public()["security"]["termsAndConditions"] == ""  # the read model really was emptied
    container.runner.catch_up()
    assert (queries.public(), queries.of_admin(first), queries.of_admin(second)) == answers
