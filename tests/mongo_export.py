"""A generator of a realistic `mongoexport` dump of the original backend (contract mongo-import §2),
with the hazards of §4, in the three file layouts and both Extended JSON modes; and the figures an
import must reproduce, computed from the dump by the contract's rules (not by the importer).

Instants are placed between 06:00 and 12:00 UTC, so each has the same date in UTC and Asia/Kolkata."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import bcrypt

PASSWORD_OF = {"admin": "Admin#2024pass", "consultant": "Consult#2024", "client": "Client#2024"}


def _hash(password: str, prefix: str = "$2a$") -> str:
    """A cost-4 bcrypt hash written with the `$2a$` prefix of bcryptjs (the original's library)."""
    return prefix + bcrypt.hashpw(password.encode(), bcrypt.gensalt(4)).decode()[4:]


def date(moment: datetime, canonical: bool = False) -> dict[str, Any]:
    if canonical or moment.year < 1970:
        return {"$date": {"$numberLong": str(int(moment.timestamp() * 1000))}}
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    return {"$date": text.replace(".000Z", "Z")}


@dataclass
class Dump:
    now: datetime
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    counter: int = 0
    files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    logins: list[tuple[str, str, str, str]] = field(default_factory=list)  # (role, email, password, id)
    expected: dict[str, Any] = field(default_factory=dict)

    def oid(self, when: datetime | None = None) -> str:
        self.counter += 1
        seconds = int((when or self.now).timestamp())
        return f"{seconds:08x}{self.counter:016x}"

    def add(self, collection: str, document: dict[str, Any]) -> dict[str, Any]:
        self.files.setdefault(collection, []).append(document)
        return document

    def at(self, days_ago: float, hour: int = 8) -> datetime:
        day = (self.now - timedelta(days=days_ago)).date()
        return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def build(now: datetime) -> Dump:  # noqa: PLR0915 (one linear story of a marketplace)
    d = Dump(now=now)
    old = d.at(200)

    def ref(ident: str) -> dict[str, str]:
        return {"$oid": ident}

    # -- catalogue ----------------------------------------------------------------------------
    cat_ids = [d.oid(old), d.oid(old)]
    d.add("categories", {"_id": ref(cat_ids[0]), "title": "Legal", "status": "Active", "createdAt": date(old, True),
                         "updatedAt": date(old, True), "consultants": 12, "__v": 0})  # fmt: skip
    d.add("categories", {"_id": ref(cat_ids[1]), "title": "Wellness", "description": "Mind", "status": "Active"})
    sub_ids = [d.oid(old), d.oid(old)]
    d.add("subcategories", {"_id": ref(sub_ids[0]), "title": "Tax", "parentCategory": ref(cat_ids[0]),
                            "createdAt": date(old), "updatedAt": date(old)})  # fmt: skip
    d.add("subcategories", {"_id": ref(sub_ids[1]), "title": "Yoga", "parentCategory": ref(cat_ids[1]),
                            "createdAt": date(old), "updatedAt": date(old)})  # fmt: skip
    orphan = d.oid(old)
    d.add("subcategories", {"_id": ref(orphan), "title": "Gone", "parentCategory": ref(d.oid(old)),
                            "createdAt": date(old), "updatedAt": date(old)})  # fmt: skip

    # -- back office ----------------------------------------------------------------------------
    admin = d.oid(old)
    d.add("users", {"_id": ref(admin), "userId": "ADM-1A2B3C4D", "fullName": "Asha Admin", "email": "admin@old.example",
                    "mobile": "9800000001", "role": "Admin", "status": "Active", "verificationStatus": "Approved",
                    "password": _hash(PASSWORD_OF["admin"]), "otp": "123456", "createdAt": date(old),
                    "updatedAt": date(d.at(3)), "__v": 0})  # fmt: skip
    d.logins.append(("Admin", "admin@old.example", PASSWORD_OF["admin"], admin))
    employee = d.oid(old)
    d.add("users", {"_id": ref(employee), "userId": "EMP7", "fullName": "Eli Employee", "email": "eli@old.example",
                    "mobile": "9800000002", "role": "Employee", "status": "Active", "createdAt": date(old),
                    "updatedAt": date(old)})  # fmt: skip
    alias = d.oid(old)  # the legacy users row of consultant 0 (H4, H7)
    d.add("users", {"_id": ref(alias), "userId": "CONS-AB12", "fullName": "Old Row", "email": "c0@old.example",
                    "mobile": "9800000003", "role": "Consultant", "createdAt": date(old), "updatedAt": date(old)})  # fmt: skip
    stray = d.oid(old)
    d.add("users", {"_id": ref(stray), "userId": "CONS-FF", "fullName": "Stray", "email": "stray@old.example",
                    "mobile": "9800000004", "role": "Consultant", "createdAt": date(old), "updatedAt": date(old)})  # fmt: skip
    legacy_client = d.oid(old)  # D9: a users row of role Client, no clients document with its e-mail
    d.add("users", {"_id": ref(legacy_client), "userId": "CLI-77", "fullName": "Lena Legacy",
                    "email": "lena@old.example", "mobile": "9800000005", "role": "Client",
                    "password": _hash(PASSWORD_OF["client"]), "createdAt": date(old), "updatedAt": date(old)})  # fmt: skip
    d.logins.append(("Client", "lena@old.example", PASSWORD_OF["client"], legacy_client))
    phone_clash = d.oid(old)  # D9 too, but with the phone of client 2: the client of the clients store wins
    d.add("users", {"_id": ref(phone_clash), "userId": "CLI-78", "fullName": "Pat Phone", "email": "pat@old.example",
                    "mobile": "9820000002", "role": "Client", "createdAt": date(old), "updatedAt": date(old)})  # fmt: skip

    # -- consultants ----------------------------------------------------------------------------
    consultants = []
    for n in range(4):
        ident = d.oid(old)
        created = d.at(190 - n)
        doc: dict[str, Any] = {
            "_id": ref(ident), "name": f"Consultant {n}", "email": f" C{n}@Old.Example " if n == 1 else f"c{n}@old.example",
            "phone": f"98100000{n:02d}", "mobile": f"98100000{n:02d}", "category": {"name": "Legal"},
            "fees": 1500, "status": "Active", "password": _hash(PASSWORD_OF["consultant"], "$2b$" if n else "$2a$"),
            "commission": {"platformPercent": 10, "minDurationMin": 30, "maxDurationMin": 180,
                           "cancellationWindowHours": 24},
            "createdAt": date(created), "updatedAt": date(created + timedelta(days=1)),
            "clientInfo": {"totalClients": 99}, "resetPasswordToken": "secret", "__v": 3,
        }  # fmt: skip
        if n == 0:
            doc["user"] = ref(alias)
            doc["categories"] = [
                {
                    "_id": ref(d.oid()),
                    "categoryId": ref(cat_ids[0]),
                    "categoryName": "Lawyers",
                    "subcategoryId": ref(sub_ids[0]),
                    "subcategoryName": "Tax",
                }
            ]  # fmt: skip (H11)
        if n == 1:
            del doc["commission"]  # H2
            doc["fees"] = "700"  # H3
            doc["currency"] = "USD"
        if n == 2:
            doc["fees"] = {"$numberDecimal": "1200.00"}
        if n == 3:
            doc["status"] = "Blocked"
        d.add("consultants", doc)
        consultants.append(ident)
        d.logins.append(("Consultant", f"c{n}@old.example", PASSWORD_OF["consultant"], ident))
    deleted_consultant = d.oid(old)  # D5: referenced, no document

    # -- clients ----------------------------------------------------------------------------------
    clients = []
    for n in range(6):
        ident = d.oid(old)
        created = d.at(180 - n * 5)
        doc = {"_id": ref(ident), "fullName": f"Client {n}", "email": f"client{n}@old.example",
               "mobile": f"+9198200000{n:02d}", "status": "Active", "createdAt": date(created),
               "updatedAt": date(created)}  # fmt: skip
        if n != 5:
            doc["password"] = _hash(PASSWORD_OF["client"])
        if n == 0:
            doc["dob"] = date(datetime(1960, 8, 15, tzinfo=UTC))  # H19
            doc["otp"], doc["otpExpires"] = "999999", date(now)  # H20
        d.add("clients", doc)
        clients.append(ident)
        if n != 5:
            d.logins.append(("Client", f"client{n}@old.example", PASSWORD_OF["client"], ident))
    phone_twin = d.oid(old)  # H6: the same phone as client 1, written without the country code
    d.add("clients", {"_id": ref(phone_twin), "fullName": "Twin", "email": "twin@old.example", "mobile": "9820000001",
                      "status": "Active", "createdAt": date(d.at(9)), "updatedAt": date(d.at(9))})  # fmt: skip
    duplicate = d.oid(old)  # H6: the same person again, later, e-mail in other case
    d.add("clients", {"_id": ref(duplicate), "fullName": "Client 0 again", "email": "CLIENT0@old.example ",
                      "mobile": "9820000099", "password": _hash("other-password"), "status": "Active",
                      "createdAt": date(d.at(10)), "updatedAt": date(d.at(10))})  # fmt: skip

    # -- settings -------------------------------------------------------------------------------
    hourly = [f"{h:02d}:00 - {h + 1:02d}:00" for h in range(9, 17)]
    week = {day: {"enabled": day not in ("saturday", "sunday"), "slots": [{"_id": ref(d.oid()), "start": "09:00",
            "end": "17:00"}], "generatedSlots": hourly} for day in
            ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")}  # fmt: skip
    d.add("consultantsettings", {"_id": ref(d.oid(old)), "consultant": ref(alias),  # H17 keyed by the users id
          "notifications": {"email": True, "sms": False, "push": True, "appointmentReminders": True,
                            "marketingEmails": False},
          "availability": {"workingHours": week, "sessionSettings": {"defaultDuration": 60, "bufferTime": 15}},
          "createdAt": date(old), "updatedAt": date(old)})  # fmt: skip
    legacy_week = {day: {"enabled": True, "start": "10:00", "end": "14:00"} for day in week}
    d.add("consultantsettings", {"_id": ref(d.oid(old)), "consultant": ref(consultants[1]),
          "availability": {"workingHours": legacy_week}, "createdAt": date(old), "updatedAt": date(old)})  # fmt: skip

    # -- appointments and money ------------------------------------------------------------------
    earned: dict[str, Decimal] = {c: Decimal("0") for c in [*consultants, deleted_consultant]}
    paid: dict[str, Decimal] = dict.fromkeys(earned, Decimal("0"))
    monthly_gmv: dict[str, Decimal] = {}
    appointments = 0

    def appointment(consultant_ref: str, client: str, start: datetime, status: str, **extra: Any) -> str:
        nonlocal appointments
        ident = d.oid(start - timedelta(days=2))
        doc = {"_id": ref(ident), "client": ref(client), "consultant": ref(consultant_ref), "session": "Video Call",
               "startAt": date(start), "endAt": date(start + timedelta(hours=1)), "status": status, "fee": 1500,
               "reason": "advice", "notes": "", "reminderSent": status == "Completed",
               "createdAt": date(start - timedelta(days=2)), "updatedAt": date(start + timedelta(hours=2)), **extra}  # fmt: skip
        d.add("appointments", doc)
        if status != "Hold":
            appointments += 1
        return ident

    def payment(consultant_ref: str, owner: str, client: str, appt: str | None, amount: Any, when: datetime,
                status: str = "Success", earns: bool = False, **extra: Any) -> None:  # fmt: skip
        raw = amount.get("$numberDecimal", amount.get("$numberDouble")) if isinstance(amount, dict) else amount
        value = Decimal(str(raw))
        fee = int((value / 10).quantize(Decimal("1")))
        net = value - fee
        doc = {"_id": ref(d.oid(when)), "user": ref(client), "consultant": ref(consultant_ref),
               "appointment": ref(appt) if appt else None, "amount": amount, "currency": "INR", "type": "Payment",
               "status": status, "paymentMethod": "Razorpay", "transactionId": f"pay_{d.counter}",
               "metadata": {"razorpayOrderId": f"order_{d.counter}", "verifiedAt": date(when)},
               "platformFee": fee, "netAmount": int(net) if net == int(net) else float(net),
               "createdAt": date(when), "updatedAt": date(when),
               "invoiceUrl": f"https://old.example/api/v1/storage/proxy?key=invoices/2025/{d.counter}.pdf"
                             f"&filename=INV-{d.counter}.pdf"}  # fmt: skip
        doc.update(extra)
        d.add("transactions", doc)
        if status == "Success":
            month = when.strftime("%Y-%m")
            monthly_gmv[month] = monthly_gmv.get(month, Decimal("0")) + value
            if earns:
                earned[owner] += net

    for month in range(6):  # six months of history for every active consultant
        for k, consultant in enumerate(consultants[:3]):
            start = d.at(170 - month * 30 - k, hour=6 + k)
            client = clients[(month + k) % 5]
            who = alias if (consultant == consultants[0] and month % 2) else consultant  # H4 via the alias
            appt = appointment(who, client, start, "Completed")
            payment(consultant, consultant, client, appt, 1500, start - timedelta(days=2), earns=True)
    # H15: an older status; H5: a legacy time; H9: paid and cancelled; H13: an overlap
    confirmed = appointment(consultants[2], clients[0], d.at(40, 9), "Confirmed")
    payment(consultants[2], consultants[2], clients[0], confirmed, {"$numberDouble": "2000.0"}, d.at(42), earns=True)
    legacy = d.oid(d.at(50))
    d.add("appointments", {"_id": ref(legacy), "client": ref(clients[1]), "consultant": ref(consultants[1]),
                           "date": d.at(50).date().isoformat(), "timeStart": "14:00", "timeEnd": "15:00",
                           "status": "Completed", "fee": 700, "createdAt": date(d.at(52)), "updatedAt": date(d.at(50))})  # fmt: skip
    appointments += 1
    cancelled = appointment(consultants[0], clients[2], d.at(35, 7), "Cancelled")
    payment(consultants[0], consultants[0], clients[2], cancelled, 1500, d.at(37))
    overlap_a = appointment(consultants[1], clients[3], d.at(20, 8), "Completed")
    appointment(consultants[1], clients[4], d.at(20, 8) + timedelta(minutes=30), "Completed")
    payment(consultants[1], consultants[1], clients[3], overlap_a, 700, d.at(22), earns=True, currency="USD")
    appointment(consultants[0], clients[1], d.at(1, 6), "Upcoming")  # H14: ended before the dump
    appointment(
        consultants[0], clients[2], now + timedelta(minutes=2), "Hold", expiresAt=date(now + timedelta(minutes=3))
    )  # fmt: skip  H8
    # future bookings that must block their slots
    future = datetime.combine((now + timedelta(days=14)).date(), datetime.min.time(), tzinfo=UTC)
    while future.weekday() != 2:  # a Wednesday
        future += timedelta(days=1)
    upcoming_start = future.replace(hour=4, minute=30)  # 10:00 Asia/Kolkata
    appointment(consultants[1], clients[0], upcoming_start, "Upcoming", endAt=date(upcoming_start + timedelta(hours=1)))
    appointment(consultants[2], duplicate, d.at(8, 10), "Cancelled")  # H6: a reference to the skipped duplicate
    unstorable = d.oid(d.at(45))  # notes no read model holds (a raw update): SKIP, never a crash
    d.add("appointments", {"_id": ref(unstorable), "client": ref(clients[2]), "consultant": ref(consultants[2]),
                           "startAt": date(d.at(45, 11)), "endAt": date(d.at(45, 12)), "status": "Cancelled",
                           "notes": "x" * 25_000, "createdAt": date(d.at(46)), "updatedAt": date(d.at(46))})  # fmt: skip
    # D5: history of a consultant deleted by an admin
    gone_appt = appointment(deleted_consultant, clients[3], d.at(60, 6), "Completed",
                            consultantSnapshot={"name": "Gone Guru", "email": "gone@old.example"})  # fmt: skip
    payment(deleted_consultant, deleted_consultant, clients[3], gone_appt, 1000, d.at(62), earns=True)
    # H1: a payment whose appointment was deleted counts at once; H2: no netAmount (older payment)
    payment(consultants[2], consultants[2], clients[4], d.oid(d.at(80)), 900, d.at(80), earns=True)
    payment(consultants[2], consultants[2], clients[4], None, 800, d.at(150), earns=True, appointment=None)
    d.files["transactions"][-1].pop("netAmount")
    d.files["transactions"][-1]["platformFee"] = 0
    earned[consultants[2]] += Decimal("80")  # the rule: net = amount - platformFee = 800 (not 720)
    # H18: abandoned orders; a rounding WARN
    payment(consultants[0], consultants[0], clients[1], None, 1500, d.at(5), status="Pending")
    payment(consultants[0], consultants[0], clients[1], None, {"$numberDecimal": "1500.005"}, d.at(5), status="Pending")
    # H10: payouts, one double-submitted, the total above the balance of consultant 2
    for consultant, amount, when in ((consultants[0], 2000, d.at(30)), (consultants[2], 5000, d.at(25)),
                                     (consultants[2], 5000, d.at(25) + timedelta(seconds=20))):  # fmt: skip
        d.add("transactions", {"_id": ref(d.oid(when)), "user": ref(admin), "consultant": ref(consultant),
                               "appointment": None, "amount": amount, "currency": "INR", "type": "Payout",
                               "status": "Success", "paymentMethod": "Manual", "transactionId": f"PAYOUT-{d.counter}",
                               "metadata": {"notes": "monthly", "recordedBy": admin,
                                            **({"referenceId": "UTR-42"} if amount == 2000 else {})},
                               "platformFee": 0,
                               "netAmount": 0, "createdAt": date(when), "updatedAt": date(when)})  # fmt: skip
        paid[consultant] += amount

    # -- links, notifications, out of scope ------------------------------------------------------
    links = []  # (original _id, client, Consultant _id, status, notes)
    for n, (client, consultant) in enumerate(((clients[0], consultants[0]), (clients[1], consultants[1]),
                                              (clients[2], alias), (clients[3], consultants[2]))):  # fmt: skip
        ident, notes = d.oid(old), ("Referred by Dr. Rao" if n == 1 else "Auto-linked via appointment booking")
        status = "Inactive" if n == 3 else "Active"
        d.add("clientconsultants", {"_id": ref(ident), "client": ref(client), "consultant": ref(consultant),
                                    "status": status, "linkedAt": date(d.at(100)),
                                    "notes": notes, "createdAt": date(d.at(100)), "updatedAt": date(d.at(99))})  # fmt: skip
        links.append((ident, client, consultants[0] if consultant == alias else consultant, status, notes))
    d.add("clientconsultants", {"_id": ref(d.oid(old)), "client": ref(d.oid(old)), "consultant": ref(consultants[0]),
                                "status": "Active", "createdAt": date(d.at(90)), "updatedAt": date(d.at(90))})  # fmt: skip
    # D11: notifications become the inbox's history (personal, to an alias, role and global broadcasts)
    notes: dict[str, str] = {}

    def notification(key: str, when: datetime, **fields: Any) -> None:
        ident = d.oid(when)
        notes[key] = ident
        d.add("notifications", {"_id": ref(ident), "message": f"{key} message", "avatar": "", "type": "appointment",
                                "category": "appointments", "priority": "high", "actionUrl": "/my-bookings",
                                "isGlobal": False, "createdAt": date(when), "updatedAt": date(when), "__v": 0,
                                **fields})  # fmt: skip

    notification("read", d.at(5), name="Appointment Confirmed", recipient=ref(clients[0]), recipientRole="Client",
                 read=True, readAt=date(d.at(4)), relatedId=ref(d.oid()), relatedType="appointment")  # fmt: skip
    notification("unread", d.at(3), name="Payment Successful", recipient=ref(clients[0]), read=False,
                 type="payment", category="payments")  # fmt: skip
    notification("alias", d.at(3), name="New Appointment", recipient=ref(alias), recipientRole="Consultant",
                 read=False)  # fmt: skip
    notification("admins_read", d.at(6), name="New Client Signup", recipient=None, recipientRole="Admin",
                 read=True, readAt=date(d.at(5)), type="registration", category="system")  # fmt: skip
    notification("admins_unread", d.at(2), name="New Consultant Signup", recipient=None, recipientRole="Admin",
                 read=False, type="registration", category="system", priority="urgent")  # fmt: skip
    notification("global", d.at(2), name="Maintenance", recipient=None, recipientRole=None, isGlobal=True,
                 read=False, type="bogus", category="system")  # fmt: skip
    notification("lost", d.at(3), name="Lost", recipient=ref(d.oid()))
    notification("nobody", d.at(3), name="Nobody", recipient=None, recipientRole=None)
    d.add("otps", {"_id": ref(d.oid()), "mobile": "+919820000001", "otp": "111111", "expiresAt": date(now)})
    d.add("documents", {"_id": ref(d.oid()), "key": "documents/x.pdf"})
    d.add("adminsettings", {"_id": ref(d.oid()), "theme": "dark"})

    d.expected = {
        "earned": {k: v for k, v in earned.items()},
        "paid": paid,
        "monthly_gmv": monthly_gmv,
        "appointments": appointments,
        "consultants": consultants,
        "deleted_consultant": deleted_consultant,
        "clients": clients,
        "duplicate": duplicate,
        "phone_twin": phone_twin,
        "unstorable": unstorable,
        "phone_clash": phone_clash,
        "payout_reference": "UTR-42",
        "alias": alias,
        "admin": admin,
        "orphan": orphan,
        "future": (consultants[1], upcoming_start),
        "links": links,
        "notifications": notes,
    }
    return d


def canonical(value: Any) -> Any:
    """The canonical Extended JSON of a relaxed value (`--jsonFormat=canonical`)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return {"$numberInt": str(value)} if abs(value) < 2**31 else {"$numberLong": str(value)}
    if isinstance(value, float):
        return {"$numberDouble": repr(value)}
    if isinstance(value, dict):
        if "$date" in value and isinstance(value["$date"], str):
            moment = datetime.fromisoformat(value["$date"])
            return date(moment, canonical=True)
        return {k: canonical(v) for k, v in value.items()}
    return [canonical(v) for v in value]


def write(dump: Dump, directory: Path) -> None:
    """Relaxed lines for most files (every other appointment canonical), `--jsonArray --pretty` for
    clients, a one-line `--jsonArray` for users, one malformed line in transactions."""
    directory.mkdir(parents=True, exist_ok=True)
    for collection, documents in dump.files.items():
        path = directory / f"{collection}.json"
        if collection == "clients":
            path.write_text(json.dumps(documents, indent=2, ensure_ascii=False), encoding="utf-8")
            continue
        if collection == "users":
            path.write_text(json.dumps(documents), encoding="utf-8")
            continue
        if collection == "appointments":
            documents = [canonical(doc) if n % 2 else doc for n, doc in enumerate(documents)]
        lines = [json.dumps(doc, ensure_ascii=False, separators=(",", ":")) for doc in documents]
        if collection == "transactions":
            lines.insert(2, '{"_id":{"$oid":"65f0c0ffee0000000000abcd"},"amount":')  # malformed, line 3
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (directory / "sessions.json").write_text("{}\n", encoding="utf-8")
