"""Streaming reader of `mongoexport` files (contract mongo-import §0, §1).

A file is either one document per line (the default) or one JSON array (`--jsonArray`, on one line
or pretty-printed): the first non-blank character decides. Documents are decoded one at a time from a
bounded buffer, so a file is never loaded whole. Extended JSON v2 (relaxed and canonical, mixed) and
the legacy forms of mongoexport before 4.2 become Python values:

* `{"$oid": h}` -> `ObjectId` (a `str` subclass, so references stay distinguishable from text);
* `{"$date": ...}` (ISO text, `{"$numberLong": ms}`, legacy ms number, pre-1970) -> aware UTC `datetime`;
* `{"$numberInt"}`/`{"$numberLong"}` -> `int`; `{"$numberDouble"}`, `{"$numberDecimal"}` and every JSON
  number with a fraction or exponent -> exact `Decimal` (its text, never a binary float; NaN/Infinity too).

A wrapper with a wrong value (`{"$oid": "xyz"}`) makes the whole document unreadable (`Unreadable`),
which the importer reports as a SKIP naming the file and line."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

CHUNK = 1 << 16
MAX_DOCUMENT = 64 << 20  # a BSON document is at most 16 MB; its Extended JSON a few times that
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HEX24 = re.compile(r"^[0-9a-fA-F]{24}$")
_INT = re.compile(r"^-?\d+$")


class ObjectId(str):
    """A 24-hex ObjectId (lower case), distinct from a string that merely looks like one."""

    __slots__ = ()


class Unreadable(ValueError):
    """A document (or a line) that is not valid JSON or carries a type wrapper with a wrong value."""


@dataclass(frozen=True)
class Read:
    """One document of a file, or the reason it could not be read; `line` is where it starts (1-based)."""

    line: int
    document: dict[str, Any] | None
    error: str | None = None


def _number(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise Unreadable(f"not a number: {text!r}") from None


def _whole(value: Any, wrapper: str) -> int:
    if isinstance(value, str) and _INT.match(value.strip()):
        return int(value)
    raise Unreadable(f"{wrapper} with a wrong value: {value!r}")


def _date(value: Any) -> datetime:
    if isinstance(value, bool):
        raise Unreadable(f"$date with a wrong value: {value!r}")
    if isinstance(value, int):  # {"$numberLong": ms} (already decoded) or legacy ms number
        return EPOCH + timedelta(milliseconds=value)
    if isinstance(value, Decimal) and value.is_finite():
        return EPOCH + timedelta(milliseconds=float(value))
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise Unreadable(f"$date with a wrong value: {value!r}") from None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    raise Unreadable(f"$date with a wrong value: {value!r}")


def _wrapper(obj: dict[str, Any]) -> Any:
    """Decode one object (inner objects are already decoded: the hook runs bottom-up)."""
    if len(obj) != 1:
        if "$date" in obj or "$oid" in obj:
            raise Unreadable(f"type wrapper with extra keys: {sorted(obj)}")
        return obj
    key, value = next(iter(obj.items()))
    if key == "$oid":
        if isinstance(value, str) and _HEX24.match(value):
            return ObjectId(value.lower())
        raise Unreadable(f"$oid with a wrong value: {value!r}")
    if key == "$date":
        return _date(value)
    if key in ("$numberInt", "$numberLong"):
        return _whole(value, key)
    if key in ("$numberDouble", "$numberDecimal"):
        if not isinstance(value, str):
            raise Unreadable(f"{key} with a wrong value: {value!r}")
        return _number(value)
    return obj


def loads(text: str) -> Any:
    """One Extended JSON value (a document) decoded; raises `Unreadable`."""
    try:
        return json.loads(text, object_hook=_wrapper, parse_float=Decimal, parse_constant=Decimal)
    except Unreadable:
        raise
    except (ValueError, RecursionError) as error:
        raise Unreadable(str(error).split(":")[0]) from None


_DECODER = json.JSONDecoder(object_hook=_wrapper, parse_float=Decimal, parse_constant=Decimal)
_PLAIN = json.JSONDecoder(parse_float=Decimal, parse_constant=Decimal)


def _first_character(stream: TextIO) -> str:
    while True:
        char = stream.read(1)
        if char == "" or not char.isspace():
            return char


def read_file(path: Path) -> Iterator[Read]:
    """Every document of a mongoexport file, in order, streamed."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as probe:
        first = _first_character(probe)
    if first == "[":
        yield from _read_array(path)
    else:
        yield from _read_lines(path)


def _read_lines(path: Path) -> Iterator[Read]:
    with path.open(encoding="utf-8-sig", errors="replace") as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                document = loads(line)
            except Unreadable as error:
                yield Read(number, None, str(error))
                continue
            if not isinstance(document, dict):
                yield Read(number, None, "not a document")
                continue
            yield Read(number, document)


def _read_array(path: Path) -> Iterator[Read]:
    """Decode the elements of one top-level array from a bounded buffer; an element that cannot be
    decoded ends the file (its line is reported: past a syntax error no element boundary is known)."""
    with path.open(encoding="utf-8-sig", errors="replace") as stream:
        buffer = stream.read(CHUNK)
        while "[" not in buffer:
            buffer += stream.read(CHUNK)
        position = buffer.index("[") + 1
        line = 1 + buffer.count("\n", 0, position)
        eof = False
        while True:
            # skip blanks and the comma between elements
            while True:
                while position < len(buffer) and (buffer[position].isspace() or buffer[position] == ","):
                    if buffer[position] == "\n":
                        line += 1
                    position += 1
                if position < len(buffer) or eof:
                    break
                buffer, position, eof = _refill(stream, buffer, position)
            if position >= len(buffer):
                yield Read(line, None, "the array is not closed")
                return
            if buffer[position] == "]":
                return
            try:
                value, end = _DECODER.raw_decode(buffer, position)
            except Unreadable as error:  # valid JSON with a bad wrapper: skip this element only
                try:
                    _, end = _PLAIN.raw_decode(buffer, position)
                except ValueError:
                    if not eof:
                        buffer, position, eof = _refill(stream, buffer, position)
                        continue
                    yield Read(line, None, str(error))
                    return
                yield Read(line, None, str(error))
                line += buffer.count("\n", position, end)
                position = end
                continue
            except ValueError as error:
                if not eof and len(buffer) - position < MAX_DOCUMENT:
                    buffer, position, eof = _refill(stream, buffer, position)
                    continue
                yield Read(line, None, str(error).split(":")[0])
                return
            if isinstance(value, dict):
                yield Read(line, value)
            else:
                yield Read(line, None, "not a document")
            line += buffer.count("\n", position, end)
            position = end


def _refill(stream: TextIO, buffer: str, position: int) -> tuple[str, int, bool]:
    more = stream.read(CHUNK)
    return buffer[position:] + more, 0, more == ""
