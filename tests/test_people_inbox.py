"""The notifications inbox (people.md §1 with the decisions of CONTRACT.md "People, files and
platform"): shapes, audience, per-reader read state of broadcasts, the send routes, the notices of
business events, expiry, counters under concurrency, the push, and rebuilds."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from infrastructure.people_tables import PEOPLE_TABLES, inbox, inbox_counters, inbox_states
from infrastructure.tables import projection_tracking
from interfaces.http.app import create_app
from tests.conftest import bearer, employee_token, ok, rebuild, refused
from tests.test_appointments import Listener, Party, World, next_weekday
from tests.test_link_counters import counted, kept

API = "/api/v1"
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def inbox_of(api: Any, who: Party | str, **params: Any) -> dict[str, Any]:
    token = who if isinstance(who, str) else who.token
    return ok(api.get(f"{API}/notifications", params=params, headers=bearer(token)), 200, "Notifications fetched")


def unread(api: Any, who: Party | str) -> int:
    token = who if isinstance(who, str) else who.token
    reply = api.get(f"{API}/notifications/unread-count", headers=bearer(token))
    return int(ok(reply, 200, "Unread count fetched")["count"])


def send(api: Any, admin: str, **body: Any) -> Any:
    return api.post(f"{API}/notifications", json={"name": "Notice", "message": "Hello", **body}, headers=bearer(admin))


def names(page: dict[str, Any]) -> list[str]:
    return [item["name"] for item in page["data"]]


@pytest.fixture
def world(api: Any) -> World:
    return World(api)


@sqlite_only
def test_booking_notices_list_shape_filters_and_pagination(api, world):
    consultant, client = world.consultant(), world.client()
    day = next_weekday(0)
    appointment = world.book(client, consultant, day, "09:00", "10:00")

    page = inbox_of(api, client)
    assert page["pagination"] == {"page": 1, "limit": 20, "total": 1, "pages": 1} and page["unreadCount"] == 1
    (item,) = page["data"]
    long_day = f"{day:%A}, {day:%B} {day.day}, {day.year}"
    assert item["name"] == "Appointment Confirmed"
    assert (
        item["message"]
        == f"Your appointment with {consultant.data['name']} on {long_day} at 9:00 AM has been confirmed."
    )
    assert (item["type"], item["category"], item["priority"]) == ("appointment", "appointments", "high")
    assert (item["actionUrl"], item["actionLabel"]) == ("/my-bookings", "View Booking")
    assert (item["relatedId"], item["relatedType"], item["recipient"]) == (appointment, "appointment", client.id)
    assert item["read"] is False and item["senderRole"] == "System" and item["sender"] is None
    assert {"_id", "avatar", "isGlobal", "metadata", "expiresAt", "createdAt", "updatedAt"} <= set(item)
    assert names(inbox_of(api, consultant)) == ["New Appointment"]
    admin_names = names(inbox_of(api, world.admin))
    assert admin_names == ["New Client Signup", "New Consultant Signup"]  # rows 1-2, newest first

    for n in range(3):
        assert send(api, world.admin, recipient=client.id, name=f"Note {n}", category="payments").status_code == 201
    assert inbox_of(api, client, limit=2, page=2)["pagination"] == {"page": 2, "limit": 2, "total": 4, "pages": 2}
    assert inbox_of(api, client, limit=0)["pagination"]["limit"] == 1
    assert inbox_of(api, client, limit=5000, page="x")["pagination"] == {
        "page": 1,
        "limit": 100,
        "total": 4,
        "pages": 1,
    }
    filtered = inbox_of(api, client, category="payments", sortBy="name", sortOrder="asc")
    assert names(filtered) == ["Note 0", "Note 1", "Note 2"] and filtered["unreadCount"] == 4  # filters ignored
    assert names(inbox_of(api, client, sortBy="password", sortOrder="asc"))[0] == "Appointment Confirmed"
    ok(api.patch(f"{API}/notifications/{item['_id']}/read", headers=client.auth), 200, "Notification marked as read")
    assert names(inbox_of(api, client, read="true")) == ["Appointment Confirmed"]
    assert len(inbox_of(api, client, read="false")["data"]) == 3
    groups = ok(api.get(f"{API}/notifications/grouped", headers=client.auth), 200, "Grouped notifications fetched")
    assert [(g["_id"], g["count"], g["unreadCount"]) for g in groups] == [("payments", 3, 3), ("appointments", 1, 0)]
    assert groups[0]["latest"] >= groups[1]["latest"]


@sqlite_only
def test_audience_never_leaks_and_refusals(api, world):
    asha, ravi, consultant = world.client(), world.client(), world.consultant()
    personal = send(api, world.admin, recipient=asha.id).json()["data"]["_id"]
    to_consultants = send(api, world.admin, recipientRole="Consultant", name="Consultants only").json()["data"]["_id"]
    assert names(inbox_of(api, ravi)) == [] and unread(api, ravi) == 0
    assert names(inbox_of(api, consultant)) == ["Consultants only"]
    refused(
        api.patch(f"{API}/notifications/{personal}/read", headers=ravi.auth),
        403,
        "Not authorized to modify this notification",
    )
    refused(
        api.patch(f"{API}/notifications/{to_consultants}/read", headers=asha.auth),
        403,
        "Not authorized to modify this notification",
    )
    refused(
        api.delete(f"{API}/notifications/{personal}", headers=ravi.auth),
        403,
        "Not authorized to delete this notification",
    )
    refused(api.patch(f"{API}/notifications/{'a' * 24}/read", headers=asha.auth), 404, "Notification not found")
    refused(api.delete(f"{API}/notifications/{'a' * 24}", headers=asha.auth), 404, "Notification not found")
    assert api.patch(f"{API}/notifications/nope/read", headers=asha.auth).status_code == 400
    assert api.delete(f"{API}/notifications/nope", headers=asha.auth).status_code == 400
    assert unread(api, asha) == 1  # nothing of the refusals changed anything
    # both recipient and role: personal (rule 1)
    both = send(api, world.admin, recipient=asha.id, recipientRole="Client", name="Just Asha").json()["data"]
    assert both["recipient"] == asha.id and "Just Asha" not in names(inbox_of(api, ravi))

    employee = employee_token(api, bearer(world.admin))
    for method, path in [
        ("GET", ""),
        ("GET", "/unread-count"),
        ("GET", "/grouped"),
        ("POST", ""),
        ("POST", "/consultant/send"),
        ("POST", "/mark-all-read"),
        ("PATCH", f"/{personal}/read"),
        ("DELETE", f"/{personal}"),
        ("DELETE", "/all"),
    ]:
        refused(
            api.request(method, f"{API}/notifications{path}", headers=bearer(employee), json={}),
            403,
            "Forbidden: Access denied",
        )
        assert api.request(method, f"{API}/notifications{path}", json={}).status_code == 401


@sqlite_only
def test_unread_count_refuses_as_every_route_does(api, world):
    """The count reads the account status in its own statement: the same refusals as `current_principal`."""
    consultant = world.consultant()
    assert unread(api, consultant) == 0
    url = f"{API}/notifications/unread-count"
    refused(api.get(url), 401, "Access denied. No token provided.")
    refused(api.get(url, headers=bearer("not-a-token")), 401, "Invalid or expired token")
    refused(api.get(url, params={"token": "x"}), 401, "Invalid or expired token")
    assert ok(api.get(url, params={"token": consultant.token}), 200, "Unread count fetched") == {"count": 0}
    assert api.post(f"{API}/consultants/{consultant.id}/block", headers=bearer(world.admin)).status_code == 200
    blocked = api.get(f"{API}/notifications", headers=consultant.auth)
    assert blocked.status_code == 403
    refused(api.get(url, headers=consultant.auth), 403, blocked.json()["message"])
    assert api.delete(f"{API}/users/{consultant.id}", headers=bearer(world.admin)).status_code == 200
    refused(api.get(url, headers=consultant.auth), 401, "Invalid or expired token")


@sqlite_only
def test_broadcast_read_state_is_per_reader(api, world):
    asha, ravi, consultant = world.client(), world.client(), world.consultant()
    everyone = send(api, world.admin, isGlobal=True, name="Maintenance").json()["data"]["_id"]
    clients = send(api, world.admin, recipientRole="Client", name="Clients").json()["data"]["_id"]
    assert unread(api, asha) == unread(api, ravi) == 2 and unread(api, consultant) == 1

    marked = ok(
        api.patch(f"{API}/notifications/{everyone}/read", headers=asha.auth), 200, "Notification marked as read"
    )
    assert marked["read"] is True and marked["readAt"]
    again = api.patch(f"{API}/notifications/{everyone}/read", headers=asha.auth)
    assert again.status_code == 200 and again.json()["data"]["readAt"] == marked["readAt"]
    assert unread(api, asha) == 1 and unread(api, ravi) == 2 and unread(api, consultant) == 1
    assert [i["read"] for i in inbox_of(api, ravi)["data"]] == [False, False]

    done = ok(
        api.post(f"{API}/notifications/mark-all-read", headers=ravi.auth), 200, "All notifications marked as read"
    )
    assert done == {"modifiedCount": 2} and unread(api, ravi) == 0 and unread(api, asha) == 1

    # a non-admin's delete of a broadcast hides it for that reader only
    ok(api.delete(f"{API}/notifications/{clients}", headers=asha.auth), 200, "Notification deleted")
    assert "Clients" not in names(inbox_of(api, asha)) and unread(api, asha) == 0
    assert "Clients" in names(inbox_of(api, ravi))
    # an admin's delete of a broadcast removes it for everyone
    deleted = ok(
        api.delete(f"{API}/notifications/{everyone}", headers=bearer(world.admin)), 200, "Notification deleted"
    )
    assert deleted == {"deletedId": everyone}
    assert "Maintenance" not in names(inbox_of(api, ravi)) + names(inbox_of(api, consultant))
    assert unread(api, consultant) == 0 and unread(api, ravi) == 0


@sqlite_only
def test_admin_send_validation_and_roles(api, world):
    consultant, client = world.consultant(), world.client()
    refused(send(api, world.admin), 400, "Must specify recipient, recipientRole, or isGlobal")
    refused(send(api, world.admin, isGlobal=False), 400, "Must specify recipient, recipientRole, or isGlobal")
    for bad in (
        {"name": ""},
        {"message": ""},
        {"type": "spam"},
        {"priority": "loud"},
        {"recipient": "123"},
        {"recipientRole": "Employee"},
        {"category": 5},
    ):
        body = refused(send(api, world.admin, isGlobal=True, **bad), 400, "Validation failed")
        assert body["errors"] and body["errors"][0]["field"] in bad, body
    refused(send(api, consultant.token, isGlobal=True), 403, "Forbidden: Access denied")
    refused(send(api, client.token, isGlobal=True), 403, "Forbidden: Access denied")
    created = ok(
        send(
            api,
            world.admin,
            recipientRole="Client",
            unknown="ignored",
            priority="urgent",
            actionUrl="https://example.com",
            metadata={"k": 1},
        ),
        201,
        "Notification created",
    )
    assert created["senderRole"] == "Admin" and len(created["sender"]) == 24
    assert (created["priority"], created["type"], created["category"]) == ("urgent", "other", "general")
    assert created["metadata"] == {"k": 1} and "unknown" not in created


@sqlite_only
def test_consultant_message_to_actively_linked_client(api, world):
    consultant, client, stranger = world.consultant(), world.client(), world.client()
    url = f"{API}/notifications/consultant/send"
    refused(
        api.post(url, json={"message": "m", "recipient": client.id}, headers=consultant.auth),
        400,
        "Name and message are required",
    )
    refused(
        api.post(url, json={"name": "n", "message": "m"}, headers=consultant.auth),
        400,
        "Recipient client ID is required",
    )
    assert (
        api.post(url, json={"name": "n", "message": "m", "recipient": "zz"}, headers=consultant.auth).status_code == 400
    )
    refused(
        api.post(url, json={"name": "n", "message": "m", "recipient": stranger.id}, headers=consultant.auth),
        403,
        "Client is not linked to this consultant",
    )
    refused(
        api.post(url, json={"name": "n", "message": "m", "recipient": client.id}, headers=client.auth),
        403,
        "Forbidden: Access denied",
    )
    world.book(client, consultant, next_weekday(0), "09:00", "10:00")
    sent = ok(
        api.post(
            url,
            json={"name": "Prep", "message": "Bring notes", "recipient": client.id, "priority": "high"},
            headers=consultant.auth,
        ),
        201,
        "Notification sent to client",
    )
    assert (sent["type"], sent["category"], sent["priority"]) == ("message", "messages", "high")
    assert sent["sender"] == consultant.id and sent["senderRole"] == "Consultant" and sent["recipient"] == client.id
    assert "Prep" in names(inbox_of(api, client))
    assert (
        api.post(
            url, json={"name": "n", "message": "m", "recipient": client.id, "type": "spam"}, headers=consultant.auth
        ).status_code
        == 400
    )
    link = api.get(f"{API}/client-consultants", headers=consultant.auth).json()["data"]["data"][0]["_id"]
    ok(
        api.patch(f"{API}/client-consultants/{link}/status", json={"status": "Inactive"}, headers=consultant.auth),
        200,
        "Relationship status updated",
    )
    refused(
        api.post(url, json={"name": "n", "message": "m", "recipient": client.id}, headers=consultant.auth),
        403,
        "Client is not linked to this consultant",
    )


@sqlite_only
def test_delete_all_and_expiry(api, world):
    asha, ravi = world.client(), world.client()
    mine = send(api, world.admin, recipient=asha.id).json()["data"]["_id"]
    send(api, world.admin, recipient=ravi.id)
    send(api, world.admin, recipientRole="Client", name="Clients")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    send(api, world.admin, recipient=asha.id, name="Expired", expiresAt=past)
    send(api, world.admin, recipient=asha.id, name="Expiring", expiresAt=soon)
    assert sorted(names(inbox_of(api, asha))) == ["Clients", "Expiring", "Notice"] and unread(api, asha) == 3
    (expiring,) = [i for i in inbox_of(api, asha)["data"] if i["name"] == "Expiring"]
    assert expiring["expiresAt"].endswith("Z") and expiring["expiresAt"][:16] == soon.replace("+00:00", "")[:16]
    ok(api.patch(f"{API}/notifications/{mine}/read", headers=asha.auth), 200, "Notification marked as read")
    assert unread(api, asha) == 2
    cleared = ok(api.delete(f"{API}/notifications/all", headers=asha.auth), 200, "Your notifications deleted")
    assert cleared == {"deletedCount": 3}
    assert inbox_of(api, asha)["data"] == [] and unread(api, asha) == 0
    assert sorted(names(inbox_of(api, ravi))) == ["Clients", "Notice"] and unread(api, ravi) == 2
    refused(api.delete(f"{API}/notifications/{mine}", headers=asha.auth), 404, "Notification not found")


@sqlite_only
def test_status_change_cancel_and_delete_notices(api, world):
    consultant, client = world.consultant(), world.client()
    admin = world.admin
    day = next_weekday(2)
    first = world.book(client, consultant, day, "09:00", "10:00")
    assert world.patch(admin, first, {"status": "Completed"}).status_code == 200
    for who, text in (
        (client, f"Your appointment with {consultant.data['name']} has been updated to Completed."),
        (consultant, f"Appointment with {client.data['name']} has been updated to Completed."),
    ):
        (notice,) = [i for i in inbox_of(api, who)["data"] if i["name"] == "Appointment Status Updated"]
        assert notice["message"] == text and notice["category"] == "appointments" and notice["relatedId"] == first
    second = world.book(client, consultant, day, "10:15", "11:15")
    assert world.patch(admin, second, {"status": "Cancelled"}).status_code == 200  # an admin: both are told
    assert names(inbox_of(api, client)).count("Appointment Cancelled") == 1
    assert names(inbox_of(api, consultant)).count("Appointment Cancelled") == 1
    third = world.book(client, consultant, day, "11:30", "12:30")
    assert api.delete(f"{API}/appointments/{third}", headers=bearer(admin)).status_code == 200
    assert names(inbox_of(api, client)).count("Appointment Cancelled") == 2
    assert names(inbox_of(api, consultant)).count("Appointment Cancelled") == 2


def counters_match_a_scan(engine: sa.Engine, readers: list[tuple[str, str]]) -> None:
    """The counters give what a COUNT over the visible unread notifications gives."""
    from infrastructure.inbox_queries import InboxQueries

    queries = InboxQueries(engine)
    for reader, role in readers:
        personal, broadcasts = queries.ids(reader, role, unread_only=True)
        assert queries.unread_count(reader, role) == len(personal) + len(broadcasts), (reader, role)


def test_mark_read_hammered_concurrently_keeps_counters_exact(api, world):
    asha, ravi = world.client(), world.client()
    ids = [send(api, world.admin, recipientRole="Client", name=f"B{n}").json()["data"]["_id"] for n in range(12)]
    ids += [send(api, world.admin, recipient=asha.id, name=f"P{n}").json()["data"]["_id"] for n in range(6)]
    errors: list[Any] = []

    def mark(chunk: list[str]) -> None:
        for notification_id in chunk:
            reply = api.patch(f"{API}/notifications/{notification_id}/read", headers=asha.auth)
            if reply.status_code != 200:
                errors.append(reply.text)
        api.post(f"{API}/notifications/mark-all-read", headers=ravi.auth)

    threads = [threading.Thread(target=mark, args=(ids[n::4] + ids[:3],)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert unread(api, asha) == 0 and unread(api, ravi) == 0
    container = api.app.state.container
    counters_match_a_scan(container.engine, [(asha.id, "Client"), (ravi.id, "Client")])
    with container.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(inbox_states)).scalar() == 24


def rows(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(sa.select(t))), key=repr) for t in PEOPLE_TABLES}


def test_inbox_and_links_survive_a_rebuild_identically(settings):
    """`consult rebuild` (a subprocess, no server on the store) reproduces every row of the inbox and
    the links, from tables emptied as a first run over an older store finds them."""
    with TestClient(create_app(settings)) as api:
        world = World(api)
        consultant, asha, ravi = world.consultant(), world.client(), world.client()
        day = next_weekday(1)
        world.book(asha, consultant, day, "09:00", "10:00")
        world.book(ravi, consultant, day, "10:15", "11:15")
        broadcast = send(api, world.admin, isGlobal=True).json()["data"]["_id"]
        send(api, world.admin, recipient=asha.id, expiresAt=(datetime.now(UTC) + timedelta(days=1)).isoformat())
        api.patch(f"{API}/notifications/{broadcast}/read", headers=asha.auth)
        api.delete(f"{API}/notifications/{broadcast}", headers=ravi.auth)
        api.post(f"{API}/notifications/mark-all-read", headers=consultant.auth)
        link = api.get(f"{API}/client-consultants", headers=consultant.auth).json()["data"]["data"][0]["_id"]
        api.patch(f"{API}/client-consultants/{link}/status", json={"status": "Inactive"}, headers=consultant.auth)
        tokens = {who.id: who.token for who in (asha, ravi, consultant)}
        answers = {who: (inbox_of(api, token), unread(api, token)) for who, token in tokens.items()}
    engine = sa.create_engine(settings.sqlalchemy_url)
    try:
        before = rows(engine)
        assert len(before["links"]) == 2 and before["inbox_counters"] and before["inbox_states"]
        with engine.begin() as conn:  # as an older store meets this projection: no rows, no tracking row
            for table in PEOPLE_TABLES:
                conn.execute(table.delete())
            conn.execute(projection_tracking.delete().where(projection_tracking.c.name == "people"))
        with TestClient(create_app(settings)):  # its first run derives everything from the events
            pass
        assert rows(engine) == before
        with engine.begin() as conn:
            for table in PEOPLE_TABLES:
                conn.execute(table.delete())
        rebuild(settings)
        assert rows(engine) == before
        counters_match_a_scan(engine, [(asha.id, "Client"), (ravi.id, "Client"), (consultant.id, "Consultant")])
    finally:
        engine.dispose()
    with TestClient(create_app(settings, run_projections=False)) as api:
        assert {who: (inbox_of(api, token), unread(api, token)) for who, token in tokens.items()} == answers


@sqlite_only
def test_every_stored_notification_is_pushed_with_its_inbox_id(server):
    http = httpx.Client(base_url=server.url, timeout=30)
    world = World(http)
    consultant, client, other = world.consultant(), world.client(), world.client()
    as_admin = Listener(server.url, world.admin)
    to_client, to_other = Listener(server.url, client.token), Listener(server.url, other.token)
    to_consultant = Listener(server.url, consultant.token)
    try:
        late = world.client()  # row 2, to role Admin
        signup_push = as_admin.next("notification:new", lambda d: d["name"] == "New Client Signup")
        assert late.data["name"] in signup_push["message"]
        assert signup_push["_id"] in [i["_id"] for i in inbox_of(http, world.admin)["data"]]

        personal = send(http, world.admin, recipient=client.id, name="For you").json()["data"]
        assert to_client.next("notification:new", lambda d: d["name"] == "For you")["_id"] == personal["_id"]
        role = send(http, world.admin, recipientRole="Client", name="Clients").json()["data"]
        assert to_other.next("notification:new", lambda d: d["name"] == "Clients")["_id"] == role["_id"]
        everyone = send(http, world.admin, isGlobal=True, name="All").json()["data"]
        pushed = to_consultant.next("notification:new", lambda d: d["name"] == "All")
        assert pushed["_id"] == everyone["_id"] and pushed["read"] is False and pushed["type"] == "other"
        # the pushed id is the inbox's: it can be marked read
        ok(
            http.patch(f"{API}/notifications/{pushed['_id']}/read", headers=consultant.auth),
            200,
            "Notification marked as read",
        )
        with pytest.raises(AssertionError):
            to_consultant.next("notification:new", lambda d: d["name"] in ("For you", "Clients"), timeout=1)
        with pytest.raises(AssertionError):
            to_other.next("notification:new", lambda d: d["name"] == "For you", timeout=0.5)
    finally:
        for listener in (as_admin, to_client, to_other, to_consultant):
            listener.client.disconnect()
        http.close()


def test_counter_rows_are_keyed_per_reader_and_audience(api, world):
    """The unread count reads counters (no scan): their keys are those `inbox_counters` documents."""
    client = world.client()
    send(api, world.admin, recipient=client.id)
    send(api, world.admin, recipientRole="Client")
    send(api, world.admin, isGlobal=True)
    engine = api.app.state.container.engine
    with engine.connect() as conn:
        counters = dict(conn.execute(sa.select(inbox_counters.c.key, inbox_counters.c.n)).all())
        stored = conn.execute(sa.select(sa.func.count()).select_from(inbox)).scalar()
    assert counters[f"user:{client.id}"] == 1 and counters["role:Client"] == 1 and counters["global"] == 1
    assert counters["role:Admin"] == 1 and stored == 4  # and the client's signup notice


@sqlite_only
def test_export_lists_the_inbox_and_erasure_removes_own_inbox_and_links(api, world):
    consultant, asha = world.consultant(), world.client()
    world.book(asha, consultant, next_weekday(1), "09:00", "10:00")
    note = send(api, world.admin, recipient=asha.id, name="Welcome", category="system").json()["data"]["_id"]
    send(api, world.admin, recipientRole="Client", name="To every client")
    api.patch(f"{API}/notifications/{note}/read", headers=asha.auth)
    exported = api.get(f"{API}/clients/profile/export", headers=asha.auth)
    assert exported.status_code == 200, exported.text
    assert exported.json()["notifications"] == [
        {
            "name": "Welcome",
            "message": "Hello",
            "type": "other",
            "category": "system",
            "read": True,
            "createdAt": exported.json()["notifications"][0]["createdAt"],
        },
        {
            "name": "Appointment Confirmed",
            "message": exported.json()["notifications"][1]["message"],
            "type": "appointment",
            "category": "appointments",
            "read": False,
            "createdAt": exported.json()["notifications"][1]["createdAt"],
        },
    ]  # personal notifications only, newest first

    erased = api.request("DELETE", f"{API}/clients/profile", json={"password": "secret1"}, headers=asha.auth)
    assert erased.status_code == 200, erased.text
    container = api.app.state.container
    with container.engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(inbox).where(inbox.c.recipient == asha.id)).scalar()
            == 0
        )
        assert (
            conn.execute(
                sa.select(sa.func.count()).select_from(inbox_states).where(inbox_states.c.reader_id == asha.id)
            ).scalar()
            == 0
        )
        assert not conn.execute(sa.select(inbox_counters.c.key).where(inbox_counters.c.key.like(f"%{asha.id}%"))).all()
        assert counted(conn) == {} and kept(conn) == {consultant.id: 0}  # her link to the consultant went with her
    assert ok(
        api.get(f"{API}/client-consultants", headers=bearer(world.admin)), 200, "Relationships fetched successfully"
    ) == {"data": [], "total": 0}
    assert "Appointment Cancelled" in names(inbox_of(api, consultant))  # delivered to the other party, kept
    before = rows(container.engine)
    container.people_runner.reset()
    container.people_runner.catch_up()
    assert rows(container.engine) == before
