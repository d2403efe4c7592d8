"""`/admin-settings` (contract platform §6): the platform-wide settings (one set for every admin) and
each admin's own profile section. `/public` needs no token and always answers (defaults until an
admin saves); the other routes are for an Admin on its own id."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from fastapi import APIRouter, Depends, Path
from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from domain.errors import Invalid
from infrastructure.bootstrap import Container
from infrastructure.platform_wiring import Platform
from interfaces.http.deps import AppContainer, Principal, require
from interfaces.http.envelope import ERROR_RESPONSES, Document, Envelope, ok
from interfaces.http.errors import ApiError
from interfaces.http.fields import Body

router = APIRouter(prefix="/admin-settings", tags=["admin settings"], responses=ERROR_RESPONSES)
Admin = Annotated[Principal, Depends(require("Admin"))]
HEX24 = re.compile(r"^[0-9a-fA-F]{24}$")


def platform(app: Container) -> Platform:
    assert app.platform is not None
    return app.platform


def _email_or_empty(value: str) -> str:
    if value.strip() == "":
        return ""
    try:
        validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise PydanticCustomError("email", "Please enter a valid email address") from None
    return value.strip()


Text20 = Annotated[str, Field(max_length=20)]
Text50 = Annotated[str, Field(max_length=50)]
Text100 = Annotated[str, Field(max_length=100)]
Text1000 = Annotated[str, Field(max_length=1000)]
Html = Annotated[str, Field(max_length=100_000)]
PlatformName = Annotated[str, Field(min_length=2, max_length=100)]


Currency = Annotated[
    str,
    Field(min_length=3, max_length=3, pattern=r"^[A-Za-z]{3}$", description="ISO 4217 code"),
    AfterValidator(str.upper),
]


class ProfileSection(Body):
    name: Text100 = None  # type: ignore[assignment]
    email: Annotated[str, Field(max_length=100), AfterValidator(_email_or_empty)] = None  # type: ignore[assignment]


class PlatformSection(Body):
    name: Text100 = None  # type: ignore[assignment]
    description: Text1000 = None  # type: ignore[assignment]
    version: Text20 = None  # type: ignore[assignment]


class GeneralSection(Body):
    platformName: PlatformName = None  # type: ignore[assignment]
    timezone: Text50 = None  # type: ignore[assignment]
    dateFormat: Text20 = None  # type: ignore[assignment]
    timeFormat: Literal["12h", "24h"] = None  # type: ignore[assignment]
    language: Text50 = None  # type: ignore[assignment]
    currency: Currency = None  # type: ignore[assignment]
    defaultPage: Text100 = None  # type: ignore[assignment]


class NotificationsSection(Body):
    email: bool = None  # type: ignore[assignment]
    sms: bool = None  # type: ignore[assignment]
    push: bool = None  # type: ignore[assignment]
    appointment: bool = None  # type: ignore[assignment]
    payment: bool = None  # type: ignore[assignment]
    marketing: bool = None  # type: ignore[assignment]
    system: bool = None  # type: ignore[assignment]


class SecuritySection(Body):
    """HTML stored as given (the apps sanitise when rendering); never interpreted by the service."""

    termsAndConditions: Html = None  # type: ignore[assignment]
    privacyPolicy: Html = None  # type: ignore[assignment]


class PublicSettings(Document):
    """What `/public` answers: never `profile`, `notifications` or an admin id."""

    mongo_id: str = Field(alias="_id")
    id: str
    security: SecuritySection
    platform: PlatformSection
    general: GeneralSection


class AdminSettings(Document):
    mongo_id: str = Field(alias="_id")
    id: str
    admin: str
    profile: ProfileSection
    platform: PlatformSection
    general: GeneralSection
    notifications: NotificationsSection
    security: SecuritySection
    createdAt: str | None = None
    updatedAt: str | None = None


async def own_admin_id(principal: Admin, adminId: Annotated[str, Path(description="the caller's own id")]) -> str:
    """`:adminId` must be a 24-hex id (400) and the caller's own (403)."""
    if not HEX24.match(adminId):
        raise Invalid(
            "Validation failed", [{"field": "adminId", "message": '"adminId" must be a valid 24-character hex id'}]
        )
    if adminId.lower() != principal.id:
        raise ApiError(403, "Forbidden: Access denied")
    return adminId.lower()


OwnId = Annotated[str, Depends(own_admin_id)]


@router.get("/public", response_model=Envelope[PublicSettings])
def public_settings(app: AppContainer) -> Any:
    """No token: `security`, `platform` and `general` of the platform (defaults until saved)."""
    return ok("Public settings retrieved successfully", platform(app).settings_queries.public())


@router.get("/{adminId}", response_model=Envelope[AdminSettings])
def admin_settings(app: AppContainer, admin_id: OwnId) -> Any:
    return ok("Admin settings retrieved successfully", platform(app).settings_queries.of_admin(admin_id))


def _save(app: Container, admin_id: str, section: str, body: Body, message: str) -> Any:
    values = platform(app).settings_service.update_section(admin_id, section, body.given())
    return ok(message, values)


@router.put("/{adminId}/profile", response_model=Envelope[ProfileSection])
def update_profile(app: AppContainer, admin_id: OwnId, body: ProfileSection) -> Any:
    return _save(app, admin_id, "profile", body, "Profile settings updated successfully")


@router.put("/{adminId}/platform", response_model=Envelope[PlatformSection])
def update_platform(app: AppContainer, admin_id: OwnId, body: PlatformSection) -> Any:
    return _save(app, admin_id, "platform", body, "Platform settings updated successfully")


@router.put("/{adminId}/general", response_model=Envelope[GeneralSection])
def update_general(app: AppContainer, admin_id: OwnId, body: GeneralSection) -> Any:
    return _save(app, admin_id, "general", body, "General settings updated successfully")


@router.put("/{adminId}/notifications", response_model=Envelope[NotificationsSection])
def update_notifications(app: AppContainer, admin_id: OwnId, body: NotificationsSection) -> Any:
    return _save(app, admin_id, "notifications", body, "Notification settings updated successfully")


@router.put("/{adminId}/security", response_model=Envelope[SecuritySection])
def update_security(app: AppContainer, admin_id: OwnId, body: SecuritySection) -> Any:
    return _save(app, admin_id, "security", body, "Security settings updated successfully")
