"""The demo's past: six months of the demo consultants' appointments and money, recorded through the
MongoDB importer's code paths (`infrastructure/mongo_import`), so every event carries the business time
it happened at (contract mongo-import D1) and the analytics pages show trends on the first run.

The history is generated deterministically (a fixed random seed, relative to today) as the documents
the original backend would have stored: completed appointments spread over the consultants' working
days and hours, their `Success` payments with the platform's commission as fee, a few cancellations
whose payments were refunded, and two payouts per consultant, each at most half of what was still
owed then (so the paid-out total never exceeds the earnings). Nothing is written to files."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from domain.availability import WEEKDAYS as WEEKDAY_NAMES
from domain.availability import generate_day, session_lengths, wall_clock
from infrastructure.mongo_import.accounts import AccountImport
from infrastructure.mongo_import.bookings import BookingImport
from infrastructure.mongo_import.extjson import ObjectId
from infrastructure.mongo_import.identities import Identities
from infrastructure.mongo_import.ledger import LedgerImport
from infrastructure.mongo_import.values import Report
from infrastructure.mongo_import.writer import Writer

DAYS = 182  # about six months, ending two days ago (past bookings hold no consultant day)
PAYOUT_DAYS = (120, 45)  # days ago of the two payouts of each consultant
REASONS = ["Initial consultation", "Follow-up", "Second opinion", "Planning session", "Quick question", ""]
METHODS = ["Razorpay", "Razorpay", "PayPal", "Card"]


class History:
    """The generated documents, per collection, in the order the importer reads them."""

    def __init__(self, seed: int, zone: ZoneInfo, today: date):
        self.rng = random.Random(seed)
        self.zone = zone
        self.today = today
        self.appointments: list[dict[str, Any]] = []
        self.transactions: list[dict[str, Any]] = []

    def object_id(self, when: datetime) -> ObjectId:
        """An ObjectId as MongoDB makes them: its creation second, then random bytes."""
        return ObjectId(f"{int(when.timestamp()) & 0xFFFFFFFF:08x}{self.rng.getrandbits(64):016x}")

    def generate(self, consultants: list[dict[str, Any]], clients: list[str], currency: str) -> None:
        owed: dict[str, Decimal] = {c["id"]: Decimal(0) for c in consultants}
        payouts = 0
        for back in range(DAYS, 1, -1):
            day = self.today - timedelta(days=back)
            if back in PAYOUT_DAYS:
                for consultant in consultants:
                    payouts += self._payout(consultant["id"], day, owed, currency, payouts)
            taken: dict[str, set[str]] = {}
            # busier as the months go by: a trend on the analytics pages
            for _ in range(self.rng.choice((0, 1, 1, 2, 2, 3) if back < DAYS // 2 else (0, 0, 1, 1, 2))):
                consultant = self.rng.choice(consultants)
                duration, buffer = session_lengths(consultant["availability"])
                weekday = WEEKDAY_NAMES[day.weekday()]
                labels = generate_day(consultant["availability"]["workingHours"].get(weekday), duration, buffer)
                labels = [label for label in labels if label not in taken.setdefault(consultant["id"], set())]
                if not labels:
                    continue
                label = self.rng.choice(labels)
                taken[consultant["id"]].add(label)
                start_text, end_text = label.split(" - ")
                start, end = wall_clock(day, start_text, self.zone), wall_clock(day, end_text, self.zone)
                if start is None or end is None:
                    continue
                net = self._appointment(consultant, self.rng.choice(clients), start, end, currency)
                owed[consultant["id"]] += net

    def _appointment(
        self, consultant: dict[str, Any], client: str, start: datetime, end: datetime, currency: str
    ) -> Decimal:
        booked = start - timedelta(days=self.rng.randint(1, 10), hours=self.rng.randint(0, 9))
        cancelled = self.rng.random() < 0.12
        settled = start - timedelta(days=1) if cancelled else end + timedelta(minutes=1)
        appointment_id, payment_id = self.object_id(booked), self.object_id(booked)
        fee = Decimal(consultant["fees"])
        platform_fee = (fee * Decimal(consultant["percent"]) / 100).quantize(Decimal("0.01"))
        method = self.rng.choice(METHODS)
        self.appointments.append(
            {
                "_id": appointment_id,
                "consultant": ObjectId(consultant["id"]),
                "client": ObjectId(client),
                "startAt": start.astimezone(UTC),
                "endAt": end.astimezone(UTC),
                "date": start.date().isoformat(),
                "status": "Cancelled" if cancelled else "Completed",
                "fee": fee,
                "reason": self.rng.choice(REASONS),
                "payment": {"amount": fee, "status": "Success", "method": method, "transactionId": str(payment_id)},
                "createdAt": booked.astimezone(UTC),
                "updatedAt": settled.astimezone(UTC),
            }
        )
        payment = {
            "_id": payment_id,
            "type": "Payment",
            "status": "Refunded" if cancelled else "Success",
            "amount": fee,
            "platformFee": platform_fee,
            "netAmount": fee - platform_fee,
            "currency": currency,
            "user": ObjectId(client),
            "consultant": ObjectId(consultant["id"]),
            "appointment": appointment_id,
            "paymentMethod": method,
            "transactionId": f"pay_demo{self.rng.getrandbits(48):012x}",
            "createdAt": booked.astimezone(UTC),
            "updatedAt": settled.astimezone(UTC),
        }
        self.transactions.append(payment)
        if not cancelled:
            return fee - platform_fee
        refund_id = self.object_id(settled)
        payment["metadata"] = {"refundId": str(refund_id)}
        self.transactions.append(
            {
                **{k: payment[k] for k in ("amount", "platformFee", "netAmount", "currency", "user", "consultant")},
                "_id": refund_id,
                "type": "Refund",
                "status": "Success",
                "appointment": appointment_id,
                "paymentMethod": method,
                "transactionId": f"rfnd_demo{self.rng.getrandbits(48):012x}",
                "metadata": {"refundOf": str(payment_id), "reason": "Cancelled by the client"},
                "createdAt": settled.astimezone(UTC),
                "updatedAt": settled.astimezone(UTC),
            }
        )
        return Decimal(0)

    def _payout(self, consultant_id: str, day: date, owed: dict[str, Decimal], currency: str, number: int) -> int:
        amount = (owed[consultant_id] / 2).quantize(Decimal("1"))
        if amount <= 0:
            return 0
        owed[consultant_id] -= amount
        when = wall_clock(day, "11:00", self.zone) or datetime.combine(day, datetime.min.time(), UTC)
        self.transactions.append(
            {
                "_id": self.object_id(when),
                "type": "Payout",
                "status": "Success",
                "amount": amount,
                "platformFee": Decimal(0),
                "netAmount": amount,
                "currency": currency,
                "consultant": ObjectId(consultant_id),
                "paymentMethod": "Bank transfer",
                "transactionId": f"DEMO-UTR-H{number:03d}",
                "metadata": {"referenceId": f"DEMO-UTR-H{number:03d}", "notes": "Bank transfer (demo)"},
                "createdAt": when.astimezone(UTC),
                "updatedAt": when.astimezone(UTC),
            }
        )
        return 1


def record_history(container: Any, consultant_ids: list[str], client_ids: list[str], percent: int) -> Report:
    """Generate the history of these consultants and clients and record it through the importer's
    writer (one atomic batch per few thousand events). Returns the importer's report."""
    zone = ZoneInfo(container.settings.business_timezone)
    now = datetime.now(UTC)
    currency = container.settings.platform_currency
    consultants = []
    for consultant_id in consultant_ids:
        fees = container.market.account(consultant_id).profile.get("fees", 0)
        availability = container.settings_service.availability_of(consultant_id)
        consultants.append({"id": consultant_id, "fees": fees, "percent": percent, "availability": availability})
    history = History(2026, zone, now.astimezone(zone).date())
    history.generate(consultants, client_ids, currency)
    report = Report()
    identities = Identities()
    joined = now - timedelta(days=DAYS + 30)
    for consultant_id in consultant_ids:  # the people exist already: only their ids are resolved
        identities.see_consultant({"_id": ObjectId(consultant_id), "createdAt": joined})
    for client_id in client_ids:
        identities.see_client({"_id": ObjectId(client_id), "createdAt": joined})
    identities.settle()
    writer = Writer(container.market, dry_run=False, check_existing=True, progress=lambda n: None)
    accounts = AccountImport(writer, report, identities, {})
    bookings = BookingImport(writer, report, identities, accounts, zone, now)
    ledger = LedgerImport(bookings, report, currency)
    for handler, documents in (
        (bookings.appointment, history.appointments),
        (ledger.transaction, _by_time(history.transactions)),
    ):
        for document in documents:
            handler(document)
            writer.maybe_flush()
    ledger.finish()
    writer.finish()
    return report


def _by_time(documents: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    return iter(sorted(documents, key=lambda d: (d["createdAt"], str(d["_id"]))))
