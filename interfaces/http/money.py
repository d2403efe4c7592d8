"""Amounts in requests, read exactly (issue 12).

JSON numbers of the money routes are never parsed through binary floating point alone: the
routers built with `ExactJsonRoute` decode bodies with `parse_float=JsonNumber`, a `float` that
keeps the number's text (every other consumer still sees a float), and the `Amount` field type
reads that text as a `Decimal` (`domain.money.parse_amount`): finite, at most two decimals, not
negative, at most MAX_AMOUNT. `NaN` and `Infinity` (which Python's JSON reader would accept) are
malformed JSON there. MAX_AMOUNT comes from the settings of the app serving the request (a
context variable set per request by the route)."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from pydantic import BeforeValidator, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError

from domain.money import DEFAULT_MAX_AMOUNT, AmountRefused, major_units, parse_amount

AMOUNT_LIMIT: ContextVar[Decimal] = ContextVar("amount_limit", default=DEFAULT_MAX_AMOUNT)


class JsonNumber(float):
    """A JSON number with a fraction or exponent: a float that remembers its text."""

    text: str

    def __new__(cls, text: Any) -> JsonNumber:
        number = super().__new__(cls, text)
        number.text = text if isinstance(text, str) else repr(float(text))
        return number

    def __reduce__(self) -> tuple[Any, ...]:
        return (JsonNumber, (self.text,))


def _not_a_number(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


def loads_exact(body: bytes | str) -> Any:
    return json.loads(body, parse_float=JsonNumber, parse_constant=_not_a_number)


class ExactJsonRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = loads_exact(await self.body())
        return self._json


def limit_of(request: Request) -> Decimal:
    container = getattr(request.app.state, "container", None)
    settings = getattr(container, "settings", None)
    return Decimal(getattr(settings, "max_amount", DEFAULT_MAX_AMOUNT))


class ExactJsonRoute(APIRoute):
    """A route whose JSON body keeps the text of its numbers, with MAX_AMOUNT set for `Amount`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        return self.exact(super().get_route_handler())

    @staticmethod
    def exact(
        handler: Callable[[Request], Coroutine[Any, Any, Response]],
    ) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """`handler` given the request as an `ExactJsonRequest`, under the app's MAX_AMOUNT."""

        async def exact(request: Request) -> Response:
            token = AMOUNT_LIMIT.set(limit_of(request))
            try:
                return await handler(ExactJsonRequest(request.scope, request.receive))
            finally:
                AMOUNT_LIMIT.reset(token)

        return exact


def amount_text(value: Any) -> Any:
    """What to read an amount from: a JSON number's own text when the parser kept it."""
    return value.text if isinstance(value, JsonNumber) else value


def request_amount(value: Any, field: str, *, positive: bool = False) -> Decimal:
    """An amount of a body read by hand (raises `AmountRefused`, a 400 with the field's message)."""
    return parse_amount(amount_text(value), field, AMOUNT_LIMIT.get(), positive=positive)


def _validate(value: Any, info: ValidationInfo) -> Decimal:
    try:
        return parse_amount(amount_text(value), str(info.field_name or "amount"), AMOUNT_LIMIT.get())
    except AmountRefused as refusal:
        raise PydanticCustomError(refusal.kind, refusal.message, refusal.context) from None


# An amount field: exact Decimal, 0 <= amount <= MAX_AMOUNT, at most two decimals.
Amount = Annotated[
    Decimal,
    BeforeValidator(_validate),
    WithJsonSchema({"type": "number", "minimum": 0}),
]


def _validate_number(value: Any, info: ValidationInfo) -> int | float:
    return major_units(_validate(value, info))


# An amount kept in a document (fees): validated as `Amount`, then the JSON number of that exact
# value (an integer when integral; a two-place float reads back exactly through `domain.money`).
AmountNumber = Annotated[
    int | float,
    BeforeValidator(_validate_number),
    WithJsonSchema({"type": "number", "minimum": 0}),
]
