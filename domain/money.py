"""Money rules: exact amounts, the one rounding rule, the fee split and what an amount may be.

Amounts are `Decimal`s in major units, exact to the cent; integer minor units (paise) where a
gateway or a read model wants integers. Binary floats never carry a figure that is computed with:
a JSON number is read from its text (or, when only a float is at hand, from its shortest repr,
which is exact for every amount the bound below allows).

The rounding rule, defined here once and used by every figure that needs rounding (stored
amounts, the platform fee, reports): JavaScript's `Math.round`, i.e. half toward +infinity
(`floor(x / unit + 1/2) * unit`), as the existing backend and its apps round. Amounts are rounded
at the cent; the platform fee at the whole currency unit (contract analytics §5.4:
`platformFee = round(amount * percent / 100)`), and the consultant's net is the exact rest."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any

from domain.errors import Invalid

CENT = Decimal("0.01")
UNIT = Decimal("1")
ZERO = Decimal("0.00")
DEFAULT_MAX_AMOUNT = Decimal("10000000")  # 10 million major units: MAX_AMOUNT's default
HARD_CEILING = Decimal("1000000000000")  # 10^12: no configuration may go above (still exact as a double)
HALF = Decimal("0.5")


def round_money(value: Decimal, unit: Decimal = CENT) -> Decimal:
    """THE rounding rule: half toward +infinity at `unit` (JS `Math.round` semantics), exact."""
    steps = (value / unit + HALF).to_integral_value(rounding=ROUND_FLOOR)
    return (steps * unit).quantize(unit)


def to_decimal(value: Any) -> Decimal:
    """A number or numeric text as an exact Decimal (a float through its shortest repr)."""
    if isinstance(value, bool):
        raise InvalidOperation("a boolean is not an amount")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(str(value).strip())


def exact(value: Any) -> Decimal:
    """A stored money figure (a Decimal, an int, a float written by an older version, numeric
    text, or nothing = 0) exact to the cent under the rounding rule."""
    if isinstance(value, Decimal) and value.is_finite() and value.as_tuple().exponent == -2:
        return value  # already exact to the cent (every figure the ledger records)
    if value is None or value == "":
        return ZERO
    try:
        amount = to_decimal(value)
    except (InvalidOperation, ValueError):
        return ZERO
    if not amount.is_finite():
        return ZERO
    return round_money(amount)


def split_fee(amount: Decimal, platform_percent: Any) -> tuple[Decimal, Decimal]:
    """(platform fee, consultant's net) of an amount under a commission percentage: the fee is
    rounded to whole units by the rounding rule, the net is the exact rest."""
    try:
        percent = to_decimal(platform_percent or 0)
    except (InvalidOperation, ValueError):
        percent = Decimal(0)
    if not percent.is_finite() or percent <= 0:
        return ZERO, amount
    fee = round_money(amount * percent / 100, UNIT).quantize(CENT)
    return fee, amount - fee


def minor_units(amount: Decimal) -> int:
    """An exact amount in the smallest currency unit (paise)."""
    return int(round_money(amount) * 100)


def major_units(value: Decimal) -> int | float:
    """A money amount as a JSON number in major units (integers stay integers). The float of a
    two-place decimal reads back exactly (`exact(major_units(x)) == x`)."""
    return int(value) if value == value.to_integral_value() else float(value)


class AmountRefused(Invalid):
    """An amount a request may not carry; `kind` and `context` name the broken rule (pydantic's
    error kinds, so the HTTP layer words it like any other field error)."""

    def __init__(self, field: str, message: str, kind: str, context: dict[str, Any] | None = None):
        super().__init__(message, [{"field": field, "message": message}])
        self.kind = kind
        self.context = context or {}


def parse_amount(value: Any, field: str, limit: Decimal = DEFAULT_MAX_AMOUNT, *, positive: bool = False) -> Decimal:
    """An amount a request sends: a finite number with at most two decimals, not negative (or
    strictly positive), at most `limit` (MAX_AMOUNT). Anything else is refused with the field's
    message; nothing is rounded."""
    label = f'"{field}"'
    try:
        amount = to_decimal(value)
    except (InvalidOperation, ValueError):
        raise AmountRefused(field, f"{label} must be a number", "float_parsing") from None
    if not amount.is_finite():
        raise AmountRefused(field, f"{label} must be a finite number", "finite_number")
    if amount < 0 or (positive and amount == 0):
        if positive:
            raise AmountRefused(field, f"{label} must be greater than 0", "greater_than", {"gt": 0})
        raise AmountRefused(field, f"{label} must be greater than or equal to 0", "greater_than_equal", {"ge": 0})
    bound = major_units(min(limit, HARD_CEILING))
    if amount > min(limit, HARD_CEILING):
        raise AmountRefused(field, f"{label} must be less than or equal to {bound}", "less_than_equal", {"le": bound})
    if amount != amount.quantize(CENT, rounding=ROUND_FLOOR):
        raise AmountRefused(field, f"{label} must have at most 2 decimals", "decimal_max_places", {"decimal_places": 2})
    return amount.quantize(CENT)
