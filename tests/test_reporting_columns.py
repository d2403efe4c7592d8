"""The reporting store's bulk insert (reporting/columns.py): every column travels as one JSON array,
or as a list when it holds a value of another type; both read back exactly what was given."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from reporting import schema
from reporting.columns import COLUMNS, insert

ODD = [
    'a"b',
    "back\\slash",
    "line\nbreak\ttab",
    "\x01\x1f",
    "é ü 漢字 😀",
    "\u2028",
    "",
    " ",
    "null",
    "[1]",
    '{"a": 1}',
]


def transaction(index: int, **changes: Any) -> dict[str, Any]:
    row = {
        "id": f"{index:024x}",
        "kind": "Payment",
        "status": ODD[index % len(ODD)],
        "amount": Decimal("1500.25"),
        "platform_fee": Decimal("0.00") if index % 2 else None,
        "net_amount": Decimal("-12.5"),
        "currency": "INR",
        "user_id": ODD[(index + 3) % len(ODD)],
        "consultant_id": None,
        "appointment_id": f"{index:024x}" if index % 3 else None,
        "payment_method": "Card",
        "reference": ODD[(index + 5) % len(ODD)],
        "refund_id": None,
        "created_at": datetime(2026, 1, 2, 3, 4, 5, 678901),
        "created_local": None if index % 4 == 0 else datetime(1969, 12, 31, 23, 59, 59, 1),
        "updated_at": datetime(2026, 1, 2, 3, 4, 5),
        "earned": index % 3 == 1,
    }
    row.update(changes)
    return row


def stored(con: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
    names = [name for name, _ in COLUMNS[table]]
    found = con.execute(f"SELECT {', '.join(names)} FROM {table} ORDER BY id").fetchall()
    return [dict(zip(names, values, strict=True)) for values in found]


@pytest.fixture
def con() -> Any:
    con = duckdb.connect()
    schema.ensure(con, "Asia/Kolkata")
    yield con
    con.close()


def test_json_columns_read_back_exactly(con: duckdb.DuckDBPyConnection) -> None:
    rows = [transaction(index) for index in range(40)]
    insert(con, "transactions", rows)
    assert stored(con, "transactions") == [
        {**row, "net_amount": Decimal("-12.50"), "platform_fee": row["platform_fee"]} for row in rows
    ]


def test_a_column_of_another_type_is_bound_as_a_list(con: duckdb.DuckDBPyConnection) -> None:
    """A malformed event's value (a number where text is stored) takes the list binding, which
    converts it as it always did; the other columns still read back exactly."""
    rows = [transaction(0, currency=5), transaction(1)]
    insert(con, "transactions", rows)
    got = stored(con, "transactions")
    assert [row["currency"] for row in got] == ["5", "INR"]
    assert [row["status"] for row in got] == [ODD[0], ODD[1]]
    with pytest.raises(duckdb.Error):
        insert(con, "consultant_categories", [{"consultant_id": "c", "position": "first", "category_id": "x"}])
