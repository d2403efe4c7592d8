"""The notifications a booking change sends (contract availability §6.2) and the parties' snapshots."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from domain.accounts import Account
from domain.appointments import Appointment
from domain.notifications import Notification, long_date, month_day, notify, short_time, template


def _when(appointment: Appointment, zone: ZoneInfo) -> tuple[str, str]:
    return long_date(appointment.start, zone), short_time(appointment.start, zone)


def booked_notices(
    appointment: Appointment, consultant: Account, client: Account, zone: ZoneInfo
) -> list[Notification]:
    day, at = _when(appointment, zone)
    return [
        notify(
            client.account_id,
            template(
                "Appointment Confirmed",
                f"Your appointment with {name(consultant)} on {day} at {at} has been confirmed.",
                "appointment",
                "appointments",
                "high",
                "/my-bookings",
                "View Booking",
                appointment.appointment_id,
            ),
        ),
        notify(
            consultant.account_id,
            template(
                "New Appointment",
                f"{name(client)} has booked an appointment for {day} at {at}.",
                "appointment",
                "appointments",
                "high",
                "/appointments",
                "View Appointment",
                appointment.appointment_id,
            ),
        ),
    ]


def cancelled_notices(
    appointment: Appointment, consultant: Account, client: Account, by_role: str, zone: ZoneInfo
) -> list[Notification]:
    day, at = _when(appointment, zone)
    to_client = notify(
        client.account_id,
        template(
            "Appointment Cancelled",
            f"Your appointment with {name(consultant)} on {day} has been cancelled.",
            "appointment",
            "appointments",
            "high",
            "/my-bookings",
            "Book Again",
            appointment.appointment_id,
        ),
    )
    to_consultant = notify(
        consultant.account_id,
        template(
            "Appointment Cancelled",
            f"{name(client)} has cancelled their appointment on {day} at {at}.",
            "appointment",
            "appointments",
            "normal",
            "/appointments",
            "View Details",
            appointment.appointment_id,
        ),
    )
    if by_role == "Client":
        return [to_consultant]
    if by_role == "Consultant":
        return [to_client]
    return [to_client, to_consultant]


def rescheduled_notices(
    appointment: Appointment, consultant: Account, client: Account, zone: ZoneInfo
) -> list[Notification]:
    when = f"{month_day(appointment.start, zone)} at {short_time(appointment.start, zone)}"
    return [
        notify(
            client.account_id,
            template(
                "Appointment Rescheduled",
                f"Your appointment with {name(consultant)} has been rescheduled to {when}.",
                "appointment",
                "appointments",
                "high",
                "/my-bookings",
                "View Booking",
                appointment.appointment_id,
            ),
        ),
        notify(
            consultant.account_id,
            template(
                "Appointment Rescheduled",
                f"Appointment with {name(client)} has been rescheduled to {when}.",
                "appointment",
                "appointments",
                "high",
                "/appointments",
                "View Appointment",
                appointment.appointment_id,
            ),
        ),
    ]


def reminder_notices(
    appointment: Appointment, consultant: Account, client: Account, zone: ZoneInfo
) -> list[Notification]:
    at = short_time(appointment.start, zone)
    return [
        notify(
            client.account_id,
            template(
                "Appointment Reminder",
                f"Reminder: Your appointment with {name(consultant)} is in 15 minutes at {at}.",
                "reminder",
                "reminders",
                "urgent",
                "/my-bookings",
                "Join Now",
                appointment.appointment_id,
            ),
        ),
        notify(
            consultant.account_id,
            template(
                "Appointment Reminder",
                f"Reminder: Appointment with {name(client)} in 15 minutes at {at}.",
                "reminder",
                "reminders",
                "urgent",
                "/appointments",
                "Prepare",
                appointment.appointment_id,
            ),
        ),
    ]


def name(account: Account) -> str:
    profile = account.profile
    return str(profile.get("displayName") or profile.get("name") or profile.get("fullName") or "")


def client_snapshot(client: Account) -> dict[str, str]:
    return {"name": name(client), "email": client.profile.get("email", ""), "mobile": client.profile.get("mobile", "")}


def consultant_snapshot(consultant: Account) -> dict[str, str]:
    profile = consultant.profile
    return {
        "name": name(consultant),
        "email": profile.get("email", ""),
        "mobile": profile.get("mobile") or profile.get("phone", ""),
        "category": (profile.get("category") or {}).get("name") or "General",
        "subcategory": (profile.get("subcategory") or {}).get("name") or "",
    }
