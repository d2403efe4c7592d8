"""Contract of /consultant-settings and /appointments/available-slots through HTTP, on both backends."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import sqlalchemy as sa

from tests.conftest import bearer, create_admin, signup

API = "/api/v1"
SIX_DEFAULT = ["09:00 - 10:00", "10:15 - 11:15", "11:30 - 12:30", "12:45 - 13:45", "14:00 - 15:00", "15:15 - 16:15"]


def next_weekday(weekday: int, weeks_ahead: int = 2) -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)


def active_consultant(api, admin):
    created = signup(api, "Consultant")
    consultant_id = created["user"]["id"]
    assert api.post(f"{API}/consultants/{consultant_id}/approve", headers=bearer(admin)).status_code == 200
    return consultant_id, created["token"]


def slots(api, token, consultant_id, day, **extra):
    reply = api.get(
        f"{API}/appointments/available-slots",
        params={"consultant": consultant_id, "date": day.isoformat(), **extra},
        headers=bearer(token),
    )
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]


def stored_settings(api, token, consultant_id):
    return api.get(f"{API}/consultant-settings/{consultant_id}", headers=bearer(token)).json()["data"]


def test_get_creates_defaults_lazily_with_effective_slots(api):
    admin = create_admin(api)
    consultant_id, token = active_consultant(api, admin)
    reply = api.get(f"{API}/consultant-settings/{consultant_id}", headers=bearer(token))
    assert reply.status_code == 200
    body = reply.json()
    assert body["message"] == "Consultant settings retrieved successfully"
    data = body["data"]
    assert data["consultant"] == consultant_id and len(data["_id"]) == 24 and data["id"] == data["_id"]
    assert data["notifications"] == {
        "email": True,
        "sms": True,
        "appointmentReminders": True,
        "clientMsgs": True,
        "weeklyReports": True,
    }
    monday = data["availability"]["workingHours"]["monday"]
    assert monday["enabled"] is True and monday["generatedSlots"] == SIX_DEFAULT
    assert monday["slots"][0]["_id"] == monday["slots"][0]["id"]
    assert data["availability"]["workingHours"]["saturday"] == {"enabled": False, "slots": [], "generatedSlots": []}
    assert data["availability"]["sessionSettings"]["bufferTime"] == 15
    assert data["createdAt"].endswith("Z")
    # a second GET answers the same document (created once)
    assert stored_settings(api, token, consultant_id)["_id"] == data["_id"]
    assert slots(api, token, consultant_id, next_weekday(1)) == SIX_DEFAULT


def test_roles_ownership_and_unknown_consultants(api):
    admin = create_admin(api)
    consultant_id, token = active_consultant(api, admin)
    other_id, other_token = active_consultant(api, admin)
    client = signup(api, "Client")["token"]
    assert api.get(f"{API}/consultant-settings/{consultant_id}", headers=bearer(other_token)).status_code == 403
    assert api.put(
        f"{API}/consultant-settings/{consultant_id}/availability",
        json={"acceptingNewClients": False},
        headers=bearer(other_token),
    ).json() == {"success": False, "message": "Forbidden: Access denied"}
    assert api.get(f"{API}/consultant-settings/{consultant_id}", headers=bearer(client)).status_code == 403
    assert api.get(f"{API}/consultant-settings/{consultant_id}", headers=bearer(admin)).status_code == 200
    assert api.get(f"{API}/consultant-settings/{consultant_id}").status_code == 401
    unknown = api.get(f"{API}/consultant-settings/{'a' * 24}", headers=bearer(admin))
    assert unknown.status_code == 404 and unknown.json()["message"] == "Consultant not found"
    malformed = api.get(f"{API}/consultant-settings/abc", headers=bearer(admin))
    assert malformed.status_code == 400 and malformed.json()["errors"][0]["field"] == "consultantId"
    # a Pending consultant may manage its own settings
    pending = signup(api, "Consultant")
    assert (
        api.get(f"{API}/consultant-settings/{pending['user']['id']}", headers=bearer(pending["token"])).status_code
        == 200
    )


def test_post_creates_once(api):
    admin = create_admin(api)
    consultant_id, token = active_consultant(api, admin)
    created = api.post(
        f"{API}/consultant-settings",
        json={
            "consultant": consultant_id,
            "calendar": {"defaultView": "day"},
            "availability": {"sessionSettings": {"defaultDuration": 30, "bufferTime": 0}},
        },
        headers=bearer(token),
    )
    assert created.status_code == 201, created.text
    assert created.json()["message"] == "Consultant settings created successfully"
    assert created.json()["data"]["calendar"]["defaultView"] == "day"
    assert len(created.json()["data"]["availability"]["workingHours"]["monday"]["generatedSlots"]) == 16
    again = api.post(f"{API}/consultant-settings", json={"consultant": consultant_id}, headers=bearer(token))
    assert again.status_code == 409


def test_put_availability_merges_regenerates_and_shows_at_once(api):
    admin = create_admin(api)
    consultant_id, token = active_consultant(api, admin)
    echo = stored_settings(api, token, consultant_id)["availability"]
    echo["workingHours"]["tuesday"]["slots"] = [
        {"start": "10:00", "end": "12:30", "_id": "junk", "id": "junk"},
        {"start": "14:00", "end": "16:00"},
    ]
    echo["workingHours"]["tuesday"]["generatedSlots"] = ["client preview, ignored"]
    echo["sessionSettings"].update(defaultDuration=30, bufferTime=0)
    echo["unknownKey"] = {"x": 1}
    reply = api.put(f"{API}/consultant-settings/{consultant_id}/availability", json=echo, headers=bearer(token))
    assert reply.status_code == 200, reply.text
    assert reply.json()["message"] == "Availability settings updated successfully"
    data = reply.json()["data"]
    assert "unknownKey" not in data and "workingHours" in data and "notifications" not in data
    tuesday = data["workingHours"]["tuesday"]
    assert [w["start"] for w in tuesday["slots"]] == ["10:00", "14:00"] and tuesday["slots"][0]["_id"] != "junk"
    expected = [
        "10:00 - 10:30",
        "10:30 - 11:00",
        "11:00 - 11:30",
        "11:30 - 12:00",
        "12:00 - 12:30",
        "14:00 - 14:30",
        "14:30 - 15:00",
        "15:00 - 15:30",
        "15:30 - 16:00",
    ]
    assert tuesday["generatedSlots"] == expected
    assert slots(api, token, consultant_id, next_weekday(1)) == expected
    # a partial body merges: only Wednesday changes, arrays replace
    api.put(
        f"{API}/consultant-settings/{consultant_id}/availability",
        json={"workingHours": {"wednesday": {"enabled": False}}},
        headers=bearer(token),
    )
    after = stored_settings(api, token, consultant_id)["availability"]
    assert after["workingHours"]["tuesday"]["generatedSlots"] == expected
    assert after["workingHours"]["wednesday"]["generatedSlots"] == []
    assert after["workingHours"]["wednesday"]["slots"] != []
    assert slots(api, token, consultant_id, next_weekday(2)) == []


def test_bad_availability_bodies_are_refused_and_change_nothing(api):
    admin = create_admin(api)
    consultant_id, token = active_consultant(api, admin)
    before = stored_settings(api, token, consultant_id)
    bad_bodies = [
        {"sessionSettings": {"defaultDuration": 0}},
        {"sessionSettings": {"defaultDuration": 481}},
        {"sessionSettings": {"bufferTime": -5}},
        {"sessionSettings": {"bufferTime": 121}},
        {"sessionSettings": {"defaultDuration": "sixty"}},
        {"workingHours": {"monday": {"enabled": True, "slots": [{"start": "12:00", "end": "11:00"}]}}},
        {"workingHours": {"monday": {"enabled": True, "slots": [{"start": "23:00", "end": "24:00"}]}}},
        {"workingHours": {"monday": {"enabled": True, "slots": [{"start": "9", "end": "10:00"}]}}},
        {"workingHours": {"monday": {"enabled": True, "slots": [{"start": "09:00"}]}}},
        {"currentStatus": "sleeping"},
        {"timeOff": [{"startDate": "2030-01-10", "endDate": "2030-01-09"}]},
        {"timeOff": [{"endDate": "2030-01-09"}]},
        {"timeOff": [{"startDate": "not a date", "endDate": "2030-01-09"}]},
        {"breakTimes": [{"start": "13:00", "end": "12:00", "days": ["monday"]}]},
        {"advanceBooking": {"maxDaysInAdvance": 0}},
        {"acceptingNewClients": "perhaps"},
    ]
    for body in bad_bodies:
        reply = api.put(f"{API}/consultant-settings/{consultant_id}/availability", json=body, headers=bearer(token))
        assert reply.status_code == 400, (body, reply.text)
        assert reply.json()["message"] == "Validation failed" and reply.json()["errors"], body
    after = stored_settings(api, token, consultant_id)
    assert after["availability"] == before["availability"] and after["updatedAt"] == before["updatedAt"]
    # the case variants of currentStatus are normalised, not refused
    ok = api.put(
        f"{API}/consultant-settings/{consultant_id}/availability", json={"currentStatus": "Away"}, headers=bearer(token)
    )
    assert ok.status_code == 200 and ok.json()["data"]["currentStatus"] == "offline"


def test_notifications_flat_or_wrapped_and_missing_keys_unchanged(api):
    admin = create_admin(api)
    consultant_id, token = active_consultant(api, admin)
    url = f"{API}/consultant-settings/{consultant_id}/notifications"
    reply = api.put(
        url,
        json={"email": False, "sms": True, "appointmentReminders": True, "clientMsgs": False, "weeklyReports": True},
        headers=bearer(token),
    )
    assert reply.status_code == 200
    assert reply.json() == {
        "success": True,
        "message": "Notification settings updated successfully",
        "data": {"email": False, "sms": True, "appointmentReminders": True, "clientMsgs": False, "weeklyReports": True},
    }
    reply = api.put(url, json={"notifications": {"sms": {"enabled": False}}}, headers=bearer(token))
    assert reply.json()["data"] == {
        "email": False,
        "sms": False,
        "appointmentReminders": True,
        "clientMsgs": False,
        "weeklyReports": True,
    }
    assert stored_settings(api, token, consultant_id)["notifications"] == reply.json()["data"]


def test_general_put_merges_sections(api):
    admin = create_admin(api)
    consultant_id, token = active_consultant(api, admin)
    url = f"{API}/consultant-settings/{consultant_id}"
    empty = api.put(url, json={}, headers=bearer(token))
    assert empty.status_code == 400 and empty.json()["errors"][0]["field"] == ""
    reply = api.put(
        url,
        json={
            "calendar": {"showWeekends": True},
            "payments": {"currency": "INR"},
            "security": {"twoFactorAuth": True},
            "availability": {"sessionSettings": {"bufferTime": 0}},
        },
        headers=bearer(token),
    )
    assert reply.status_code == 200 and reply.json()["message"] == "Consultant settings updated successfully"
    data = reply.json()["data"]
    assert data["calendar"]["showWeekends"] is True and data["calendar"]["defaultView"] == "week"
    assert data["payments"]["currency"] == "INR" and "security" not in data
    assert len(data["availability"]["workingHours"]["monday"]["generatedSlots"]) == 8
    assert api.put(url, json={"calendar": {"defaultView": "year"}}, headers=bearer(token)).status_code == 400


def test_available_slots_honour_time_off_breaks_status_and_new_clients(api):
    admin = create_admin(api)
    consultant_id, token = active_consultant(api, admin)
    client = signup(api, "Client")
    tuesday = next_weekday(1)
    url = f"{API}/consultant-settings/{consultant_id}/availability"
    api.put(
        url,
        json={
            "timeOff": [{"startDate": tuesday.isoformat(), "endDate": tuesday.isoformat(), "type": "vacation"}],
            "breakTimes": [{"start": "12:00", "end": "13:00", "days": ["wednesday"]}],
        },
        headers=bearer(token),
    )
    assert slots(api, client["token"], consultant_id, tuesday) == []
    assert slots(api, client["token"], consultant_id, tuesday + timedelta(days=1)) == [
        "09:00 - 10:00",
        "10:15 - 11:15",
        "14:00 - 15:00",
        "15:15 - 16:15",
    ]
    api.put(url, json={"acceptingNewClients": False}, headers=bearer(token))
    assert slots(api, client["token"], consultant_id, tuesday + timedelta(days=1)) == []
    assert slots(api, admin, consultant_id, tuesday + timedelta(days=1)) != []
    engine = api.app.state.container.write_engine
    from infrastructure.people_tables import links

    earlier = datetime(2030, 1, 1, tzinfo=UTC)
    with engine.begin() as conn:  # an existing client (linked by an earlier booking) still sees the slots
        conn.execute(
            links.insert().values(
                id="c" * 24,
                client_id=client["user"]["id"],
                consultant_id=consultant_id,
                status="Active",
                notes="Auto-linked via appointment booking",
                linked_at=earlier,
                created_at=earlier,
                updated_at=earlier,
            )
        )
    assert slots(api, client["token"], consultant_id, tuesday + timedelta(days=1)) != []
    api.post(f"{API}/consultants/{consultant_id}/block", headers=bearer(admin))
    assert slots(api, admin, consultant_id, tuesday + timedelta(days=1)) == []
    pending = signup(api, "Consultant")["user"]["id"]
    assert slots(api, admin, pending, tuesday + timedelta(days=1)) == []


def test_available_slots_read_live_bookings_with_buffer_and_daily_limit(api):
    admin = create_admin(api)
    consultant_id, token = active_consultant(api, admin)
    tuesday = next_weekday(1)
    from infrastructure.tables import slot_bookings

    def ist(hhmm):
        hours, minutes = map(int, hhmm.split(":"))
        return datetime(
            tuesday.year, tuesday.month, tuesday.day, hours, minutes, tzinfo=timezone(timedelta(hours=5, minutes=30))
        )

    with api.app.state.container.write_engine.begin() as conn:
        conn.execute(
            slot_bookings.insert(),
            [
                {
                    "appointment_id": "b" * 24,
                    "consultant_id": consultant_id,
                    "client_id": "c" * 24,
                    "start_at": ist("10:00"),
                    "end_at": ist("11:00"),
                    "is_hold": False,
                    "expires_at": None,
                },
                {
                    "appointment_id": "d" * 24,
                    "consultant_id": consultant_id,
                    "client_id": "e" * 24,
                    "start_at": ist("14:00"),
                    "end_at": ist("15:00"),
                    "is_hold": True,
                    "expires_at": datetime.now(UTC) - timedelta(minutes=1),
                },
            ],
        )
    # buffer 15: 10:00-11:00 blocks 09:00-10:00 (ends at the booking's start) and 10:15 and 11:15 starts
    assert slots(api, admin, consultant_id, tuesday) == [
        "11:30 - 12:30",
        "12:45 - 13:45",
        "14:00 - 15:00",
        "15:15 - 16:15",
    ]
    api.put(
        f"{API}/consultant-settings/{consultant_id}/availability",
        json={"sessionSettings": {"maxSessionsPerDay": 1}},
        headers=bearer(token),
    )
    assert slots(api, admin, consultant_id, tuesday) == []


def test_available_slots_query_rules(api):
    admin = create_admin(api)
    consultant_id, _ = active_consultant(api, admin)
    day = next_weekday(1).isoformat()
    by_query_token = api.get(
        f"{API}/appointments/available-slots",
        params={"consultant": consultant_id, "date": day, "token": admin, "unknown": "x", "slotDurationMin": 60},
    )
    assert by_query_token.status_code == 200 and by_query_token.json()["data"] == SIX_DEFAULT
    bad_date = api.get(
        f"{API}/appointments/available-slots",
        params={"consultant": consultant_id, "date": "2030-1-15"},
        headers=bearer(admin),
    )
    assert bad_date.status_code == 400
    assert bad_date.json()["message"].startswith('"date" with value "2030-1-15" fails to match the required pattern')
    missing = api.get(f"{API}/appointments/available-slots", headers=bearer(admin))
    assert missing.status_code == 400 and missing.json()["message"] == '"consultant" is required, "date" is required'
    for consultant in ("a" * 24, "not-an-id"):
        unknown = api.get(
            f"{API}/appointments/available-slots", params={"consultant": consultant, "date": day}, headers=bearer(admin)
        )
        assert unknown.status_code == 404 and unknown.json()["message"] == "Consultant not found"
    assert (
        api.get(f"{API}/appointments/available-slots", params={"consultant": consultant_id, "date": day}).status_code
        == 401
    )


def test_settings_events_record_patch_and_result(api):
    admin = create_admin(api)
    consultant_id, token = active_consultant(api, admin)
    api.put(
        f"{API}/consultant-settings/{consultant_id}/availability",
        json={"acceptingNewClients": False},
        headers=bearer(token),
    )
    market = api.app.state.container.market
    events = [market.mapper.to_domain_event(n) for n in market.recorder.select_notifications(1, 10_000)]
    updates = [e for e in events if type(e).__name__ == "AvailabilityUpdated"]
    assert updates[-1].patch == {"acceptingNewClients": False}
    assert updates[-1].availability["acceptingNewClients"] is False
    with api.app.state.container.engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT document FROM consultant_settings")).scalar()
    assert json.loads(stored)["availability"] == updates[-1].availability
