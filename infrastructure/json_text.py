"""JSON text of the stored documents and of the answers, through `orjson` (parsing and writing several
times quicker than the standard library, in which a page of 1,000 appointments spent a third of its
time).

The text is the standard library's compact form (`separators=(",", ":")`, `ensure_ascii=False`: the
same key order, UTF-8 kept as it is, the same escapes), but for the spelling of some floats (`1.5e-7`,
not `1.5e-07`: the same number to any JSON reader) and for a NaN or infinite float, written `null` (not
the `NaN` literal, which is not JSON, nor an error). Where `orjson` refuses what the standard library
takes, the standard library answers, so nothing read or written before is refused now: integers
beyond 64 bits, and the `NaN` and `Infinity` literals of a document an earlier version stored."""

from __future__ import annotations

import json
from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS  # {1: ...} written as {"1": ...}, as json.dumps does


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def dumps_bytes(value: Any) -> bytes:
    """Compact JSON, UTF-8."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits, or a type it does not know
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def dumps(value: Any) -> str:
    """Compact JSON text, as the read models' `document` columns hold it."""
    return dumps_bytes(value).decode()
