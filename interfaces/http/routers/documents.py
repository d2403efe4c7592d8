"""`/documents` (contract platform §4): documents shared between a client and a consultant.

Reads answer the read model with the parties populated and a signed, expiring `fileUrl` that opens
in a new tab without any header; writes are events on the document's aggregate."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from domain.documents import DOCUMENT_TYPES, STATUSES
from domain.errors import Forbidden, Invalid, NotFound
from domain.ids import is_object_id
from interfaces.http.deps import AppContainer, CurrentUser, ObjectIdPath, Principal, require
from interfaces.http.envelope import ERROR_RESPONSES, Envelope, ok
from interfaces.http.fields import Body, ObjectIdStr, PartialBody, rule

router = APIRouter(prefix="/documents", tags=["documents"], responses=ERROR_RESPONSES)
# Employees read but write nothing (CONTRACT.md "Roles"); refused before the body is validated
Writer = Annotated[Principal, Depends(require("Client", "Consultant", "Admin"))]

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
DocumentType = Annotated[
    str, rule(lambda v: v in DOCUMENT_TYPES, f'"type" must be one of [{", ".join(DOCUMENT_TYPES)}]')
]
Status = Annotated[str, rule(lambda v: v in STATUSES, f'"status" must be one of [{", ".join(STATUSES)}]')]
Description = Annotated[str, StringConstraints(max_length=500)]
Id = Annotated[ObjectIdStr, AfterValidator(str.lower)]
FileUrl = Annotated[
    str,
    rule(
        lambda v: len(v) >= 10 and v.lower().startswith(("http://", "https://")),
        "fileUrl must be a valid http or https URL",
    ),
    StringConstraints(max_length=2000),
]
Text = Annotated[str, StringConstraints(max_length=255)]


class NewDocument(Body):
    title: Title
    type: DocumentType
    client: Id | None = None
    consultant: Id | None = None
    appointment: Annotated[Id | None, BeforeValidator(lambda v: None if v == "" else v)] = None
    description: Description | None = None
    fileUrl: FileUrl
    fileKey: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    fileName: Text | None = None
    originalFileName: Text | None = None
    mimeType: Text | None = None
    fileSize: Annotated[float, Field(ge=0)] | None = None


class DocumentChanges(PartialBody):
    title: Title | None = None
    type: DocumentType | None = None
    description: Description | None = None
    status: Status | None = None


@router.get("/types", response_model=Envelope[dict[str, Any]])
def document_types(who: CurrentUser) -> Any:
    return ok("Document types fetched successfully", {"types": list(DOCUMENT_TYPES)})


def _whole(name: str, value: str | None, default: int, errors: list[dict[str, str]]) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value.strip())
    except ValueError:
        number = 0
    if number < 1 and (name == "page" or not value.strip().lstrip("+-").isdigit()):
        errors.append({"field": name, "message": f'"{name}" must be a positive integer'})
    return number


@router.get("", response_model=Envelope[dict[str, Any]])
def list_documents(
    who: CurrentUser,
    app: AppContainer,
    client: str | None = None,
    consultant: str | None = None,
    appointment: str | None = None,
    type: Annotated[str | None, Field(max_length=50)] = None,
    status: Annotated[str | None, Field(max_length=20)] = None,
    page: str | None = None,
    limit: str | None = None,
) -> Any:
    """Client: its own documents; Consultant: its own (narrow with `client`); Admin, Employee: all.
    Deleted documents only with `status=Deleted`; newest first; `limit` clamped to 1..100."""
    errors: list[dict[str, str]] = []
    for name, value in (("client", client), ("consultant", consultant), ("appointment", appointment)):
        if value and not is_object_id(value.lower()):
            errors.append({"field": name, "message": f'"{name}" must be a valid 24-character hex id'})
    page_number = _whole("page", page, 1, errors)
    size = _whole("limit", limit, 20, errors)
    if errors:
        raise Invalid("Validation failed", errors)
    size = min(max(size, 1), 100)
    clients, consultants = (client or None), (consultant or None)
    if who.role == "Client":
        clients, consultants = who.id, None
    elif who.role == "Consultant":
        consultants = who.id
    found, total = app.document_queries.list(  # type: ignore[union-attr]
        client=clients.lower() if clients else None,
        consultant=consultants.lower() if consultants else None,
        appointment=appointment.lower() if appointment else None,
        type=type or None,
        status=status or None,
        page=page_number,
        limit=size,
    )
    pagination = {"page": page_number, "limit": size, "total": total, "pages": math.ceil(total / size)}
    return ok("Documents fetched successfully", {"documents": found, "pagination": pagination})


def _readable(app: Any, document_id: str, who: Any) -> dict[str, Any]:
    found = app.document_queries.one(document_id)
    if found is None:
        raise NotFound("Document not found")
    party = {"Client": found["client"]["_id"], "Consultant": found["consultant"]["_id"]}.get(who.role)
    if who.role not in ("Admin", "Employee") and party != who.id:
        raise Forbidden("Unauthorized to access this document")
    return found  # type: ignore[no-any-return]


@router.get("/{document_id}", response_model=Envelope[dict[str, Any]])
def get_document(document_id: ObjectIdPath, who: CurrentUser, app: AppContainer) -> Any:
    return ok("Document fetched successfully", _readable(app, document_id, who))


@router.post("", status_code=201, response_model=Envelope[dict[str, Any]])
def create_document(body: NewDocument, who: Writer, app: AppContainer) -> Any:
    """After `POST /upload/document`: `fileKey` must be the caller's own upload; size and type are
    the stored file's. A Client names the `consultant`, a Consultant the `client`, an Admin both."""
    document_id = app.documents.create(who.id, who.role, body.given())  # type: ignore[union-attr]
    created = app.document_queries.one(document_id, with_appointment=False)  # type: ignore[union-attr]
    return ok("Document created successfully", created, status=201)


def _updatable(document_id: ObjectIdPath, who: Writer, app: AppContainer) -> Principal:
    """The uploader or an Admin: decided (404, else 403) before the body is validated."""
    app.documents.authorize(document_id, who.id, who.role, "update")  # type: ignore[union-attr]
    return who


@router.patch("/{document_id}", response_model=Envelope[dict[str, Any]])
def update_document(
    document_id: ObjectIdPath, who: Annotated[Principal, Depends(_updatable)], body: DocumentChanges, app: AppContainer
) -> Any:
    """The uploader or an Admin: `title`, `type`, `description`, `status`."""
    changes = {k: v for k, v in body.given().items() if v is not None}
    app.documents.update(document_id, who.id, who.role, changes)  # type: ignore[union-attr]
    return ok("Document updated successfully", app.document_queries.one(document_id))  # type: ignore[union-attr]


@router.delete("/{document_id}", response_model=Envelope[dict[str, Any]])
def delete_document(document_id: ObjectIdPath, who: Writer, app: AppContainer) -> Any:
    """The uploader or an Admin; the stored file is removed too (its URLs then answer 404)."""
    app.documents.delete(document_id, who.id, who.role)  # type: ignore[union-attr]
    return ok("Document deleted successfully", {"deletedId": document_id})
