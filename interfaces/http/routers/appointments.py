"""`/appointments` (contract availability §2.2, §4, §5 with the decisions of CONTRACT.md).

Validation errors on these routes carry the field messages joined by ", " as `message`."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import AwareDatetime, Field, model_validator
from starlette.concurrency import run_in_threadpool

from application.bookings import Caller, HoldRequest
from domain.errors import Forbidden, Invalid, NotFound
from domain.ids import is_object_id
from infrastructure.projector import written_documents
from interfaces.http.deps import AppContainer, CurrentUser, ObjectIdPath, Principal, container_of, read_model, turns_of
from interfaces.http.envelope import ERROR_RESPONSES, Document, Envelope, fail, ok
from interfaces.http.errors import status_of
from interfaces.http.fields import EVERY_FIELD, Body, Limit, ObjectIdStr, Page
from interfaces.http.lean import lean_post
from interfaces.http.money import Amount, AmountNumber, ExactJsonRoute

log = logging.getLogger(__name__)
router = APIRouter(prefix="/appointments", tags=["appointments"], responses=ERROR_RESPONSES, route_class=ExactJsonRoute)
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
TIME_PATTERN = r"^([01]?\d|2[0-3]):[0-5]\d$"
Text = Annotated[str, Field(max_length=2000)]


class HoldBody(Body):
    nullable = EVERY_FIELD  # the handler reads null as "not given" (then "... are required")
    consultant: ObjectIdStr | None = None
    client: ObjectIdStr | None = None
    startAt: AwareDatetime | None = None
    endAt: AwareDatetime | None = None
    date: Annotated[str, Field(pattern=DATE_PATTERN)] | None = None
    timeStart: Annotated[str, Field(pattern=TIME_PATTERN)] | None = None
    timeEnd: Annotated[str, Field(pattern=TIME_PATTERN)] | None = None
    category: str | None = None

    def interval(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        if self.startAt is not None and self.endAt is not None:
            return self.startAt, self.endAt
        if self.date and self.timeStart:
            try:
                day = date.fromisoformat(self.date)
            except ValueError:
                raise Invalid("Invalid date/time provided") from None
            start = datetime.combine(day, time.fromisoformat(self.timeStart.zfill(5)), tzinfo=zone)
            end = (
                datetime.combine(day, time.fromisoformat(self.timeEnd.zfill(5)), tzinfo=zone)
                if self.timeEnd
                else start + timedelta(minutes=60)
            )
            return start, end
        raise Invalid("Invalid time provided")


class RazorpayProof(Body):
    razorpay_order_id: str
    razorpay_payment_id: str
    razorpay_signature: str


class PaypalProof(Body):
    nullable = EVERY_FIELD
    orderID: str | None = None
    payerID: str | None = None


class PaymentBody(Body):
    nullable = frozenset({"amount", "status", "method", "transactionId", "razorpayResponse", "paypalResponse"})
    amount: Amount | None = None
    status: Literal["Pending", "Success", "Failed"] | None = None
    method: str | None = None
    transactionId: str | None = None
    razorpayResponse: RazorpayProof | None = None
    paypalResponse: PaypalProof | None = None


class BookBody(Body):
    nullable = frozenset({"category", "session", "status", "reason", "notes", "fee", "holdId", "payment"})
    client: ObjectIdStr
    consultant: ObjectIdStr
    startAt: AwareDatetime
    endAt: AwareDatetime
    category: str | None = None
    session: Literal["Video Call"] | None = None
    status: Literal["Upcoming", "Completed", "Cancelled"] | None = None
    reason: Text | None = None
    notes: Text | None = None
    fee: AmountNumber | None = None
    holdId: ObjectIdStr | None = None
    payment: PaymentBody | None = None


class ChangeBody(Body):
    nullable = frozenset({"startAt", "endAt", "status", "reason", "notes", "category"})  # may be "" or null
    startAt: AwareDatetime | None = None
    endAt: AwareDatetime | None = None
    status: Literal["Upcoming", "Completed", "Cancelled"] | None = None
    reason: Text | None = None
    notes: Text | None = None
    session: Literal["Video Call"] | None = None
    fee: AmountNumber | None = None
    category: str | None = None

    @model_validator(mode="after")
    def _both_times(self) -> ChangeBody:
        if (self.startAt is None) != (self.endAt is None):
            raise ValueError('"startAt" and "endAt" must be given together')
        return self


def _caller(who: Principal) -> Caller:
    return Caller(who.id, who.role)


def _zone(app: Any) -> ZoneInfo:
    return ZoneInfo(app.settings.business_timezone)


def _document_for(app: Any, who: Principal, appointment_id: str, action: str) -> dict[str, Any]:
    """The appointment, if the caller is one of its parties or an admin (404, else 403)."""
    document = app.appointments.document(appointment_id)
    if document is None:
        raise NotFound("Appointment not found")
    _visible(who, document, action)
    return document  # type: ignore[no-any-return]


def _visible(who: Principal, document: dict[str, Any], action: str) -> None:
    client = document["client"]["_id"] if isinstance(document["client"], dict) else document["client"]
    consultant = document["consultant"]["_id"] if isinstance(document["consultant"], dict) else document["consultant"]
    if (
        who.role == "Admin"
        or (who.role == "Client" and client == who.id)
        or (who.role == "Consultant" and consultant == who.id)
    ):
        return
    raise Forbidden(f"Not authorized to {action} this appointment")


@router.get("", response_model=Envelope[dict[str, Any]])
def list_appointments(
    who: CurrentUser,
    app: AppContainer,
    q: Annotated[str | None, Query(max_length=200)] = None,
    page: Page = 1,
    limit: Limit = 1000,
    status: Annotated[Literal["Hold", "Upcoming", "Completed", "Cancelled"] | None, Query()] = None,
    consultant: Annotated[str | None, Query()] = None,
    client: Annotated[str | None, Query()] = None,
    from_: Annotated[AwareDatetime | date | None, Query(alias="from")] = None,
    to: Annotated[AwareDatetime | date | None, Query()] = None,
) -> Any:
    """Clients see their own appointments, consultants theirs, admins all; Holds only with status=Hold."""
    if who.role == "Employee":
        raise Forbidden("Forbidden: Access denied")
    zone = _zone(app)
    client_id = who.id if who.role == "Client" else (client.lower() if client else None)
    consultant_id = who.id if who.role == "Consultant" else (consultant.lower() if consultant else None)
    data = app.appointments.list(
        client_id=client_id,
        consultant_id=consultant_id,
        status=status,
        start_from=_instant(from_, zone, end=False),
        start_to=_instant(to, zone, end=True),
        q=q,
        page=page,
        limit=limit,
    )
    return ok("Appointments fetched", {"data": data, "page": page, "limit": limit})


def _instant(value: datetime | date | None, zone: ZoneInfo, *, end: bool) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    moment = datetime.combine(value, time(0), tzinfo=zone)
    return moment + timedelta(days=1) - timedelta(microseconds=1) if end else moment


@router.get("/available-slots", response_model=Envelope[list[str]])
async def available_slots(
    who: CurrentUser,
    app: AppContainer,
    consultant: Annotated[str, Query(description="Consultant _id")],
    date_: Annotated[str, Query(alias="date", pattern=DATE_PATTERN, description="business-time-zone date")],
    slotDurationMin: Annotated[int | None, Query(ge=15, le=480)] = None,
    startHour: Annotated[int | None, Query(ge=0, le=23)] = None,
    endHour: Annotated[int | None, Query(ge=0, le=23)] = None,
) -> Any:
    """Open `"HH:mm - HH:mm"` slots, sorted; the caller's own live hold still shown. `slotDurationMin`,
    `startHour` and `endHour` are accepted for compatibility: slots follow the consultant's settings."""
    try:
        day = date.fromisoformat(date_)
    except ValueError:
        raise Invalid(f'"date" with value "{date_}" is not a valid calendar date') from None
    consultant_id = consultant.lower()
    slots = (
        await read_model(app, app.slots.open_slots_plan(consultant_id, day, who.id, who.role))
        if is_object_id(consultant_id)
        else None
    )
    if slots is None:
        raise NotFound("Consultant not found")
    return ok("Available slots fetched", slots)


@router.get("/{id}", response_model=Envelope[Document])
def get_appointment(id: ObjectIdPath, who: CurrentUser, app: AppContainer) -> Any:
    return ok("Appointment fetched", _document_for(app, who, id, "view"))


@lean_post(router, "/hold", response_model=Envelope[dict[str, str]])
async def hold(body: HoldBody, who: CurrentUser, request: Request) -> Any:
    """Hold a slot for five minutes (clients, for themselves); an identical retry refreshes the hold.
    Holds of one consultant-day take turns in this process (`interfaces.http.turns`). The container
    comes from the request rather than a dependency, and a shared refusal is answered as a response
    rather than raised: under 200-way contention each costs every losing request CPU."""
    app = container_of(request)
    if who.role not in ("Client", "Consultant"):  # the route's roles (contract availability §2.2)
        raise Forbidden("Forbidden: Access denied")
    if not body.consultant or not body.client:
        raise Invalid("Consultant and Client are required")
    zone = _zone(app)
    start, end = body.interval(zone)
    asked = HoldRequest(_caller(who), body.consultant.lower(), body.client.lower(), start, end)
    async with turns_of(request).turn((asked.consultant_id, start.astimezone(zone).date()), asked) as seat:
        if seat.crowded:  # the requests that queued with this one: losers are answered from one read
            try:
                refusal = await seat.shared(lambda asks: run_in_threadpool(app.bookings.hold_refusals, asks))
            except Exception:  # the shared read failed: each request runs its own command, as alone
                log.exception("shared hold check failed")
                refusal = None
            if refusal is not None:
                return fail(status_of(refusal), refusal.message, refusal.errors)
        hold_id, expires, refreshed = await run_in_threadpool(
            app.bookings.hold, asked.caller, asked.consultant_id, asked.client_id, start, end, body.category
        )
    expires_at = expires.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{expires.microsecond // 1000:03d}Z"
    return ok(
        "Slot hold refreshed" if refreshed else "Slot held successfully", {"holdId": hold_id, "expiresAt": expires_at}
    )


@lean_post(router, "", status_code=201, response_model=Envelope[Document])
def book(body: BookBody, who: CurrentUser, app: AppContainer) -> Any:
    """Confirm a hold (`holdId`, with payment proof when the consultant has a fee), or create directly
    (a consultant for a linked client, an admin for anyone)."""
    caller = _caller(who)
    if who.role == "Client" and body.client.lower() != who.id:
        raise Forbidden("Clients can only create appointments for themselves")
    if who.role == "Consultant" and body.consultant.lower() != who.id:
        raise Forbidden("Consultants can only create appointments for themselves")
    fields = {k: v for k, v in {"reason": body.reason, "notes": body.notes}.items() if v}
    if body.holdId:
        proof = None
        given = body.payment.paypalResponse or body.payment.razorpayResponse if body.payment else None
        if given is not None:  # checked with the gateway first: a bad proof is refused before any state change
            method = "PayPal" if body.payment and body.payment.paypalResponse else "Razorpay"
            proof = app.payments.check_proof(method, given.model_dump(), body.holdId.lower(), who.id)
        with written_documents() as written:  # the confirmed document, as this request's projection wrote it
            appointment_id, again = app.bookings.confirm(
                caller,
                body.holdId.lower(),
                body.consultant.lower(),
                body.client.lower(),
                body.startAt,
                body.endAt,
                fields,
                payment=proof,
                category=body.category,
            )
        document = app.appointments.document(appointment_id, populated=False, written=written)
        if again:
            return ok("Appointment already confirmed", document, 200)
        return ok("Appointment confirmed successfully", document, 201)
    payment = (
        body.payment.model_dump(include={"amount", "status", "method"}, exclude_none=True) if body.payment else None
    )
    appointment_id = app.bookings.create_direct(
        caller,
        body.consultant.lower(),
        body.client.lower(),
        body.startAt,
        body.endAt,
        body.status or "Upcoming",
        fields,
        payment,
        body.category,
    )
    return ok("Appointment created successfully", app.appointments.document(appointment_id), 201)


def _updatable(id: ObjectIdPath, who: CurrentUser, app: AppContainer) -> Principal:
    """A party of the appointment or an admin: decided (404, else 403) before the body is validated."""
    _document_for(app, who, id, "update")
    return who


Updater = Annotated[Principal, Depends(_updatable)]


@router.patch("/{id}", response_model=Envelope[Document])
def change(id: ObjectIdPath, who: Updater, body: ChangeBody, app: AppContainer) -> Any:
    """Reschedule (`startAt`+`endAt`), cancel (`status: "Cancelled"`), notes and reason; admins may change any field."""
    given = body.model_dump(exclude_unset=True)
    fields = {k: v for k, v in given.items() if k in ("reason", "notes", "session", "fee", "category")}
    app.bookings.change(_caller(who), id, body.startAt, body.endAt, body.status, fields)
    return ok("Appointment updated", app.appointments.document(id))


@router.delete("/{id}", response_model=Envelope[None])
def delete(id: ObjectIdPath, who: CurrentUser, app: AppContainer) -> Any:
    """Admins only; recorded as an event (the appointment leaves every list and frees its slot)."""
    _document_for(app, who, id, "delete")
    app.bookings.delete(_caller(who), id)
    return ok("Appointment deleted")
