"""Request field types with the existing backend's validation rules and messages.

Bodies ignore unknown keys (`extra="ignore"`), recursively, as the contract requires."""

from __future__ import annotations

import re
from typing import Annotated, Any

from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

HEX24 = re.compile(r"^[0-9a-fA-F]{24}$")
PHONE = re.compile(r"^\+?\d{7,15}$")


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

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
