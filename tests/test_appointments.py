"""Contract of /appointments through HTTP (contract availability §2.2, §4, §5, §6.2, §7 with the
decisions of CONTRACT.md): the apps' payloads (§5.4), role scoping and ownership, refusal messages,
bad input, the scheduler, and the Socket.IO pushes of booking changes."""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import socketio

from domain.notifications import Notification
from tests.conftest import bearer, create_admin, signup

API = "/api/v1"
IST = ZoneInfo("Asia/Kolkata")
SIX_DEFAULT = ["09:00 - 10:00", "10:15 - 11:15", "11:30 - 12:30", "12:45 - 13:45", "14:00 - 15:00", "15:15 - 16:15"]
TAKEN_BY_HOLD = "Slot is already booked or held by another user"
TAKEN_BY_DIRECT = "Time slot not available for this consultant"
TAKEN_BY_RESCHEDULE = "Updated time conflicts with another appointment"
NOT_OPEN = "Slot is not available"
HEX24 = re.compile(r"^[0-9a-f]{24}$")
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


# -- helpers ------------------------------------------------------------------------------------


def next_weekday(weekday: int, weeks_ahead: int = 2) -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks_ahead)


def at(day: date, hhmm: str) -> str:
    """The ISO text the apps send: the IST wall-clock time with its offset."""
    return f"{day.isoformat()}T{hhmm}:00+05:30"


def utc(day: date, hhmm: str) -> str:
    """How the service serialises that instant."""
    moment = datetime.combine(day, time.fromisoformat(hhmm), tzinfo=IST).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def instant(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=IST)


def slot_body(consultant: str, client: str, day: date, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {"consultant": consultant, "client": client, "startAt": at(day, start), "endAt": at(day, end), **extra}


class Party:
    def __init__(self, account_id: str, token: str, data: dict[str, Any]):
        self.id, self.token, self.data = account_id, token, data

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.token)


class World:
    """Accounts created over HTTP on one store: the admin, Active consultants (fee 0) and clients."""

    def __init__(self, api: Any):
        self.api = api
        self.admin = create_admin(api)

    def consultant(self, **fields: Any) -> Party:
        created = signup(self.api, "Consultant", **fields)
        consultant_id = created["user"]["id"]
        reply = self.api.post(f"{API}/consultants/{consultant_id}/approve", headers=bearer(self.admin))
        assert reply.status_code == 200, reply.text
        return Party(consultant_id, created["token"], created["user"])

    def client(self) -> Party:
        created = signup(self.api, "Client")
        return Party(created["user"]["id"], created["token"], created["user"])

    def slots(self, who: Party | str, consultant: Party, day: date) -> list[str]:
        token = who if isinstance(who, str) else who.token
        reply = self.api.get(
            f"{API}/appointments/available-slots",
            params={"consultant": consultant.id, "date": day.isoformat(), "slotDurationMin": 60},
            headers=bearer(token),
        )
        assert reply.status_code == 200, reply.text
        return list(reply.json()["data"])

    def hold(self, client: Party, consultant: Party, day: date, start: str, end: str, **extra: Any) -> httpx.Response:
        return self.api.post(
            f"{API}/appointments/hold",
            json=slot_body(consultant.id, client.id, day, start, end, **extra),
            headers=client.auth,
        )

    def confirm(
        self, client: Party, consultant: Party, day: date, start: str, end: str, hold_id: str, **extra: Any
    ) -> httpx.Response:
        body = slot_body(
            consultant.id,
            client.id,
            day,
            start,
            end,
            **{"status": "Upcoming", "reason": "", "notes": "", "fee": 0, "holdId": hold_id, **extra},
        )
        return self.api.post(f"{API}/appointments", json=body, headers=client.auth)

    def book(
        self,
        client: Party,
        consultant: Party,
        day: date,
        start: str,
        end: str,
        category: str | None = None,
        **extra: Any,
    ) -> str:
        """The client's flow: hold, then confirm (with `extra`). Returns the appointment id."""
        held = self.hold(client, consultant, day, start, end, **({"category": category} if category else {}))
        assert held.status_code == 200, held.text
        hold_id = held.json()["data"]["holdId"]
        confirmed = self.confirm(client, consultant, day, start, end, hold_id, **extra)
        assert confirmed.status_code == 201, confirmed.text
        return str(hold_id)

    def direct(
        self, caller: Party | str, client: Party, consultant: Party, day: date, start: str, end: str, **extra: Any
    ) -> httpx.Response:
        token = caller if isinstance(caller, str) else caller.token
        body = slot_body(
            consultant.id,
            client.id,
            day,
            start,
            end,
            **{"status": "Upcoming", "session": "Video Call", "reason": "", "notes": "", **extra},
        )
        return self.api.post(f"{API}/appointments", json=body, headers=bearer(token))

    def patch(self, who: Party | str, appointment_id: str, body: dict[str, Any]) -> httpx.Response:
        token = who if isinstance(who, str) else who.token
        return self.api.patch(f"{API}/appointments/{appointment_id}", json=body, headers=bearer(token))

    def list(self, who: Party | str, **params: Any) -> list[dict[str, Any]]:
        token = who if isinstance(who, str) else who.token
        reply = self.api.get(f"{API}/appointments", params=params, headers=bearer(token))
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["message"] == "Appointments fetched"
        return list(body["data"]["data"])

    def put_availability(self, consultant: Party, body: dict[str, Any]) -> None:
        reply = self.api.put(
            f"{API}/consultant-settings/{consultant.id}/availability", json=body, headers=consultant.auth
        )
        assert reply.status_code == 200, reply.text


def refused(reply: httpx.Response, status: int, message: str | None = None) -> None:
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert body["success"] is False
    if message is not None:
        assert body["message"] == message, body


# -- the client's hold → confirm flow (contract §5.4) -------------------------------------------


def test_client_hold_then_confirm(api):
    world = World(api)
    consultant = world.consultant()
    asha, ravi = world.client(), world.client()
    day = next_weekday(1)
    before = datetime.now(UTC)
    held = world.hold(
        asha,
        consultant,
        day,
        "09:00",
        "10:00",
        date=day.isoformat(),
        timeStart="09:00",
        timeEnd="10:00",
        amount=500,
        somethingUnknown=True,
    )
    assert held.status_code == 200, held.text
    body = held.json()
    assert body["success"] is True and body["message"] == "Slot held successfully"
    assert set(body["data"]) == {"holdId", "expiresAt"}
    hold_id = body["data"]["holdId"]
    assert HEX24.match(hold_id)
    expires = datetime.fromisoformat(body["data"]["expiresAt"].replace("Z", "+00:00"))
    assert body["data"]["expiresAt"].endswith("Z")
    assert before + timedelta(minutes=4) < expires < datetime.now(UTC) + timedelta(minutes=6)

    # an identical retry refreshes the same hold
    again = world.hold(asha, consultant, day, "09:00", "10:00")
    assert again.status_code == 200 and again.json()["message"] == "Slot hold refreshed"
    assert again.json()["data"]["holdId"] == hold_id
    assert datetime.fromisoformat(again.json()["data"]["expiresAt"].replace("Z", "+00:00")) >= expires

    # the holder still sees its slot; others do not, and cannot take it
    assert world.slots(asha, consultant, day) == SIX_DEFAULT
    assert world.slots(ravi, consultant, day) == SIX_DEFAULT[1:]
    refused(world.hold(ravi, consultant, day, "09:00", "10:00"), 409, TAKEN_BY_HOLD)
    assert api.post(
        f"{API}/appointments/hold", json=slot_body(consultant.id, ravi.id, day, "09:00", "10:00"), headers=ravi.auth
    ).json() == {"success": False, "message": TAKEN_BY_HOLD}

    # holds are hidden from lists unless asked for
    assert world.list(asha) == []
    holds = world.list(asha, status="Hold")
    assert [h["_id"] for h in holds] == [hold_id] and holds[0]["status"] == "Hold" and "expiresAt" in holds[0]
    assert api.get(f"{API}/appointments/{hold_id}", headers=asha.auth).json()["data"]["status"] == "Hold"

    # only the holder may confirm, and only for the held consultant and times
    refused(world.confirm(ravi, consultant, day, "09:00", "10:00", hold_id), 403)
    stolen = slot_body(consultant.id, asha.id, day, "09:00", "10:00", holdId=hold_id)
    refused(
        api.post(f"{API}/appointments", json=stolen, headers=ravi.auth),
        403,
        "Clients can only create appointments for themselves",
    )
    refused(world.confirm(asha, consultant, day, "09:00", "10:30", hold_id), 400)
    refused(world.confirm(asha, consultant, day, "10:15", "11:15", hold_id), 400)

    confirmed = world.confirm(
        asha,
        consultant,
        day,
        "09:00",
        "10:00",
        hold_id,
        reason="Diet plan",
        payment={"razorpayResponse": None},
        unknownKey="ignored",
    )
    assert confirmed.status_code == 201, confirmed.text
    body = confirmed.json()
    assert body["message"] == "Appointment confirmed successfully"
    data = body["data"]
    assert data["_id"] == hold_id and data["status"] == "Upcoming" and "expiresAt" not in data
    assert data["agora"]["channelName"] == f"appointment-{hold_id}"
    assert data["client"] == asha.id and data["consultant"] == consultant.id
    assert data["startAt"] == utc(day, "09:00") and data["endAt"] == utc(day, "10:00")
    assert data["reason"] == "Diet plan" and data["fee"] == 0 and data["session"] == "Video Call"
    assert data["payment"]["amount"] == 0 and data["reminderSent"] is False

    # confirming again answers the first confirmation
    repeat = world.confirm(asha, consultant, day, "09:00", "10:00", hold_id)
    assert repeat.status_code == 200 and repeat.json()["message"] == "Appointment already confirmed"
    assert repeat.json()["data"]["_id"] == hold_id

    # booked: nobody sees the slot any more, not even the booker; it is listed by default
    assert world.slots(asha, consultant, day) == SIX_DEFAULT[1:]
    assert world.slots(ravi, consultant, day) == SIX_DEFAULT[1:]
    assert [a["_id"] for a in world.list(asha)] == [hold_id]
    assert world.list(asha, status="Hold") == []
    refused(world.hold(ravi, consultant, day, "09:00", "10:00"), 409, TAKEN_BY_HOLD)

    # a hold id that does not exist
    refused(world.confirm(ravi, consultant, day, "10:15", "11:15", "b" * 24), 400, "Booking hold expired or invalid")
    # holds are for clients, for themselves
    refused(
        api.post(
            f"{API}/appointments/hold", json=slot_body(consultant.id, asha.id, day, "10:15", "11:15"), headers=ravi.auth
        ),
        403,
    )
    refused(
        api.post(
            f"{API}/appointments/hold",
            json=slot_body(consultant.id, ravi.id, day, "10:15", "11:15"),
            headers=consultant.auth,
        ),
        403,
    )
    refused(
        api.post(
            f"{API}/appointments/hold",
            json=slot_body(consultant.id, ravi.id, day, "10:15", "11:15"),
            headers=bearer(world.admin),
        ),
        403,
    )
    assert (
        api.post(f"{API}/appointments/hold", json=slot_body(consultant.id, ravi.id, day, "10:15", "11:15")).status_code
        == 401
    )


# -- the consultant's direct create for a linked client; the admin's ------------------------------


def test_direct_create_by_consultant_for_linked_client_and_by_admin(api):
    world = World(api)
    consultant = world.consultant()
    other_consultant = world.consultant()
    assert (
        api.patch(
            f"{API}/consultants/{consultant.id}",
            json={"commission": {"platformPercent": 10}},
            headers=bearer(world.admin),
        ).status_code
        == 200
    )
    asha, ravi = world.client(), world.client()
    day = next_weekday(2)
    payment = {"amount": 590, "status": "Success", "method": "Card"}

    refused(
        world.direct(consultant, asha, consultant, day, "10:15", "11:15", fee=500, payment=payment, category="General"),
        403,
        "Client is not linked to this consultant",
    )
    # the failed attempt created no link: still refused
    refused(
        world.direct(consultant, asha, consultant, day, "10:15", "11:15", payment=payment),
        403,
        "Client is not linked to this consultant",
    )

    world.book(asha, consultant, day, "09:00", "10:00")  # a confirmed booking links them
    created = world.direct(
        consultant,
        asha,
        consultant,
        day,
        "10:15",
        "11:15",
        fee=500,
        payment=payment,
        category="General",
        extraField="ignored",
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["message"] == "Appointment created successfully"
    data = body["data"]
    assert HEX24.match(data["_id"]) and data["status"] == "Upcoming"
    assert data["startAt"] == utc(day, "10:15") and data["endAt"] == utc(day, "11:15")
    # only an admin records an offline payment as Success: the consultant's is Pending (issue 12)
    assert data["payment"]["amount"] == 590 and data["payment"]["status"] == "Pending"
    assert data["payment"]["method"] == "Card"
    assert data["payment"]["platformFee"] == 59 and data["payment"]["netAmount"] == 531
    assert data["clientSnapshot"]["email"] == asha.data["email"]
    assert data["consultantSnapshot"]["category"] == "General"
    assert data["agora"] == {
        "channelName": f"appointment-{data['_id']}",
        "resourceId": None,
        "recordingSid": None,
        "recordingStatus": None,
        "recordingFileUrl": None,
    }
    assert data["client"]["_id"] == asha.id and data["consultant"]["_id"] == consultant.id
    assert data["fee"] == 0  # the price is the consultant's fee, never the body's

    # a failed offline payment is refused, and nothing is booked
    refused(
        world.direct(
            consultant,
            asha,
            consultant,
            day,
            "11:30",
            "12:30",
            payment={"amount": 590, "status": "Failed", "method": "Card"},
        ),
        400,
    )
    assert "11:30 - 12:30" in world.slots(ravi, consultant, day)
    # a taken slot
    refused(world.direct(consultant, asha, consultant, day, "10:15", "11:15", payment=payment), 409, TAKEN_BY_DIRECT)
    refused(world.direct(consultant, asha, consultant, day, "09:00", "10:00"), 409, TAKEN_BY_DIRECT)
    # consultants act for themselves only; clients book through holds
    refused(
        world.direct(other_consultant, asha, consultant, day, "11:30", "12:30"),
        403,
        "Consultants can only create appointments for themselves",
    )
    refused(world.direct(asha, asha, consultant, day, "11:30", "12:30"), 403)
    # the admin books anyone with anyone
    by_admin = world.direct(world.admin, ravi, consultant, day, "11:30", "12:30")
    assert by_admin.status_code == 201, by_admin.text
    assert by_admin.json()["data"]["client"]["_id"] == ravi.id
    assert world.slots(ravi, consultant, day) == ["12:45 - 13:45", "14:00 - 15:00", "15:15 - 16:15"]
    # missing parties
    nobody = Party("c" * 24, "", {})
    refused(world.direct(world.admin, nobody, consultant, day, "12:45", "13:45"), 404, "Client not found")
    refused(world.direct(world.admin, ravi, nobody, day, "12:45", "13:45"), 404, "Consultant not found")


# -- My Bookings: cancel, reschedule, notes ------------------------------------------------------


def test_my_bookings_cancel_reschedule_and_notes(api):
    world = World(api)
    consultant = world.consultant()
    asha, ravi = world.client(), world.client()
    day = next_weekday(3)
    mine = world.book(asha, consultant, day, "09:00", "10:00")
    theirs = world.book(ravi, consultant, day, "11:30", "12:30")

    noted = world.patch(asha, mine, {"notes": "bring the reports", "unknown": 1})
    assert noted.status_code == 200, noted.text
    assert noted.json()["message"] == "Appointment updated"
    assert noted.json()["data"]["notes"] == "bring the reports"
    assert noted.json()["data"]["client"]["_id"] == asha.id  # populated

    # My Bookings reschedule {startAt, endAt}: the old slot frees, the new one is taken
    moved = world.patch(asha, mine, {"startAt": at(day, "14:00"), "endAt": at(day, "15:00")})
    assert moved.status_code == 200, moved.text
    assert moved.json()["data"]["startAt"] == utc(day, "14:00") and moved.json()["data"]["status"] == "Upcoming"
    assert world.slots(ravi, consultant, day) == ["09:00 - 10:00", "10:15 - 11:15", "12:45 - 13:45", "15:15 - 16:15"]
    # onto someone else's booking
    refused(world.patch(asha, mine, {"startAt": at(day, "11:30"), "endAt": at(day, "12:30")}), 409, TAKEN_BY_RESCHEDULE)
    # onto a time that is no open slot, into the past, half a pair of times
    refused(world.patch(asha, mine, {"startAt": at(day, "18:00"), "endAt": at(day, "19:00")}), 409, NOT_OPEN)
    refused(world.patch(asha, mine, {"startAt": at(day, "09:30"), "endAt": at(day, "10:30")}), 409, NOT_OPEN)
    yesterday = datetime.now(IST).date() - timedelta(days=1)
    refused(world.patch(asha, mine, {"startAt": at(yesterday, "09:00"), "endAt": at(yesterday, "10:00")}), 400)
    refused(world.patch(asha, mine, {"startAt": at(day, "09:00")}), 400)
    # AppointmentManagement reschedule {startAt, endAt, status: "Upcoming"}
    again = world.patch(asha, mine, {"startAt": at(day, "15:15"), "endAt": at(day, "16:15"), "status": "Upcoming"})
    assert again.status_code == 200, again.text
    assert again.json()["data"]["startAt"] == utc(day, "15:15")
    assert "14:00 - 15:00" in world.slots(ravi, consultant, day)

    # ownership and what a party may change
    refused(world.patch(ravi, mine, {"notes": "mine now"}), 403, "Not authorized to update this appointment")
    refused(world.patch(asha, mine, {"status": "Completed"}), 403)
    refused(world.patch(asha, mine, {"fee": 0}), 403)
    other = world.consultant()
    refused(world.patch(other, mine, {"status": "Cancelled"}), 403)

    # My Bookings cancel {status: "Cancelled"}: the slot frees at once
    cancelled = world.patch(asha, mine, {"status": "Cancelled"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["data"]["status"] == "Cancelled"
    assert "15:15 - 16:15" in world.slots(ravi, consultant, day)
    refused(world.hold(asha, consultant, day, "11:30", "12:30"), 409, TAKEN_BY_HOLD)
    assert world.hold(ravi, consultant, day, "15:15", "16:15").status_code == 200
    # the consultant cancels its own appointment; the admin may change anything
    assert world.patch(consultant, theirs, {"status": "Cancelled"}).status_code == 200
    assert (
        world.patch(world.admin, theirs, {"notes": "called the client"}).json()["data"]["notes"] == "called the client"
    )
    refused(world.patch(asha, "a" * 24, {"notes": "x"}), 404, "Appointment not found")


# -- GET /appointments and GET /appointments/{id} ------------------------------------------------


def test_listing_scoping_population_filters_and_get(api):
    world = World(api)
    legal = world.consultant(
        categories=[{"categoryName": "Legal", "subcategoryName": "Contracts"}, {"categoryName": "Finance"}]
    )
    other = world.consultant()
    asha, ravi = world.client(), world.client()
    day, later = next_weekday(1), next_weekday(1, weeks_ahead=3)
    first = world.book(asha, legal, day, "09:00", "10:00", category="Finance", reason="Diet plan")
    second = world.book(ravi, legal, day, "10:15", "11:15", category="Cooking")
    third = world.book(ravi, other, day, "11:30", "12:30")
    assert world.patch(ravi, third, {"notes": "Tax return"}).status_code == 200
    held = world.hold(asha, other, later, "09:00", "10:00").json()["data"]["holdId"]

    # role scoping, holds hidden by default
    assert [a["_id"] for a in world.list(asha)] == [first]
    assert [a["_id"] for a in world.list(asha, status="Hold")] == [held]
    assert [a["_id"] for a in world.list(ravi)] == [second, third]
    assert [a["_id"] for a in world.list(legal)] == [first, second]
    assert [a["_id"] for a in world.list(other)] == [third]
    assert [a["_id"] for a in world.list(other, status="Hold")] == [held]
    assert [a["_id"] for a in world.list(world.admin)] == [first, second, third]
    # a consultant cannot look at another's appointments through the filter
    assert [a["_id"] for a in world.list(other, consultant=legal.id)] == [third]
    assert [a["_id"] for a in world.list(world.admin, consultant=other.id)] == [third]
    assert [a["_id"] for a in world.list(world.admin, client=asha.id)] == [first]
    assert [a["_id"] for a in world.list(legal, client=ravi.id)] == [second]

    # the page envelope
    reply = api.get(f"{API}/appointments", headers=bearer(world.admin)).json()
    assert reply["data"]["page"] == 1 and reply["data"]["limit"] == 1000
    paged = api.get(f"{API}/appointments", params={"page": 2, "limit": 1}, headers=bearer(world.admin)).json()
    assert paged["data"]["page"] == 2 and paged["data"]["limit"] == 1
    assert [a["_id"] for a in paged["data"]["data"]] == [second]

    # the populated parties and the fields the apps read
    item = world.list(asha)[0]
    assert item["client"] == {
        "_id": asha.id,
        "fullName": asha.data["name"],
        "email": asha.data["email"],
        "mobile": asha.data["mobile"],
    }
    assert item["consultant"] == {
        "_id": legal.id,
        "fullName": legal.data["name"],
        "email": legal.data["email"],
        "mobile": legal.data["mobile"],
        "role": "Consultant",
        "category": "Legal",
        "subcategory": "Contracts",
    }
    for key in ("startAt", "endAt", "status", "fee", "payment", "agora", "session", "reason", "notes"):
        assert key in item, key
    assert item["status"] == "Upcoming" and item["payment"]["amount"] == 0
    # the booked category: one of the consultant's, else its primary one
    assert item["category"] == "Finance"
    assert world.list(ravi)[0]["category"] == "Legal"

    # from / to / q
    assert [a["_id"] for a in world.list(world.admin, **{"from": day.isoformat(), "to": day.isoformat()})] == [
        first,
        second,
        third,
    ]
    assert [a["_id"] for a in world.list(world.admin, **{"from": at(day, "10:00")})] == [second, third]
    assert [a["_id"] for a in world.list(world.admin, to=at(day, "10:15"))] == [first, second]
    assert world.list(world.admin, **{"from": (day + timedelta(days=1)).isoformat()}) == []
    assert [a["_id"] for a in world.list(world.admin, q="diet")] == [first]
    assert [a["_id"] for a in world.list(world.admin, q="TAX")] == [third]
    assert [a["_id"] for a in world.list(asha, q="tax")] == []
    refused(
        api.get(f"{API}/appointments", params={"from": "not a date"}, headers=bearer(world.admin)),
        400,
        '"from" must be a valid date',
    )

    # one appointment
    got = api.get(f"{API}/appointments/{first}", headers=asha.auth)
    assert got.status_code == 200 and got.json()["message"] == "Appointment fetched"
    assert got.json()["data"]["client"]["_id"] == asha.id and got.json()["data"]["consultant"]["category"] == "Legal"
    assert api.get(f"{API}/appointments/{first}", headers=legal.auth).status_code == 200
    assert api.get(f"{API}/appointments/{first}", headers=bearer(world.admin)).status_code == 200
    refused(api.get(f"{API}/appointments/{first}", headers=ravi.auth), 403, "Not authorized to view this appointment")
    refused(api.get(f"{API}/appointments/{first}", headers=other.auth), 403, "Not authorized to view this appointment")
    refused(api.get(f"{API}/appointments/{'a' * 24}", headers=asha.auth), 404, "Appointment not found")
    refused(api.get(f"{API}/appointments/not-an-id", headers=asha.auth), 400)
    assert api.get(f"{API}/appointments").status_code == 401


# -- DELETE --------------------------------------------------------------------------------------


def test_delete_is_admin_only_and_frees_the_slot(api):
    world = World(api)
    consultant = world.consultant()
    asha, ravi = world.client(), world.client()
    day = next_weekday(4)
    booked = world.book(asha, consultant, day, "09:00", "10:00")
    refused(
        api.delete(f"{API}/appointments/{booked}", headers=asha.auth), 403, "Not authorized to delete this appointment"
    )
    refused(
        api.delete(f"{API}/appointments/{booked}", headers=consultant.auth),
        403,
        "Not authorized to delete this appointment",
    )
    refused(api.delete(f"{API}/appointments/{booked}", headers=ravi.auth), 403)
    assert world.slots(ravi, consultant, day) == SIX_DEFAULT[1:]
    deleted = api.delete(f"{API}/appointments/{booked}", headers=bearer(world.admin))
    assert deleted.status_code == 200
    assert deleted.json() == {"success": True, "message": "Appointment deleted"}
    refused(api.get(f"{API}/appointments/{booked}", headers=bearer(world.admin)), 404, "Appointment not found")
    refused(api.delete(f"{API}/appointments/{booked}", headers=bearer(world.admin)), 404, "Appointment not found")
    assert world.list(world.admin) == []
    assert world.slots(ravi, consultant, day) == SIX_DEFAULT
    assert world.hold(ravi, consultant, day, "09:00", "10:00").status_code == 200


# -- refusals: not an open slot, past, bad input ------------------------------------------------


def test_times_that_are_no_open_slot_are_refused(api):
    world = World(api)
    consultant = world.consultant()
    asha, ravi = world.client(), world.client()
    today = datetime.now(IST).date()
    # time off on one working day, a 30-day horizon, a long minimum notice (7 days)
    leave = next_weekday(0, weeks_ahead=2)
    world.put_availability(
        consultant,
        {
            "advanceBooking": {"minHoursInAdvance": 168, "maxDaysInAdvance": 30},
            "timeOff": [
                {"startDate": leave.isoformat(), "endDate": leave.isoformat(), "type": "vacation", "status": "approved"}
            ],
        },
    )
    day = next_weekday(2, weeks_ahead=2)
    soon = next(today + timedelta(days=n) for n in range(2, 7) if (today + timedelta(days=n)).weekday() < 5)
    far = next(today + timedelta(days=n) for n in range(33, 40) if (today + timedelta(days=n)).weekday() < 5)
    saturday = next_weekday(5)
    cases = [
        (day, "18:00", "19:00"),  # outside working hours
        (day, "09:30", "10:30"),  # off the grid of generated slots
        (day, "09:00", "09:30"),  # not a session length
        (saturday, "09:00", "10:00"),  # a closed weekday
        (leave, "09:00", "10:00"),  # approved time off
        (soon, "09:00", "10:00"),  # within the minimum notice
        (far, "09:00", "10:00"),  # beyond maxDaysInAdvance
    ]
    for when, start, end in cases:
        refused(world.hold(asha, consultant, when, start, end), 409, NOT_OPEN)
    assert world.slots(asha, consultant, day) == SIX_DEFAULT
    for when in (leave, soon, far, saturday):
        assert world.slots(asha, consultant, when) == []

    # the day is full after maxSessionsPerDay bookings
    world.put_availability(consultant, {"sessionSettings": {"maxSessionsPerDay": 1}})
    world.book(asha, consultant, day, "09:00", "10:00")
    assert world.slots(ravi, consultant, day) == []
    refused(world.hold(ravi, consultant, day, "11:30", "12:30"), 409, NOT_OPEN)
    world.book(ravi, consultant, day + timedelta(days=1), "11:30", "12:30")  # the next day is still open

    # in the past
    yesterday = today - timedelta(days=1)
    refused(world.hold(asha, consultant, yesterday, "09:00", "10:00"), 400, "Cannot hold slots in the past")


def test_bad_input_is_refused_with_joined_messages(api):
    world = World(api)
    consultant = world.consultant()
    asha = world.client()
    day = next_weekday(1)
    hold_url, book_url = f"{API}/appointments/hold", f"{API}/appointments"
    refused(
        api.post(
            hold_url,
            json={"client": asha.id, "startAt": at(day, "09:00"), "endAt": at(day, "10:00")},
            headers=asha.auth,
        ),
        400,
        "Consultant and Client are required",
    )
    refused(
        api.post(hold_url, json={"consultant": consultant.id, "startAt": at(day, "09:00")}, headers=asha.auth),
        400,
        "Consultant and Client are required",
    )
    refused(
        api.post(hold_url, json={"consultant": consultant.id, "client": asha.id}, headers=asha.auth),
        400,
        "Invalid time provided",
    )
    for bad in ("not-a-date", "2030-13-45T09:00:00+05:30", "2030-01-15T09:00:00", [1]):
        reply = api.post(
            hold_url,
            json={**slot_body(consultant.id, asha.id, day, "09:00", "10:00"), "startAt": bad},
            headers=asha.auth,
        )
        refused(reply, 400)
        assert "startAt" in reply.json()["message"]
    refused(api.post(hold_url, json=slot_body(consultant.id, asha.id, day, "10:00", "09:00"), headers=asha.auth), 400)
    refused(api.post(hold_url, json=slot_body("x" * 24, asha.id, day, "09:00", "10:00"), headers=asha.auth), 400)

    # the legacy date + timeStart (+ timeEnd) form is the same IST slot
    legacy = api.post(
        hold_url,
        json={"consultant": consultant.id, "client": asha.id, "date": day.isoformat(), "timeStart": "09:00"},
        headers=asha.auth,
    )
    assert legacy.status_code == 200, legacy.text
    assert api.get(f"{API}/appointments/{legacy.json()['data']['holdId']}", headers=asha.auth).json()["data"][
        "endAt"
    ] == utc(day, "10:00")

    # validation errors on /appointments: message = the field messages joined by ", "
    reply = api.post(book_url, json={"reason": "x"}, headers=asha.auth)
    refused(reply, 400)
    body = reply.json()
    fields = {error["field"] for error in body["errors"]}
    assert {"client", "consultant", "startAt", "endAt"} <= fields
    assert body["message"] == ", ".join(error["message"] for error in body["errors"])
    assert '"client" is required' in body["message"]
    reply = api.post(
        book_url,
        json={**slot_body(consultant.id, asha.id, day, "09:00", "10:00"), "status": "Hold", "session": "Phone"},
        headers=asha.auth,
    )
    refused(reply, 400)
    assert reply.json()["message"] == ", ".join(error["message"] for error in reply.json()["errors"])
    assert len(reply.json()["errors"]) == 2
    reply = api.patch(f"{book_url}/{legacy.json()['data']['holdId']}", json={"status": "Hold"}, headers=asha.auth)
    refused(reply, 400)
    assert reply.json()["message"] == ", ".join(error["message"] for error in reply.json()["errors"])
    # a hold cannot be patched
    refused(api.patch(f"{book_url}/{legacy.json()['data']['holdId']}", json={"notes": "x"}, headers=asha.auth), 400)
    # available-slots: unknown consultant, bad date, unknown keys ignored
    refused(
        api.get(
            f"{API}/appointments/available-slots",
            params={"consultant": "a" * 24, "date": day.isoformat()},
            headers=asha.auth,
        ),
        404,
        "Consultant not found",
    )
    refused(
        api.get(
            f"{API}/appointments/available-slots",
            params={"consultant": consultant.id, "date": "2030-1-5"},
            headers=asha.auth,
        ),
        400,
    )
    assert (
        api.get(
            f"{API}/appointments/available-slots",
            params={"consultant": consultant.id, "date": day.isoformat(), "token": asha.token, "whatever": 1},
            headers=asha.auth,
        ).status_code
        == 200
    )


# -- the scheduler --------------------------------------------------------------------------------


def reminders_sent(container: Any) -> list[str]:
    out = []
    for notification in container.market.recorder.select_notifications(1, 100_000):
        event = container.market.mapper.to_domain_event(notification)
        if isinstance(event, Notification.Sent) and event.content["name"] == "Appointment Reminder":
            out.append(event.recipient)
    return out


def test_scheduler_expires_holds_completes_and_reminds_once(api):
    world = World(api)
    container = api.app.state.container
    consultant = world.consultant()
    asha, ravi = world.client(), world.client()
    day = next_weekday(1)
    held = world.hold(asha, consultant, day, "09:00", "10:00").json()["data"]["holdId"]
    booked = world.book(ravi, consultant, day, "11:30", "12:30")
    real_clock = container.bookings.clock
    try:
        # nothing is due now
        assert container.scheduler.run_once() == {"expire": 0, "complete": 0, "remind": 0, "refund": 0}
        # six minutes later the hold has expired: its slot is free again, the hold is gone
        later = datetime.now(UTC) + timedelta(minutes=6)
        container.bookings.clock = lambda: later
        assert container.scheduler.run_once(now=later)["expire"] == 1
        assert world.list(asha, status="Hold") == []
        refused(api.get(f"{API}/appointments/{held}", headers=asha.auth), 404)
        assert "09:00 - 10:00" in world.slots(ravi, consultant, day)
        # confirming the expired hold is refused; the slot is bookable by someone else
        refused(world.confirm(asha, consultant, day, "09:00", "10:00", held), 400, "Booking hold expired or invalid")
        container.bookings.clock = real_clock
        assert world.hold(ravi, consultant, day, "09:00", "10:00").status_code == 200

        # ten minutes before the start: reminders, once
        start = instant(day, "11:30").astimezone(UTC)
        soon = start - timedelta(minutes=10)
        container.bookings.clock = lambda: soon
        assert container.scheduler.run_once(now=soon)["remind"] == 1
        assert container.scheduler.run_once(now=soon + timedelta(minutes=1))["remind"] == 0
        document = api.get(f"{API}/appointments/{booked}", headers=ravi.auth).json()["data"]
        assert document["reminderSent"] is True and document["status"] == "Upcoming"
        assert sorted(reminders_sent(container)) == sorted([ravi.id, consultant.id])

        # after its end it is Completed
        after = instant(day, "12:30").astimezone(UTC) + timedelta(minutes=1)
        container.bookings.clock = lambda: after
        assert container.scheduler.run_once(now=after)["complete"] == 1
        assert api.get(f"{API}/appointments/{booked}", headers=ravi.auth).json()["data"]["status"] == "Completed"
        assert container.scheduler.run_once(now=after)["complete"] == 0
        assert sorted(reminders_sent(container)) == sorted([ravi.id, consultant.id])
    finally:
        container.bookings.clock = real_clock


# -- Socket.IO: notification:new and availability:updated (against a real server) ----------------


class Listener:
    """A python-socketio client over the websocket transport, as the apps connect; it keeps every
    event, and `next` takes the first unconsumed one that matches (in arrival order)."""

    def __init__(self, url: str, token: str):
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.arrived = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        self.client.on("notification:new", lambda data: self._put("notification:new", data))
        self.client.on("availability:updated", lambda data: self._put("availability:updated", data))
        self.client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)

    def _put(self, name: str, data: dict[str, Any]) -> None:
        with self.arrived:
            self.events.append((name, data))
            self.arrived.notify_all()

    def next(self, name: str, where: Any = lambda data: True, timeout: float = 15) -> dict[str, Any]:
        deadline = monotonic() + timeout
        with self.arrived:
            while True:
                for index, (event, data) in enumerate(self.events):
                    if event == name and where(data):
                        del self.events[index]
                        return data
                remaining = deadline - monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching {name} event; unconsumed: {self.events}")
                self.arrived.wait(remaining)


@sqlite_only
def test_socket_events_for_booking_changes(server):
    http = httpx.Client(base_url=server.url, timeout=30)
    world = World(http)
    consultant = world.consultant()
    asha = world.client()
    day = next_weekday(1)
    to_client, to_consultant = Listener(server.url, asha.token), Listener(server.url, consultant.token)
    try:
        mine = lambda data: data.get("consultantId") == consultant.id  # noqa: E731
        held = world.hold(asha, consultant, day, "09:00", "10:00")
        assert held.status_code == 200, held.text
        update = to_client.next("availability:updated", mine)
        assert update["date"] == day.isoformat() and update["targetUserId"] == consultant.id

        hold_id = held.json()["data"]["holdId"]
        assert world.confirm(asha, consultant, day, "09:00", "10:00", hold_id).status_code == 201
        booked = to_client.next("notification:new", lambda d: d["name"] == "Appointment Confirmed")
        long_day = f"{day:%A}, {day:%B} {day.day}, {day.year}"
        assert booked["message"] == (
            f"Your appointment with {consultant.data['name']} on {long_day} at 9:00 AM has been confirmed."
        )
        assert booked["type"] == "appointment" and booked["recipient"] == asha.id
        assert booked["actionUrl"] == "/my-bookings" and booked["relatedId"] == hold_id and booked["read"] is False
        new = to_consultant.next("notification:new", lambda d: d["name"] == "New Appointment")
        assert new["message"] == f"{asha.data['name']} has booked an appointment for {long_day} at 9:00 AM."
        assert new["recipient"] == consultant.id
        assert (
            to_client.next("availability:updated", lambda d: mine(d) and d.get("reason") == "booking")["date"]
            == day.isoformat()
        )

        moved = world.patch(asha, hold_id, {"startAt": at(day, "14:00"), "endAt": at(day, "15:00")})
        assert moved.status_code == 200, moved.text
        for listener in (to_client, to_consultant):
            rescheduled = listener.next("notification:new", lambda d: d["name"] == "Appointment Rescheduled")
            assert f"{day:%b} {day.day} at 2:00 PM" in rescheduled["message"]
        assert (
            to_client.next("availability:updated", lambda d: mine(d) and d.get("reason") == "reschedule")["date"]
            == day.isoformat()
        )

        assert world.patch(asha, hold_id, {"status": "Cancelled"}).status_code == 200
        cancelled = to_consultant.next("notification:new", lambda d: d["name"] == "Appointment Cancelled")
        assert cancelled["message"] == f"{asha.data['name']} has cancelled their appointment on {long_day} at 2:00 PM."
        assert (
            to_client.next("availability:updated", lambda d: mine(d) and d.get("reason") == "cancellation")["date"]
            == day.isoformat()
        )
        # the client cancelled: only the consultant is told
        with pytest.raises(AssertionError):
            to_client.next("notification:new", lambda d: d["name"] == "Appointment Cancelled", timeout=1)
    finally:
        to_client.client.disconnect()
        to_consultant.client.disconnect()
