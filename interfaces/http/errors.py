"""Exception handlers: every failure leaves as the contract's JSON body, never as a stack trace."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from application.ports import ChangeNotApplied
from domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Invalid,
    NotAuthenticated,
    NotFound,
    TooManyRequests,
    Unavailable,
)
from domain.files import BadKey, Key, parse_key
from domain.video import NotConfigured, UpstreamFailed
from interfaces.http.envelope import fail
from interfaces.http.fields import Body

log = logging.getLogger(__name__)

# Texts of the existing backend for a missing field, where it had its own.
REQUIRED_MESSAGES = {
    "mobile": "Mobile number is required",
    "email": "Email is required",
    "password": "Password is required",
    "fullName": "Full name is required",
    "otp": "OTP is required",
    "role": "Role is required",
    "title": "Title is required",
}


UNION_TAGS = frozenset({"str", "constrained-str", "int", "float", "bool", "dict", "list", "none", "literal"})
TEMPORAL_TAGS = frozenset({"datetime", "date"})  # union members, never a leading field name here


# The one place where an error kind becomes an HTTP status (the domain and application layers raise
# kinds, never codes). A subclass takes its nearest listed ancestor's status (`KeyTaken` is a Conflict).
STATUS_OF_ERROR: dict[type[DomainError], int] = {
    DomainError: 400,
    Invalid: 400,
    NotAuthenticated: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooManyRequests: 429,
    ChangeNotApplied: 500,  # recorded but not applied by a projection: the server's fault
    UpstreamFailed: 502,
    Unavailable: 503,
    NotConfigured: 503,
}


def status_of(error: DomainError) -> int:
    """The HTTP status the contract answers a domain or application error with."""
    for kind in type(error).__mro__:
        if kind in STATUS_OF_ERROR:
            return STATUS_OF_ERROR[kind]
    return 400  # unreachable: every DomainError has DomainError in its mro


class ApiError(Exception):
    """An HTTP refusal raised by the interface layer (auth, roles)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def requested_key(key: str | None) -> Key:
    """A file key a request names (storage proxy, file deletion): 400 when missing, 403 when it is
    off the grammar of `domain.files` (as the original answers)."""
    if not key:
        raise ApiError(400, "File key is required")
    try:
        return parse_key(key)
    except BadKey as bad:
        raise ApiError(403, bad.message) from None


def _body_model_names() -> set[str]:
    names: set[str] = set()
    pending = [Body]
    while pending:
        model = pending.pop()
        names.add(model.__name__)
        pending.extend(model.__subclasses__())
    return names


def field_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    out = []
    models = _body_model_names()
    for error in errors:
        if error.get("type") == "json_invalid":  # its location is a character offset, not a field
            out.append({"field": "", "message": _message(error, [])})
            continue
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
        # pydantic reports a failed union member as an extra location part (a type name, or the
        # class name of a model member such as `category.CategoryObject`): keep the field path
        loc = [
            part
            for index, part in enumerate(loc)
            if part not in UNION_TAGS
            and "[" not in part
            and part not in models
            and not (index and part in TEMPORAL_TAGS)
        ]
        field = ".".join(loc)
        entry = {"field": field, "message": _message(error, loc)}
        if entry not in out:  # the members of a union can fail alike (`from`: a datetime or a date)
            out.append(entry)
    return out


def _message(error: dict[str, Any], loc: list[str]) -> str:
    kind = error.get("type", "")
    name = loc[-1] if loc else "value"
    label = f'"{".".join(loc) or "value"}"'
    if kind == "missing":
        return REQUIRED_MESSAGES.get(name, f"{label} is required")
    if kind == "json_invalid":
        return "Malformed JSON body"
    if kind in ("model_attributes_type", "dict_type", "model_type"):
        return f"{label} must be an object"
    if kind == "string_type":
        return f"{label} must be a string"
    if kind in ("int_type", "int_parsing", "float_type", "float_parsing", "int_from_float"):
        return f"{label} must be a number"
    if kind in ("bool_type", "bool_parsing"):
        return f"{label} must be a boolean"
    if kind == "list_type":
        return f"{label} must be an array"
    if kind in (
        "datetime_type",
        "datetime_parsing",
        "datetime_from_date_parsing",
        "datetime_object_invalid",
        "date_type",
        "date_parsing",
        "date_from_datetime_parsing",
        "date_from_datetime_inexact",
    ):
        return f"{label} must be a valid date"
    if kind == "timezone_aware":
        return f"{label} must be a valid date with a time zone offset"
    ctx = error.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        if name in ("id", "consultantId", "categoryId", "parentCategory"):
            return f"{label} must be a valid 24-character hex id"
        return f'{label} with value "{error.get("input")}" fails to match the required pattern: /{ctx.get("pattern")}/'
    if kind in ("greater_than_equal", "greater_than"):
        return f"{label} must be greater than or equal to {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"{label} must be less than or equal to {ctx.get('le', ctx.get('lt'))}"
    if kind == "string_too_long":
        return f"{label} length must be less than or equal to {ctx.get('max_length')} characters long"
    if kind == "string_too_short":
        return f"{label} length must be at least {ctx.get('min_length')} characters long"
    if kind == "too_long":
        return f"{label} must contain less than or equal to {ctx.get('max_length')} items"
    if kind == "finite_number":
        return f"{label} must be a finite number"
    if kind == "decimal_max_places":
        return f"{label} must have at most {ctx.get('decimal_places')} decimals"
    if kind in ("literal_error", "enum"):
        return f"{label} must be one of {ctx.get('expected', '')}"
    message = str(error.get("msg", "Invalid value"))
    return message.removeprefix("Value error, ")


def install(app: FastAPI, *, joined_message_prefixes: tuple[str, ...] = ()) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, error: DomainError):  # type: ignore[no-untyped-def]
        return fail(status_of(error), error.message, error.errors)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, error: ApiError):  # type: ignore[no-untyped-def]
        return fail(error.status, error.message)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError):  # type: ignore[no-untyped-def]
        errors = field_errors(list(error.errors()))
        if any(request.url.path.startswith(prefix) for prefix in joined_message_prefixes):
            return fail(400, ", ".join(e["message"] for e in errors), errors)
        return fail(400, "Validation failed", errors)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException):  # type: ignore[no-untyped-def]
        if error.status_code in (404, 405):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return fail(404, f"Route {target} not found")
        return fail(error.status_code, str(error.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception):  # type: ignore[no-untyped-def]
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return fail(500, "Something went wrong")
