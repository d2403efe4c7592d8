"""`/users` (contract auth §6.4): back-office accounts, and the active consultants list."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends

from domain.errors import NotFound
from interfaces.http.deps import AppContainer, ObjectIdPath, Principal, require
from interfaces.http.envelope import ERROR_RESPONSES, Document, Envelope, ok
from interfaces.http.fields import Body, Email, FullName, ObjectIdStr, PartialBody, rule

router = APIRouter(prefix="/users", tags=["users"], responses=ERROR_RESPONSES)
Admin = Annotated[Principal, Depends(require("Admin"))]
Staff = Annotated[Principal, Depends(require("Admin", "Employee"))]
StaffOrConsultant = Annotated[Principal, Depends(require("Admin", "Employee", "Consultant"))]
Anyone = Annotated[Principal, Depends(require("Admin", "Employee", "Consultant", "Client"))]
UserMobile = Annotated[str, rule(lambda v: bool(re.fullmatch(r"\d{10,15}", v)), "Mobile must be 10-15 digits")]
UserCode = Annotated[
    str, rule(lambda v: bool(re.fullmatch(r"[A-Za-z0-9-]{3,20}", v)), '"userId" must be 3-20 letters or digits')
]
OptionalRef = ObjectIdStr | Literal[""] | None


class UserCreate(Body):
    nullable = frozenset({"category", "subcategory", "profileImage"})  # null: omitted (contract auth §6.4)

    userId: UserCode
    fullName: FullName
    email: Email
    mobile: UserMobile
    role: Annotated[
        str, rule(lambda v: v in ("Admin", "Employee", "Consultant", "Client"), "Role must be Admin or Employee")
    ]
    category: OptionalRef = None
    subcategory: OptionalRef = None
    profileImage: str | None = None


class UserUpdate(PartialBody):
    nullable = frozenset({"category", "subcategory", "profileImage"})  # null clears (contract auth §6.4)

    fullName: FullName | None = None
    email: Email | None = None
    mobile: UserMobile | None = None
    category: OptionalRef = None
    subcategory: OptionalRef = None
    status: Literal["Active", "Inactive"] | None = None
    verificationStatus: Literal["Approved", "Pending", "Rejected", "Blocked"] | None = None
    profileImage: str | None = None


def _lower_refs(fields: dict[str, Any]) -> dict[str, Any]:
    for key in ("category", "subcategory"):
        if isinstance(fields.get(key), str):
            fields[key] = fields[key].lower() or None
    return fields


def _populated(app: Any, doc: dict[str, Any]) -> dict[str, Any]:
    out = {**doc}
    if out.get("category"):
        out["category"] = app.directory.category(out["category"])
    if out.get("subcategory"):
        out["subcategory"] = app.directory.subcategory(out["subcategory"])
    return out


def _user(app: Any, user_id: str) -> dict[str, Any]:
    doc = app.directory.document("user", user_id)
    if doc is None:
        raise NotFound("User not found")
    return _populated(app, doc)


@router.get("/consultants/active", response_model=Envelope[list[Document]])
def active_consultants(_: Anyone, app: AppContainer) -> Any:
    """Active consultants in the shape the booking modal expects (decision of CONTRACT.md)."""
    shown = [
        {
            "_id": doc["_id"],
            "fullName": doc.get("displayName") or doc.get("name") or "",
            "email": doc.get("email", ""),
            "mobile": doc.get("mobile", ""),
            "category": doc.get("category"),
            "subcategory": doc.get("subcategory"),
            "categories": doc.get("categories") or [],
            "fees": doc.get("fees", 0),
            "commission": doc.get("commission") or {},
            "country": doc.get("country") or "IN",
            "currency": doc.get("currency", ""),
            "consultantProfileId": doc["_id"],
        }
        for doc in app.directory.consultants(None, "Active", None)
    ]
    return ok("Active consultants fetched", shown)


@router.get("", response_model=Envelope[list[Document]])
def list_users(who: StaffOrConsultant, app: AppContainer) -> Any:
    """A Consultant gets an empty list (its app shows an error on 403; staff contacts stay private)."""
    if who.role == "Consultant":
        return ok("Users retrieved successfully", [])
    return ok("Users retrieved successfully", [_populated(app, doc) for doc in app.directory.documents("user")])


@router.post("", status_code=201, response_model=Envelope[Document])
def create_user(body: UserCreate, _: Admin, app: AppContainer) -> Any:
    user_id = app.people.create_user(_lower_refs(body.model_dump(exclude_none=True)))
    doc = _user(app, user_id)
    keys = ("userId", "fullName", "email", "mobile", "role", "category", "subcategory", "status", "createdAt")
    return ok("User created successfully", {"id": user_id, **{key: doc.get(key) for key in keys}}, 201)


@router.patch("/{id}", response_model=Envelope[Document])
def update_user(id: ObjectIdPath, body: UserUpdate, _: Admin, app: AppContainer) -> Any:
    app.people.update_user(id, _lower_refs(body.given()))
    return ok("User updated successfully", _user(app, id))


@router.delete("/{id}", response_model=Envelope[dict[str, str]])
def delete_user(id: ObjectIdPath, who: Admin, app: AppContainer) -> Any:
    return ok("User deleted successfully", app.people.delete_user(id, who.id, who.role))
