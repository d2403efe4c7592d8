"""Applies batches of domain events to the DuckDB tables of the reporting store.

A batch is applied in two passes: the first collects the ids of rows the batch changes but did
not create, which are loaded with one query per table; the second applies the events in order to
those rows in memory (reporting/account_rows.py, reporting/activity_rows.py). The touched rows are
then replaced with one DELETE and one bulk INSERT per table, and the rollups updated
(reporting/rollups.py), inside the caller's DuckDB transaction (which also advances the tracking
position). Events of other aggregates (consultant days, notifications, unique keys, settings, logins)
are skipped by their topic before they are decoded."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
from eventsourcing.utils import get_topic

from domain.accounts import Account
from domain.appointments import Appointment, ClientLink
from domain.catalogue import Category
from domain.ledger import Transaction
from domain.privacy import Erasure
from domain.profiles import consultant_display_name
from reporting import account_rows, activity_rows, upcoming
from reporting.batch import BatchRows
from reporting.columns import COLUMNS, ENTITY_TABLES, ids_in, insert
from reporting.rollups import STAGED, roll_up, staged

HANDLERS: dict[type, Callable[[BatchRows, Any], None]] = {
    **{cls: account_rows.account for cls in account_rows.ACCOUNT_EVENTS},
    **{cls: activity_rows.appointment for cls in activity_rows.APPOINTMENT_EVENTS},
    **{cls: activity_rows.transaction for cls in activity_rows.LEDGER_EVENTS},
    **{cls: activity_rows.category for cls in activity_rows.CATALOGUE_EVENTS},
    ClientLink.Linked: activity_rows.link,
    **{cls: activity_rows.link_change for cls in activity_rows.LINK_EVENTS[1:]},
}
# The topics this projection decodes; every other notification is skipped undecoded.
TOPICS = frozenset(get_topic(cls) for cls in (*HANDLERS, Erasure.Recorded))
CREATED = (Account.Registered, Appointment.Created, Transaction.Recorded, Category.Created)


class ReportingProjection:
    def __init__(self, zone: ZoneInfo):
        self.zone = zone

    # -- one batch -----------------------------------------------------------------------------------

    def apply(self, con: duckdb.DuckDBPyConnection, events: list[Any], journal: bool = True) -> BatchRows:
        batch = BatchRows(self.zone, con)
        self._load(con, batch, events)
        handlers = HANDLERS
        for event in events:
            handler = handlers.get(type(event))
            if handler is not None:
                handler(batch, event)
        self._derive_earned(con, batch)
        self._write(con, batch, journal)
        for event in events:
            if isinstance(event, Erasure.Recorded):
                erase_person(con, event.account_id)
        return batch  # the rows it replaced (journaled for the analysts' snapshot, reporting/snapshot.py)

    def _derive_earned(self, con: duckdb.DuckDBPyConnection, batch: BatchRows) -> None:
        """Keep `transactions.earned` equal to the one earnings rule: a Success payment whose
        appointment is Completed, or that has none (none linked, or unknown). A deleted appointment keeps the
        status it had, as the write side's `Earnings` aggregate does (the remaining balance payouts are checked
        against). It changes with
        the transaction and with its appointment, so the payments of every appointment touched by the
        batch are loaded and recomputed too."""
        transactions, appointments = batch.rows["transactions"], batch.rows["appointments"]
        if appointments:
            names = [c for c, _ in COLUMNS["transactions"]]
            linked, params = ids_in("appointment_id", sorted(appointments))
            for values in con.execute(f"SELECT {', '.join(names)} FROM transactions WHERE {linked}", params).fetchall():
                if values[0] not in transactions:
                    transactions[values[0]] = dict(zip(names, values, strict=True))
                    batch.existing["transactions"].add(values[0])
                    batch.before["transactions"][values[0]] = dict(transactions[values[0]])
        if not transactions:
            return
        missing = sorted(
            {
                row["appointment_id"]
                for row in transactions.values()
                if row["appointment_id"] and row["appointment_id"] not in appointments
            }
        )
        known: dict[str, Any] = {}
        if missing:
            where, params = ids_in("id", missing)
            known = dict(con.execute(f"SELECT id, status FROM appointments WHERE {where}", params).fetchall())
        for row in appointments.values():
            known[row["id"]] = row["status"]
        for row in transactions.values():
            linked = known.get(row["appointment_id"]) if row["appointment_id"] else None
            row["earned"] = row["kind"] == "Payment" and row["status"] == "Success" and linked in (None, "Completed")

    def _load(self, con: duckdb.DuckDBPyConnection, batch: BatchRows, events: Iterable[Any]) -> None:
        created: set[str] = set()
        wanted: dict[str, set[str]] = {t: set() for t in ("accounts", "categories", "appointments", "transactions")}
        for event in events:
            entity = event.originator_id.hex[:24]
            if isinstance(event, CREATED):
                created.add(entity)
            elif entity not in created and not isinstance(event, (ClientLink.Event, Erasure.Recorded)):
                table = (
                    "accounts"
                    if isinstance(event, Account.Event)
                    else "categories"
                    if isinstance(event, Category.Event)
                    else "appointments"
                    if isinstance(event, Appointment.Event)
                    else "transactions"
                )
                wanted[table].add(entity)
        for table, ids in wanted.items():
            if not ids:
                continue
            for target in ("consultants", "clients") if table == "accounts" else (table,):
                names = [c for c, _ in COLUMNS[target]]
                wanted_ids, params = ids_in("id", sorted(ids))
                found = con.execute(f"SELECT {', '.join(names)} FROM {target} WHERE {wanted_ids}", params).fetchall()
                for values in found:
                    row = dict(zip(names, values, strict=True))
                    batch.rows[target][row["id"]] = row
                    batch.existing[target].add(row["id"])
                    batch.before[target][row["id"]] = dict(row)

    def _write(self, con: duckdb.DuckDBPyConnection, batch: BatchRows, journal: bool) -> None:
        for table in ENTITY_TABLES:
            rows = batch.rows[table]
            if not rows:
                continue
            replaced = sorted(batch.existing[table])
            if replaced:
                where, params = ids_in("id", replaced)
                con.execute(f"DELETE FROM {table} WHERE {where}", params)
            if table in STAGED:  # the rollups group the batch's rows from this copy (reporting/rollups.py)
                con.execute(f"CREATE OR REPLACE TEMP TABLE {staged(table)} AS FROM {table} LIMIT 0")
                insert(con, table, list(rows.values()), into=staged(table))
                con.execute(f"INSERT INTO {table} FROM {staged(table)}")
            else:
                insert(con, table, list(rows.values()))
        upcoming.replace(con, batch.rows["appointments"].values(), batch.existing["appointments"])
        if batch.category_lists:
            con.execute(
                "DELETE FROM consultant_categories WHERE consultant_id IN (SELECT unnest(?))",
                [sorted(batch.category_lists)],
            )
            insert(con, "consultant_categories", [row for rows in batch.category_lists.values() for row in rows])
        if batch.links:
            insert(con, "client_consultants", batch.links)
        for client_id, consultant_id, status in batch.link_changes:
            con.execute(
                "UPDATE client_consultants SET status = ? WHERE client_id = ? AND consultant_id = ?",
                [status, client_id, consultant_id],
            )
        roll_up(con, batch.rows, batch.before, journal)


DELETED_NAME = "Deleted user"


def erase_person(con: duckdb.DuckDBPyConnection, account_id: str) -> None:
    """An erased person (`Erasure.Recorded`): its non-empty names become "Deleted user" and its e-mail and
    avatar empty, exactly what a rebuild decodes once its key is destroyed; figures are untouched."""
    named = "CASE WHEN coalesce(name, '') = '' THEN name ELSE 'Deleted user' END"
    con.execute(f"UPDATE clients SET name = {named}, email = '', avatar = '' WHERE id = ?", [account_id])
    for (fields,) in con.execute("SELECT name_fields FROM consultants WHERE id = ?", [account_id]).fetchall():
        names = {k: (DELETED_NAME if v else v) for k, v in json.loads(fields or "{}").items()}
        con.execute(
            "UPDATE consultants SET name = ?, name_fields = ?, email = '' WHERE id = ?",
            [consultant_display_name(names) or "", json.dumps(names, ensure_ascii=False), account_id],
        )
    for column, party in (("client_name", "client_id"), ("consultant_name", "consultant_id")):
        con.execute(
            f"UPDATE appointments SET {column} = 'Deleted user' WHERE {party} = ? AND coalesce({column}, '') <> ''",
            [account_id],
        )
