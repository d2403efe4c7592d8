"""The mongoexport reader: every Extended JSON form of contract mongo-import §1, the three file
layouts, malformed input reported by line, and money read exactly."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from infrastructure.mongo_import import extjson
from infrastructure.mongo_import.extjson import ObjectId, Unreadable, loads, read_file
from infrastructure.mongo_import.values import money

OID = "65f0c0ffee0000000000abcd"


def test_object_id_is_a_distinct_lower_case_string():
    value = loads('{"a": {"$oid": "65F0C0FFEE0000000000ABCD"}}')["a"]
    assert isinstance(value, ObjectId) and value == OID


@pytest.mark.parametrize(
    "text, expected",
    [
        ('{"$date": "2025-11-24T10:15:30.123Z"}', datetime(2025, 11, 24, 10, 15, 30, 123000, tzinfo=UTC)),
        ('{"$date": "2025-11-24T10:15:30Z"}', datetime(2025, 11, 24, 10, 15, 30, tzinfo=UTC)),
        ('{"$date": "2025-11-24T15:45:30+05:30"}', datetime(2025, 11, 24, 10, 15, 30, tzinfo=UTC)),
        ('{"$date": {"$numberLong": "1763979330123"}}', datetime(2025, 11, 24, 10, 15, 30, 123000, tzinfo=UTC)),
        ('{"$date": {"$numberLong": "-296006400000"}}', datetime(1960, 8, 15, tzinfo=UTC)),
        ('{"$date": 1763979330123}', datetime(2025, 11, 24, 10, 15, 30, 123000, tzinfo=UTC)),  # legacy
        ('{"$date": "2025-11-24T10:15:30.123"}', datetime(2025, 11, 24, 10, 15, 30, 123000, tzinfo=UTC)),
    ],
)
def test_dates_in_every_form(text, expected):
    assert loads('{"d": ' + text + "}")["d"] == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1500", 1500),
        ('{"$numberInt": "1500"}', 1500),
        ('{"$numberLong": "9007199254740993"}', 9007199254740993),
        ("1350.0", Decimal("1350.0")),
        ("1234.5", Decimal("1234.5")),
        ("1e3", Decimal("1E+3")),
        ('{"$numberDouble": "1350.0"}', Decimal("1350.0")),
        ('{"$numberDouble": "0.1"}', Decimal("0.1")),
        ('{"$numberDecimal": "1500.00"}', Decimal("1500.00")),
    ],
)
def test_numbers_exact(text, expected):
    value = loads('{"n": ' + text + "}")["n"]
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("special", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_doubles(special):
    value = loads('{"n": {"$numberDouble": "' + special + '"}}')["n"]
    assert isinstance(value, Decimal) and not value.is_finite()
    assert money(value, "amount")[1] == f"amount {value} is not finite; recorded as 0.00"


@pytest.mark.parametrize(
    "text",
    [
        '{"$oid": "xyz"}',
        '{"$oid": 5}',
        '{"$date": "yesterday"}',
        '{"$date": true}',
        '{"$numberInt": "12.5"}',
        '{"$numberLong": 12}',
        '{"$numberDouble": "abc"}',
        '{"$numberDecimal": 5}',
        '{"$oid": "65f0c0ffee0000000000abcd", "x": 1}',
    ],
)
def test_wrong_wrapper_values_are_unreadable(text):
    with pytest.raises(Unreadable):
        loads('{"v": ' + text + "}")


def test_wrappers_inside_free_form_objects_and_arrays():
    doc = loads(
        '{"metadata": {"verifiedAt": {"$date": {"$numberLong": "0"}}, "holdId": "abc", "n": {"$numberInt": "3"}},'
        ' "list": [{"$oid": "' + OID + '"}], "url": "a?x=1\\u0026y=\\u003c2\\u003e", "rupee": "₹"}'
    )
    assert doc["metadata"] == {"verifiedAt": datetime(1970, 1, 1, tzinfo=UTC), "holdId": "abc", "n": 3}
    assert doc["list"] == [OID] and doc["url"] == "a?x=1&y=<2>" and doc["rupee"] == "₹"


def test_money_rounding_and_text():
    assert money(Decimal("1234.5"), "amount") == (Decimal("1234.50"), None)
    assert money(1500, "amount") == (Decimal("1500.00"), None)
    assert money(Decimal("10.005"), "amount") == (Decimal("10.01"), "amount 10.005 rounded to 10.01")
    assert money("700", "fees") == (Decimal("700.00"), "fees was the text '700'; recorded as 700.00")
    assert money("seven", "fees")[0] == Decimal("0.00")
    assert money(None, "fees") == (Decimal("0.00"), None)


DOCS = [{"_id": {"$oid": OID}, "n": i, "when": {"$date": "2025-01-01T00:00:00Z"}} for i in range(5)]


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_one_document_per_line_with_blank_and_malformed_lines(tmp_path):
    lines = [json.dumps(DOCS[0]), "", json.dumps(DOCS[1]), '{"_id": {"$oid": "bad"}}', "{not json", json.dumps(DOCS[2])]
    reads = list(read_file(_write(tmp_path, "x.json", "\n".join(lines) + "\n")))
    assert [r.document["n"] for r in reads if r.document] == [0, 1, 2]
    assert [(r.line, r.document is None) for r in reads] == [(1, False), (3, False), (4, True), (5, True), (6, False)]


@pytest.mark.parametrize("indent", [None, 2])
def test_json_array_compact_and_pretty(tmp_path, indent, monkeypatch):
    monkeypatch.setattr(extjson, "CHUNK", 7)  # documents straddle many refills
    path = _write(tmp_path, "x.json", "\n  " + json.dumps(DOCS, indent=indent) + "\n")
    reads = list(read_file(path))
    assert [r.document["n"] for r in reads] == [0, 1, 2, 3, 4]
    assert all(r.document["when"] == datetime(2025, 1, 1, tzinfo=UTC) for r in reads)
    if indent:
        assert [r.line for r in reads][:2] == [3, 12]  # the line each document opens on


def test_json_array_with_a_bad_wrapper_keeps_the_rest(tmp_path, monkeypatch):
    monkeypatch.setattr(extjson, "CHUNK", 5)
    bad = {"_id": {"$oid": "nope"}}
    path = _write(tmp_path, "x.json", json.dumps([DOCS[0], bad, DOCS[1]], indent=1))
    reads = list(read_file(path))
    assert [r.document is None for r in reads] == [False, True, False]
    assert "$oid" in reads[1].error


def test_json_array_syntax_error_is_reported_with_its_line(tmp_path):
    path = _write(tmp_path, "x.json", "[\n" + json.dumps(DOCS[0]) + ",\n{broken\n]")
    reads = list(read_file(path))
    assert reads[0].document is not None and reads[1].document is None and reads[1].line == 3


def test_empty_files(tmp_path):
    assert list(read_file(_write(tmp_path, "a.json", ""))) == []
    assert list(read_file(_write(tmp_path, "b.json", "[]"))) == []
    assert list(read_file(_write(tmp_path, "c.json", " [ \n ] \n"))) == []


def test_leading_blanks_longer_than_a_chunk(tmp_path, monkeypatch):
    monkeypatch.setattr(extjson, "CHUNK", 4)
    reads = list(read_file(_write(tmp_path, "x.json", "\n" * 10 + json.dumps(DOCS[:1]))))
    assert reads[0].document is not None and reads[0].line == 11
