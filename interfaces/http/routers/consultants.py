"""`/consultants` (contract auth §6.1, §6.3) with the ownership and role decisions of CONTRACT.md."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from domain.errors import Forbidden, NotFound
from domain.profiles import PUBLIC_CONSULTANT_FIELDS
from interfaces.http.deps import AppContainer, ObjectIdPath, Principal, require
from interfaces.http.envelope import ERROR_RESPONSES, Document, Envelope, ok
from interfaces.http.fields import Body, Currency, Email, PartialBody, length
from interfaces.http.money import AmountNumber, ExactJsonRoute
from interfaces.http.routers.auth import CategoryEntry

router = APIRouter(prefix="/consultants", tags=["consultants"], responses=ERROR_RESPONSES, route_class=ExactJsonRoute)
Admin = Annotated[Principal, Depends(require("Admin"))]
Member = Annotated[Principal, Depends(require("Admin", "Consultant", "Client"))]
AdminOrConsultant = Annotated[Principal, Depends(require("Admin", "Consultant"))]
Status = Literal["Active", "Approved", "Pending", "Rejected", "Blocked", "Inactive", "Archived"]
NULL_WHEN_EMPTY = ("image", "bioTitle", "about", "city", "state")


class CategoryObject(Body):
    nullable = frozenset({"description", "imageUrl"})

    name: Annotated[str, length(1, 100, "category.name")]
    description: str | None = ""
    imageUrl: str | None = ""


class Education(Body):
    institute: str = ""
    qualification: str = ""
    startYear: str | int = ""
    endYear: str | int = ""
    year: str | int = ""
    description: str = ""


class Experience(Body):
    company: str = ""
    role: str = ""
    startYear: str | int = ""
    endYear: str | int = ""
    years: str | int = ""
    year: str | int = ""
    description: str = ""


class Award(Body):
    title: str = ""
    year: str | int = ""
    desc: str = ""


class Commission(Body):
    platformPercent: Annotated[float, Field(ge=0, le=100)] = 0
    minDurationMin: Annotated[int, Field(ge=0)] = 30
    maxDurationMin: Annotated[int, Field(ge=0)] = 180
    cancellationWindowHours: Annotated[float, Field(ge=0)] = 24


class ConsultantFields(Body):
    # optional profile text the detail view answers as null (and the profile form may send back), and
    # `name`/`displayName`, which the store derives from each other; contact, category, money and
    # status fields refuse null (and `firstName`/`lastName`, which would be joined as text)
    nullable = frozenset(
        {
            "name",
            "displayName",
            "alternatePhone",
            "subcategory",
            "tags",
            "regNo",
            "gender",
            "bioTitle",
            "languages",
            "about",
            "image",
            "socials",
            "address",
            "country",
            "state",
            "city",
            "pincode",
            "education",
            "experiences",
            "awards",
            "marketingConsent",
            "dataProcessingConsent",
        }
    )
    name: Annotated[str, length(2, 100, "name")] | None = None
    firstName: Annotated[str, Field(max_length=80)] | None = None  # "first last" fits the 200-character name
    lastName: Annotated[str, Field(max_length=80)] | None = None
    displayName: Annotated[str, length(1, 100, "displayName")] | None = None
    email: Email | None = None
    phone: Annotated[str, length(6, 30, "phone")] | None = None
    mobile: Annotated[str, length(6, 30, "mobile")] | None = None
    alternatePhone: str | None = None
    category: Annotated[str, length(2, 100, "category")] | CategoryObject | None = None
    subcategory: Annotated[str, length(0, 100, "subcategory")] | CategoryObject | None = None
    tags: list[str] | str | None = None
    regNo: str | None = None
    fees: AmountNumber | None = None
    currency: Currency | None = None
    gender: str | None = None
    yearsOfExperience: Annotated[float, Field(ge=0)] | None = None
    bioTitle: str | None = None
    languages: list[str] | str | None = None
    about: str | None = None
    image: str | None = None
    socials: dict[str, str] | None = None
    address: str | None = None
    country: str | None = None
    state: str | None = None
    city: str | None = None
    pincode: str | None = None
    education: list[Education] | None = None
    experiences: list[Experience] | None = None
    awards: list[Award] | None = None
    commission: Commission | None = None
    status: Status | None = None
    marketingConsent: bool | None = None
    dataProcessingConsent: bool | None = None

    @field_validator("fees", mode="before")
    @classmethod
    def _fees_not_null(cls, value: Any) -> Any:
        if value is None:  # a price is a number; null would reach every booking's fee
            raise PydanticCustomError("not_null", '"fees" must be a number')
        return value

    def fields(self) -> dict[str, Any]:
        data = self.model_dump(exclude_unset=True)
        for key in ("fees", "yearsOfExperience"):
            if isinstance(data.get(key), float) and data[key].is_integer():
                data[key] = int(data[key])
        return data


class ConsultantCreate(ConsultantFields):
    email: Email
    phone: Annotated[str, length(6, 30, "phone")]

    @model_validator(mode="after")
    def _named(self) -> ConsultantCreate:
        if not self.name and not (self.firstName and self.lastName):
            raise ValueError("Provide either name or firstName and lastName")
        return self


class ConsultantUpdate(PartialBody, ConsultantFields):
    categories: list[CategoryEntry] | None = None


def public_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {key: doc[key] for key in PUBLIC_CONSULTANT_FIELDS if key in doc}


def list_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {**doc, "fullName": doc.get("displayName") or doc.get("name") or ""}


def detail_view(doc: dict[str, Any]) -> dict[str, Any]:
    out = {**doc, "fullName": None}
    for key in NULL_WHEN_EMPTY:
        if not out.get(key):
            out[key] = None
    return out


@router.get("/public", response_model=Envelope[list[Document]])
def public_consultants(
    app: AppContainer,
    category: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query()] = None,
) -> Any:
    """Active consultants only (a Pending one is not listed publicly), without private fields."""
    if status not in (None, "Active"):
        return ok("Consultants fetched", [])
    documents = app.directory.public_consultants_json(category, q)  # stored JSON text, spliced as is
    body = '{"success":true,"message":"Consultants fetched","data":[' + ",".join(documents) + "]}"
    return Response(body.encode(), media_type="application/json")


@router.get("", response_model=Envelope[list[Document]])
def list_consultants(
    who: Member,
    app: AppContainer,
    category: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query()] = None,
    q: Annotated[str | None, Query()] = None,
) -> Any:
    """Admins see every consultant in full. Others see Active consultants' public fields, and a
    consultant also its own full record (the profile page finds itself in this list)."""
    if who.is_admin:
        return ok("Consultants fetched", [list_view(doc) for doc in app.directory.consultants(category, status, q)])
    docs = app.directory.consultants(category, status, q)
    shown = []
    for doc in docs:
        if doc["_id"] == who.id:
            shown.append(list_view(doc))
        elif doc.get("status") == "Active":
            shown.append(public_view(list_view(doc)))
    return ok("Consultants fetched", shown)


def _consultant(app: Any, consultant_id: str) -> dict[str, Any]:
    doc = app.directory.document("consultant", consultant_id)
    if doc is None:
        raise NotFound("Consultant not found")
    doc["clientsCount"] = app.directory.clients_counts([consultant_id]).get(consultant_id, 0)
    return doc


@router.get("/{id}", response_model=Envelope[Document])
def get_consultant(id: ObjectIdPath, who: Member, app: AppContainer) -> Any:
    doc = _consultant(app, id)
    if who.is_admin or who.id == id:
        return ok("Consultant fetched", detail_view(doc))
    if doc.get("status") != "Active":
        raise NotFound("Consultant not found")
    return ok("Consultant fetched", detail_view(public_view(doc)))


@router.post("", status_code=201, response_model=Envelope[Document])
def create_consultant(body: ConsultantCreate, _: Admin, app: AppContainer) -> Any:
    consultant_id = app.people.create_consultant(body.fields())
    return ok("Consultant created", list_view(_consultant(app, consultant_id)), 201)


def _self_or_admin(id: ObjectIdPath, who: AdminOrConsultant) -> Principal:
    """An admin, or the consultant of the path itself: decided before the body is validated."""
    if not who.is_admin and who.id != id:
        raise Forbidden("Forbidden: Access denied")
    return who


SelfOrAdmin = Annotated[Principal, Depends(_self_or_admin)]


@router.patch("/{id}", response_model=Envelope[Document])
def update_consultant(id: ObjectIdPath, who: SelfOrAdmin, body: ConsultantUpdate, app: AppContainer) -> Any:
    changes = body.fields()
    if "categories" in changes:
        changes["categories"] = [entry.model_dump(exclude_none=True) for entry in body.categories or []]
    app.people.update_consultant(id, changes, who.role, who.id)
    return ok("Consultant updated", list_view(_consultant(app, id)))


@router.delete("/{id}", response_model=Envelope[dict[str, str]])
def delete_consultant(id: ObjectIdPath, who: SelfOrAdmin, app: AppContainer) -> Any:
    app.people.delete_consultant(id, who.role, who.id)
    return ok("Consultant deleted", {"deletedId": id})


def _status_route(action: str, message: str) -> None:
    def change_status(id: ObjectIdPath, _: Admin, app: AppContainer) -> Any:
        app.people.set_consultant_status(id, action)
        return ok(message, list_view(_consultant(app, id)))

    change_status.__name__ = f"{action}_consultant"
    router.post(f"/{{id}}/{action}", response_model=Envelope[Document])(change_status)


for _action, _message in (
    ("approve", "Consultant approved"),
    ("reject", "Consultant rejected"),
    ("block", "Consultant blocked"),
    ("unblock", "Consultant unblocked"),
):
    _status_route(_action, _message)
