"""The rollups the projection keeps beside the facts, so that no overview query scans the facts.

A rollup is a table of a count `n` and sums, grouped by a key. It is maintained by deltas: each fact
row a batch touches takes its old contribution out and puts its new one in, and a group whose count
falls to 0 is deleted, so a rollup always equals the grouped facts (the consistency test checks it
against a rebuilt store and against the facts grouped by SQL).

- `transaction_months`: transactions by business month of `created_local`, consultant, kind, status
  and `earned` (consultant stats, payout summaries).
- `platform_months`: the same without the consultant (the overview's money figures).
- `appointment_days`: non-deleted appointments by local day of `start_local`, status and resolved
  category (the overview's counts, categories and activity).
- `appointment_totals`: the same without the day (the overview's all-time counts and categories, so
  that it reads only the days of its months from `appointment_days`).
- `appointment_months`: non-deleted appointments by business month of `start_local`, consultant and
  status (the overview's top consultants of a month).
- `appointment_years`: the same by business year (the overview's top consultants of a year): a year's
  ranking reads one row per consultant instead of grouping twelve months of them.
- `account_months`: non-deleted consultants and clients by business month of registration, kind and
  status (the overview's account cards and trends).

The resolved category of an appointment depends on its consultant's primary category when the
appointment has no stored category, so a batch that changes a consultant's primary category also
moves that consultant's uncategorised appointments from the old category to the new one."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import duckdb

NO_CATEGORY = ("", "General")  # stored categories that defer to the consultant's primary category
GENERAL = "General"


@dataclass(frozen=True)
class Rollup:
    """A rollup table; its groups' keys, joined by `|` (`key_sql`), are journaled for the snapshot."""

    table: str
    keys: tuple[tuple[str, str], ...]  # (column, type)
    sums: tuple[str, ...]  # DECIMAL(18, 2) sums beside the count `n`

    def key_sql(self) -> str:
        return f"concat_ws('|', {', '.join(name for name, _ in self.keys)})"

    def ddl(self, name: str | None = None) -> str:
        """The table's definition, under its name or `name` (reporting/clustering.py builds a copy)."""
        columns = [f"{name} {kind} NOT NULL" for name, kind in self.keys]
        columns += ["n BIGINT NOT NULL", *(f"{name} DECIMAL(18, 2) NOT NULL" for name in self.sums)]
        return (
            f"CREATE TABLE IF NOT EXISTS {name or self.table} ({', '.join(columns)}, "
            f"PRIMARY KEY ({', '.join(name for name, _ in self.keys)}))"
        )


MONEY = ("amount", "platform_fee", "net_amount")
TRANSACTION_MONTHS = Rollup(
    "transaction_months",
    (
        ("month", "DATE"),
        ("consultant_id", "VARCHAR"),
        ("kind", "VARCHAR"),
        ("status", "VARCHAR"),
        ("earned", "BOOLEAN"),
    ),
    MONEY,
)
PLATFORM_MONTHS = Rollup(
    "platform_months", (("month", "DATE"), ("kind", "VARCHAR"), ("status", "VARCHAR"), ("earned", "BOOLEAN")), MONEY
)
APPOINTMENT_DAYS = Rollup(
    "appointment_days", (("day", "DATE"), ("status", "VARCHAR"), ("category", "VARCHAR")), ("fee",)
)
APPOINTMENT_MONTHS = Rollup(
    "appointment_months", (("month", "DATE"), ("consultant_id", "VARCHAR"), ("status", "VARCHAR")), ("fee",)
)
APPOINTMENT_YEARS = Rollup(
    "appointment_years", (("year", "DATE"), ("consultant_id", "VARCHAR"), ("status", "VARCHAR")), ("fee",)
)
APPOINTMENT_TOTALS = Rollup("appointment_totals", (("status", "VARCHAR"), ("category", "VARCHAR")), ("fee",))
ACCOUNT_MONTHS = Rollup("account_months", (("month", "DATE"), ("kind", "VARCHAR"), ("status", "VARCHAR")), ())
ROLLUPS = (
    TRANSACTION_MONTHS,
    PLATFORM_MONTHS,
    APPOINTMENT_DAYS,
    APPOINTMENT_TOTALS,
    APPOINTMENT_MONTHS,
    APPOINTMENT_YEARS,
    ACCOUNT_MONTHS,
)
ACCOUNT_KINDS = {"consultants": "consultant", "clients": "client"}


def resolved_category(stored: str | None, primary: str | None) -> str:
    """The category an appointment counts under: the stored one unless empty or `General`, else the
    consultant's primary category (`primary` is None for an unknown consultant), else `General`.
    The `appointment_facts` view computes the same in SQL."""
    if stored is not None and stored not in NO_CATEGORY:
        return stored
    return primary or GENERAL


def _month(moment: Any) -> date:
    return date(moment.year, moment.month, 1)


class Deltas:
    """Signed contributions per rollup and key, written with one statement per rollup."""

    def __init__(self) -> None:
        self.entries: dict[Rollup, dict[tuple[Any, ...], list[Any]]] = {rollup: {} for rollup in ROLLUPS}

    def add(self, rollup: Rollup, key: tuple[Any, ...], sums: Iterable[Any], sign: int) -> None:
        entry = self.entries[rollup].setdefault(key, [0] + [Decimal(0)] * len(rollup.sums))
        entry[0] += sign
        for index, value in enumerate(sums, start=1):
            entry[index] += sign * (value or 0)

    def transaction(self, row: dict[str, Any], sign: int) -> None:
        month, earned = _month(row["created_local"]), bool(row["earned"])
        sums = [row[name] for name in MONEY]
        self.add(
            TRANSACTION_MONTHS, (month, row["consultant_id"] or "", row["kind"], row["status"], earned), sums, sign
        )
        self.add(PLATFORM_MONTHS, (month, row["kind"], row["status"], earned), sums, sign)

    def appointment(self, row: dict[str, Any], primary: str | None, sign: int) -> None:
        """A deleted appointment, or one without a status, is in no figure and so in no rollup."""
        if row["deleted"] or row["status"] is None:
            return
        local, status = row["start_local"], row["status"]
        category = resolved_category(row["category"], primary)
        self.add(APPOINTMENT_DAYS, (local.date(), status, category), [row["fee"]], sign)
        self.add(APPOINTMENT_TOTALS, (status, category), [row["fee"]], sign)
        self.add(APPOINTMENT_MONTHS, (_month(local), row["consultant_id"] or "", status), [row["fee"]], sign)
        self.add(APPOINTMENT_YEARS, (date(local.year, 1, 1), row["consultant_id"] or "", status), [row["fee"]], sign)

    def account(self, table: str, row: dict[str, Any], sign: int) -> None:
        if not row["deleted"]:
            self.add(
                ACCOUNT_MONTHS, (_month(row["created_local"]), ACCOUNT_KINDS[table], row["status"] or ""), (), sign
            )

    def write(self, con: duckdb.DuckDBPyConnection, journal: bool = True) -> None:
        for rollup, entries in self.entries.items():
            changed = [(*key, *values) for key, values in entries.items() if any(values)]
            if changed:
                _upsert(con, rollup, changed, journal)


def _upsert(con: duckdb.DuckDBPyConnection, rollup: Rollup, changed: list[tuple[Any, ...]], journal: bool) -> None:
    """Add the deltas to their groups (decimals travel as text), then drop the groups left empty."""
    columns = list(zip(*changed, strict=True))
    selects, values = [], []
    kinds = [kind for _, kind in rollup.keys] + ["BIGINT"] + ["DECIMAL(18, 2)"] * len(rollup.sums)
    for index, (kind, column) in enumerate(zip(kinds, columns, strict=True), start=1):
        if kind.startswith("DECIMAL"):
            selects.append(f"CAST(unnest(${index}::VARCHAR[]) AS {kind})")
            values.append([str(v) for v in column])
        else:
            selects.append(f"unnest(${index}::{kind}[])")
            values.append(list(column))
    totals = ["n", *rollup.sums]
    keys = len(rollup.keys)
    if journal:  # the changed groups, for the analysts' snapshot (reporting/snapshot.py sets the position)
        con.execute(
            f"""INSERT INTO reporting_changes SELECT -1, '{rollup.table}', concat_ws('|', {", ".join(selects[:keys])})""",
            values[:keys],
        )
    con.execute(
        f"""INSERT INTO {rollup.table} SELECT {", ".join(selects)}
                    ON CONFLICT DO UPDATE SET {", ".join(f"{c} = {c} + excluded.{c}" for c in totals)}""",
        values,
    )
    if any(row[len(rollup.keys)] < 0 for row in changed):  # only a group that lost rows can be left empty
        con.execute(f"DELETE FROM {rollup.table} WHERE n = 0")


@dataclass(frozen=True)
class Grouped:
    """The contributions of the batch's rows, read from their staged copies (`staged_<table>`, which
    hold exactly the rows the batch wrote), grouped by the rollup's key, in its column order (keys, n,
    sums); the same rules as `Deltas`, in SQL. Reading the staged rows, not the fact tables filtered by
    the batch's ids, keeps a batch's cost independent of the store's size: DuckDB answers an
    `id IN (SELECT unnest(...))` with a scan of the whole table (about 110 ms at 4 M rows)."""

    tables: tuple[str, ...]
    sql: str


STAGED = ("consultants", "clients", "appointments", "transactions")  # the fact tables the rollups read


def staged(table: str) -> str:
    return f"staged_{table}"


MONTH = "CAST(date_trunc('month', {}) AS DATE)"
YEAR = "CAST(date_trunc('year', {}) AS DATE)"
MONEY_SUMS = "count(*), sum(coalesce(amount, 0)), sum(coalesce(platform_fee, 0)), sum(coalesce(net_amount, 0))"
LISTED = "NOT a.deleted AND a.status IS NOT NULL"
# the appointments' figures: the resolved category (as `resolved_category`), the count and the fees
CATEGORY = f"""CASE WHEN a.category IS NOT NULL AND a.category NOT IN {NO_CATEGORY} THEN a.category
                    ELSE coalesce(nullif(c.primary_category, ''), '{GENERAL}') END"""
COUNT_AND_FEES = "count(*), sum(coalesce(a.fee, 0))"
WITH_CATEGORY = (
    f"FROM staged_appointments a LEFT JOIN consultants c ON c.id = a.consultant_id WHERE {LISTED} GROUP BY ALL"
)


def _per_consultant(period: str) -> Grouped:
    """The appointments by business period (`MONTH` or `YEAR`), consultant and status."""
    return Grouped(
        ("appointments",),
        f"""SELECT {period.format("a.start_local")}, coalesce(a.consultant_id, ''), a.status, {COUNT_AND_FEES}
            FROM staged_appointments a WHERE {LISTED} GROUP BY ALL""",
    )


ADDED = {
    TRANSACTION_MONTHS: Grouped(
        ("transactions",),
        f"""SELECT {MONTH.format("created_local")}, coalesce(consultant_id, ''), kind, status, earned, {MONEY_SUMS}
            FROM staged_transactions GROUP BY ALL""",
    ),
    PLATFORM_MONTHS: Grouped(
        ("transactions",),
        f"""SELECT {MONTH.format("created_local")}, kind, status, earned, {MONEY_SUMS}
            FROM staged_transactions GROUP BY ALL""",
    ),
    APPOINTMENT_DAYS: Grouped(
        ("appointments",), f"SELECT CAST(a.start_local AS DATE), a.status, {CATEGORY}, {COUNT_AND_FEES} {WITH_CATEGORY}"
    ),
    APPOINTMENT_TOTALS: Grouped(("appointments",), f"SELECT a.status, {CATEGORY}, {COUNT_AND_FEES} {WITH_CATEGORY}"),
    APPOINTMENT_MONTHS: _per_consultant(MONTH),
    APPOINTMENT_YEARS: _per_consultant(YEAR),
}


ACCOUNTS_ADDED = [  # account_months from each account table (only a table the batch staged rows in is read)
    Grouped(
        (table,),
        f"""SELECT {MONTH.format("created_local")}, '{kind}', coalesce(status, ''), count(*)
            FROM staged_{table} WHERE NOT deleted GROUP BY ALL""",
    )
    for table, kind in ACCOUNT_KINDS.items()
]


def _add_grouped(con: duckdb.DuckDBPyConnection, rollup: Rollup, query: str, journal: bool) -> None:
    """Add the grouped contributions to their groups, journaling the groups (as `_upsert` does)."""
    keys = ", ".join(f"k{index}" for index in range(len(rollup.keys)))
    columns = [*(f"k{index}" for index in range(len(rollup.keys))), "n", *(f"s{i}" for i in range(len(rollup.sums)))]
    grouped = f"SELECT * FROM ({query}) AS g({', '.join(columns)})"
    if journal:
        con.execute(
            f"INSERT INTO reporting_changes SELECT -1, '{rollup.table}', concat_ws('|', {keys}) FROM ({grouped})"
        )
    totals = ["n", *rollup.sums]
    con.execute(
        f"""INSERT INTO {rollup.table} {grouped}
            ON CONFLICT DO UPDATE SET {", ".join(f"{c} = {c} + excluded.{c}" for c in totals)}"""
    )


def add_staged(con: duckdb.DuckDBPyConnection, table: str, journal: bool) -> None:
    """Add the rows staged in `staged_<table>` to every rollup that groups that table (reporting/direct.py)."""
    for rollup, query in ADDED.items():
        if table in query.tables:
            _add_grouped(con, rollup, query.sql, journal)


APPOINTMENT_COLUMNS = ("id", "consultant_id", "status", "start_local", "fee", "category", "deleted")


def roll_up(
    con: duckdb.DuckDBPyConnection,
    rows: dict[str, dict[str, dict[str, Any]]],
    before: dict[str, dict[str, dict[str, Any]]],
    journal: bool = True,
) -> None:
    """Apply one batch to every rollup, after its rows are written (journaling the changed groups for
    the analysts' snapshot unless `journal` is false: no snapshot file to refresh). `rows` holds each row the batch
    touched as it is after the batch (and staged in `staged_<table>` by the projection), `before` those that
    existed before it as they were then (same shape, by table and id): the rows' contributions are added by
    one grouped statement per rollup over the staged rows, the old ones taken out as deltas computed here."""
    added = [*ADDED.items(), *((ACCOUNT_MONTHS, query) for query in ACCOUNTS_ADDED)]
    for rollup, query in added:  # what the rows are now: grouped in SQL from the staged rows
        if any(rows[table] for table in query.tables):
            _add_grouped(con, rollup, query.sql, journal)
    deltas = Deltas()  # what they were: taken out (few rows, loaded in Python anyway)
    for old in before["transactions"].values():
        deltas.transaction(old, -1)
    for table in ACCOUNT_KINDS:
        for old in before[table].values():
            deltas.account(table, old, -1)

    consultants = rows["consultants"]
    old_primary = {cid: _primary(before["consultants"].get(cid)) for cid in consultants}
    new_primary = {cid: _primary(row) for cid, row in consultants.items()}
    others = {
        row["consultant_id"]
        for row in before["appointments"].values()
        if row["consultant_id"] and row["consultant_id"] not in consultants
    }
    if others:
        unchanged = dict(
            con.execute(
                "SELECT id, primary_category FROM consultants WHERE id IN (SELECT unnest(?))", [sorted(others)]
            ).fetchall()
        )
        for cid in others:
            old_primary[cid] = unchanged.get(cid)  # None: not (yet) a known consultant
    for old in before["appointments"].values():
        deltas.appointment(old, old_primary.get(old["consultant_id"]), -1)
    recategorised = sorted(cid for cid in consultants if (old_primary[cid] or GENERAL) != (new_primary[cid] or GENERAL))
    for row in _uncategorised_appointments(con, recategorised, exclude=rows["appointments"]):
        deltas.appointment(row, old_primary[row["consultant_id"]], -1)
        deltas.appointment(row, new_primary[row["consultant_id"]], 1)
    deltas.write(con, journal)


def _primary(consultant: dict[str, Any] | None) -> str | None:
    return None if consultant is None else consultant["primary_category"]


def _uncategorised_appointments(
    con: duckdb.DuckDBPyConnection, consultant_ids: list[str], exclude: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """The stored appointments of these consultants that count under their primary category
    (those the batch touched are accounted for already)."""
    if not consultant_ids:
        return
    for values in con.execute(
        f"""SELECT {", ".join(APPOINTMENT_COLUMNS)} FROM appointments
                WHERE consultant_id IN (SELECT unnest(?)) AND NOT deleted
                      AND (category IS NULL OR category IN (SELECT unnest(?)))""",
        [consultant_ids, list(NO_CATEGORY)],
    ).fetchall():
        if values[0] not in exclude:
            yield dict(zip(APPOINTMENT_COLUMNS, values, strict=True))
