"""Authorization is decided before body validation (CONTRACT.md "Robustness"; issue 12, section 4):
a request on another account's resource is 403 whatever its body, so an invalid body never tells a
caller more than "no" about a resource that is not theirs.

The rule test walks the OpenAPI: every operation with both a path parameter and a request body is
tried by a consultant who owns nothing there, with a body no model accepts."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import bearer
from tests.test_appointments import World, next_weekday
from tests.test_documents import _share

INVALID_BODIES: list[Any] = [[], {"status": None, "email": 5, "\u0000": "x" * 10}, "not an object"]
UNOWNED_PATH = {"/api/v1/auth/reset-password/{resettoken}"}  # a secret token, not an account's resource


def _body_operations(spec: dict[str, Any]) -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if "{" in path and "requestBody" in operation and path not in UNOWNED_PATH
    )


def test_another_consultants_settings_are_403_whatever_the_body(api: Any) -> None:
    world = World(api)
    owner, intruder = world.consultant(), world.consultant()
    for suffix in ("", "/availability", "/notifications"):
        for body in INVALID_BODIES:
            reply = api.put(f"/api/v1/consultant-settings/{owner.id}{suffix}", json=body, headers=intruder.auth)
            assert reply.status_code == 403, (suffix, body, reply.text)
            assert reply.json()["message"] == "Forbidden: Access denied"
        # the owner with the same bodies: a validation error, so the 403 above was not the body's
        assert (
            api.put(f"/api/v1/consultant-settings/{owner.id}{suffix}", json=[], headers=owner.auth).status_code == 400
        )
    reply = api.put(
        f"/api/v1/consultant-settings/{owner.id}/availability",
        json={"sessionSettings": {"defaultDuration": 3}},
        headers=intruder.auth,
    )
    assert reply.status_code == 403, reply.text


def test_every_path_owned_write_authorizes_before_it_validates(api: Any) -> None:
    world = World(api)
    owner, intruder = world.consultant(), world.consultant()
    client, stranger = world.client(), world.client()
    day = next_weekday(2)
    appointment_id = world.book(client, owner, day, "09:00", "10:00")
    shared = _share(api, owner, client=client.id)  # a document the owner uploaded for its client
    assert shared.status_code == 201, shared.text
    links = api.get("/api/v1/client-consultants", headers=owner.auth).json()["data"]["data"]  # the booking's link
    ids = {
        "/api/v1/appointments/": appointment_id,
        "/api/v1/documents/": shared.json()["data"]["_id"],
        "/api/v1/client-consultants/": links[0]["_id"],
    }
    operations = _body_operations(api.get("/openapi.json").json())
    assert ("PUT", "/api/v1/consultant-settings/{consultantId}/availability") in operations
    assert ("PATCH", "/api/v1/consultants/{id}") in operations and ("PATCH", "/api/v1/appointments/{id}") in operations
    for method, template in operations:
        target = next((value for prefix, value in ids.items() if template.startswith(prefix)), owner.id)
        path = re.sub(r"\{[^}]+\}", target, template)
        for caller in (intruder, stranger):
            for body in INVALID_BODIES:
                reply = api.request(method, path, json=body, headers=caller.auth)
                assert reply.status_code == 403, (method, template, caller.data.get("role"), body, reply.text)
    # and the owner's own invalid body is a 400, not a 403
    assert api.patch(f"/api/v1/consultants/{owner.id}", json={"email": None}, headers=owner.auth).status_code == 400
    assert api.patch(f"/api/v1/appointments/{appointment_id}", json=[], headers=client.auth).status_code == 400
    assert api.patch(f"/api/v1/consultants/{owner.id}", json=[], headers=bearer(world.admin)).status_code == 400
