"""Demo data for `consult seed-demo`: an admin, a catalogue, consultants in several categories
and clients, appointments with their payments (offline payments of direct bookings, and upcoming
bookings paid through the sandbox gateway: hold → order → signed checkout → confirmation), refunds
of cancellations, and payouts, all created through the same commands the routes use."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from application.bookings import Bookings, Caller
from application.payments import Who
from domain.availability import WEEKDAYS as WEEKDAY_NAMES
from domain.availability import generate_day, session_lengths, wall_clock
from domain.errors import DomainError
from interfaces.demo_history import record_history

DEMO_PASSWORD = "Demo@12345"
CATALOGUE = {
    "Legal": ("Legal advice for people and companies", ["Family Law", "Corporate Law", "Property Law"]),
    "Finance": ("Money, tax and investments", ["Tax Planning", "Investments", "Accounting"]),
    "Health": ("Wellbeing with qualified professionals", ["Nutrition", "Mental Health", "Fitness"]),
    "Career": ("Careers, interviews and leadership", ["Interview Coaching", "Leadership"]),
}
CONSULTANTS = [
    ("Asha Mehta", [("Legal", "Family Law"), ("Finance", "Tax Planning")], 1500, "Active"),
    ("Rohan Iyer", [("Finance", "Investments")], 2000, "Active"),
    ("Meera Nair", [("Health", "Nutrition"), ("Health", "Mental Health")], 1200, "Active"),
    ("Vikram Rao", [("Legal", "Corporate Law")], 2500, "Active"),
    ("Sara Khan", [("Career", "Interview Coaching"), ("Career", "Leadership")], 1000, "Active"),
    ("Dev Patel", [("Finance", "Accounting")], 900, "Pending"),
]


def _week(windows: list[tuple[str, str]], days: tuple[str, ...]) -> dict[str, Any]:
    all_days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
    return {
        day: {"enabled": day in days, "slots": [{"start": s, "end": e} for s, e in windows] if day in days else []}
        for day in all_days
    }


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday")
# Different hours, session lengths and buffers per consultant, a lunch break, and a time-off period.
AVAILABILITY: list[dict[str, Any]] = [
    {
        "workingHours": _week([("09:00", "13:00"), ("14:00", "18:00")], WEEKDAYS),
        "sessionSettings": {"defaultDuration": 60, "bufferTime": 15, "maxSessionsPerDay": 6},
    },
    {
        "workingHours": _week([("10:00", "19:00")], (*WEEKDAYS, "saturday")),
        "sessionSettings": {"defaultDuration": 45, "bufferTime": 15, "maxSessionsPerDay": 8},
        "breakTimes": [{"start": "13:00", "end": "14:00", "days": list(WEEKDAYS)}],
    },
    {
        "workingHours": _week([("08:00", "12:00"), ("16:00", "20:00")], ("monday", "wednesday", "friday", "saturday")),
        "sessionSettings": {"defaultDuration": 30, "bufferTime": 10, "maxSessionsPerDay": 12},
    },
    {
        "workingHours": _week([("11:00", "17:00")], ("tuesday", "wednesday", "thursday")),
        "sessionSettings": {"defaultDuration": 90, "bufferTime": 30, "maxSessionsPerDay": 3},
        "advanceBooking": {"minHoursInAdvance": 24, "maxDaysInAdvance": 60, "sameDayBooking": False},
    },
    {
        "workingHours": _week([("18:00", "22:00")], (*WEEKDAYS, "saturday", "sunday")),
        "sessionSettings": {"defaultDuration": 60, "bufferTime": 0, "maxSessionsPerDay": 4},
    },
    {
        "workingHours": _week([("09:00", "17:00")], WEEKDAYS),
        "sessionSettings": {"defaultDuration": 60, "bufferTime": 15},
    },
]
CLIENTS = ["Priya Sharma", "Arjun Singh", "Neha Gupta", "Kabir Das"]


def _email(name: str, domain: str) -> str:
    return name.lower().replace(" ", ".") + "@" + domain


def seed(container: Any) -> list[tuple[str, str, str]]:
    identity, people = container.identity, container.people
    admin = identity.create_first_admin("Demo Admin", "admin@demo.consult", DEMO_PASSWORD, "9000000001")
    ids: dict[tuple[str, str], tuple[str, str]] = {}
    for title, (description, subs) in CATALOGUE.items():
        category_id = people.create_category({"title": title, "description": description})
        for sub in subs:
            ids[(title, sub)] = (category_id, people.create_category({"title": sub}, parent_id=category_id))
    logins = [("Admin", admin["email"], DEMO_PASSWORD)]
    consultant_ids: list[str] = []
    for index, (name, entries, fees, status) in enumerate(CONSULTANTS):
        email = _email(name, "consultants.demo")
        categories = [{"categoryId": ids[e][0], "subcategoryId": ids[e][1]} for e in entries]
        created = identity.signup(
            {
                "fullName": name,
                "email": email,
                "mobile": f"+9190000100{index:02d}",
                "password": DEMO_PASSWORD,
                "role": "Consultant",
                "fees": fees,
                "currency": "INR",
                "categories": categories,
            }
        )
        consultant_id = created["user"]["id"]
        if status == "Active":
            consultant_ids.append(consultant_id)
            people.set_consultant_status(consultant_id, "approve")
        availability = dict(AVAILABILITY[index])
        if index == 2:  # on leave for a few days, starting a week from now
            start = date.today() + timedelta(days=7)
            availability["timeOff"] = [
                {
                    "startDate": start.isoformat(),
                    "endDate": (start + timedelta(days=4)).isoformat(),
                    "type": "vacation",
                    "reason": "Annual leave",
                    "status": "approved",
                }
            ]
        container.settings_service.update_availability(consultant_id, availability)
        logins.append((f"Consultant{'' if status == 'Active' else ' (pending)'}", email, DEMO_PASSWORD))
    client_ids = []
    for index, name in enumerate(CLIENTS):
        email = _email(name, "clients.demo")
        created = identity.signup(
            {
                "fullName": name,
                "email": email,
                "mobile": f"+9190000200{index:02d}",
                "password": DEMO_PASSWORD,
                "role": "Client",
            }
        )
        client_ids.append(created["user"]["id"])
        logins.append(("Client", email, DEMO_PASSWORD))
    for consultant_id in consultant_ids:  # the platform keeps 10 %
        people.update_consultant(consultant_id, {"commission": {"platformPercent": 10}}, "Admin", admin["id"])
    record_history(container, consultant_ids, client_ids, 10)  # the last six months, at their own dates
    _appointments(container, admin["id"], consultant_ids, client_ids)
    _paid_bookings(container, consultant_ids, client_ids)
    _payouts(container, admin["id"], consultant_ids)
    return logins


REASONS = ["Initial consultation", "Follow-up", "Second opinion", "Planning session", "Quick question", ""]


def _appointments(container: Any, admin_id: str, consultant_ids: list[str], client_ids: list[str]) -> None:
    """Upcoming appointments over the next three weeks, booked through the booking command as of a
    few days before they take place (the past is `interfaces.demo_history`)."""
    zone = ZoneInfo(container.settings.business_timezone)
    bookings = Bookings(container.market, zone, money=container.payments)
    admin = Caller(admin_id, "Admin")
    rng = random.Random(2026)
    today = datetime.now(zone).date()
    for offset in range(0, 22):
        day = today + timedelta(days=offset)
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            consultant_id, client_id = rng.choice(consultant_ids), rng.choice(client_ids)
            availability = container.settings_service.availability_of(consultant_id)
            duration, buffer = session_lengths(availability)
            weekday = WEEKDAY_NAMES[day.weekday()]
            labels = generate_day(availability["workingHours"].get(weekday), duration, buffer)
            if not labels:
                continue
            start_text, end_text = rng.choice(labels).split(" - ")
            start, end = wall_clock(day, start_text, zone), wall_clock(day, end_text, zone)
            if start is None or end is None or start < datetime.now(zone) + timedelta(days=2):
                continue
            bookings.clock = lambda moment=start: moment - timedelta(days=3)
            fee = container.market.account(consultant_id).profile.get("fees", 0)
            try:
                bookings.create_direct(
                    admin,
                    consultant_id,
                    client_id,
                    start,
                    end,
                    "Upcoming",
                    {"reason": rng.choice(REASONS)},
                    {"amount": fee, "status": "Success", "method": "Card"},
                    None,
                )
            except DomainError:
                continue  # taken or closed that day: try the next one


def _paid_bookings(container: Any, consultant_ids: list[str], client_ids: list[str]) -> None:
    """A few upcoming bookings as the client app makes them, paid through the sandbox gateway."""
    zone = ZoneInfo(container.settings.business_timezone)
    payments, gateway = container.payments, container.gateway
    if not hasattr(gateway, "pay"):  # a live gateway: no demo payments
        return
    rng = random.Random(7)
    today = datetime.now(zone).date()
    made = 0
    for offset in range(3, 30):
        if made >= 6:
            return
        day = today + timedelta(days=offset)
        consultant_id, client_id = consultant_ids[offset % len(consultant_ids)], rng.choice(client_ids)
        labels = container.slots.open_slots(consultant_id, day, client_id, "Client") or []
        if not labels:
            continue
        start_text, end_text = labels[len(labels) // 2].split(" - ")
        start, end = wall_clock(day, start_text, zone), wall_clock(day, end_text, zone)
        if start is None or end is None:
            continue
        client = Caller(client_id, "Client")
        try:
            hold_id, _, _ = container.bookings.hold(client, consultant_id, client_id, start, end)
            order = payments.create_order(
                Who(client_id, "Client"),
                Decimal(1),
                hold_id,
                None,
                consultant_id,
                None,
                "PayPal" if made % 3 == 2 else "Razorpay",
            )
            checkout = (
                gateway.approve_paypal(order["orderId"])
                if order.get("paymentMethod") == "PayPal"
                else gateway.pay(order["orderId"])
            )
            proof = payments.check_proof(order.get("paymentMethod", "Razorpay"), checkout)
            container.bookings.confirm(
                client, hold_id, consultant_id, client_id, start, end, {"reason": "Booked in the app"}, payment=proof
            )
            made += 1
        except DomainError:
            continue


def _payouts(container: Any, admin_id: str, consultant_ids: list[str]) -> None:
    """Each consultant with earnings has been paid out about half of them (bank transfers)."""
    for index, consultant_id in enumerate(consultant_ids):
        remaining = container.payouts.balance(consultant_id)["remainingBalance"]
        amount = (remaining / 2).quantize(Decimal("1"))
        if amount > 0:
            container.payouts.payout(admin_id, consultant_id, amount, "Bank transfer (demo)", f"DEMO-UTR-{index:03d}")
