"""Right to erasure (contract people §4.4-4.6, CONTRACT.md "erase the person, keep the ledger"), on
SQLite and PostgreSQL: password confirmation, login and tokens dead, e-mail and phone free again, the
person anonymised on every read route, upcoming sessions cancelled under the refund rule, the ledger
and the analytics totals unchanged, nothing readable left in the stored events, and a rebuild of the
read models after the erasure giving the same anonymised answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from domain.appointments import Appointment
from domain.privacy import Erasure
from infrastructure.privacy_tables import privacy_keys
from infrastructure.tables import READ_MODEL_TABLES
from reporting.store import ReportingStore
from tests.conftest import bearer, refused
from tests.test_appointments import API, next_weekday
from tests.test_payments import Money

DELETED = "Your account and all associated data have been permanently deleted."
PASSWORD = "secret1"  # tests.conftest.signup


def stored_states(container: Any) -> list[bytes]:
    return [bytes(n.state) for n in container.market.recorder.select_notifications(1, 1_000_000)]


def read_models(container: Any) -> dict[str, list[Any]]:
    with container.engine.connect() as conn:
        return {t.name: sorted(map(tuple, conn.execute(sa.select(t)))) for t in READ_MODEL_TABLES}


def analytics(api: Any, admin: str, consultant_token: str) -> tuple[Any, Any]:
    overview = api.get(f"{API}/analytics/overview", headers=bearer(admin))
    mine = api.get(f"{API}/analytics/consultant", headers=bearer(consultant_token))
    assert overview.status_code == 200 and mine.status_code == 200, (overview.text, mine.text)
    return overview.json()["data"], mine.json()["data"]["payoutSummary"]


def totals(overview: dict[str, Any]) -> dict[str, Any]:
    """The overview's figures (money and counts), without the lists that name people."""
    return {k: v for k, v in overview.items() if not isinstance(v, list)}


PEOPLE_SQL = (
    "SELECT id, name, email, status, deleted FROM clients WHERE id = ?",
    "SELECT id, client_name, consultant_name, status FROM appointments WHERE client_id = ? ORDER BY id",
)


def reporting_people(store: Any, client_id: str) -> list[Any]:
    store.catch_up()
    with store.reading() as con:
        return [con.execute(sql, [client_id]).fetchall() for sql in PEOPLE_SQL]


def rebuilt_reporting_people(container: Any, directory: Path, client_id: str) -> list[Any]:
    market = container.market
    store = ReportingStore(
        directory / "rebuilt.duckdb",
        read_notifications=lambda start, limit: list(market.recorder.select_notifications(start, limit)),
        decode=market.mapper.to_domain_event,
        max_position=lambda: market.recorder.max_notification_id() or 0,
        zone=ZoneInfo("Asia/Kolkata"),
        batch_size=5,
    )
    try:
        return reporting_people(store, client_id)
    finally:
        store.close()


def test_client_erasure_keeps_the_ledger_and_the_totals(api, tmp_path):
    world = Money(api)
    container = world.container
    consultant, client = world.paid_consultant(), world.client()
    email, mobile, name = client.data["email"], client.data["mobile"], client.data["name"]
    day = next_weekday(2)
    # a paid session, completed by the admin, and a payout: earnings, GMV and payoutSummary are non-zero
    booked = world.paid_booking(client, consultant, day, "09:00", "10:00")
    appointment_id = booked["appointment"]["_id"]
    reply = api.patch(f"{API}/appointments/{appointment_id}", headers=bearer(world.admin), json={"status": "Completed"})
    assert reply.status_code == 200, reply.text
    reply = api.patch(
        f"{API}/appointments/{appointment_id}", headers=client.auth, json={"notes": f"call me on {mobile}"}
    )
    assert reply.status_code == 200, reply.text
    payout = api.post(
        f"{API}/transactions/payout", headers=bearer(world.admin), json={"consultantId": consultant.id, "amount": 100}
    )
    assert payout.status_code == 201, payout.text
    before = analytics(api, world.admin, consultant.token)
    assert before[1]["totalEarnings"] == 1350 and before[1]["totalPaidOut"] == 100
    assert any(email.encode() in state for state in stored_states(container)) is False  # sealed from the start

    # the password confirms it: missing → 400, wrong → 400 (never 401: the apps would log out)
    refused(
        api.request("DELETE", f"{API}/clients/profile", headers=client.auth),
        400,
        "Password is required to delete your account",
    )
    refused(
        api.request("DELETE", f"{API}/clients/profile", headers=client.auth, json={"password": "wrong1"}),
        400,
        "Invalid password",
    )
    assert api.get(f"{API}/clients/profile", headers=client.auth).status_code == 200  # nothing changed
    refused(
        api.request("DELETE", f"{API}/consultants/me", headers=client.auth, json={"password": PASSWORD}),
        403,
        "Forbidden: Access denied",
    )
    reply = api.request("DELETE", f"{API}/clients/profile", headers=client.auth, json={"password": PASSWORD})
    assert reply.status_code == 200 and reply.json() == {"success": True, "message": DELETED}, reply.text

    # login and old tokens stop working; e-mail and phone are free again (a new account)
    refused(api.post(f"{API}/auth/login", json={"email": email, "password": PASSWORD}), 401, "Invalid credentials")
    refused(api.get(f"{API}/clients/profile", headers=client.auth), 401, "Invalid or expired token")
    again = api.post(
        f"{API}/auth/signup",
        json={"fullName": "Someone New", "email": email, "mobile": mobile, "password": PASSWORD, "role": "Client"},
    )
    assert again.status_code == 201, again.text
    assert again.json()["data"]["user"]["id"] != client.id

    # every read route: gone, or anonymised where the other party still sees the record
    refused(api.get(f"{API}/clients/{client.id}", headers=bearer(world.admin)), 404, "User not found")
    listed = api.get(f"{API}/clients", params={"search": name}, headers=bearer(world.admin)).json()
    assert name not in json.dumps(listed)

    def anonymised() -> None:
        seen = api.get(f"{API}/appointments", headers=consultant.auth).json()
        text = json.dumps(seen)
        assert email not in text and name not in text and mobile not in text
        (item,) = [a for a in (seen["data"] if isinstance(seen["data"], list) else seen["data"]["data"])]
        assert item["client"] == {"_id": client.id, "fullName": "Deleted user", "email": "", "mobile": ""}
        assert item["status"] == "Completed" and item["notes"] == ""
        page = world.transactions(consultant)
        assert page["total"] == 2 and email not in json.dumps(page) and name not in json.dumps(page)
        payment = next(t for t in page["data"] if t["type"] == "Payment")
        assert payment["user"]["fullName"] == "Deleted user" and payment["amount"] == 1500
        assert payment["status"] == "Success" and payment["netAmount"] == 1350

    anonymised()
    # money and analytics totals are unchanged
    after = analytics(api, world.admin, consultant.token)
    assert totals(after[0]) == totals(before[0]) and after[1] == before[1]
    assert email not in json.dumps(after[0]) and name not in json.dumps(after[0])

    # the stored events: the key is destroyed, no e-mail, phone or name bytes anywhere
    states = stored_states(container)
    for secret in (email, mobile, f"call me on {mobile}"):
        assert not any(secret.encode() in state for state in states), secret
    # the name stays only in what was delivered to the admins' broadcast inbox ("Payment Received"), kept
    # as delivered (people §4.6 step 2); no event about the person holds it
    for stored in container.market.recorder.select_notifications(1, 10**6):
        if name.encode() in bytes(stored.state):
            event = container.market.mapper.to_domain_event(stored)
            assert type(event).__name__ == "Sent" and event.recipient is None, event
    with container.engine.connect() as conn:
        key = conn.execute(sa.select(privacy_keys.c.key).where(privacy_keys.c.subject == client.id)).one()
    assert key.key is None
    events = [
        container.market.mapper.to_domain_event(n) for n in container.market.recorder.select_notifications(1, 10**6)
    ]
    (erasure,) = [e for e in events if isinstance(e, Erasure.Recorded)]
    assert (erasure.account_id, erasure.kind, erasure.cancelled) == (client.id, "client", [])
    updated = [e for e in events if isinstance(e, Appointment.Updated) and e.originator_id.hex[:24] == appointment_id]
    assert updated[-1].changes["notes"] == ""  # the sealed free text decodes to its placeholder

    # a rebuild of the read models from the events gives the same anonymised answers
    live = read_models(container)
    container.runner.reset()
    container.runner.catch_up()
    assert read_models(container) == live
    anonymised()
    # and so does a reporting store rebuilt from the events (people and appointments, names included)
    people = reporting_people(container.reporting, client.id)
    assert people[0] == [(client.id, "Deleted user", "", "Active", True)] and len(people[1]) == 1
    assert people == rebuilt_reporting_people(container, tmp_path, client.id)


def test_consultant_erasure_cancels_upcoming_sessions_with_full_refunds(api):
    world = Money(api)
    consultant, client = world.paid_consultant(), world.client()
    day = next_weekday(3)
    booked = world.paid_booking(client, consultant, day, "09:00", "10:00")
    appointment_id = booked["appointment"]["_id"]
    consultant_name = consultant.data["name"]
    before = world.transactions(world.admin)["total"]

    reply = api.request("DELETE", f"{API}/consultants/me", headers=consultant.auth, json={"password": PASSWORD})
    assert reply.status_code == 200 and reply.json()["message"] == DELETED, reply.text

    # the upcoming session is cancelled as if the consultant had cancelled it: refunded in full
    mine = api.get(f"{API}/appointments", headers=client.auth).json()
    items = mine["data"] if isinstance(mine["data"], list) else mine["data"]["data"]
    (item,) = [a for a in items if a["_id"] == appointment_id]
    assert item["status"] == "Cancelled"
    assert item["consultant"] == {"_id": consultant.id, "fullName": "Deleted user", "email": "", "mobile": ""}
    page = world.transactions(world.admin)
    assert page["total"] == before + 1
    kinds = sorted((t["type"], t["status"]) for t in page["data"])
    assert kinds == [("Payment", "Refunded"), ("Refund", "Success")]
    assert consultant_name not in json.dumps(page)
    # the client got the cancellation notice (delivered to its inbox: it keeps the name as delivered)
    notices = [n for n in world.notices("Appointment Cancelled") if n.recipient == client.id]
    assert len(notices) == 1
    # the consultant is gone from every list and profile route
    refused(api.get(f"{API}/consultants/{consultant.id}", headers=client.auth), 404, "Consultant not found")
    public = api.get(f"{API}/consultants/public").json()
    assert consultant.id not in json.dumps(public)
    refused(api.get(f"{API}/consultants/me/export", headers=consultant.auth), 401, "Invalid or expired token")


def test_the_last_admin_cannot_delete_itself(api):
    world = Money(api)
    refused(
        api.request("DELETE", f"{API}/users/profile", headers=bearer(world.admin), json={"password": "Adm1nPassword"}),
        409,
        "Cannot delete the last admin account",
    )
    second = api.post(
        f"{API}/users",
        headers=bearer(world.admin),
        json={
            "userId": "ADM2",
            "fullName": "Second Admin",
            "email": "second@example.com",
            "mobile": "9000000002",
            "role": "Admin",
        },
    )
    assert second.status_code == 201, second.text
    otp = api.post(f"{API}/auth/send-otp", json={"mobile": "9000000002"}).json()["data"]["otp"]
    token = api.post(f"{API}/auth/verify-otp", json={"mobile": "9000000002", "otp": otp, "role": "Admin"}).json()
    token = token["data"]["token"]
    refused(
        api.request("DELETE", f"{API}/users/profile", headers=bearer(world.admin), json={"password": "nope"}),
        400,
        "Invalid password",
    )
    reply = api.request(
        "DELETE", f"{API}/users/profile", headers=bearer(world.admin), json={"password": "Adm1nPassword"}
    )
    assert reply.status_code == 200, reply.text
    # the second admin has no password (created by an admin): no confirmation, but it is now the last one
    refused(
        api.request("DELETE", f"{API}/users/profile", headers=bearer(token)),
        409,
        "Cannot delete the last admin account",
    )


def test_two_admins_erasing_themselves_at_once_leave_one(container):
    """The last-admin rule holds under concurrency: of two admins erasing themselves at the same
    instant exactly one succeeds, round after round."""
    import threading

    from domain.errors import Conflict

    first = container.identity.create_first_admin("First Admin", "first@example.com", "Adm1nPassword", "9000000001")
    remaining = first["id"]
    for round_number in range(6):
        newcomer = container.people.create_user(
            {
                "userId": f"ADM{round_number}",
                "fullName": f"Admin {round_number}",
                "email": f"admin{round_number}@example.com",
                "mobile": f"90000001{round_number:02d}",
                "role": "Admin",
            }
        )
        barrier = threading.Barrier(2)
        outcomes: dict[str, str] = {}

        def erase(account_id: str, barrier: threading.Barrier = barrier, outcomes: dict[str, str] = outcomes) -> None:
            barrier.wait()
            password = "Adm1nPassword" if account_id == first["id"] else None
            try:
                container.privacy.erase(account_id, "user", "Admin", password)
                outcomes[account_id] = "erased"
            except Conflict as refusal:
                assert str(refusal) == "Cannot delete the last admin account"
                outcomes[account_id] = "refused"

        threads = [threading.Thread(target=erase, args=(a,)) for a in (remaining, newcomer)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes.values()) == ["erased", "refused"], outcomes
        remaining = next(a for a, outcome in outcomes.items() if outcome == "refused")
        assert container.directory.by_id("user", remaining) is not None


def test_erasure_releases_live_holds(api):
    world = Money(api)
    consultant, client, other = world.paid_consultant(), world.client(), world.client()
    day = next_weekday(4)
    hold_id = world.held(client, consultant, day, "09:00", "10:00")
    assert "09:00 - 10:00" not in world.slots(other, consultant, day)
    reply = api.request("DELETE", f"{API}/clients/profile", headers=client.auth, json={"password": PASSWORD})
    assert reply.status_code == 200, reply.text
    # the held slot is open again at once (not after the hold's five minutes)
    assert "09:00 - 10:00" in world.slots(other, consultant, day)
    assert api.get(f"{API}/appointments/{hold_id}", headers=bearer(world.admin)).status_code == 404
