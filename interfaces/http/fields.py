"""Request field types with the existing backend's validation rules and messages.

Bodies ignore unknown keys (`extra="ignore"`), recursively, as the contract requires. Every body
refuses, before any command runs, what no event or read model may hold (CONTRACT.md "Robustness"):
`null` on a field that does not list it in `nullable`, NUL characters anywhere in its strings, strings
longer than `MAX_TEXT` (unless the field sets its own limit), lists longer than `MAX_ITEMS`,
non-finite numbers and numbers beyond `MAX_NUMBER` (the apps' exact-integer range)."""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from email_validator import EmailNotValidError, validate_email
from fastapi import Query
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

HEX24 = re.compile(r"^[0-9a-fA-F]{24}$")
PHONE = re.compile(r"^\+?\d{7,15}$")


MAX_TEXT = 5_000  # characters of a string field that sets no limit of its own
MAX_ITEMS = 100  # items of a list or keys of an object inside a body
MAX_NUMBER = 2**53 - 1  # the largest integer a JSON client (JavaScript) holds exactly
MAX_DEPTH = 8  # nesting of free-form objects and lists
MAX_PAGE = 100_000  # `page` of every paginated list
MAX_QUERY_TEXT = 2_000  # characters of one query parameter (a JWT in `?token=` is far shorter)


def unstorable(value: Any, depth: int = 0) -> str | None:
    """Why `value` (a request value, before type coercion) may not enter an event, or None."""
    if depth > MAX_DEPTH:
        return "is nested too deeply"
    if isinstance(value, str):
        return "must not contain NUL characters" if "\x00" in value else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and hasattr(value, "text"):
        return None  # an exact JSON number of a money route: its `Amount` field bounds it (interfaces.http.money)
    if isinstance(value, (int, float)):
        return None if abs(value) <= MAX_NUMBER else f"must be between -{MAX_NUMBER} and {MAX_NUMBER}"
    if isinstance(value, dict):
        if len(value) > MAX_ITEMS:
            return f"must have at most {MAX_ITEMS} keys"
        items: list[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, (list, tuple)):
        if len(value) > MAX_ITEMS:
            return f"must contain at most {MAX_ITEMS} items"
        items = list(value)
    else:
        return None
    for item in items:
        if isinstance(item, dict) and depth + 1 >= MAX_DEPTH:
            return "is nested too deeply"
        reason = unstorable(item, depth + 1)
        if reason:
            return reason
    return None


class _EveryField(frozenset[str]):
    def __contains__(self, item: object) -> bool:
        return True


EVERY_FIELD: frozenset[str] = _EveryField()  # `nullable` of a model whose handler reads null as "not given"


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False, allow_inf_nan=False, str_max_length=MAX_TEXT)
    # fields on which an explicit `null` means "no value" (cleared or ignored); null elsewhere is a 400
    nullable: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
        """The OpenAPI shows `null` only where `nullable` accepts it (clients and fuzzers read it)."""
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        for name, prop in target.get("properties", {}).items():
            variants = prop.get("anyOf")
            if name in cls.nullable or not variants:
                continue
            kept = [variant for variant in variants if variant.get("type") != "null"]
            if len(kept) == 1:
                del prop["anyOf"]
                prop.update(kept[0])
            else:
                prop["anyOf"] = kept
            if prop.get("default", 0) is None:
                del prop["default"]
        return schema

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or "value"
        if value is None and name not in cls.nullable:
            raise PydanticCustomError("null", f'"{name}" must not be null')
        reason = unstorable(value)
        if reason:
            raise PydanticCustomError("unstorable", f'"{name}" {reason}')
        return value

    def given(self) -> dict[str, Any]:
        """The fields the client actually sent (for partial updates)."""
        return self.model_dump(exclude_unset=True)


class PartialBody(Body):
    """A partial update: every field optional, but at least one known field must be given."""

    @model_validator(mode="after")
    def _at_least_one(self) -> PartialBody:
        if not self.model_fields_set & set(type(self).model_fields):
            raise ValueError('"value" must have at least 1 key')
        return self


def rule(check: Any, message: str, kind: str = "value_error") -> AfterValidator:
    def validate(value: Any) -> Any:
        if not check(value):
            raise PydanticCustomError(kind, message)
        return value

    return AfterValidator(validate)


def _email(value: str) -> str:
    try:
        validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise PydanticCustomError("email", "Please enter a valid email address") from None
    return value.strip()


def _not_empty(message: str) -> BeforeValidator:
    def validate(value: Any) -> Any:
        if value == "":
            raise PydanticCustomError("empty", message)
        return value

    return BeforeValidator(validate)


Email = Annotated[str, _not_empty("Email is required"), AfterValidator(_email)]
Mobile = Annotated[
    str,
    _not_empty("Mobile number cannot be empty"),
    rule(lambda v: bool(PHONE.match(v)), "Mobile number must be valid (7-15 digits, optional + prefix)"),
]
ObjectIdStr = Annotated[str, rule(lambda v: bool(HEX24.match(v)), "must be a valid 24-character hex id")]
StrongPassword = Annotated[
    str,
    _not_empty("Password is required"),
    rule(lambda v: len(v) >= 8, "Password must be at least 8 characters long"),
    rule(
        lambda v: bool(re.search(r"[a-z]", v) and re.search(r"[A-Z]", v) and re.search(r"\d", v)),
        "Password must contain at least one uppercase letter, one lowercase letter, and one number",
    ),
]
FullName = Annotated[
    str,
    _not_empty("Full name is required"),
    rule(lambda v: len(v) >= 2, "Full name must be at least 2 characters long"),
    rule(lambda v: len(v) <= 50, "Full name cannot exceed 50 characters"),
]
Currency = Annotated[str, rule(lambda v: len(v) == 3, "Currency must be 3 characters"), AfterValidator(str.upper)]


def length(low: int, high: int, label: str) -> AfterValidator:
    return rule(lambda v: low <= len(v) <= high, f'"{label}" length must be between {low} and {high} characters')


# Query parameters of paginated lists (a page past the end is an empty page, a page beyond these a 400).
Page = Annotated[int, Query(ge=1, le=MAX_PAGE)]
Limit = Annotated[int, Query(ge=1, le=1000)]
QueryText = Annotated[str, Field(max_length=MAX_QUERY_TEXT)]
