"""The staff profile (people.md §3.2, §3.4): `GET /users/profile` and `PATCH /auth/edit-profile`.

Both look the caller up in the back-office store: a Consultant or Client token gets 404
`User not found`. Registration tokens are never access tokens (`deps.current_principal`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from domain.errors import NotFound
from interfaces.http.deps import AppContainer, CurrentUser
from interfaces.http.envelope import ERROR_RESPONSES, Document, Envelope, ok
from interfaces.http.fields import Body, FullName
from interfaces.http.routers.users import _populated

router = APIRouter(tags=["users"], responses=ERROR_RESPONSES)
SECRETS = ("password", "otp", "otpExpires", "resetPasswordToken", "resetPasswordExpire")


class EditProfile(Body):
    fullName: FullName | None = None


def _staff(app: Any, who: Any) -> dict[str, Any]:
    doc = app.directory.document("user", who.id) if who.kind == "user" else None
    if doc is None:
        raise NotFound("User not found")
    return {k: v for k, v in doc.items() if k not in SECRETS}


@router.get("/users/profile", response_model=Envelope[Document])
def staff_profile(who: CurrentUser, app: AppContainer) -> Any:
    return ok("Profile fetched successfully", _populated(app, _staff(app, who)))


@router.patch("/auth/edit-profile", response_model=Envelope[dict[str, Any]])
def edit_profile(who: CurrentUser, app: AppContainer, body: EditProfile | None = None) -> Any:
    """Only `fullName` (trimmed) changes; every other field is ignored."""
    doc = _staff(app, who)
    name = body.fullName.strip() if body and body.fullName is not None else None
    if name is not None and name != doc.get("fullName"):
        app.people.update_user(who.id, {"fullName": name})
        doc = _staff(app, who)
    return ok(
        "Profile updated successfully",
        {"id": doc["_id"], "name": doc.get("fullName"), "email": doc.get("email"), "role": doc.get("role")},
    )
