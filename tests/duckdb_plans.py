"""What DuckDB did for a statement, for the tests that bound a query's work: the statements a piece of
code runs (`Recording`), and the nodes of each one's plan as run (`EXPLAIN ANALYZE`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import duckdb


class Recording:
    """A DuckDB connection that records the statements run through it (and runs them)."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con, self.statements = con, list[tuple[str, Any]]()

    def execute(self, sql: str, params: Any = None) -> duckdb.DuckDBPyConnection:
        self.statements.append((sql, params))
        return self.con.execute(sql, params)


def nodes(con: duckdb.DuckDBPyConnection, sql: str, params: Any) -> Iterator[dict[str, Any]]:
    """Every node of the statement's plan as run, depth first."""
    plan = json.loads(con.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params).fetchall()[0][1])
    pending = list(reversed(plan["operator"]))
    while pending:
        node = pending.pop()
        yield node
        pending.extend(reversed(node.get("children", [])))


def rows_scanned(con: duckdb.DuckDBPyConnection, sql: str, params: Any) -> int:
    """The rows DuckDB's table scans read for the statement (sequential and index scans alike)."""
    return sum(int(node.get("rows_scanned", 0)) for node in nodes(con, sql, params) if node.get("type") == "TABLE_SCAN")


def operators(con: duckdb.DuckDBPyConnection, sql: str, params: Any) -> list[tuple[str, str]]:
    """(operator type, table scanned or '') of each node of the statement's plan as run."""
    found = []
    for node in nodes(con, sql, params):
        info = node.get("extra_info", {})
        found.append((node.get("type", ""), f"{info.get('Table', '')} {info.get('Type', '')}".strip()))
    return found
