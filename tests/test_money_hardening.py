"""Issue 12 §2 "Money enters only through real payments" and §5's two appointment contract points.

CONTRACT.md "Money: who may record it": only an admin records an offline payment as `Success`; a
consultant's direct create starts `Upcoming` with no payment or a `Pending` one and never credits
its balance; nobody creates an appointment already `Completed`; a consultant marks its own
appointment `Completed` only after its end. Every amount a request carries is read exactly
(Decimal from the JSON text) and bounded by MAX_AMOUNT; one rounding rule (domain/money.py)."""

from __future__ import annotations

import json
from datetime import UTC
from decimal import Decimal
from typing import Any

import pytest

from domain.ledger import Transaction, exact, split_fee
from domain.money import UNIT, AmountRefused, parse_amount, round_money
from tests.conftest import bearer, make_settings
from tests.test_appointments import API, World, instant, next_weekday, refused
from tests.test_payments import Money

sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def balance(world: Money, consultant: Any) -> dict[str, Decimal]:
    return world.container.payouts.balance(consultant.id)  # type: ignore[no-any-return]


# -- the reproduction of the issue ------------------------------------------------------------------


def test_a_consultant_cannot_forge_money_by_direct_create(api):
    world = Money(api)
    consultant, client = world.paid_consultant(fees=500, percent=10), world.client()
    day = next_weekday(2)
    hold_id = world.held(client, consultant, day, "09:00", "10:00")
    order = world.order(client, consultant, hold_id).json()["data"]
    paid = world.confirm(
        client, consultant, day, "09:00", "10:00", hold_id, payment={"razorpayResponse": world.proof(order["orderId"])}
    )
    assert paid.status_code == 201, paid.text  # a real booking links the client to the consultant

    forged = {"amount": 999999999, "status": "Success", "method": "Card"}
    # the request: Completed + a huge Success payment
    reply = world.direct(consultant, client, consultant, day, "10:15", "11:15", status="Completed", payment=forged)
    refused(reply, 400)
    assert reply.json()["errors"][0]["field"] in ("status", "payment.amount")
    # nobody creates an appointment already Completed, not even an admin
    refused(
        world.direct(world.admin, client, consultant, day, "10:15", "11:15", status="Completed"),
        400,
        "An appointment cannot be created as Completed: it is completed after it ends",
    )
    # the amount alone is over MAX_AMOUNT
    refused(
        world.direct(consultant, client, consultant, day, "10:15", "11:15", payment=forged),
        400,
        '"payment.amount" must be less than or equal to 10000000',
    )
    # a consultant's claimed Success is recorded Pending and credits nothing
    claimed = world.direct(
        consultant, client, consultant, day, "10:15", "11:15", payment={**forged, "amount": 9999999.99}
    )
    assert claimed.status_code == 201, claimed.text
    assert claimed.json()["data"]["status"] == "Upcoming"
    assert claimed.json()["data"]["payment"]["status"] == "Pending"
    pending = [t for t in world.transactions(consultant)["data"] if t["amount"] == 9999999.99]
    assert [t["status"] for t in pending] == ["Pending"]
    assert balance(world, consultant)["remainingBalance"] == Decimal("0.00")

    # and the admin's payouts are refused: over MAX_AMOUNT, and over the (empty) balance
    admin = bearer(world.admin)
    big = api.post(
        f"{API}/transactions/payout", headers=admin, json={"consultantId": consultant.id, "amount": 500000000}
    )
    assert (big.status_code, big.json()) == (400, {"message": '"amount" must be less than or equal to 10000000'})
    over = api.post(f"{API}/transactions/payout", headers=admin, json={"consultantId": consultant.id, "amount": 100})
    assert over.status_code == 400 and "exceeds the remaining balance" in over.json()["message"]
    assert [t for t in world.transactions(world.admin, type="Payout")["data"]] == []


@sqlite_only
def test_only_admins_record_success_and_completion_waits_for_the_end(api):
    world = Money(api)
    consultant, client = world.paid_consultant(fees=1000, percent=10), world.client()
    day = next_weekday(2)
    # the admin's offline Success is recorded Success (its net counts once the session is Completed)
    by_admin = world.direct(
        world.admin, client, consultant, day, "10:15", "11:15", payment={"amount": 1000, "status": "Success"}
    )
    assert by_admin.status_code == 201, by_admin.text
    assert by_admin.json()["data"]["payment"]["status"] == "Success"
    appointment_id = by_admin.json()["data"]["_id"]

    # before its end, the consultant may not mark it Completed; a client never may
    refused(
        world.patch(consultant, appointment_id, {"status": "Completed"}),
        400,
        "An appointment can be marked Completed only after it ends",
    )
    refused(world.patch(client, appointment_id, {"status": "Completed"}), 403)
    assert balance(world, consultant)["totalEarnings"] == Decimal("0.00")

    # after its end it may: the real payment is earned then
    bookings = world.container.bookings
    real = bookings.clock
    bookings.clock = lambda: instant(day, "11:16").astimezone(UTC)
    try:
        refused(
            world.patch(
                consultant,
                appointment_id,
                {"status": "Completed", "startAt": f"{day}T12:45:00+05:30", "endAt": f"{day}T13:45:00+05:30"},
            ),
            400,
            "Cannot reschedule and complete at once",
        )
        done = world.patch(consultant, appointment_id, {"status": "Completed"})
    finally:
        bookings.clock = real
    assert done.status_code == 200, done.text
    assert done.json()["data"]["status"] == "Completed"
    assert balance(world, consultant)["totalEarnings"] == Decimal("900.00")


# -- exact amounts and the bound on every route that takes one ---------------------------------------


def raw(api: Any, method: str, path: str, token: str, text: str) -> Any:
    headers = {**bearer(token), "Content-Type": "application/json"}
    return api.request(method, f"{API}{path}", headers=headers, content=text)


@sqlite_only
def test_amounts_are_read_exactly_and_bounded_on_every_route(api):
    world = Money(api)
    consultant, client = world.paid_consultant(fees=1000, percent=10), world.client()
    admin = world.admin
    day = next_weekday(3)
    hold_id = world.held(client, consultant, day, "09:00", "10:00")

    # JSON text a float reader would accept or round: refused, never rounded
    body = {"consultant": consultant.id, "client": client.id, "startAt": f"{day}T10:15:00+05:30"}
    body["endAt"] = f"{day}T11:15:00+05:30"
    for amount, message in (
        ("NaN", "Malformed JSON body"),
        ("Infinity", "Malformed JSON body"),
        ("100.0000000000000000001", '"payment.amount" must have at most 2 decimals'),
        ("1.005", '"payment.amount" must have at most 2 decimals'),
        ("1e400", '"payment.amount" must be less than or equal to 10000000'),
        ("-0.01", '"payment.amount" must be greater than or equal to 0'),
        ("10000000.01", '"payment.amount" must be less than or equal to 10000000'),
    ):
        text = json.dumps(body)[:-1] + f', "payment": {{"amount": {amount}, "status": "Success"}}}}'
        reply = raw(api, "POST", "/appointments", admin, text)
        assert reply.status_code == 400, (amount, reply.text)
        assert reply.json()["success"] is False and reply.json()["message"] == message, (amount, reply.json())
    # an exact amount with a fraction is kept to the cent, fee and net from the one rule
    text = json.dumps(body)[:-1] + ', "payment": {"amount": 1234567.89, "status": "Success"}}'
    created = raw(api, "POST", "/appointments", admin, text)
    assert created.status_code == 201, created.text
    payment = created.json()["data"]["payment"]
    assert (payment["amount"], payment["platformFee"], payment["netAmount"]) == (1234567.89, 123457, 1111110.89)
    recorded = [e for e in world.events() if isinstance(e, Transaction.Recorded)]
    assert recorded[-1].amount == Decimal("1234567.89") and recorded[-1].platform_fee == Decimal("123457.00")

    # create-order, payouts, profile fees, settings fees, registration fees
    reply = raw(api, "POST", "/payments/create-order", client.token, f'{{"amount": NaN, "holdId": "{hold_id}"}}')
    assert reply.status_code == 400
    refused(world.order(client, consultant, hold_id, amount=10000001), 400)
    payout = raw(api, "POST", "/transactions/payout", admin, f'{{"consultantId": "{consultant.id}", "amount": 1e9}}')
    assert payout.status_code == 400 and "less than or equal to 10000000" in payout.json()["message"]
    fees = api.patch(f"{API}/consultants/{consultant.id}", headers=bearer(admin), json={"fees": 10000000.5})
    assert fees.status_code == 400 and fees.json()["errors"] == [
        {"field": "fees", "message": '"fees" must be less than or equal to 10000000'}
    ]
    fees = raw(api, "PATCH", f"/consultants/{consultant.id}", admin, '{"fees": 99.999}')
    assert fees.status_code == 400 and fees.json()["errors"][0]["message"] == '"fees" must have at most 2 decimals'
    exact_fees = raw(api, "PATCH", f"/consultants/{consultant.id}", admin, '{"fees": 1499.99}')
    assert exact_fees.status_code == 200 and exact_fees.json()["data"]["fees"] == 1499.99
    settings_fees = api.put(
        f"{API}/consultant-settings/{consultant.id}",
        headers=consultant.auth,
        json={"professional": {"consultationFees": {"initial": 20000000}}},
    )
    assert settings_fees.status_code == 400, settings_fees.text
    assert "less than or equal to 10000000" in settings_fees.text
    signup = api.post(
        f"{API}/auth/signup",
        json={
            "fullName": "Rich Consultant",
            "email": "rich@example.com",
            "mobile": "+919812345678",
            "password": "secret1",
            "role": "Consultant",
            "fees": 1e12,
        },
    )
    assert signup.status_code == 400 and "fees" in signup.text
    assert [t for t in world.transactions(admin, type="Payout")["data"]] == []


def test_max_amount_is_configurable(tmp_path):
    from fastapi.testclient import TestClient

    from interfaces.http.app import create_app

    with TestClient(create_app(make_settings(tmp_path, max_amount=Decimal("2500")))) as api:
        world = World(api)
        consultant = world.consultant()
        reply = api.patch(f"{API}/consultants/{consultant.id}", headers=bearer(world.admin), json={"fees": 2500.01})
        assert reply.status_code == 400
        assert reply.json()["errors"][0]["message"] == '"fees" must be less than or equal to 2500'
        reply = api.patch(f"{API}/consultants/{consultant.id}", headers=bearer(world.admin), json={"fees": 2500})
        assert reply.status_code == 200, reply.text


def test_one_rounding_rule_everywhere():
    from application import bookings
    from reporting import batch, periods

    # half toward +infinity (JS Math.round), at the cent for amounts and at units for the fee
    assert round_money(Decimal("2.5"), UNIT) == 3 and round_money(Decimal("-2.5"), UNIT) == -2
    assert round_money(Decimal("10.005")) == Decimal("10.01") and round_money(Decimal("-10.005")) == Decimal("-10.00")
    assert exact("10.005") == Decimal("10.01") and exact(0.1 + 0.2) == Decimal("0.30") and exact(None) == 0
    assert split_fee(Decimal("999.00"), 12.5) == (Decimal("125.00"), Decimal("874.00"))
    assert split_fee(Decimal("590.00"), 10) == (Decimal("59.00"), Decimal("531.00"))
    # the booking commands, the reporting store and its JS rounding all use the domain's rule
    assert bookings.money is exact
    assert batch.money(1.005) == exact(1.005) == Decimal("1.01")  # repr "1.005": half up, not half even
    assert periods.js_round(0.49999999999999994) == 0 and periods.js_round(2.5) == 3 and periods.js_round(-2.5) == -2
    # a request's amount is never rounded: it is exact or refused
    assert parse_amount("12.30", "amount") == Decimal("12.30")
    for bad in ("12.345", "NaN", "-1", True, "1e7.5", float("inf")):
        with pytest.raises(AmountRefused):
            parse_amount(bad, "amount")
    with pytest.raises(AmountRefused, match="less than or equal to 100"):
        parse_amount("100.01", "amount", Decimal(100))


# -- §5: the hold route's two contract points --------------------------------------------------------


@sqlite_only
def test_admin_hold_is_refused_and_the_confirmed_category_is_stored(api):
    world = Money(api)
    admin = bearer(world.admin)
    titles = ["Legal", "Finance", "Health"]
    made = {t: api.post(f"{API}/categories", headers=admin, json={"title": t}).json()["data"] for t in titles}
    subs = {
        t: api.post(
            f"{API}/subcategories", headers=admin, json={"title": f"{t} sub", "parentCategory": c["_id"]}
        ).json()["data"]
        for t, c in made.items()
    }
    consultant = world.consultant(
        categories=[{"categoryId": made[t]["_id"], "subcategoryId": subs[t]["_id"]} for t in ("Legal", "Finance")]
    )
    client = world.client()
    day = next_weekday(4)
    body = {"consultant": consultant.id, "client": client.id}
    body |= {"startAt": f"{day}T09:00:00+05:30", "endAt": f"{day}T10:00:00+05:30"}
    refused(api.post(f"{API}/appointments/hold", json=body, headers=admin), 403, "Forbidden: Access denied")
    refused(api.post(f"{API}/appointments/hold", json=body, headers=consultant.auth), 403)

    def booked(start: str, end: str, category: str | None) -> str:
        hold_id = world.held(client, consultant, day, start, end)  # no category with the hold
        extra = {"category": category} if category is not None else {}
        reply = world.confirm(client, consultant, day, start, end, hold_id, **extra)
        assert reply.status_code == 201, reply.text
        return str(api.get(f"{API}/appointments/{hold_id}", headers=client.auth).json()["data"]["category"])

    assert booked("09:00", "10:00", "Finance") == "Finance"  # one of the consultant's categories
    assert booked("10:15", "11:15", "Health") == "Legal"  # not one of its: the primary category
    assert booked("11:30", "12:30", None) == "Legal"
