"""The columns of the reporting store's fact and dimension tables as the projection writes them, and
their bulk insert (the DDL is in reporting/schema.py; keep the two in step)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import duckdb

COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "consultants": (
        ("id", "VARCHAR"),
        ("name", "VARCHAR"),
        ("email", "VARCHAR"),
        ("status", "VARCHAR"),
        ("primary_category", "VARCHAR"),
        ("primary_subcategory", "VARCHAR"),
        ("fees", "DECIMAL(18,2)"),
        ("platform_percent", "DECIMAL(9,4)"),
        ("created_at", "TIMESTAMP"),
        ("created_local", "TIMESTAMP"),
        ("deleted", "BOOLEAN"),
        ("name_fields", "VARCHAR"),
    ),
    "clients": (
        ("id", "VARCHAR"),
        ("name", "VARCHAR"),
        ("email", "VARCHAR"),
        ("status", "VARCHAR"),
        ("avatar", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
        ("created_local", "TIMESTAMP"),
        ("deleted", "BOOLEAN"),
    ),
    "categories": (
        ("id", "VARCHAR"),
        ("title", "VARCHAR"),
        ("parent_id", "VARCHAR"),
        ("status", "VARCHAR"),
        ("deleted", "BOOLEAN"),
    ),
    "appointments": (
        ("id", "VARCHAR"),
        ("consultant_id", "VARCHAR"),
        ("client_id", "VARCHAR"),
        ("status", "VARCHAR"),
        ("start_at", "TIMESTAMP"),
        ("end_at", "TIMESTAMP"),
        ("start_local", "TIMESTAMP"),
        ("created_at", "TIMESTAMP"),
        ("created_local", "TIMESTAMP"),
        ("fee", "DECIMAL(18,2)"),
        ("category", "VARCHAR"),
        ("client_name", "VARCHAR"),
        ("consultant_name", "VARCHAR"),
        ("created_by", "VARCHAR"),
        ("deleted", "BOOLEAN"),
    ),
    "transactions": (
        ("id", "VARCHAR"),
        ("kind", "VARCHAR"),
        ("status", "VARCHAR"),
        ("amount", "DECIMAL(18,2)"),
        ("platform_fee", "DECIMAL(18,2)"),
        ("net_amount", "DECIMAL(18,2)"),
        ("currency", "VARCHAR"),
        ("user_id", "VARCHAR"),
        ("consultant_id", "VARCHAR"),
        ("appointment_id", "VARCHAR"),
        ("payment_method", "VARCHAR"),
        ("reference", "VARCHAR"),
        ("refund_id", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
        ("created_local", "TIMESTAMP"),
        ("updated_at", "TIMESTAMP"),
        ("earned", "BOOLEAN"),
    ),
    "consultant_categories": (
        ("consultant_id", "VARCHAR"),
        ("position", "INTEGER"),
        ("category_id", "VARCHAR"),
        ("category_name", "VARCHAR"),
        ("subcategory_id", "VARCHAR"),
        ("subcategory_name", "VARCHAR"),
    ),
    "client_consultants": (
        ("client_id", "VARCHAR"),
        ("consultant_id", "VARCHAR"),
        ("status", "VARCHAR"),
        ("created_at", "TIMESTAMP"),
        ("created_local", "TIMESTAMP"),
    ),
}
ENTITY_TABLES = ("consultants", "clients", "categories", "appointments", "transactions")
CONSULTANT_COLUMNS = frozenset(c for c, _ in COLUMNS["consultants"])
CLIENT_COLUMNS = frozenset(c for c, _ in COLUMNS["clients"])


EPOCH = datetime(1970, 1, 1)
MICROSECOND = timedelta(microseconds=1)


def _micros(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - EPOCH) // MICROSECOND


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# Python types a column may hold for its values to travel as JSON (anything else: the list binding)
JSON_TYPES: dict[str, tuple[type, ...]] = {"VARCHAR": (str,), "BOOLEAN": (bool,), "INTEGER": (int,)}


def _json_column(column: list[Any], kind: str) -> str | None:
    """The column as one JSON array, when every value is of the column's Python type (or None)."""
    allowed = JSON_TYPES.get(kind)
    if allowed is None:
        return None
    for value in column:
        if value is not None and type(value) not in allowed:
            return None
    return json.dumps(column)


SHORT_LIST = 128  # ids up to which a list of parameters beats one hash join (measured: bench/reporting_batch.py)


def ids_in(column: str, ids: list[str]) -> tuple[str, list[Any]]:
    """`column IN (...)` for these ids, and its parameters. DuckDB answers `IN (SELECT unnest(?))` with
    a hash join that scans the whole table (about 30 ms at 2 M rows, whatever the list's length), an
    `IN` of parameters through the column's index when it has one (about 40 us an id at any size): a
    short list travels as parameters, so that a small batch costs the same in a large store."""
    if len(ids) <= SHORT_LIST:
        return f"{column} IN ({', '.join('?' * len(ids)) or 'NULL'})", list(ids)
    return f"{column} IN (SELECT unnest(?::VARCHAR[]))", [list(ids)]


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]], into: str | None = None) -> None:
    """Bulk insert: one parameter per column, zipped back into rows by DuckDB's `unnest`. A column
    travels as one JSON array text (DuckDB binds a Python list value by value, about 1 us each; a
    string is one value and its JSON parser runs in C++); decimals as text and instants as
    microseconds since the epoch. A column holding values of another type (a malformed event's) is
    bound as a list, as before. `into` names another table of the same columns (a staged copy)."""
    if not rows:
        return
    columns = COLUMNS[table]
    selects, values = [], []
    for index, (name, kind) in enumerate(columns, start=1):
        column = [row.get(name) for row in rows]
        if kind.startswith("DECIMAL"):
            column, kind, cast = [_decimal_text(v) for v in column], "VARCHAR", f"CAST({{}} AS {kind})"
        elif kind == "TIMESTAMP":
            column, kind, cast = [_micros(v) for v in column], "BIGINT", "make_timestamp({})"
        else:
            cast = "{}"
        text = _json_column(column, kind) if kind != "BIGINT" else json.dumps(column)
        if text is None:
            selects.append(cast.format(f"unnest(${index}::{kind}[])"))
            values.append(column)
        else:
            selects.append(cast.format(f"unnest(CAST(${index}::JSON AS {kind}[]))"))
            values.append(text)
    con.execute(f"INSERT INTO {into or table} SELECT {', '.join(selects)}", values)
