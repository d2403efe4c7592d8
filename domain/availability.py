"""Consultant availability: the settings document, its merge rules, generated slots, and the
one slot rule shared by the slot query and (later) the booking command.

Everything here is pure: times are `HH:mm` wall-clock strings in the business time zone, instants
are timezone-aware datetimes."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MIN_NOTICE = timedelta(minutes=5)
NOTIFICATION_FLAGS = ("email", "sms", "appointmentReminders", "clientMsgs", "weeklyReports")
STATUS_ALIASES = {"available": "available", "busy": "busy", "away": "offline", "offline": "offline"}


def default_availability() -> dict[str, Any]:
    """Model defaults of contract availability §3.1/§3.2: Mon–Fri 09:00–17:00, 60-minute sessions
    with a 15-minute buffer (six slots a weekday)."""
    return {
        "acceptingNewClients": True,
        "currentStatus": "available",
        "workingHours": {
            day: (
                {"enabled": True, "slots": [{"start": "09:00", "end": "17:00"}]}
                if index < 5
                else {"enabled": False, "slots": []}
            )
            for index, day in enumerate(WEEKDAYS)
        },
        "breakTimes": [],
        "advanceBooking": {},
        "sessionSettings": {
            "defaultDuration": 60,
            "minDuration": 30,
            "maxDuration": 180,
            "bufferTime": 15,
            "maxSessionsPerDay": 8,
            "overlappingAllowed": False,
        },
        "cancellation": {
            "cancellationWindow": 24,
            "cancellationPolicy": "",
            "autoCancelUnpaid": False,
            "unpaidBookingWindow": 2,
        },
        "timeOff": [],
    }


def default_settings() -> dict[str, Any]:
    return {
        "notifications": {flag: True for flag in NOTIFICATION_FLAGS},
        "availability": with_generated_slots(default_availability()),
        "calendar": {
            "defaultView": "week",
            "workingDaysOnly": True,
            "showWeekends": False,
            "timeSlotInterval": 30,
            "syncWithGoogle": False,
            "googleCalendarId": "",
            "syncWithOutlook": False,
            "outlookCalendarId": "",
        },
        "payments": {
            "acceptedMethods": [],
            "autoConfirmPayments": False,
            "requirePaymentUpfront": True,
            "partialPaymentAllowed": False,
            "partialPaymentPercentage": 50,
            "refundPolicy": "",
            "currency": "USD",
        },
        "communication": {
            "preferredContactMethod": "email",
            "autoResponseEnabled": False,
            "autoResponseMessage": "",
            "responseTimeSLA": 24,
            "allowVideoCalls": True,
            "allowAudioCalls": True,
            "allowChat": True,
            "allowInPerson": True,
        },
        "privacy": {
            "showProfilePublicly": True,
            "showEmailPublicly": False,
            "showPhonePublicly": False,
            "showAddressPublicly": False,
            "allowReviews": True,
            "moderateReviews": True,
            "showAvailabilityPublicly": True,
        },
        "professional": {
            "consultationTypes": [],
            "languages": [],
            "specializations": [],
            "consultationFees": {"initial": 0, "followUp": 0, "emergency": 0},
            "qualifications": [],
            "memberships": [],
        },
        "integrations": {
            "zoom": {"enabled": False, "apiKey": "", "apiSecret": "", "meetingUrlTemplate": ""},
            "googleMeet": {"enabled": False, "clientId": "", "clientSecret": ""},
            "skype": {"enabled": False, "username": ""},
            "teams": {"enabled": False, "tenantId": "", "clientId": "", "clientSecret": ""},
        },
        "dashboard": {
            "defaultView": "overview",
            "widgets": [],
            "refreshInterval": 30,
            "showTips": True,
            "compactMode": False,
        },
    }


# -- merging -----------------------------------------------------------------------------------


def deep_merge(stored: Any, patch: dict[str, Any]) -> dict[str, Any]:
    """Contract §3.6: objects merge recursively, arrays and scalars replace, absent keys are kept."""
    out = copy.deepcopy(stored) if isinstance(stored, dict) else {}
    for key, value in patch.items():
        if isinstance(value, dict):
            out[key] = deep_merge(out.get(key), value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def merge_notifications(current: dict[str, bool], given: dict[str, Any]) -> dict[str, bool]:
    """The five flat flags; `email`/`sms` may be channel objects `{enabled}`; a missing key is unchanged."""
    out = {flag: bool(current.get(flag, True)) for flag in NOTIFICATION_FLAGS}
    for flag in NOTIFICATION_FLAGS:
        if flag in given:
            value = given[flag]
            out[flag] = bool(value.get("enabled")) if isinstance(value, dict) else bool(value)
    return out


def normalise_status(value: str) -> str:
    return STATUS_ALIASES.get(value.lower(), value.lower())


# -- generated slots ---------------------------------------------------------------------------


def minutes(hhmm: str) -> int:
    hours, mins = hhmm.split(":")
    return int(hours) * 60 + int(mins)


def hhmm(total: int) -> str:
    return f"{total // 60:02d}:{total % 60:02d}"


def session_lengths(availability: dict[str, Any]) -> tuple[int, int]:
    """(duration, buffer) in minutes, from the effective session settings."""
    session = availability.get("sessionSettings") or {}
    return int(session.get("defaultDuration") or 60), int(session.get("bufferTime") or 0)


def generate_day(day: dict[str, Any] | None, duration: int, buffer: int) -> list[str]:
    """Contract §3.4: walk each window in order, `duration` long slots `duration + buffer` apart."""
    if not day or not day.get("enabled") or not day.get("slots"):
        return []
    out = []
    for window in day["slots"]:
        if not window.get("start") or not window.get("end"):
            continue
        cursor, end = minutes(window["start"]), minutes(window["end"])
        while cursor + duration <= end:
            out.append(f"{hhmm(cursor)} - {hhmm(cursor + duration)}")
            cursor += duration + buffer
    return out


def with_generated_slots(availability: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(availability)
    duration, buffer = session_lengths(out)
    for day in (out.get("workingHours") or {}).values():
        if isinstance(day, dict):
            day["generatedSlots"] = generate_day(day, duration, buffer)
    return out


# -- validation of a merged availability --------------------------------------------------------


def availability_problems(availability: dict[str, Any]) -> list[dict[str, str]]:
    """Cross-field rules that a partial body cannot check alone (after the merge)."""
    problems = []
    for name, day in (availability.get("workingHours") or {}).items():
        for index, window in enumerate((day or {}).get("slots") or []):
            start, end = window.get("start", ""), window.get("end", "")
            if HHMM.match(start or "") and HHMM.match(end or "") and minutes(end) <= minutes(start):
                problems.append(
                    {
                        "field": f"availability.workingHours.{name}.slots.{index}.end",
                        "message": "end must be after start",
                    }
                )
    for index, pause in enumerate(availability.get("breakTimes") or []):
        if minutes(pause["end"]) <= minutes(pause["start"]):
            problems.append({"field": f"availability.breakTimes.{index}.end", "message": "end must be after start"})
    for index, leave in enumerate(availability.get("timeOff") or []):
        if str(leave.get("endDate", ""))[:10] < str(leave.get("startDate", ""))[:10]:
            problems.append(
                {"field": f"availability.timeOff.{index}.endDate", "message": "endDate must be on or after startDate"}
            )
    return problems


# -- the slot rule -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Booking:
    """A live booking of the consultant (an appointment or an unexpired hold)."""

    start: datetime
    end: datetime
    client_id: str | None = None
    is_hold: bool = False
    expires_at: datetime | None = None

    def is_live(self, now: datetime) -> bool:
        return not (self.is_hold and self.expires_at is not None and self.expires_at <= now)


@dataclass(frozen=True)
class Slot:
    label: str
    start: datetime
    end: datetime


def wall_clock(day: date, hhmm_text: str, zone: ZoneInfo) -> datetime | None:
    """The instant of a wall-clock time on `day`; None when that time does not exist (DST gap)."""
    local = datetime.combine(day, time.fromisoformat(hhmm_text), tzinfo=zone)
    round_trip = local.astimezone(UTC).astimezone(zone)
    if (round_trip.hour, round_trip.minute) != (local.hour, local.minute):
        return None
    return local


def candidate_slots(availability: dict[str, Any], day: date, zone: ZoneInfo) -> list[Slot]:
    duration, buffer = session_lengths(availability)
    weekday = WEEKDAYS[day.weekday()]
    labels = generate_day((availability.get("workingHours") or {}).get(weekday), duration, buffer)
    midnight = datetime.combine(day, time(0), tzinfo=zone)
    # No UTC-offset change on this day (always so in Asia/Kolkata): every wall-clock time exists
    # exactly once, so instants are midnight plus minutes, without a round trip per slot.
    steady = midnight.utcoffset() == datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).utcoffset()
    out = []
    for label in sorted(set(labels)):
        start_text, end_text = label.split(" - ")
        if steady:
            start = midnight + timedelta(minutes=minutes(start_text))
            end: datetime | None = midnight + timedelta(minutes=minutes(end_text))
        else:
            start, end = wall_clock(day, start_text, zone), wall_clock(day, end_text, zone)  # type: ignore[assignment]
        if start is not None and end is not None and end > start:
            out.append(Slot(label, start, end))
    return out


def _on_time_off(availability: dict[str, Any], day: date) -> bool:
    iso = day.isoformat()
    for leave in availability.get("timeOff") or []:
        if (leave.get("status") or "approved") != "approved":
            continue
        if str(leave.get("startDate", ""))[:10] <= iso <= str(leave.get("endDate", ""))[:10]:
            return True
    return False


def _in_break(availability: dict[str, Any], day: date, slot: Slot, zone: ZoneInfo) -> bool:
    weekday = WEEKDAYS[day.weekday()]
    for pause in availability.get("breakTimes") or []:
        days = [d.lower() for d in pause.get("days") or []]
        if days and weekday not in days:
            continue
        start, end = wall_clock(day, pause["start"], zone), wall_clock(day, pause["end"], zone)
        if start is not None and end is not None and slot.start < end and slot.end > start:
            return True
    return False


def working_slots(availability: dict[str, Any], day: date, zone: ZoneInfo) -> list[Slot]:
    """The generated slots of the day outside its breaks: the part of the rule that depends on the
    availability and the day only (no bookings, no clock), so a caller may keep it."""
    return [slot for slot in candidate_slots(availability, day, zone) if not _in_break(availability, day, slot, zone)]


def open_slots(
    availability: dict[str, Any],
    day: date,
    bookings: Iterable[Booking],
    now: datetime,
    zone: ZoneInfo,
    caller_id: str | None = None,
    working: Iterable[Slot] | None = None,
) -> list[str]:
    """The open `"HH:mm - HH:mm"` slots of a consultant on `day` (contract §4 as CONTRACT.md fixes it):
    generated slots of the weekday, minus approved time off and breaks, minus slots within the buffer
    of a live booking (the caller's own hold stays open), minus slots before the minimum notice or
    beyond the horizon; none at all once the day holds `maxSessionsPerDay` bookings."""
    if _on_time_off(availability, day):
        return []
    advance = availability.get("advanceBooking") or {}
    today = now.astimezone(zone).date()
    if advance.get("sameDayBooking") is False and day == today:
        return []
    notice = max(MIN_NOTICE, timedelta(hours=float(advance.get("minHoursInAdvance") or 0)))
    horizon = advance.get("maxDaysInAdvance")
    latest = now + timedelta(days=int(horizon)) if horizon else None
    _, buffer_minutes = session_lengths(availability)
    buffer = timedelta(minutes=buffer_minutes)
    live = [b for b in bookings if b.is_live(now)]
    own = [b for b in live if b.is_hold and caller_id is not None and b.client_id == caller_id]
    day_start = datetime.combine(day, time(0), tzinfo=zone)
    day_end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    on_day = [b for b in live if day_start <= b.start < day_end]
    limit = int((availability.get("sessionSettings") or {}).get("maxSessionsPerDay") or 0)
    day_full = bool(limit) and len(on_day) >= limit
    out = []
    for slot in working_slots(availability, day, zone) if working is None else working:
        is_own = any(b.start == slot.start and b.end == slot.end for b in own)
        if day_full and not is_own:
            continue
        if slot.start < now + notice or (latest is not None and slot.start > latest):
            continue
        # the caller's own hold frees its own slot only (a retry refreshes it); like any other
        # booking it still blocks the slots it overlaps, which the hold command would refuse
        if any(
            slot.start < b.end + buffer and slot.end > b.start - buffer
            for b in live
            if not (is_own and b in own and (b.start, b.end) == (slot.start, slot.end))
        ):
            continue
        out.append(slot.label)
    return out
