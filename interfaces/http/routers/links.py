"""`/client-consultants` (people.md §2.4): client-consultant links. Active links are "a
consultant's clients" everywhere (this list, the batch counts, `clientsCount`, direct booking)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi import Body as BodyParam

from application.links import Actor
from domain.ids import is_object_id
from domain.profiles import PUBLIC_CONSULTANT_FIELDS
from interfaces.http.deps import AppContainer, Principal, require
from interfaces.http.envelope import ERROR_RESPONSES, Document, Envelope, ok
from interfaces.http.errors import ApiError

router = APIRouter(prefix="/client-consultants", tags=["client-consultants"], responses=ERROR_RESPONSES)
Anyone = Annotated[Principal, Depends(require("Admin", "Consultant", "Client"))]
Manager = Annotated[Principal, Depends(require("Admin", "Consultant"))]
SECRETS = ("password", "otp", "otpExpires", "resetPasswordToken", "resetPasswordExpire", "raw")
RELATIONSHIP_ID = "Relationship id is required and must be a valid id"
ListData = Envelope[dict[str, Any]]


def _id(value: Any, message: str) -> str:
    if not isinstance(value, str) or not is_object_id(value.lower()):
        raise ApiError(400, message)
    return value.lower()


def client_view(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    if doc is None:
        return None
    return {
        "_id": doc["_id"],
        "fullName": doc.get("fullName") or "",
        "email": doc.get("email") or "",
        "mobile": doc.get("mobile") or "",
        "status": doc.get("status"),
        "avatar": doc.get("avatar") or doc.get("profileImage") or "",
    }


def consultant_view(doc: dict[str, Any] | None, who: Principal) -> dict[str, Any] | None:
    """The consultant DTO of §2.3: the profile without secrets, `category`/`subcategory` as names."""
    if doc is None:
        return None
    base = doc if who.is_admin or who.id == doc["_id"] else {k: doc[k] for k in PUBLIC_CONSULTANT_FIELDS if k in doc}
    out = {k: v for k, v in base.items() if k not in SECRETS}
    name = doc.get("displayName") or doc.get("name") or ""
    for key in ("category", "subcategory"):
        value = doc.get(key)
        out[key] = (value.get("name") or "") if isinstance(value, dict) else (value or "")
    out.update(
        _id=doc["_id"],
        id=doc["_id"],
        name=doc.get("name") or name,
        displayName=name,
        fullName=name,
        email=doc.get("email") or "",
        phone=doc.get("phone") or doc.get("mobile") or "",
        mobile=doc.get("mobile") or doc.get("phone") or "",
        status=doc.get("status"),
    )
    for key in ("fees", "image", "yearsOfExperience", "bioTitle", "about", "languages", "city", "state", "country"):
        out.setdefault(key, doc.get(key))
    out.setdefault("ratingSummary", doc.get("ratingSummary") or {"average": 0, "count": 0})
    out.setdefault("categories", doc.get("categories") or [])
    return out


def _links_view(app: Any, rows: list[Any], who: Principal) -> list[dict[str, Any]]:
    docs = app.links.reads.documents([i for r in rows for i in (r.client_id, r.consultant_id)])
    return [
        {
            **row.document(),
            "client": client_view(docs.get(row.client_id)),
            "consultant": consultant_view(docs.get(row.consultant_id), who),
        }
        for row in rows
    ]


def _link_view(app: Any, link_id: str, who: Principal) -> dict[str, Any]:
    row = app.links.reads.link(link_id)
    return _links_view(app, [row], who)[0] if row else {"_id": link_id}


@router.post("/link", response_model=Envelope[Document])
def link(who: Manager, app: AppContainer, body: Annotated[dict[str, Any], BodyParam()]) -> Any:
    client_id = _id(body.get("clientId"), "Client ID is required and must be a valid id")
    consultant_id = _id(body.get("consultantId"), "Consultant ID is required and must be a valid id")
    notes = body.get("notes") if isinstance(body.get("notes"), str) else ""
    if len(notes) > 2000 or "\x00" in notes:
        raise ApiError(400, "Notes must be text of at most 2000 characters")
    link_id = app.links.link(Actor(who.id, who.role), client_id, consultant_id, notes)
    return ok("Client-consultant relationship created/updated", _link_view(app, link_id, who))


@router.get("", response_model=ListData)
def list_links(
    who: Manager,
    app: AppContainer,
    clientId: Annotated[str | None, Query()] = None,
    consultantId: Annotated[str | None, Query()] = None,
    status: Annotated[str | None, Query(max_length=20)] = None,
) -> Any:
    client = _id(clientId, "clientId is required and must be a valid id") if clientId else None
    consultant = _id(consultantId, "consultantId is required and must be a valid id") if consultantId else None
    if who.role == "Consultant":
        consultant = who.id
    rows = app.links.reads.links(client, consultant, status or None)
    return ok("Relationships fetched successfully", {"data": _links_view(app, rows, who), "total": len(rows)})


@router.get("/client/{clientId}/consultants", response_model=ListData)
def consultants_of_client(
    clientId: str, who: Anyone, app: AppContainer, live: Annotated[str | None, Query()] = None
) -> Any:
    client_id = _id(clientId, "Client ID is required and must be a valid id")
    reads = app.links.reads
    if who.role == "Client" and who.id != client_id:
        raise ApiError(403, "Not authorized")
    if who.role == "Consultant" and not reads.links(client_id, who.id, "Active"):
        raise ApiError(403, "Not authorized")
    if live == "true":
        ids = reads.live_consultant_ids(client_id)
    else:
        ids = [row.consultant_id for row in reads.links(client_id, None, "Active")]
    if who.role == "Consultant":  # another consultant's clients are none of its business
        ids = [i for i in ids if i == who.id]
    docs = reads.documents(ids)
    shown = [consultant_view(docs[i], who) for i in ids if i in docs]
    return ok("Consultants fetched successfully", {"data": shown, "total": len(shown)})


@router.get("/consultant/{consultantId}/clients", response_model=ListData)
def clients_of_consultant(consultantId: str, who: Manager, app: AppContainer) -> Any:
    consultant_id = _id(consultantId, "Consultant ID is required and must be a valid id")
    if who.role == "Consultant" and who.id != consultant_id:
        raise ApiError(403, "Not authorized")
    reads = app.links.reads
    if not reads.documents([consultant_id]):
        raise ApiError(404, "Consultant not found")
    rows = reads.links(None, consultant_id, "Active")
    docs = reads.documents([row.client_id for row in rows])
    sessions = reads.sessions(consultant_id)
    shown = []
    for row in rows:
        doc = docs.get(row.client_id)
        if doc is None:
            continue
        count, last = sessions.get(row.client_id, (0, None))
        shown.append(
            {
                **(client_view(doc) or {}),
                "createdAt": doc.get("createdAt"),
                "sessions": count,
                "lastSessionDate": reads.business_date(last) if last else None,
                "lastSessionAt": last.isoformat().replace("+00:00", "Z") if last else None,
            }
        )
    return ok("Clients fetched successfully", {"data": shown, "total": len(shown)})


@router.post("/batch-client-counts", response_model=Envelope[dict[str, int]])
def batch_client_counts(who: Manager, app: AppContainer, body: Annotated[Any, BodyParam()] = None) -> Any:
    asked = body.get("consultantIds") if isinstance(body, dict) else None
    if not isinstance(asked, list):
        return ok("Client counts fetched", {})
    ids = list(dict.fromkeys(i.lower() for i in asked if isinstance(i, str) and is_object_id(i.lower())))[:1000]
    counts = app.directory.clients_counts(ids)
    return ok("Client counts fetched", {i: counts.get(i, 0) for i in ids})


@router.patch("/{id}/status", response_model=Envelope[Document])
def set_status(id: str, who: Manager, app: AppContainer, body: Annotated[Any, BodyParam()] = None) -> Any:
    link_id = _id(id, RELATIONSHIP_ID)
    status = body.get("status") if isinstance(body, dict) else None
    app.links.set_status(Actor(who.id, who.role), link_id, status)
    return ok("Relationship status updated", _link_view(app, link_id, who))


@router.delete("/{id}")
def remove(id: str, who: Anyone, app: AppContainer) -> Any:
    app.links.remove(Actor(who.id, who.role), _id(id, RELATIONSHIP_ID))
    return ok("Client-consultant relationship removed")
