"""`/clients` (contract auth §6.5): a client's own profile, and the admin's and consultants' views."""

from __future__ import annotations

import math
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from domain.errors import Forbidden, NotFound
from interfaces.http.deps import AppContainer, ObjectIdPath, Principal, require
from interfaces.http.envelope import ERROR_RESPONSES, Document, Envelope, ok
from interfaces.http.fields import Body, Email, FullName, Mobile, Page, PartialBody

router = APIRouter(prefix="/clients", tags=["clients"], responses=ERROR_RESPONSES)
ClientOnly = Annotated[Principal, Depends(require("Client"))]
Admin = Annotated[Principal, Depends(require("Admin"))]
Staff = Annotated[Principal, Depends(require("Admin", "Consultant"))]


class ProfileFields(Body):
    # free text kept only in the client's document; `dob: null` clears the date, `fullName: null` is ignored
    nullable = frozenset(
        {"fullName", "dob", "address", "city", "state", "country", "pincode", "emergencyContact", "avatar"}
    )

    fullName: FullName | None = None
    mobile: Mobile | None = None
    dob: date | None = None
    address: Annotated[str, Field(max_length=500)] | None = None
    city: Annotated[str, Field(max_length=100)] | None = None
    state: Annotated[str, Field(max_length=100)] | None = None
    country: Annotated[str, Field(max_length=100)] | None = None
    pincode: Annotated[str, Field(max_length=20)] | None = None
    emergencyContact: Annotated[str, Field(max_length=50)] | None = None

    def changes(self) -> dict[str, Any]:
        data = self.model_dump(exclude_unset=True)
        if "dob" in data:
            data["dob"] = data["dob"].isoformat() + "T00:00:00.000Z" if data["dob"] else None
        if "fullName" in data and data["fullName"] is None:
            del data["fullName"]
        return data


class OwnProfileUpdate(ProfileFields):
    avatar: str | None = None


class ClientUpdate(PartialBody, ProfileFields):
    email: Email | None = None
    status: Literal["Active", "Inactive", "Blocked", "Pending"] | None = None


def _client(app: Any, client_id: str) -> dict[str, Any]:
    doc = app.directory.document("client", client_id)
    if doc is None:
        raise NotFound("User not found")
    return doc  # type: ignore[no-any-return]


@router.get("/profile", response_model=Envelope[Document])
def my_profile(who: ClientOnly, app: AppContainer) -> Any:
    return ok("Client profile fetched successfully", _client(app, who.id))


@router.patch("/profile", response_model=Envelope[Document])
def update_my_profile(body: OwnProfileUpdate, who: ClientOnly, app: AppContainer) -> Any:
    app.people.update_client(who.id, body.changes())
    return ok("Profile updated successfully", _client(app, who.id))


@router.get("", response_model=Envelope[dict[str, Any]])
def list_clients(
    who: Staff,
    app: AppContainer,
    search: Annotated[str | None, Query(max_length=100)] = None,
    status: Annotated[str | None, Query()] = None,
    page: Page = 1,
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> Any:
    """Admins see every client; a consultant sees the clients linked to it."""
    linked_to = None if who.is_admin else who.id
    clients, total = app.directory.clients(search, status, linked_to, page, limit)
    pages = math.ceil(total / limit) if total else 0
    return ok(
        "Clients fetched successfully",
        {"clients": clients, "pagination": {"total": total, "page": page, "pages": pages}},
    )


@router.get("/{id}", response_model=Envelope[Document])
def get_client(id: ObjectIdPath, who: Staff, app: AppContainer) -> Any:
    doc = _client(app, id)
    if not who.is_admin and not app.directory.is_linked(id, who.id):
        raise Forbidden("Forbidden: Access denied")
    return ok("Client profile fetched successfully", doc)


@router.patch("/{id}", response_model=Envelope[Document])
def update_client(id: ObjectIdPath, body: ClientUpdate, _: Admin, app: AppContainer) -> Any:
    app.people.update_client(id, body.changes())
    return ok("Client updated successfully", _client(app, id))
