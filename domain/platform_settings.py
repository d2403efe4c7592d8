"""Admin settings (contract platform §6): one platform-wide set of sections, and a profile per admin.

`platform`, `general`, `notifications` and `security` belong to the platform (the public Terms and
Privacy pages read the same `security` an admin saved); `profile` belongs to each admin. Both
aggregates have deterministic ids, so two first writes racing create one aggregate. None of these
settings changes the behaviour of another route (§6.1): they are display preferences and texts."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.errors import Invalid
from domain.ids import (
    PLATFORM_SETTINGS_KEY,
    admin_profile_settings_id,
    platform_settings_id,
    platform_settings_public_id,
)

PROFILE = "profile"
PLATFORM_SECTIONS = ("platform", "general", "notifications", "security")
SECTIONS = (PROFILE, *PLATFORM_SECTIONS)
PUBLIC_SECTIONS = ("security", "platform", "general")
PLATFORM_KEY = PLATFORM_SETTINGS_KEY

# The fields of each section with their types (§6.1); anything else in a patch is ignored.
FIELDS: dict[str, dict[str, type]] = {
    PROFILE: {"name": str, "email": str},
    "platform": {"name": str, "description": str, "version": str},
    "general": {
        "platformName": str,
        "timezone": str,
        "dateFormat": str,
        "timeFormat": str,
        "language": str,
        "currency": str,
        "defaultPage": str,
    },
    "notifications": {key: bool for key in ("email", "sms", "push", "appointment", "payment", "marketing", "system")},
    "security": {"termsAndConditions": str, "privacyPolicy": str},
}
TIME_FORMATS = ("12h", "24h")


def default_sections(currency: str, timezone: str) -> dict[str, dict[str, Any]]:
    """The defaults of §6.1, except that `currency` and `timezone` tell the truth (§6.6): the
    platform's currency and the business time zone."""
    return {
        PROFILE: {"name": "", "email": ""},
        "platform": {"name": "NexFutrr Consultation", "description": "", "version": "1.0.0"},
        "general": {
            "platformName": "Consultation Platform",
            "timezone": timezone,
            "dateFormat": "MM/DD/YYYY",
            "timeFormat": "12h",
            "language": "English",
            "currency": currency,
            "defaultPage": "dashboard",
        },
        "notifications": {
            "email": True,
            "sms": False,
            "push": True,
            "appointment": True,
            "payment": True,
            "marketing": False,
            "system": True,
        },
        "security": {"termsAndConditions": "", "privacyPolicy": ""},
    }


def merged_section(section: str, stored: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """`patch` merged over the stored section: known fields only, each of its type (a last guard:
    the HTTP layer validates lengths and formats and answers 400 before anything is recorded)."""
    fields = FIELDS.get(section)
    if fields is None:
        raise Invalid("Validation failed", [{"field": "section", "message": f"unknown section {section}"}])
    out = dict(stored)
    problems = []
    for key, value in patch.items():
        kind = fields.get(key)
        if kind is None:
            continue
        if not isinstance(value, kind) or (isinstance(value, str) and "\x00" in value):
            problems.append({"field": f"{section}.{key}", "message": f'"{key}" has an invalid value'})
            continue
        out[key] = value
    if section == "general" and out.get("timeFormat") not in TIME_FORMATS:
        problems.append({"field": "general.timeFormat", "message": '"timeFormat" must be one of [12h, 24h]'})
    if problems:
        raise Invalid("Validation failed", problems)
    return out


class PlatformSettings(Aggregate):
    """The platform-wide sections. Only what admins saved is held; the defaults fill the rest when read."""

    @staticmethod
    def create_id() -> UUID:  # type: ignore[override]
        return platform_settings_id()

    @event("Created")
    def __init__(self) -> None:
        self.sections: dict[str, dict[str, Any]] = {}

    @property
    def public_id(self) -> str:
        return platform_settings_public_id()

    @event("SectionUpdated")
    def update_section(self, section: str, patch: dict[str, Any], values: dict[str, Any], admin_id: str) -> None:
        """`patch` is what the admin sent (known fields), `values` the whole section afterwards."""
        self.sections = {**self.sections, section: dict(values)}


class AdminProfileSettings(Aggregate):
    """The `profile` section of one admin."""

    @staticmethod
    def create_id(admin_id: str) -> UUID:  # type: ignore[override]
        return admin_profile_settings_id(admin_id)

    @event("Created")
    def __init__(self, admin_id: str) -> None:
        self.admin_id = admin_id
        self.profile: dict[str, Any] = {}

    @event("ProfileUpdated")
    def update_profile(self, patch: dict[str, Any], values: dict[str, Any], admin_id: str) -> None:
        self.profile = dict(values)

    @event("Erased")
    def erase(self, admin_id: str) -> None:
        """The admin's account was erased (contract people §4.6): its profile section is deleted."""
        self.profile = {}
