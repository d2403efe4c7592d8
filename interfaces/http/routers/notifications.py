"""`/notifications` (people.md §1.3): the inbox of Admins, Consultants and Clients."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Body as BodyParam
from pydantic import Field

from application.inbox import Reader
from domain.accounts import account_status_refusal
from infrastructure.directory_projection import iso_utc
from infrastructure.inbox_queries import SORTABLE, status_and_unread_plan
from interfaces.http.deps import (
    KIND_OF_ROLE,
    AppContainer,
    ObjectIdPath,
    Principal,
    bearer_token,
    read_model,
    require,
)
from interfaces.http.envelope import ERROR_RESPONSES, Document, Envelope, ok
from interfaces.http.errors import ApiError
from interfaces.http.fields import HEX24, Body, ObjectIdStr

router = APIRouter(prefix="/notifications", tags=["notifications"], responses=ERROR_RESPONSES)
MEMBER_ROLES = ("Admin", "Consultant", "Client")
Member = Annotated[Principal, Depends(require(*MEMBER_ROLES))]
Admin = Annotated[Principal, Depends(require("Admin"))]
Consultant = Annotated[Principal, Depends(require("Consultant"))]

Kind = Literal["system", "appointment", "registration", "payment", "message", "reminder", "alert", "other"]
Category = Literal["general", "appointments", "payments", "messages", "system", "reminders"]
Priority = Literal["low", "normal", "high", "urgent"]
Role = Literal["Admin", "Consultant", "Client"]
RelatedType = Literal["appointment", "payment", "user", "document", "other"]
Text = Annotated[str, Field(min_length=1, max_length=5000)]
Link = Annotated[str, Field(max_length=2000)]


class NotificationCreate(Body):
    name: Text
    message: Text
    recipient: ObjectIdStr | None = None
    recipientRole: Role | None = None
    isGlobal: bool = False
    type: Kind = "other"
    category: Category = "general"
    priority: Priority = "normal"
    actionUrl: Link = ""
    actionLabel: Link = ""
    avatar: Link = ""
    relatedId: ObjectIdStr | None = None
    relatedType: RelatedType | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    expiresAt: datetime | None = None


class PageData(Body):
    data: list[Document]
    pagination: dict[str, int]
    unreadCount: int


class Group(Body):
    id: str = Field(alias="_id")
    count: int
    unreadCount: int
    latest: str


def _reader(who: Principal) -> Reader:
    return Reader(who.id, who.role)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


@router.get("", response_model=Envelope[PageData])
def list_notifications(
    who: Member,
    app: AppContainer,
    page: Annotated[str | None, Query()] = None,
    limit: Annotated[str | None, Query()] = None,
    category: Annotated[str | None, Query(max_length=50)] = None,
    type: Annotated[str | None, Query(max_length=50)] = None,
    priority: Annotated[str | None, Query(max_length=50)] = None,
    read: Annotated[str | None, Query()] = None,
    sortBy: Annotated[str | None, Query()] = None,
    sortOrder: Annotated[str | None, Query()] = None,
) -> Any:
    number = min(max(_int(page, 1), 1), 1_000_000)
    size = min(max(_int(limit, 20), 1), 100)
    filters = {
        "category": category,
        "type": type,
        "priority": priority,
        "read": {"true": True, "false": False}.get(read or ""),
    }
    sort = sortBy if sortBy in SORTABLE or sortBy == "read" else "createdAt"
    items, pagination, unread = app.inbox.reads.page(who.id, who.role, filters, sort, sortOrder == "asc", number, size)
    return ok("Notifications fetched", {"data": items, "pagination": pagination, "unreadCount": unread})


@router.get("/unread-count", response_model=Envelope[dict[str, int]])
async def unread_count(request: Request, app: AppContainer) -> Any:
    """The bell's badge, polled on every page: the caller's account status and its unread count come
    from ONE statement (the counters the projection keeps, never a scan of the inbox). The checks
    are those of `deps.current_principal` and `require`, in the same order, with the same answers."""
    token = bearer_token(request)
    if not token:
        raise ApiError(401, "Access denied. No token provided.")
    claims = app.tokens.read_access_token(token)
    if claims is None:
        raise ApiError(401, "Invalid or expired token")
    reader, role = str(claims["id"]), str(claims["role"])
    found = await read_model(app, status_and_unread_plan(reader, role, datetime.now(UTC)))
    kind = KIND_OF_ROLE.get(role)
    if found is None or found[0] != kind:  # deleted account, or a token of another store
        raise ApiError(401, "Invalid or expired token")
    refusal = account_status_refusal(kind, found[1])
    if refusal:
        raise ApiError(403, refusal)
    if role not in MEMBER_ROLES:
        raise ApiError(403, "Forbidden: Access denied")
    return ok("Unread count fetched", {"count": found[2]})


@router.get("/grouped", response_model=Envelope[list[Group]])
def grouped(who: Member, app: AppContainer) -> Any:
    return ok("Grouped notifications fetched", app.inbox.reads.grouped(who.id, who.role))


def _stored(app: Any, notification_id: str, who: Principal) -> dict[str, Any]:
    found = app.inbox.reads.find(notification_id, who.id, who.role)
    return found.document if found is not None else {"_id": notification_id}


@router.post("", status_code=201, response_model=Envelope[Document])
def create(body: NotificationCreate, who: Admin, app: AppContainer) -> Any:
    if not body.recipient and not body.recipientRole and not body.isGlobal:
        raise ApiError(400, "Must specify recipient, recipientRole, or isGlobal")
    content = body.model_dump()
    content["recipient"] = content["recipient"].lower() if content["recipient"] else None
    if body.expiresAt is not None:
        content["expiresAt"] = iso_utc(body.expiresAt)  # as every date of the documents
    notification_id = app.inbox.send(_reader(who), content)
    found = app.inbox.reads.find(notification_id, content["recipient"] or who.id, body.recipientRole or who.role)
    return ok("Notification created", found.document if found else {"_id": notification_id}, 201)


@router.post("/consultant/send", status_code=201, response_model=Envelope[Document])
def consultant_send(who: Consultant, app: AppContainer, body: Annotated[dict[str, Any], BodyParam()]) -> Any:
    name, message, recipient = body.get("name"), body.get("message"), body.get("recipient")
    if not isinstance(name, str) or not name.strip() or not isinstance(message, str) or not message.strip():
        raise ApiError(400, "Name and message are required")
    if not recipient:
        raise ApiError(400, "Recipient client ID is required")
    if not isinstance(recipient, str) or not HEX24.match(recipient):
        raise ApiError(400, "Recipient client ID must be a valid id")
    content: dict[str, Any] = {"name": name, "message": message, "type": "message", "category": "messages"}
    enums = {"type": Kind, "category": Category, "priority": Priority}
    for key, allowed in enums.items():
        if key in body and body[key] is not None:
            if body[key] not in allowed.__args__:  # type: ignore[attr-defined]
                raise ApiError(400, f"{key} must be one of {', '.join(allowed.__args__)}")  # type: ignore[attr-defined]
            content[key] = body[key]
    for key in ("actionUrl", "actionLabel", "avatar"):
        content[key] = body[key] if isinstance(body.get(key), str) else ""
    if len(name) > 5000 or len(message) > 5000 or "\x00" in name + message:
        raise ApiError(400, "Name and message must be text of at most 5000 characters")
    notification_id = app.inbox.send_to_client(_reader(who), recipient.lower(), content)
    found = app.inbox.reads.find(notification_id, recipient.lower(), "Client")
    return ok("Notification sent to client", found.document if found else {"_id": notification_id}, 201)


@router.post("/mark-all-read", response_model=Envelope[dict[str, int]])
def mark_all_read(who: Member, app: AppContainer) -> Any:
    return ok("All notifications marked as read", {"modifiedCount": app.inbox.mark_all_read(_reader(who))})


@router.patch("/{id}/read", response_model=Envelope[Document])
def mark_read(id: ObjectIdPath, who: Member, app: AppContainer) -> Any:
    app.inbox.mark_read(_reader(who), id)
    return ok("Notification marked as read", _stored(app, id, who))


@router.delete("/all", response_model=Envelope[dict[str, int]])
def delete_all(who: Member, app: AppContainer) -> Any:
    return ok("Your notifications deleted", {"deletedCount": app.inbox.delete_all(_reader(who))})


@router.delete("/{id}", response_model=Envelope[dict[str, str]])
def delete_one(id: ObjectIdPath, who: Member, app: AppContainer) -> Any:
    app.inbox.delete(_reader(who), id)
    return ok("Notification deleted", {"deletedId": id})
