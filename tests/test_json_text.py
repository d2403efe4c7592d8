"""`infrastructure.json_text`: orjson's text is the standard library's compact text (for any
document of strings, integers, booleans, nulls, lists and objects), every float reads back as the
same number, and what orjson refuses is still read and written as before."""

from __future__ import annotations

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.json_text import dumps, dumps_bytes, loads
from interfaces.http.envelope import ok


def stdlib(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.text()
documents = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5), max_leaves=30
)


@settings(max_examples=300, deadline=None)
@given(documents)
def test_the_text_is_the_standard_librarys_compact_text(document):
    assert dumps(document) == stdlib(document)
    assert dumps_bytes(document) == stdlib(document).encode()
    assert loads(dumps(document)) == document
    assert loads(stdlib(document).encode()) == document


@settings(max_examples=300, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), max_size=10))
def test_every_float_reads_back_as_the_same_number(floats):
    assert json.loads(dumps(floats)) == floats
    assert loads(stdlib(floats)) == floats


def test_the_escapes_are_the_standard_librarys():
    text = 'quote " backslash \\ slash / newline \n tab \t nul \x00 unit \x1f del \x7f line \u2028 é 𝄞 <>&'
    assert dumps({"s": text}) == stdlib({"s": text})


def test_what_orjson_refuses_is_read_and_written_as_before():
    big = {"amount": 10**20, "negative": -(2**70)}
    assert dumps(big) == stdlib(big)
    assert loads(stdlib(big)) == big
    assert dumps({1: "a", None: "b"}) == stdlib({1: "a", None: "b"})
    earlier = json.dumps({"x": float("nan"), "y": float("inf")})  # what an earlier version may have stored
    read = loads(earlier)
    assert math.isnan(read["x"]) and read["y"] == math.inf


def test_a_non_finite_float_is_written_null_not_as_a_literal_json_cannot_hold():
    assert dumps({"x": float("nan"), "y": [float("-inf")]}) == '{"x":null,"y":[null]}'


def test_an_answer_is_compact_utf8():
    reply = ok("Done", {"name": "Zoë Ångström", "n": [1, 2.5]})
    assert reply.body == '{"success":true,"message":"Done","data":{"name":"Zoë Ångström","n":[1,2.5]}}'.encode()
    assert reply.headers["content-length"] == str(len(reply.body))
