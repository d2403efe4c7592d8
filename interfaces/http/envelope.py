"""The response envelope `{success, message, data}` and the error bodies of the contract."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from infrastructure.json_text import dumps_bytes

T = TypeVar("T")


class CompactJSONResponse(JSONResponse):
    """Compact UTF-8 JSON (`infrastructure.json_text`: a NaN or infinite float is written `null`)."""

    def render(self, content: Any) -> bytes:
        return dumps_bytes(content)


def ok(message: str, data: Any = None, status: int = 200) -> CompactJSONResponse:
    body: dict[str, Any] = {"success": True, "message": message}
    if data is not None:
        body["data"] = data
    return CompactJSONResponse(body, status_code=status)


def fail(status: int, message: str, errors: Any = None, headers: dict[str, str] | None = None) -> CompactJSONResponse:
    body: dict[str, Any] = {"success": False, "message": message}
    if errors is not None:
        body["errors"] = errors
    return CompactJSONResponse(body, status_code=status, headers=headers)


class Envelope(BaseModel, Generic[T]):
    """Documentation model of every success answer."""

    model_config = ConfigDict(extra="allow")
    success: bool = True
    message: str
    data: T | None = None


class ErrorBody(BaseModel):
    success: bool = False
    message: str
    errors: list[dict[str, str]] | None = None


class Document(BaseModel):
    """A stored document (consultant, client, user, category): `_id` plus the contract's fields."""

    model_config = ConfigDict(extra="allow")


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Validation failed or bad input"},
    401: {"model": ErrorBody, "description": "Missing or invalid token"},
    403: {"model": ErrorBody, "description": "Role, ownership or account status refused"},
    404: {"model": ErrorBody, "description": "Not found"},
    409: {"model": ErrorBody, "description": "Conflict (duplicate)"},
    429: {"model": ErrorBody, "description": "Rate limited"},
}
