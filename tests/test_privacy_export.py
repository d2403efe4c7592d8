"""Right of access and consent (contract people §4.1-4.3), on SQLite and PostgreSQL: the three exports
(raw JSON attachments with the contract's keys, only the caller's data, never a secret, the other
party by id and name only) and the two consent routes (events on the account, defaults, validation)."""

from __future__ import annotations

import json
import re
from typing import Any

from domain.accounts import Account
from tests.conftest import bearer, refused
from tests.test_appointments import API, next_weekday
from tests.test_payments import Money


def exported(api: Any, path: str, token: str) -> dict[str, Any]:
    reply = api.get(f"{API}{path}", headers=bearer(token))
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert re.fullmatch(r'attachment; filename="my-data-export-\d{13}\.json"', reply.headers["content-disposition"])
    body = reply.json()
    assert "success" not in body and "$2b$" not in reply.text and '"password' not in reply.text
    return body  # type: ignore[no-any-return]


def test_the_three_exports(api):
    world = Money(api)
    consultant, client = world.paid_consultant(), world.client()
    booked = world.paid_booking(client, consultant, next_weekday(2), "09:00", "10:00")
    appointment_id = booked["appointment"]["_id"]

    mine = exported(api, "/clients/profile/export", client.token)
    assert list(mine) == [
        "exportedAt",
        "profile",
        "appointments",
        "documents",
        "transactions",
        "notifications",
        "consents",
    ]
    profile = mine["profile"]
    assert (profile["_id"], profile["email"], profile["fullName"]) == (
        client.id,
        client.data["email"],
        client.data["name"],
    )
    assert profile["marketingConsent"] is False and profile["dataProcessingConsent"] is True
    assert profile["termsAcceptedAt"] and profile["privacyAcceptedAt"]  # signup accepted both
    (appointment,) = mine["appointments"]
    assert appointment["_id"] == appointment_id and appointment["status"] == "Upcoming"
    assert appointment["consultant"] == {"_id": consultant.id, "fullName": consultant.data["name"]}
    (payment,) = mine["transactions"]
    assert (payment["type"], payment["status"], payment["amount"], payment["currency"]) == (
        "Payment",
        "Success",
        1500,
        "INR",
    )
    assert payment["consultant"] == {"_id": consultant.id, "fullName": consultant.data["name"]}
    assert mine["documents"] == []
    # the client's personal notifications from the inbox (people.md §4.2), newest first
    assert sorted(n["name"] for n in mine["notifications"]) == ["Appointment Confirmed", "Payment Successful"]
    assert all(set(n) == {"name", "message", "type", "category", "read", "createdAt"} for n in mine["notifications"])
    assert mine["consents"] == {
        "termsAcceptedAt": profile["termsAcceptedAt"],
        "privacyAcceptedAt": profile["privacyAcceptedAt"],
        "marketingConsent": False,
        "dataProcessingConsent": True,
    }
    # the other party's contact data is never in it
    text = json.dumps(mine)
    assert consultant.data["email"] not in text and consultant.data["mobile"] not in text

    theirs = exported(api, "/consultants/me/export", consultant.token)
    assert list(theirs)[:6] == ["exportedAt", "profile", "appointments", "documents", "transactions", "settings"]
    assert theirs["profile"]["_id"] == consultant.id and theirs["profile"]["email"] == consultant.data["email"]
    assert theirs["appointments"][0]["client"] == {"_id": client.id, "fullName": client.data["name"]}
    assert theirs["transactions"][0]["user"] == {"_id": client.id, "fullName": client.data["name"]}
    assert theirs["transactions"][0]["netAmount"] == 1350
    text = json.dumps(theirs)
    assert client.data["email"] not in text and client.data["mobile"] not in text

    staff = exported(api, "/users/profile/export", world.admin)
    assert list(staff) == ["exportedAt", "profile", "adminSettings", "notifications"]
    assert staff["profile"]["role"] == "Admin" and staff["profile"]["email"] == "admin@example.com"

    # each route is for its own role
    refused(api.get(f"{API}/consultants/me/export", headers=client.auth), 403, "Forbidden: Access denied")
    refused(api.get(f"{API}/users/profile/export", headers=consultant.auth), 403, "Forbidden: Access denied")
    refused(api.get(f"{API}/clients/profile/export", headers=bearer(world.admin)), 403, "Forbidden: Access denied")
    refused(api.get(f"{API}/clients/profile/export"), 401, "Access denied. No token provided.")


def test_consent_routes_record_events_with_the_defaults(api):
    world = Money(api)
    client, consultant = world.client(), world.consultant()
    route = f"{API}/clients/profile/consent"

    for body in ({}, {"unknown": True}):
        assert api.patch(route, headers=client.auth, json=body).json()["message"] == "Validation failed"
    bad = api.patch(route, headers=client.auth, json={"marketingConsent": "yes"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "marketingConsent", bad.text
    assert api.patch(route, headers=client.auth, json={"dataProcessingConsent": 1}).status_code == 400

    reply = api.patch(route, headers=client.auth, json={"marketingConsent": "true", "other": 1})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "success": True,
        "message": "Consent preferences updated",
        "data": {"marketingConsent": True, "dataProcessingConsent": True},
    }
    reply = api.patch(route, headers=client.auth, json={"dataProcessingConsent": False})
    assert reply.json()["data"] == {"marketingConsent": True, "dataProcessingConsent": False}
    # withdrawing data-processing consent does not block the account; the profile shows the values
    profile = api.get(f"{API}/clients/profile", headers=client.auth)
    assert profile.status_code == 200
    assert (profile.json()["data"]["marketingConsent"], profile.json()["data"]["dataProcessingConsent"]) == (
        True,
        False,
    )
    # the same value again records nothing; each change is an event on the account
    api.patch(route, headers=client.auth, json={"dataProcessingConsent": "false"})
    market = world.container.market
    changes = [
        e.changes
        for e in (market.mapper.to_domain_event(n) for n in market.recorder.select_notifications(1, 10**6))
        if isinstance(e, Account.ProfileUpdated) and e.originator_id.hex[:24] == client.id
    ]
    assert changes == [{"marketingConsent": True}, {"dataProcessingConsent": False}]

    theirs = api.patch(f"{API}/consultants/me/consent", headers=consultant.auth, json={"marketingConsent": True})
    assert theirs.status_code == 200 and theirs.json()["data"] == {
        "marketingConsent": True,
        "dataProcessingConsent": True,
    }
    refused(api.patch(route, headers=consultant.auth, json={"marketingConsent": True}), 403, "Forbidden: Access denied")
    refused(
        api.patch(f"{API}/consultants/me/consent", headers=bearer(world.admin), json={"marketingConsent": True}),
        403,
        "Forbidden: Access denied",
    )
