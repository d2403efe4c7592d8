"""`/consultant-settings` (contract availability §2.1, §3): lazily created, event-sourced settings.

A consultant acts on its own id only; an admin on any. Bodies are validated (ranges, `HH:mm`
times, enums); echoed `_id`, `id`, `generatedSlots` and unknown keys are ignored."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from fastapi import Body as BodyParam
from pydantic import AfterValidator, BeforeValidator, Field, model_validator
from pydantic_core import PydanticCustomError

from domain.availability import HHMM
from domain.errors import Forbidden, NotFound
from interfaces.http.deps import HEX_ID, AppContainer, Principal, require
from interfaces.http.envelope import ERROR_RESPONSES, Document, Envelope, ok
from interfaces.http.fields import EVERY_FIELD, Body, ObjectIdStr, PartialBody, rule
from interfaces.http.money import AmountNumber, ExactJsonRoute

router = APIRouter(
    prefix="/consultant-settings",
    tags=["consultant settings"],
    responses=ERROR_RESPONSES,
    route_class=ExactJsonRoute,
)
Manager = Annotated[Principal, Depends(require("Admin", "Consultant"))]
ConsultantIdPath = Annotated[str, Path(pattern=HEX_ID, description="the Consultant _id"), AfterValidator(str.lower)]


class SettingsBody(Body):
    """Settings sections drop nulls before they are stored (`_drop_none`): null means "not given"."""

    nullable = EVERY_FIELD


Time = Annotated[str, rule(lambda v: bool(HHMM.match(v)), "must be a time in HH:mm (00:00 to 23:59)")]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
Status = Annotated[
    str,
    rule(
        lambda v: v in ("available", "busy", "offline", "Available", "Busy", "Away", "away", "Offline"),
        "must be one of available, busy, offline",
    ),
]


def _calendar_day(value: Any) -> Any:
    """Time-off dates: a calendar date, or an ISO instant whose date part is used."""
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            pass
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    raise PydanticCustomError("date", "must be a valid date (YYYY-MM-DD)")


CalendarDay = Annotated[str, BeforeValidator(_calendar_day)]


class Window(SettingsBody):
    start: Time
    end: Time


class Day(SettingsBody):
    enabled: bool | None = None
    start: Time | Literal[""] | None = None
    end: Time | Literal[""] | None = None
    slots: list[Window] | None = None


class WorkingHours(SettingsBody):
    monday: Day | None = None
    tuesday: Day | None = None
    wednesday: Day | None = None
    thursday: Day | None = None
    friday: Day | None = None
    saturday: Day | None = None
    sunday: Day | None = None


class BreakTime(SettingsBody):
    start: Time
    end: Time
    days: list[Weekday] = Field(default_factory=list)


class AdvanceBooking(SettingsBody):
    minHoursInAdvance: Annotated[float, Field(ge=0, le=168)] | None = None
    maxDaysInAdvance: Annotated[int, Field(ge=1, le=365)] | None = None
    sameDayBooking: bool | None = None
    lastMinuteBooking: bool | None = None


class SessionSettings(SettingsBody):
    defaultDuration: Annotated[int, Field(ge=15, le=480)] | None = None
    minDuration: Annotated[int, Field(ge=15, le=480)] | None = None
    maxDuration: Annotated[int, Field(ge=15, le=480)] | None = None
    bufferTime: Annotated[int, Field(ge=0, le=120)] | None = None
    maxSessionsPerDay: Annotated[int, Field(ge=1, le=50)] | None = None
    overlappingAllowed: bool | None = None


class Cancellation(SettingsBody):
    cancellationWindow: Annotated[float, Field(ge=0, le=168)] | None = None
    cancellationPolicy: Annotated[str, Field(max_length=1000)] | None = None
    autoCancelUnpaid: bool | None = None
    unpaidBookingWindow: Annotated[float, Field(ge=0, le=24)] | None = None


class TimeOff(SettingsBody):
    startDate: CalendarDay
    endDate: CalendarDay
    reason: Annotated[str, Field(max_length=200)] = ""
    type: Literal["vacation", "sick", "personal", "other"] = "personal"
    status: Literal["approved", "pending", "rejected"] = "approved"

    @model_validator(mode="after")
    def _ordered(self) -> TimeOff:
        if self.endDate < self.startDate:
            raise PydanticCustomError("date_order", "endDate must be on or after startDate")
        return self


class Availability(SettingsBody):
    acceptingNewClients: bool | None = None
    currentStatus: Status | None = None
    workingHours: WorkingHours | None = None
    breakTimes: list[BreakTime] | None = None
    advanceBooking: AdvanceBooking | None = None
    sessionSettings: SessionSettings | None = None
    cancellation: Cancellation | None = None
    timeOff: list[TimeOff] | None = None

    def patch(self) -> dict[str, Any]:
        return _drop_none(self.model_dump(exclude_unset=True))


class Notifications(SettingsBody):
    email: bool | dict[str, Any] | None = None
    sms: bool | dict[str, Any] | None = None
    appointmentReminders: bool | None = None
    clientMsgs: bool | None = None
    weeklyReports: bool | None = None


class NotificationsBody(Notifications):
    notifications: Notifications | None = None

    def flags(self) -> dict[str, Any]:
        given = self.notifications if self.notifications is not None else self
        return {k: v for k, v in given.model_dump(exclude_unset=True).items() if k != "notifications" and v is not None}


class Calendar(SettingsBody):
    defaultView: Literal["day", "week", "month"] | None = None
    workingDaysOnly: bool | None = None
    showWeekends: bool | None = None
    timeSlotInterval: Annotated[int, Field(ge=15, le=120)] | None = None
    syncWithGoogle: bool | None = None
    googleCalendarId: Annotated[str, Field(max_length=100)] | None = None
    syncWithOutlook: bool | None = None
    outlookCalendarId: Annotated[str, Field(max_length=100)] | None = None


class Payments(SettingsBody):
    acceptedMethods: list[Literal["card", "bank_transfer", "paypal", "stripe", "cash"]] | None = None
    autoConfirmPayments: bool | None = None
    requirePaymentUpfront: bool | None = None
    partialPaymentAllowed: bool | None = None
    partialPaymentPercentage: Annotated[int, Field(ge=1, le=99)] | None = None
    refundPolicy: Annotated[str, Field(max_length=1000)] | None = None
    currency: Annotated[str, Field(min_length=3, max_length=3)] | None = None


class Communication(SettingsBody):
    preferredContactMethod: Literal["email", "phone", "chat"] | None = None
    autoResponseEnabled: bool | None = None
    autoResponseMessage: Annotated[str, Field(max_length=500)] | None = None
    responseTimeSLA: Annotated[int, Field(ge=1, le=168)] | None = None
    allowVideoCalls: bool | None = None
    allowAudioCalls: bool | None = None
    allowChat: bool | None = None
    allowInPerson: bool | None = None


class Privacy(SettingsBody):
    showProfilePublicly: bool | None = None
    showEmailPublicly: bool | None = None
    showPhonePublicly: bool | None = None
    showAddressPublicly: bool | None = None
    allowReviews: bool | None = None
    moderateReviews: bool | None = None
    showAvailabilityPublicly: bool | None = None


class Fees(SettingsBody):
    initial: AmountNumber | None = None
    followUp: AmountNumber | None = None
    emergency: AmountNumber | None = None


class Qualification(SettingsBody):
    degree: str = ""
    institution: str = ""
    year: str | int = ""
    certificate: str = ""


class Membership(SettingsBody):
    organization: str = ""
    membershipNumber: str = ""
    validUntil: CalendarDay | None = None


class Professional(SettingsBody):
    consultationTypes: Annotated[list[str], Field(max_length=100)] | None = None
    languages: Annotated[list[str], Field(max_length=50)] | None = None
    specializations: Annotated[list[str], Field(max_length=100)] | None = None
    consultationFees: Fees | None = None
    qualifications: list[Qualification] | None = None
    memberships: list[Membership] | None = None


Short = Annotated[str, Field(max_length=100)]


class Zoom(SettingsBody):
    enabled: bool | None = None
    apiKey: Short | None = None
    apiSecret: Short | None = None
    meetingUrlTemplate: Annotated[str, Field(max_length=200)] | None = None


class GoogleMeet(SettingsBody):
    enabled: bool | None = None
    clientId: Short | None = None
    clientSecret: Short | None = None


class Skype(SettingsBody):
    enabled: bool | None = None
    username: Short | None = None


class Teams(SettingsBody):
    enabled: bool | None = None
    tenantId: Short | None = None
    clientId: Short | None = None
    clientSecret: Short | None = None


class Integrations(SettingsBody):
    zoom: Zoom | None = None
    googleMeet: GoogleMeet | None = None
    skype: Skype | None = None
    teams: Teams | None = None


class Dashboard(SettingsBody):
    defaultView: Literal["overview", "calendar", "appointments", "clients"] | None = None
    widgets: Annotated[list[str], Field(max_length=50)] | None = None
    refreshInterval: Annotated[int, Field(ge=10, le=300)] | None = None
    showTips: bool | None = None
    compactMode: bool | None = None


class Security(SettingsBody):
    """Accepted for compatibility; not stored (as in the existing backend)."""

    twoFactorAuth: bool | None = None
    sessionTimeout: Annotated[int, Field(ge=1, le=168)] | None = None


class Sections(SettingsBody):
    notifications: Notifications | None = None
    availability: Availability | None = None
    calendar: Calendar | None = None
    payments: Payments | None = None
    communication: Communication | None = None
    privacy: Privacy | None = None
    security: Security | None = None
    professional: Professional | None = None
    integrations: Integrations | None = None
    dashboard: Dashboard | None = None

    def sections(self) -> dict[str, Any]:
        data = _drop_none(self.model_dump(exclude_unset=True, include=set(Sections.model_fields)))
        data.pop("security", None)
        return data


class SettingsCreate(Sections):
    consultant: ObjectIdStr


class SettingsUpdate(PartialBody, Sections):
    """At least one section."""


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def _own(who: Principal, consultant_id: str) -> None:
    if who.role == "Consultant" and who.id != consultant_id:
        raise Forbidden("Forbidden: Access denied")


def _owned_consultant_id(consultantId: ConsultantIdPath, who: Manager) -> str:
    """The path's consultant, once the caller may act on it: a dependency, so that authorization is
    decided before the body is validated (another consultant's settings: 403 whatever the body)."""
    _own(who, consultantId)
    return consultantId


OwnedConsultantId = Annotated[str, Depends(_owned_consultant_id)]


def _settings(app: Any, consultant_id: str) -> dict[str, Any]:
    document = app.slots.settings_document(consultant_id)
    if document is None:
        raise NotFound("Consultant settings not found")
    return document  # type: ignore[no-any-return]


@router.get("/{consultantId}", response_model=Envelope[Document])
def get_settings(consultantId: OwnedConsultantId, app: AppContainer) -> Any:
    app.settings_service.ensure(consultantId)
    return ok("Consultant settings retrieved successfully", _settings(app, consultantId))


@router.post("", status_code=201, response_model=Envelope[Document])
def create_settings(body: SettingsCreate, who: Manager, app: AppContainer) -> Any:
    consultant_id = body.consultant.lower()
    _own(who, consultant_id)
    app.settings_service.create(consultant_id, body.sections())
    return ok("Consultant settings created successfully", _settings(app, consultant_id), 201)


@router.put("/{consultantId}", response_model=Envelope[Document])
def update_settings(consultantId: OwnedConsultantId, body: SettingsUpdate, app: AppContainer) -> Any:
    app.settings_service.update(consultantId, body.sections())
    return ok("Consultant settings updated successfully", _settings(app, consultantId))


@router.put("/{consultantId}/notifications", response_model=Envelope[dict[str, bool]])
def update_notifications(consultantId: OwnedConsultantId, body: NotificationsBody, app: AppContainer) -> Any:
    flags = app.settings_service.update_notifications(consultantId, body.flags())
    return ok("Notification settings updated successfully", flags)


@router.put("/{consultantId}/availability", response_model=Envelope[Document])
def update_availability(
    consultantId: OwnedConsultantId, app: AppContainer, body: Annotated[Availability, BodyParam()]
) -> Any:
    availability = app.settings_service.update_availability(consultantId, body.patch())
    return ok("Availability settings updated successfully", availability)
