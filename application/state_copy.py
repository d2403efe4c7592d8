"""A command's own copy of a committed aggregate state, made without `copy.deepcopy`'s detours.

`Marketplace.find_many` hands every command that may change an aggregate a copy of the cached committed
state; a paid booking copies about ten. `deepcopy` spent most of that on values nothing changes in place
(ids, datetimes, decimals: each rebuilt through `__reduce_ex__`), about 40 us for the smallest aggregate
and 360 us for a consultant's earnings. Here such values are shared, dicts, lists, sets and tuples are
copied level by level, and any other value goes through `deepcopy` as before; a class with a
`__deepcopy__` of its own keeps it (`ConsultantDay`). Unlike `deepcopy` this does not keep two
references to one container pointing at one copy: aggregate states are trees of plain values."""

from __future__ import annotations

from copy import deepcopy
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

SHARED = frozenset(
    {str, int, float, bool, type(None), bytes, UUID, datetime, date, time, timedelta, Decimal, timezone, ZoneInfo}
)


def fresh(value: Any) -> Any:
    """A copy of `value` that shares nothing changeable with it."""
    kind = type(value)
    if kind in SHARED:
        return value
    if kind is dict:
        return {key: fresh(item) for key, item in value.items()}
    if kind is list:
        return [fresh(item) for item in value]
    if kind is tuple:
        return tuple(fresh(item) for item in value)
    if kind is set:
        return {fresh(item) for item in value}
    return deepcopy(value)


def copy_state(state: Any) -> Any:
    """An aggregate's copy for a command (None stays None)."""
    kind = type(state)
    if hasattr(kind, "__deepcopy__") or not hasattr(state, "__dict__"):  # None among them
        return deepcopy(state)
    clone = object.__new__(kind)
    clone.__dict__.update({name: fresh(value) for name, value in state.__dict__.items()})
    return clone
