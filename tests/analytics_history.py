"""A scripted history for the analytics tests, and the expected figures computed from the script in
plain Python (never by the reporting store's SQL).

The history spans 2024 and 2025: consultants in several categories (one with two), a legacy
consultant whose appointments carry no category, completions, a cancellation with a refund, a
deleted Completed appointment whose payment stays earned, a payment without appointment, pending and failed
payments, a hold, payouts (one pending). Every event is recorded at its scripted instant."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import eventsourcing.domain

from domain.appointments import Appointment, ClientLink
from domain.ids import new_object_id
from domain.ledger import Transaction

IST = ZoneInfo("Asia/Kolkata")
NOW = datetime(2025, 6, 15, 12, 0, tzinfo=IST)
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def ist(y: int, m: int, d: int, hh: int = 10, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=IST)


@contextlib.contextmanager
def at(moment: datetime) -> Iterator[None]:
    """Events created inside are stamped with `moment` (the scripted time they happened)."""
    with mock.patch.object(eventsourcing.domain, "datetime_now_with_tzinfo", lambda: moment.astimezone(UTC)):
        yield


@dataclass
class Person:
    key: str
    name: str
    created: datetime
    id: str = ""
    token: str = ""
    primary: str = "General"
    percent: int = 0
    status: str = "Active"


@dataclass
class Appt:
    key: str
    consultant: str
    client: str
    start: datetime
    fee: int
    category: str | None  # None: legacy, no stored category
    status: str  # final status
    created: datetime
    payment: str | None  # final payment status, or None when there is no payment
    paid_at: datetime | None = None
    deleted: bool = False
    id: str = ""


@dataclass
class Tx:
    kind: str
    status: str
    amount: int
    fee: int
    consultant: str
    client: str | None
    appointment: str | None
    created: datetime


CONSULTANTS = [
    Person("A", "Asha Legal-Finance", ist(2024, 1, 10), primary="Legal", percent=10),
    Person("B", "Bala Finance", ist(2024, 6, 5), primary="Finance", percent=20),
    Person("C", "Chandra Legacy", ist(2024, 11, 20), primary="Health", percent=0),
    Person("D", "=Dev Pending", ist(2025, 3, 1), primary="Legal", status="Pending"),
]
CLIENTS = [
    Person("k1", "Kiran One", ist(2024, 2, 1)),
    Person("k2", "Kavya Two", ist(2024, 7, 1)),
    Person("k3", "Kabir Three", ist(2025, 5, 20)),
]
APPOINTMENTS = [
    Appt("1", "A", "k1", ist(2024, 3, 5), 1000, "Legal", "Completed", ist(2024, 3, 1), "Success"),
    # paid 00:15 IST on 1 January 2025: January in the business zone, still December in UTC
    Appt(
        "2",
        "A",
        "k2",
        ist(2024, 12, 31, 23, 30),
        1000,
        "Finance",
        "Completed",
        ist(2024, 12, 28),
        "Success",
        paid_at=ist(2025, 1, 1, 0, 15),
    ),
    Appt("3", "B", "k1", ist(2025, 1, 15, 11), 2000, "Finance", "Completed", ist(2025, 1, 10), "Success"),
    Appt("4", "B", "k2", ist(2025, 5, 10, 15), 2000, "Finance", "Cancelled", ist(2025, 5, 1), "Refunded"),
    Appt("5", "C", "k3", ist(2025, 6, 2, 9), 500, None, "Completed", ist(2025, 5, 25), "Success"),
    Appt("6", "A", "k3", ist(2025, 6, 10, 14), 1000, "Legal", "Completed", ist(2025, 6, 7), "Success"),
    Appt("7", "A", "k1", ist(2025, 6, 20), 1000, "Finance", "Upcoming", ist(2025, 6, 10), "Success"),
    Appt("8", "B", "k3", ist(2025, 6, 25, 16, 30), 2000, "Finance", "Upcoming", ist(2025, 6, 11), "Pending"),
    Appt("9", "A", "k2", ist(2025, 6, 12), 1000, "Legal", "Hold", ist(2025, 6, 11), None),
    Appt("10", "C", "k1", ist(2025, 5, 28, 12), 500, None, "Completed", ist(2025, 5, 20), "Success", deleted=True),
    Appt("11", "B", "k1", ist(2025, 6, 14), 2000, "Finance", "Completed", ist(2025, 6, 1), "Success"),
    Appt("12", "A", "k1", ist(2025, 6, 5), 1000, "Legal", "Completed", ist(2025, 6, 2), "Success"),
    Appt("13", "A", "k1", ist(2025, 6, 8), 1000, "Legal", "Completed", ist(2025, 6, 5), "Success"),
    Appt("14", "B", "k2", ist(2024, 9, 9, 18), 2000, "Finance", "Completed", ist(2024, 9, 1), "Success"),
    Appt("15", "A", "k2", ist(2025, 6, 16, 10), 1000, "Legal", "Cancelled", ist(2025, 6, 9), None),
    Appt("16", "D", "k3", ist(2025, 6, 3, 15), 1500, "Legal", "Completed", ist(2025, 6, 1), "Success"),
]
EXTRA = [  # transactions that are not the payment of an appointment
    Tx("Payment", "Success", 300, 30, "A", "k2", None, ist(2025, 4, 1)),  # no appointment: earned at once
    Tx("Payment", "Failed", 2000, 400, "B", "k1", None, ist(2025, 6, 3)),
    Tx("Payout", "Success", 800, 0, "A", None, None, ist(2025, 2, 1)),
    Tx("Payout", "Success", 500, 0, "A", None, None, ist(2025, 6, 1)),
    Tx("Payout", "Pending", 100, 0, "B", None, None, ist(2025, 6, 2)),
    Tx("Payout", "Success", 1000, 0, "B", None, None, ist(2024, 12, 1)),
]


def by_key(people: list[Person]) -> dict[str, Person]:
    return {p.key: p for p in people}


def fee_of(appt: Appt) -> tuple[int, int]:
    percent = by_key(CONSULTANTS)[appt.consultant].percent
    fee = math.floor(appt.fee * percent / 100 + 0.5)
    return fee, appt.fee - fee


def all_transactions() -> list[Tx]:
    """Every transaction of the history as it stands at the end (refunds included)."""
    out = list(EXTRA)
    for appt in APPOINTMENTS:
        if appt.payment is None:
            continue
        fee, _ = fee_of(appt)
        when = appt.paid_at or appt.created
        out.append(Tx("Payment", appt.payment, appt.fee, fee, appt.consultant, appt.client, appt.key, when))
        if appt.payment == "Refunded":
            out.append(Tx("Refund", "Success", appt.fee, 0, appt.consultant, appt.client, appt.key, appt.start))
    return out


# -- writing the history through the application ----------------------------------------------------


@contextlib.contextmanager
def played(settings: Any) -> Iterator[tuple[Any, str]]:
    """The whole app on a fresh store of `settings`, an admin created and the history recorded (the ids of
    an earlier test's people forgotten): its `TestClient` and the admin's token."""
    from fastapi.testclient import TestClient

    from interfaces.http.app import create_app
    from tests.conftest import create_admin

    for person in (*CONSULTANTS, *CLIENTS):
        person.id = ""
    with TestClient(create_app(settings)) as api:
        admin = create_admin(api)
        script(api.app.state.container)
        yield api, admin


def hold_the_scheduler(container: Any) -> None:
    """The background scheduler would complete the scripted appointments (their end is in the real
    past) while the script still decides their fate: its commands see a clock long before the history."""
    from application.bookings import Bookings

    container.scheduler.bookings = Bookings(container.market, IST, clock=lambda: datetime(2000, 1, 1, tzinfo=UTC))


def script(container: Any) -> None:
    """Record the whole history: accounts and catalogue through the identity and people services,
    appointments and transactions as aggregates saved through the application."""
    identity, people, market = container.identity, container.people, container.market
    hold_the_scheduler(container)
    with at(ist(2024, 1, 1)):
        ids = {title: people.create_category({"title": title}) for title in ("Legal", "Finance", "Health")}
        subs = {title: people.create_category({"title": f"{title} basics"}, parent_id=ids[title]) for title in ids}
    entries = {"A": ["Legal", "Finance"], "B": ["Finance"], "D": ["Legal"]}
    for index, person in enumerate(CONSULTANTS):
        body: dict[str, Any] = {
            "fullName": person.name,
            "email": f"{person.key.lower()}@consult.test",
            "mobile": f"+91980000{index:04d}",
            "password": "secret1",
            "role": "Consultant",
            "fees": 1000,
        }
        if person.key in entries:
            body["categories"] = [{"categoryId": ids[t], "subcategoryId": subs[t]} for t in entries[person.key]]
        else:
            body["category"] = ids[person.primary]  # a legacy consultant: one category, no `categories`
        with at(person.created):
            created = identity.signup(body)
            person.id, person.token = created["user"]["id"], created["token"]
            if person.status == "Active":
                people.set_consultant_status(person.id, "approve")
    for index, person in enumerate(CLIENTS):
        with at(person.created):
            created = identity.signup(
                {
                    "fullName": person.name,
                    "email": f"{person.key}@client.test",
                    "mobile": f"+91970000{index:04d}",
                    "password": "secret1",
                    "role": "Client",
                }
            )
            person.id, person.token = created["user"]["id"], created["token"]
    consultants, clients = by_key(CONSULTANTS), by_key(CLIENTS)
    linked: set[tuple[str, str]] = set()
    for appt in APPOINTMENTS:
        appt.id = new_object_id()
        consultant, client = consultants[appt.consultant], clients[appt.client]
        fields: dict[str, Any] = {
            "fee": appt.fee,
            "session": "Video Call",
            "clientSnapshot": {"name": client.name},
            "consultantSnapshot": {"name": consultant.name},
        }
        if appt.category is not None:
            fields["category"] = appt.category
        with at(appt.created):
            aggregate = Appointment(
                appointment_id=appt.id,
                consultant_id=consultant.id,
                client_id=client.id,
                start=appt.start,
                end=appt.start + timedelta(hours=1),
                status="Hold" if appt.status == "Hold" else "Upcoming",
                expires_at=appt.created + timedelta(minutes=5) if appt.status == "Hold" else None,
                fields=fields,
                created_by="Admin",
            )
        payment = None
        if appt.payment is not None:
            fee, net = fee_of(appt)
            with at(appt.paid_at or appt.created):  # the order is created when the client pays
                payment = Transaction(
                    transaction_id=new_object_id(),
                    kind="Payment",
                    status="Pending",
                    amount=Decimal(appt.fee),
                    platform_fee=Decimal(fee),
                    net_amount=Decimal(net),
                    currency="INR",
                    user_id=client.id,
                    consultant_id=consultant.id,
                    appointment_id=None,
                    payment_method="Razorpay",
                    reference=f"order_{appt.key}",
                    metadata={},
                    snapshots={},
                )
        with at(appt.created):
            link = None
            if appt.status != "Hold" and (appt.client, appt.consultant) not in linked:
                linked.add((appt.client, appt.consultant))
                link = ClientLink(client_id=client.id, consultant_id=consultant.id)
            market.save(aggregate, payment, link)
        if payment is not None and appt.payment != "Pending":
            with at(appt.paid_at or appt.created):
                if appt.payment == "Failed":
                    payment.fail({})
                else:
                    payment.succeed(f"pay_{appt.key}", {}, appt.id)
                market.save(payment)
        end = appt.start + timedelta(hours=1)
        if appt.status == "Completed":
            with at(end):
                aggregate.complete()
                market.save(aggregate)
        elif appt.status == "Cancelled":
            with at(appt.start - timedelta(days=1)):
                aggregate.cancel("Consultant")
                changed: list[Any] = [aggregate]
                if appt.payment == "Refunded":
                    assert payment is not None
                    refund = Transaction(
                        transaction_id=new_object_id(),
                        kind="Refund",
                        status="Success",
                        amount=Decimal(appt.fee),
                        platform_fee=Decimal(0),
                        net_amount=Decimal(0),
                        currency="INR",
                        user_id=client.id,
                        consultant_id=consultant.id,
                        appointment_id=appt.id,
                        payment_method="Razorpay",
                        reference=f"rfnd_{appt.key}",
                        metadata={},
                        snapshots={},
                    )
                    payment.mark_refunded(refund.transaction_id)
                    changed += [payment, refund]
                market.save(*changed)
        if appt.deleted:
            with at(end + timedelta(days=2)):
                aggregate.delete("Admin")
                market.save(aggregate)
    for tx in EXTRA:
        with at(tx.created):
            market.save(
                Transaction(
                    transaction_id=new_object_id(),
                    kind=tx.kind,
                    status=tx.status,
                    amount=Decimal(tx.amount),
                    platform_fee=Decimal(tx.fee),
                    net_amount=Decimal(tx.amount - tx.fee),
                    currency="INR",
                    user_id=clients[tx.client].id if tx.client else None,
                    consultant_id=consultants[tx.consultant].id,
                    appointment_id=None,
                    payment_method="Manual" if tx.kind == "Payout" else "Card",
                    reference="",
                    metadata={},
                    snapshots={},
                )
            )


# -- the expected figures, from the script ------------------------------------------------------------


def month_windows(view: str, year: int, month: int) -> list[tuple[date, date]]:
    def start(y: int, m: int) -> date:
        y += (m - 1) // 12
        return date(y, (m - 1) % 12 + 1, 1)

    if view == "yearly":
        return [(start(year, m), start(year, m + 1)) for m in range(1, 13)]
    return [(start(year, month + k), start(year, month + k + 1)) for k in range(-5, 1)]


def period_of(view: str, year: int, month: int) -> tuple[tuple[datetime, datetime], tuple[datetime, datetime]]:
    """(period, previous period) as naive local datetimes."""
    if view == "yearly":
        return (datetime(year, 1, 1), datetime(year + 1, 1, 1)), (datetime(year - 1, 1, 1), datetime(year, 1, 1))
    first = datetime(year, month, 1)
    nxt = datetime(year + (month == 12), month % 12 + 1, 1)
    prev = datetime(year - (month == 1), (month - 2) % 12 + 1, 1)
    return (first, nxt), (prev, first)


def local(moment: datetime) -> datetime:
    return moment.astimezone(IST).replace(tzinfo=None)


def inside(moment: datetime, window: tuple[datetime, datetime]) -> bool:
    return window[0] <= local(moment) < window[1]


def js_round(x: float) -> int:
    return math.floor(x + 0.5)


def growth(cur: float, prev: float) -> str:
    if prev == 0:
        return "+100%" if cur > 0 else "0%"
    p = js_round((cur - prev) / prev * 100)
    return f"+{p}%" if p >= 0 else f"{p}%"


def live(appts: list[Appt]) -> list[Appt]:
    return [a for a in appts if not a.deleted]


def counted(a: Appt) -> bool:
    return not a.deleted and a.status != "Hold"


def category(a: Appt) -> str:
    return a.category or by_key(CONSULTANTS)[a.consultant].primary


def earned(tx: Tx) -> bool:
    if tx.kind != "Payment" or tx.status != "Success":
        return False
    if tx.appointment is None:
        return True
    appt = next(a for a in APPOINTMENTS if a.key == tx.appointment)
    return appt.status == "Completed"  # a deleted appointment keeps the status it had


def expected_overview(view: str, year: int, month: int) -> dict[str, Any]:
    period, previous = period_of(view, year, month)
    year_w, prev_year_w = (
        (datetime(year, 1, 1), datetime(year + 1, 1, 1)),
        (datetime(year - 1, 1, 1), datetime(year, 1, 1)),
    )
    pays = [t for t in all_transactions() if t.kind == "Payment" and t.status == "Success"]

    def total(window: tuple[datetime, datetime], what: str) -> int:
        picked = [t for t in pays if inside(t.created, window)]
        return sum({"gmv": t.amount, "fee": t.fee, "net": t.amount - t.fee}[what] for t in picked)

    trends = []
    for start, end in month_windows(view, year, month):
        w = (datetime.combine(start, datetime.min.time()), datetime.combine(end, datetime.min.time()))
        trends.append(
            {
                "name": MONTHS[start.month - 1],
                "gmv": total(w, "gmv"),
                "revenue": total(w, "fee"),
                "consultantPayouts": total(w, "net"),
                "appt": sum(1 for a in APPOINTMENTS if counted(a) and inside(a.start, w)),
                "consultants": sum(1 for c in CONSULTANTS if inside(c.created, (datetime.min, w[1]))),
                "clients": sum(1 for c in CLIENTS if inside(c.created, (datetime.min, w[1]))),
            }
        )
    counts: dict[str, int] = {}
    for a in APPOINTMENTS:
        if counted(a) and a.status != "Cancelled":
            counts[category(a)] = counts.get(category(a), 0) + 1
    top_categories = [
        {"title": t, "appointmentCount": n, "monthlyRevenue": 0, "consultants": 0, "clients": 0, "rating": 4.5}
        for t, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    ]
    upcoming = sorted(
        (a for a in APPOINTMENTS if counted(a) and a.status != "Cancelled" and a.start >= NOW), key=lambda a: a.start
    )[:5]
    consultants, clients = by_key(CONSULTANTS), by_key(CLIENTS)
    recent = [
        {
            "_id": a.id,
            "client": clients[a.client].name,
            "consultant": consultants[a.consultant].name,
            "category": category(a),
            "date": local(a.start).date().isoformat(),
            "time": f"{local(a.start).hour % 12 or 12}:{local(a.start).minute:02d} "
            f"{'AM' if local(a.start).hour < 12 else 'PM'}",
            "startAt": a.start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "status": a.status,
        }
        for a in upcoming
    ]
    perf: dict[str, list[int]] = {}
    for a in live(APPOINTMENTS):
        if a.status not in ("Completed", "Upcoming") or not inside(a.start, (previous[0], period[1])):
            continue
        entry = perf.setdefault(category(a), [0, 0, 0])
        if a.status == "Completed" and inside(a.start, period):
            entry[0] += a.fee
            entry[1] += 1
        elif a.status == "Completed":
            entry[2] += a.fee
    performance = []
    for name, (revenue, sessions, last) in sorted(perf.items(), key=lambda kv: (-kv[1][0], kv[0])):
        g = js_round((revenue - last) / last * 100) if last > 0 else 0
        performance.append(
            {
                "name": name,
                "revenue": revenue,
                "sessions": sessions,
                "rate": f"\u20b9{js_round(revenue / sessions) if sessions else 0}/hr avg",
                "growth": f"+{g}%" if g >= 0 else f"{g}%",
            }
        )
    per_consultant: dict[str, list[int]] = {}
    for a in live(APPOINTMENTS):
        if a.status == "Completed" and inside(a.start, period):
            entry = per_consultant.setdefault(a.consultant, [0, 0])
            entry[0] += a.fee
            entry[1] += 1
    ranked = sorted(per_consultant.items(), key=lambda kv: (-kv[1][0], -kv[1][1], consultants[kv[0]].name))[:5]
    top_consultants = [
        {
            "rank": i,
            "name": consultants[k].name,
            "category": consultants[k].primary,
            "rating": 4.5,
            "sessions": s,
            "revenue": r,
        }
        for i, (k, (r, s)) in enumerate(ranked, start=1)
    ]
    if view == "yearly":
        buckets = [(datetime(year, m, 1), datetime(year + (m == 12), m % 12 + 1, 1)) for m in range(1, 13)]
    else:
        days = (period[1] - period[0]).days
        buckets = [(period[0] + timedelta(days=d), period[0] + timedelta(days=d + 1)) for d in range(days)]
    activity = [
        sum(1 for a in live(APPOINTMENTS) if a.status in ("Upcoming", "Completed") and inside(a.start, b))
        for b in buckets
    ]
    return {
        "cards": {
            "totalConsultants": sum(1 for c in CONSULTANTS if c.status == "Active"),
            "totalAppointments": sum(1 for a in APPOINTMENTS if counted(a)),
            "activeClients": len(CLIENTS),
            "monthlyRevenue": total(period, "fee"),
        },
        "revenueBreakdown": {
            "monthlyGmv": total(period, "gmv"),
            "monthlyPlatformRevenue": total(period, "fee"),
            "monthlyConsultantPayouts": total(period, "net"),
            "monthlyTransactions": sum(1 for t in pays if inside(t.created, period)),
            "monthlyGmvGrowth": growth(total(period, "gmv"), total(previous, "gmv")),
            "monthlyPlatformGrowth": growth(total(period, "fee"), total(previous, "fee")),
            "yearlyGmv": total(year_w, "gmv"),
            "yearlyPlatformRevenue": total(year_w, "fee"),
            "yearlyConsultantPayouts": total(year_w, "net"),
            "yoyGrowth": growth(total(year_w, "fee"), total(prev_year_w, "fee")),
        },
        "topCategories": top_categories,
        "recentAppointments": recent,
        "monthlyTrends": trends,
        "categoryPerformance": performance,
        "topConsultants": top_consultants,
        "activityTrend": activity,
        "payoutSummary": payout_summary(None),
    }


def payout_summary(consultant: str | None) -> dict[str, int]:
    txs = [t for t in all_transactions() if consultant is None or t.consultant == consultant]
    earnings = sum(t.amount - t.fee for t in txs if earned(t))
    paid = sum(t.amount for t in txs if t.kind == "Payout" and t.status == "Success")
    return {"totalEarnings": earnings, "totalPaidOut": paid, "remainingBalance": earnings - paid}


def expected_consultant(key: str, view: str, year: int, month: int) -> dict[str, Any]:
    period, _ = period_of(view, year, month)
    mine = [a for a in live(APPOINTMENTS) if a.consultant == key]
    completed_in_period = sum(1 for a in mine if a.status == "Completed" and inside(a.start, period))
    today = (datetime(2025, 6, 15), datetime(2025, 6, 16))
    today_count = sum(1 for a in mine if counted(a) and a.status != "Cancelled" and inside(a.start, today))
    links = {a.client for a in APPOINTMENTS if a.consultant == key and a.status != "Hold"}
    earned_txs = [t for t in all_transactions() if t.consultant == key and earned(t)]

    def revenue(window: tuple[datetime, datetime]) -> int:
        return sum(t.amount - t.fee for t in earned_txs if inside(t.created, window))

    trend = [
        {
            "name": MONTHS[s.month - 1],
            "revenue": revenue((datetime.combine(s, datetime.min.time()), datetime.combine(e, datetime.min.time()))),
        }
        for s, e in month_windows(view, year, month)
    ]
    consultants_names, clients = by_key(CONSULTANTS), by_key(CLIENTS)
    in_period = sorted(
        (a for a in mine if counted(a) and inside(a.start, period)), key=lambda a: a.start, reverse=True
    )[:5]

    def label(moment: datetime) -> str:
        offset = (local(moment).date() - date(2025, 6, 15)).days
        return {0: "Today", 1: "Tomorrow", -1: "Yesterday"}.get(offset) or local(moment).strftime("%d/%m/%Y")

    recent = [
        {
            "id": a.id,
            "name": clients[a.client].name,
            "with": "You",
            "tag": category(a),
            "time": f"{local(a.start).hour % 12 or 12}:{local(a.start).minute:02d} "
            f"{'AM' if local(a.start).hour < 12 else 'PM'}",
            "date": label(a.start),
            "status": a.status,
            "avatar": "https://via.placeholder.com/40",
        }
        for a in in_period
    ]
    if view == "yearly":
        buckets = [(datetime(year, m, 1), datetime(year + (m == 12), m % 12 + 1, 1)) for m in range(1, 13)]
    else:
        days = (period[1] - period[0]).days
        buckets = [(period[0] + timedelta(days=d), period[0] + timedelta(days=d + 1)) for d in range(days)]
    activity = [sum(1 for a in mine if a.status in ("Upcoming", "Completed") and inside(a.start, b)) for b in buckets]
    completed = sum(1 for a in mine if a.status == "Completed")
    booked = sum(1 for a in mine if a.status in ("Completed", "Upcoming"))
    recent_window = [a for a in mine if counted(a) and a.created >= NOW - timedelta(days=30)]
    distinct = {a.client for a in recent_window}
    rebooked = {c for c in distinct if sum(1 for a in recent_window if a.client == c and a.status == "Completed") > 1}
    period_revenue = revenue(period)
    del consultants_names
    return {
        "stats": [
            {
                "id": "total",
                "title": "Completed Appointments",
                "value": str(completed_in_period),
                "delta": "+0%",
                "up": True,
            },
            {"id": "today", "title": "Today Appointments", "value": str(today_count), "delta": "+0%", "up": True},
            {"id": "active", "title": "Active Clients", "value": str(len(links)), "delta": "+0%", "up": True},
            {
                "id": "revenue",
                "title": "Total Revenue",
                "value": f"\u20b9{period_revenue:,}",
                "delta": "+0%",
                "up": True,
            },
        ],
        "clientStats": {
            "total": len(links),
            "active": len(links),
            "inactive": 0,
            "activePercent": 100 if links else 0,
            "inactivePercent": 0,
        },
        "recentAppointments": recent,
        "monthlyRevenueTrends": trend,
        "activityTrend": activity,
        "performance": {
            "sessionCompletion": js_round(completed / booked * 100) if booked else 0,
            "avgRating": 4.5,
            "responseTime": 2,
            "rebookingRate": js_round(len(rebooked) / len(distinct) * 100) if distinct else 0,
        },
        "metrics": {
            "monthlyRevenue": period_revenue,
            "monthlyRevenueDelta": "+0%",
            "totalSessions": completed_in_period,
            "totalSessionsDelta": "+0%",
        },
        "payoutSummary": payout_summary(key),
    }
