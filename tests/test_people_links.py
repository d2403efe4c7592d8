"""Client-consultant links (people.md §2 with CONTRACT.md's decisions: Active links are "a
consultant's clients" everywhere; a booking creates or keeps the link; a consultant links only
itself and only to a client who booked it) and the staff profile routes (people.md §3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import bearer, employee_token, ok, refused
from tests.test_appointments import World, next_weekday
from tests.test_auth import registration_token

API = "/api/v1"
LINKS = f"{API}/client-consultants"
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def world(api: Any) -> World:
    return World(api)


def links_of(api: Any, token: str, **params: Any) -> list[dict[str, Any]]:
    data = ok(api.get(LINKS, params=params, headers=bearer(token)), 200, "Relationships fetched successfully")
    assert data["total"] == len(data["data"])
    return data["data"]  # type: ignore[no-any-return]


def clients_of(api: Any, token: str, consultant_id: str) -> list[dict[str, Any]]:
    reply = api.get(f"{LINKS}/consultant/{consultant_id}/clients", headers=bearer(token))
    return ok(reply, 200, "Clients fetched successfully")["data"]  # type: ignore[no-any-return]


def consultants_of(api: Any, token: str, client_id: str, **params: Any) -> list[dict[str, Any]]:
    reply = api.get(f"{LINKS}/client/{client_id}/consultants", params=params, headers=bearer(token))
    return ok(reply, 200, "Consultants fetched successfully")["data"]  # type: ignore[no-any-return]


def counts(api: Any, token: str, ids: Any) -> dict[str, int]:
    reply = api.post(f"{LINKS}/batch-client-counts", json={"consultantIds": ids}, headers=bearer(token))
    return ok(reply, 200, "Client counts fetched")  # type: ignore[no-any-return]


@sqlite_only
def test_a_booking_links_and_every_list_agrees(api, world):
    consultant, asha, ravi = world.consultant(), world.client(), world.client()
    day = next_weekday(0)
    first = world.book(asha, consultant, day, "09:00", "10:00")
    world.book(asha, consultant, day, "10:15", "11:15")  # a second booking keeps the one link
    (link,) = links_of(api, world.admin)
    assert link["status"] == "Active" and link["notes"] == "Auto-linked via appointment booking"
    assert link["client"] == {
        "_id": asha.id,
        "fullName": asha.data["name"],
        "email": asha.data["email"],
        "mobile": asha.data["mobile"],
        "status": "Active",
        "avatar": "",
    }
    dto = link["consultant"]
    assert dto["_id"] == dto["id"] == consultant.id and dto["fullName"] == dto["displayName"] == consultant.data["name"]
    assert isinstance(dto["category"], str) and isinstance(dto["subcategory"], str)
    assert not {"password", "otp", "otpExpires", "resetPasswordToken", "resetPasswordExpire", "raw"} & set(dto)
    assert not any(n == "New Client" for n in [i["name"] for i in inbox(api, consultant.token)])  # no notice

    assert world.patch(world.admin, first, {"status": "Completed"}).status_code == 200
    (row,) = clients_of(api, consultant.token, consultant.id)
    assert row["_id"] == asha.id and row["sessions"] == 1 and row["lastSessionDate"] == day.isoformat()
    assert row["lastSessionAt"].startswith(f"{day.isoformat()}T03:30:00")  # 09:00 IST
    assert {"fullName", "email", "mobile", "status", "createdAt", "avatar"} <= set(row)
    assert [c["_id"] for c in consultants_of(api, asha.token, asha.id)] == [consultant.id]
    assert [c["_id"] for c in consultants_of(api, asha.token, asha.id, live="true")] == [consultant.id]
    assert counts(api, world.admin, [consultant.id, "bad", ravi.id]) == {consultant.id: 1, ravi.id: 0}
    assert counts(api, world.admin, "nope") == {} and counts(api, world.admin, []) == {}
    profile = api.get(f"{API}/consultants/{consultant.id}", headers=bearer(world.admin)).json()["data"]
    assert profile["clientsCount"] == 1
    listed = api.get(f"{API}/clients", headers=consultant.auth).json()["data"]["clients"]
    assert [c["_id"] for c in listed] == [asha.id]


def inbox(api: Any, token: str) -> list[dict[str, Any]]:
    return api.get(f"{API}/notifications", headers=bearer(token)).json()["data"]["data"]  # type: ignore[no-any-return]


@sqlite_only
def test_explicit_link_rules(api, world):
    consultant, other, asha, ravi = world.consultant(), world.consultant(), world.client(), world.client()
    world.book(asha, consultant, next_weekday(0), "09:00", "10:00")
    url = f"{LINKS}/link"

    def link(token: str, client: str, consultant_id: str, **extra: Any) -> Any:
        return api.post(url, json={"clientId": client, "consultantId": consultant_id, **extra}, headers=bearer(token))

    refused(link(world.admin, "x", consultant.id), 400, "Client ID is required and must be a valid id")
    refused(link(world.admin, asha.id, ""), 400, "Consultant ID is required and must be a valid id")
    refused(link(world.admin, "a" * 24, consultant.id), 404, "Client not found")
    refused(link(world.admin, asha.id, "a" * 24), 404, "Consultant not found")
    refused(link(asha.token, asha.id, consultant.id), 403, "Forbidden: Access denied")
    assert link(other.token, asha.id, consultant.id).status_code == 403  # only itself
    assert link(other.token, asha.id, other.id).status_code == 403  # asha never booked `other`
    assert link(consultant.token, ravi.id, consultant.id).status_code == 403
    assert links_of(api, other.token) == []

    again = ok(
        link(consultant.token, asha.id, consultant.id, notes=5), 200, "Client-consultant relationship created/updated"
    )
    assert again["status"] == "Active" and again["notes"] == "" and again["client"]["_id"] == asha.id
    assert "New Client" not in [i["name"] for i in inbox(api, consultant.token)]  # already Active: no notice

    made = ok(
        link(world.admin, ravi.id, other.id, notes="Referred"), 200, "Client-consultant relationship created/updated"
    )
    assert made["notes"] == "Referred" and made["consultant"]["_id"] == other.id
    (to_other,) = [i for i in inbox(api, other.token) if i["name"] == "New Client"]
    assert to_other["message"] == f"{ravi.data['name']} is now connected with you."
    assert (to_other["actionUrl"], to_other["actionLabel"], to_other["type"]) == ("/clients", "View Client", "system")
    (to_ravi,) = [i for i in inbox(api, ravi.token) if i["name"] == "Connected"]
    assert to_ravi["message"] == f"You are now connected with {other.data['name']}."
    assert (to_ravi["actionUrl"], to_ravi["actionLabel"]) == ("/consultants", "View Profile")

    # re-activation notifies again
    ok(
        api.patch(f"{LINKS}/{made['_id']}/status", json={"status": "Inactive"}, headers=bearer(world.admin)),
        200,
        "Relationship status updated",
    )
    ok(link(world.admin, ravi.id, other.id), 200, "Client-consultant relationship created/updated")
    assert [i["name"] for i in inbox(api, ravi.token)].count("Connected") == 2


@sqlite_only
def test_status_removal_and_the_rights_an_active_link_gives(api, world):
    consultant, other, asha = world.consultant(), world.consultant(), world.client()
    day = next_weekday(1)
    world.book(asha, consultant, day, "09:00", "10:00")
    (link,) = links_of(api, consultant.token)
    status_url = f"{LINKS}/{link['_id']}/status"
    refused(api.patch(status_url, json={"status": "Gone"}, headers=consultant.auth), 400, "Valid status required")
    assert api.patch(status_url, json={"status": "Inactive"}, headers=other.auth).status_code == 403
    refused(api.patch(status_url, json={"status": "Inactive"}, headers=asha.auth), 403, "Forbidden: Access denied")
    refused(
        api.patch(f"{LINKS}/zz/status", json={"status": "Active"}, headers=consultant.auth),
        400,
        "Relationship id is required and must be a valid id",
    )
    refused(
        api.patch(f"{LINKS}/{'b' * 24}/status", json={"status": "Active"}, headers=consultant.auth),
        404,
        "Relationship not found",
    )
    updated = ok(
        api.patch(status_url, json={"status": "Inactive"}, headers=consultant.auth), 200, "Relationship status updated"
    )
    assert updated["status"] == "Inactive"

    # an Inactive link grants nothing and is counted nowhere
    assert clients_of(api, consultant.token, consultant.id) == []
    assert consultants_of(api, asha.token, asha.id) == []
    assert counts(api, world.admin, [consultant.id]) == {consultant.id: 0}
    refused(
        world.direct(consultant, asha, consultant, day, "14:00", "15:00"),
        403,
        "Client is not linked to this consultant",
    )
    refused(api.get(f"{LINKS}/client/{asha.id}/consultants", headers=consultant.auth), 403, "Not authorized")
    assert [row["status"] for row in links_of(api, consultant.token, status="Inactive")] == ["Inactive"]
    # the reporting store agrees: a consultant reads only an actively linked client's stats
    refused(api.get(f"{API}/analytics/client/{asha.id}", headers=consultant.auth), 403, "Forbidden: Access denied")
    # a later booking keeps the Inactive link as it is
    world.book(asha, consultant, day, "10:15", "11:15")
    assert [row["status"] for row in links_of(api, world.admin)] == ["Inactive"]

    ok(
        api.patch(status_url, json={"status": "Active"}, headers=bearer(world.admin)),
        200,
        "Relationship status updated",
    )
    assert world.direct(consultant, asha, consultant, day, "14:00", "15:00").status_code == 201
    ok(api.get(f"{API}/analytics/client/{asha.id}", headers=consultant.auth), 200, "Client stats fetched")

    remove = f"{LINKS}/{link['_id']}"
    refused(api.delete(remove, headers=other.auth), 403, "Not authorized to remove this relationship")
    refused(api.delete(f"{LINKS}/nope", headers=asha.auth), 400, "Relationship id is required and must be a valid id")
    ok(api.delete(remove, headers=asha.auth), 200, "Client-consultant relationship removed")
    refused(api.delete(remove, headers=asha.auth), 404, "Relationship not found")
    assert links_of(api, world.admin) == [] and counts(api, world.admin, [consultant.id]) == {consultant.id: 0}
    refused(
        world.direct(consultant, asha, consultant, day, "15:15", "16:15"),
        403,
        "Client is not linked to this consultant",
    )
    refused(api.get(f"{API}/analytics/client/{asha.id}", headers=consultant.auth), 403, "Forbidden: Access denied")
    world.book(asha, consultant, next_weekday(2), "09:00", "10:00")  # a later booking links them again
    assert [(row["status"], row["notes"]) for row in links_of(api, world.admin)] == [
        ("Active", "Auto-linked via appointment booking")
    ]


@sqlite_only
def test_link_route_access(api, world):
    consultant, other, asha, ravi = world.consultant(), world.consultant(), world.client(), world.client()
    world.book(asha, consultant, next_weekday(0), "09:00", "10:00")
    world.book(asha, other, next_weekday(0), "11:30", "12:30")
    # a consultant sees its own links only, whatever it asks
    assert [row["consultant"]["_id"] for row in links_of(api, consultant.token, consultantId=other.id)] == [
        consultant.id
    ]
    assert len(links_of(api, world.admin, clientId=asha.id)) == 2
    refused(
        api.get(LINKS, params={"clientId": "x"}, headers=bearer(world.admin)),
        400,
        "clientId is required and must be a valid id",
    )
    refused(
        api.get(LINKS, params={"consultantId": "x"}, headers=bearer(world.admin)),
        400,
        "consultantId is required and must be a valid id",
    )
    refused(api.get(LINKS, headers=asha.auth), 403, "Forbidden: Access denied")
    # the client's consultants: itself only; a consultant sees only itself among them
    assert {c["_id"] for c in consultants_of(api, asha.token, asha.id)} == {consultant.id, other.id}
    assert [c["_id"] for c in consultants_of(api, consultant.token, asha.id)] == [consultant.id]
    refused(api.get(f"{LINKS}/client/{asha.id}/consultants", headers=ravi.auth), 403, "Not authorized")
    refused(
        api.get(f"{LINKS}/client/bad/consultants", headers=ravi.auth),
        400,
        "Client ID is required and must be a valid id",
    )
    # a consultant's clients: token required, itself only
    assert api.get(f"{LINKS}/consultant/{consultant.id}/clients").status_code == 401
    refused(api.get(f"{LINKS}/consultant/{other.id}/clients", headers=consultant.auth), 403, "Not authorized")
    refused(api.get(f"{LINKS}/consultant/{other.id}/clients", headers=asha.auth), 403, "Forbidden: Access denied")
    refused(
        api.get(f"{LINKS}/consultant/bad/clients", headers=bearer(world.admin)),
        400,
        "Consultant ID is required and must be a valid id",
    )
    refused(api.get(f"{LINKS}/consultant/{'c' * 24}/clients", headers=bearer(world.admin)), 404, "Consultant not found")
    assert [c["_id"] for c in clients_of(api, world.admin, other.id)] == [asha.id]
    refused(
        api.post(f"{LINKS}/batch-client-counts", json={"consultantIds": []}, headers=asha.auth),
        403,
        "Forbidden: Access denied",
    )


@sqlite_only
def test_staff_profile_routes_and_registration_tokens(api, world):
    admin = bearer(world.admin)
    consultant, client = world.consultant(), world.client()
    profile = ok(api.get(f"{API}/users/profile", headers=admin), 200, "Profile fetched successfully")
    assert profile["role"] == "Admin" and profile["email"] == "admin@example.com"
    assert not {"password", "otp", "otpExpires", "resetPasswordToken", "resetPasswordExpire"} & set(profile)
    employee = employee_token(api, admin)
    assert ok(api.get(f"{API}/users/profile", headers=bearer(employee)), 200, "Profile fetched successfully")[
        "role"
    ] == ("Employee")
    for who in (consultant, client):
        refused(api.get(f"{API}/users/profile", headers=who.auth), 404, "User not found")
        refused(
            api.patch(f"{API}/auth/edit-profile", json={"fullName": "New Name"}, headers=who.auth),
            404,
            "User not found",
        )

    edited = ok(
        api.patch(
            f"{API}/auth/edit-profile",
            json={"fullName": "  Ada Admin ", "role": "Client", "email": "x@example.com", "status": "Inactive"},
            headers=admin,
        ),
        200,
        "Profile updated successfully",
    )
    assert edited == {"id": profile["_id"], "name": "Ada Admin", "email": "admin@example.com", "role": "Admin"}
    after = ok(api.get(f"{API}/users/profile", headers=admin), 200, "Profile fetched successfully")
    assert (after["fullName"], after["role"], after["status"]) == ("Ada Admin", "Admin", "Active")
    assert (
        ok(api.patch(f"{API}/auth/edit-profile", json={}, headers=admin), 200, "Profile updated successfully")["name"]
        == "Ada Admin"
    )
    for bad, message in (
        ("A", "Full name must be at least 2 characters long"),
        ("x" * 51, "Full name cannot exceed 50 characters"),
    ):
        body = refused(
            api.patch(f"{API}/auth/edit-profile", json={"fullName": bad}, headers=admin), 400, "Validation failed"
        )
        assert body["errors"] == [{"field": "fullName", "message": message}]

    assert ok(api.get(f"{API}/users", headers=consultant.auth), 200, "Users retrieved successfully") == []
    refused(api.get(f"{API}/users", headers=client.auth), 403, "Forbidden: Access denied")

    registration = bearer(registration_token(api, "+919812345000"))
    for method, path in [
        ("GET", "/users/profile"),
        ("PATCH", "/auth/edit-profile"),
        ("GET", "/users"),
        ("GET", "/notifications"),
        ("GET", "/notifications/unread-count"),
        ("GET", "/notifications/grouped"),
        ("POST", "/notifications"),
        ("POST", "/notifications/consultant/send"),
        ("POST", "/notifications/mark-all-read"),
        ("PATCH", f"/notifications/{'a' * 24}/read"),
        ("DELETE", f"/notifications/{'a' * 24}"),
        ("DELETE", "/notifications/all"),
        ("POST", "/client-consultants/link"),
        ("GET", "/client-consultants"),
        ("DELETE", f"/client-consultants/{'a' * 24}"),
        ("GET", f"/client-consultants/client/{client.id}/consultants"),
        ("GET", f"/client-consultants/consultant/{consultant.id}/clients"),
        ("PATCH", f"/client-consultants/{'a' * 24}/status"),
        ("POST", "/client-consultants/batch-client-counts"),
    ]:
        reply = api.request(method, f"{API}{path}", headers=registration, json={"fullName": "Reg Token"})
        refused(reply, 401, "Invalid or expired token")
