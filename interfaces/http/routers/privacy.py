"""Privacy routes (contract people §4): the export of one's data (right of access), consent preferences
and account deletion (right to erasure: "erase the person, keep the ledger", CONTRACT.md).

Registered before the `/consultants` and `/users` routers: `DELETE /consultants/me` and
`DELETE /users/profile` must win over their `/{id}` routes."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from infrastructure.bootstrap import Container
from infrastructure.privacy_export import export
from interfaces.http.deps import AppContainer, Principal, require
from interfaces.http.envelope import ERROR_RESPONSES, Envelope, ok
from interfaces.http.fields import Body, PartialBody

router = APIRouter(tags=["privacy"], responses=ERROR_RESPONSES)
ClientOnly = Annotated[Principal, Depends(require("Client"))]
ConsultantOnly = Annotated[Principal, Depends(require("Consultant"))]
Staff = Annotated[Principal, Depends(require("Admin", "Employee"))]
DELETED = "Your account and all associated data have been permanently deleted."
EXPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The export itself (no envelope), as an attachment `my-data-export-<epoch ms>.json`",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}


def _boolean(value: Any) -> Any:
    """Booleans, and the strings "true"/"false" (the original's validator converts them)."""
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise PydanticCustomError("boolean", "must be a boolean")


Flag = Annotated[bool, BeforeValidator(_boolean)]


class ConsentBody(PartialBody):
    marketingConsent: Flag | None = None
    dataProcessingConsent: Flag | None = None


class DeleteBody(Body):
    password: str | None = None


def _export(app: Container, who: Principal) -> JSONResponse:
    document = export(app.engine, who.id, who.kind, who.role)
    for item in document.get("documents") or []:  # a download link of the person's own copy (1 hour)
        item["fileUrl"] = app.signer.signed(item["fileKey"], item.get("originalFileName") or item.get("fileName") or "")
    filename = f"my-data-export-{int(time.time() * 1000)}.json"
    return JSONResponse(document, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _consent(app: Container, who: Principal, body: ConsentBody) -> Any:
    assert app.privacy is not None
    changes = {k: v for k, v in body.given().items() if v is not None}
    return ok("Consent preferences updated", app.privacy.set_consent(who.id, who.kind, changes))


def _delete(app: Container, who: Principal, body: DeleteBody | None) -> Any:
    assert app.privacy is not None
    app.privacy.erase(who.id, who.kind, who.role, body.password if body else None)
    return ok(DELETED)


# -- export -----------------------------------------------------------------------------------------


@router.get("/clients/profile/export", responses=EXPORT_RESPONSES, response_class=JSONResponse)
def export_client(who: ClientOnly, app: AppContainer) -> JSONResponse:
    """`exportedAt`, `profile`, `appointments`, `documents`, `transactions` (+ `notifications`, `consents`)."""
    return _export(app, who)


@router.get("/consultants/me/export", responses=EXPORT_RESPONSES, response_class=JSONResponse)
def export_consultant(who: ConsultantOnly, app: AppContainer) -> JSONResponse:
    """`exportedAt`, `profile`, `appointments`, `documents`, `transactions`, `settings` (+ `notifications`, `consents`)."""
    return _export(app, who)


@router.get("/users/profile/export", responses=EXPORT_RESPONSES, response_class=JSONResponse)
def export_user(who: Staff, app: AppContainer) -> JSONResponse:
    """`exportedAt`, `profile`, `adminSettings`, `notifications`."""
    return _export(app, who)


# -- consent ----------------------------------------------------------------------------------------


@router.patch("/clients/profile/consent", response_model=Envelope[dict[str, bool]])
def client_consent(body: ConsentBody, who: ClientOnly, app: AppContainer) -> Any:
    return _consent(app, who, body)


@router.patch("/consultants/me/consent", response_model=Envelope[dict[str, bool]])
def consultant_consent(body: ConsentBody, who: ConsultantOnly, app: AppContainer) -> Any:
    return _consent(app, who, body)


# -- erasure ----------------------------------------------------------------------------------------


@router.delete("/clients/profile", response_model=Envelope[None])
def delete_client(who: ClientOnly, app: AppContainer, body: DeleteBody | None = None) -> Any:
    """Password-confirmed erasure: 400 `Password is required to delete your account` / `Invalid password`."""
    return _delete(app, who, body)


@router.delete("/consultants/me", response_model=Envelope[None])
def delete_consultant(who: ConsultantOnly, app: AppContainer, body: DeleteBody | None = None) -> Any:
    """Password-confirmed erasure; the consultant's upcoming sessions are cancelled and refunded in full."""
    return _delete(app, who, body)


@router.delete("/users/profile", response_model=Envelope[None])
def delete_user(who: Staff, app: AppContainer, body: DeleteBody | None = None) -> Any:
    """Password-confirmed erasure; 409 `Cannot delete the last admin account` for the last Active admin."""
    return _delete(app, who, body)
