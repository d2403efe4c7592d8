"""HTTP checks of an imported dump (tests/mongo_export.py) used by tests/test_mongo_import.py: links
under their original ids, notifications as inbox history, old users ids of linked consultants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

API = "/api/v1"
IST = ZoneInfo("Asia/Kolkata")


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def check_links(api: Any, admin: dict[str, str], tokens: dict[str, Any], expected: dict[str, Any]) -> None:
    """Imported links answer under their original `_id` on the link routes; new links get new ids."""
    listed = api.get(f"{API}/client-consultants", headers=admin).json()["data"]["data"]
    by_id = {link["_id"]: link for link in listed}
    originals = [ident for ident, *_ in expected["links"]]
    for ident, client, consultant, status, notes in expected["links"]:
        link = by_id[ident]
        assert (link["client"]["_id"], link["consultant"]["_id"], link["status"], link["notes"]) == (
            client,
            consultant,
            status,
            notes,
        ), link
    mine = api.get(f"{API}/client-consultants", headers=tokens["c0@old.example"]).json()["data"]["data"]
    assert {link["_id"] for link in mine} >= {originals[0], originals[2]}  # the one keyed by the alias too
    ident, client, consultant, *_ = expected["links"][3]
    changed = api.patch(f"{API}/client-consultants/{ident}/status", json={"status": "Active"}, headers=admin)
    assert changed.status_code == 200 and changed.json()["data"]["_id"] == ident, changed.text
    assert changed.json()["data"]["status"] == "Active"
    ident, client, consultant, *_ = expected["links"][1]
    upsert = api.post(
        f"{API}/client-consultants/link", json={"clientId": client, "consultantId": consultant}, headers=admin
    )
    assert upsert.status_code == 200 and upsert.json()["data"]["_id"] == ident, upsert.text
    fresh = api.post(  # a new pair: a new id (the consultant named by its old users id, H4)
        f"{API}/client-consultants/link",
        json={"clientId": expected["clients"][4], "consultantId": expected["alias"]},
        headers=admin,
    )
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["data"]["consultant"]["_id"] == expected["consultants"][0]
    assert fresh.json()["data"]["_id"] not in originals
    gone = api.delete(f"{API}/client-consultants/{originals[0]}", headers=admin)
    assert gone.status_code == 200, gone.text
    listed = api.get(f"{API}/client-consultants", headers=admin).json()["data"]["data"]
    assert originals[0] not in {link["_id"] for link in listed}
    assert fresh.json()["data"]["_id"] in {link["_id"] for link in listed}


def check_notifications(api: Any, admin: dict[str, str], tokens: dict[str, Any], expected: dict[str, Any]) -> None:
    """Notifications are the inbox's history: original ids, audience, read state and times."""
    ids = expected["notifications"]
    now = datetime.now(UTC)
    day = lambda n: datetime(*(now - timedelta(days=n)).date().timetuple()[:3], 8, tzinfo=UTC)  # noqa: E731 (Dump.at)

    def inbox(headers: dict[str, str]) -> dict[str, Any]:
        reply = api.get(f"{API}/notifications?limit=100", headers=headers)
        assert reply.status_code == 200, reply.text
        return {n["_id"]: n for n in reply.json()["data"]["data"]}

    client = inbox(tokens["client0@old.example"])
    read, unread = client[ids["read"]], client[ids["unread"]]
    assert (read["read"], read["readAt"], read["createdAt"]) == (True, iso(day(4)), iso(day(5))), read
    assert (read["name"], read["relatedType"], read["recipient"]) == (
        "Appointment Confirmed",
        "appointment",
        expected["clients"][0],
    )
    assert unread["read"] is False and unread["category"] == "payments" and unread["createdAt"] == iso(day(3))
    assert client[ids["global"]]["type"] == "other" and client[ids["global"]]["read"] is False
    assert ids["admins_read"] not in client and ids["alias"] not in client
    assert ids["alias"] in inbox(tokens["c0@old.example"])  # sent to the consultant's old users id
    staff = inbox(admin)
    assert staff[ids["admins_read"]]["read"] is True and staff[ids["admins_read"]]["readAt"] == iso(day(5))
    assert staff[ids["admins_unread"]]["read"] is False and staff[ids["admins_unread"]]["priority"] == "urgent"
    marked = api.patch(f"{API}/notifications/{ids['unread']}/read", headers=tokens["client0@old.example"])
    assert marked.status_code == 200 and marked.json()["data"]["read"] is True, marked.text


def check_aliases(api: Any, admin: dict[str, str], tokens: dict[str, Any], expected: dict[str, Any]) -> None:
    """The old users id of a linked consultant is accepted wherever its Consultant _id is (§3)."""
    alias, consultant = expected["alias"], expected["consultants"][0]
    detail = api.get(f"{API}/consultants/{alias}", headers=admin)
    assert detail.status_code == 200 and detail.json()["data"]["_id"] == consultant, detail.text
    day = (datetime.now(UTC) + timedelta(days=7)).astimezone(IST).date().isoformat()
    client = tokens["client1@old.example"]
    by_alias = api.get(f"{API}/appointments/available-slots?consultant={alias}&date={day}", headers=client)
    by_id = api.get(f"{API}/appointments/available-slots?consultant={consultant}&date={day}", headers=client)
    assert by_alias.status_code == 200 and by_alias.json() == by_id.json(), by_alias.text
    listed = api.get(f"{API}/appointments?consultant={alias}", headers=admin).json()["data"]["data"]
    assert (
        listed
        and listed == api.get(f"{API}/appointments?consultant={consultant}", headers=admin).json()["data"]["data"]
    )
    settings = api.get(f"{API}/consultant-settings/{alias}", headers=admin)
    assert settings.status_code == 200, settings.text
    assert settings.json() == api.get(f"{API}/consultant-settings/{consultant}", headers=admin).json()
    missing = api.get(f"{API}/consultants/{expected['admin']}", headers=admin)  # not an alias: unchanged
    assert missing.status_code == 404, missing.text
