"""Applies batches of domain events to the DuckDB tables of the reporting store.

A batch is applied in two passes: the first collects the ids of rows the batch changes but did
not create, which are loaded with one query per table; the second applies the events in order to
those rows in memory. The touched rows are then replaced with one DELETE and one bulk INSERT per
table, inside the caller's DuckDB transaction (which also advances the tracking position).
Events of other aggregates (consultant days, notifications, unique keys, settings, logins) are
skipped by their topic before they are decoded."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
from eventsourcing.utils import get_topic

from domain.accounts import CLIENT, CONSULTANT, Account
from domain.appointments import Appointment, ClientLink
from domain.catalogue import Category
from domain.ledger import Transaction
from domain.money import exact
from domain.privacy import Erasure
from domain.profiles import consultant_display_name
from infrastructure.directory_projection import consultant_category_rows
from reporting import renames, upcoming
from reporting.rollups import roll_up

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

ACCOUNT_EVENTS = (
    Account.Registered,
    Account.ProfileUpdated,
    Account.Approved,
    Account.Rejected,
    Account.Blocked,
    Account.Unblocked,
    Account.Deleted,
)
APPOINTMENT_EVENTS = (
    Appointment.Created,
    Appointment.Confirmed,
    Appointment.HoldExpired,
    Appointment.Rescheduled,
    Appointment.Cancelled,
    Appointment.Completed,
    Appointment.StatusChanged,
    Appointment.Updated,
    Appointment.Deleted,
)
LEDGER_EVENTS = (Transaction.Recorded, Transaction.Succeeded, Transaction.Failed, Transaction.Refunded)
CATALOGUE_EVENTS = (Category.Created, Category.Updated, Category.Deleted)
LINK_EVENTS = (ClientLink.Linked, ClientLink.Relinked, ClientLink.StatusChanged, ClientLink.Removed)
# The topics this projection decodes; every other notification is skipped undecoded.
TOPICS = frozenset(
    get_topic(cls)
    for cls in (
        *ACCOUNT_EVENTS,
        *APPOINTMENT_EVENTS,
        *LEDGER_EVENTS,
        *CATALOGUE_EVENTS,
        *LINK_EVENTS,
        Erasure.Recorded,
    )
)
NAME_FIELDS = ("displayName", "name", "firstName", "lastName")
ACCOUNT_STATUS = {
    Account.Approved: "Active",
    Account.Rejected: "Rejected",
    Account.Blocked: "Blocked",
    Account.Unblocked: "Active",
}


def money(value: Any) -> Decimal:
    """A money figure of an event, exact to the cent under the domain's one rounding rule."""
    return exact(value)


def _name_of(value: Any) -> str:
    """A category given as a snapshot object (`{name}`), a `{title}` object or a plain string."""
    if isinstance(value, dict):
        return str(value.get("name") or value.get("title") or "")
    return str(value or "")


@dataclass
class BatchRows:
    rows: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {t: {} for t in ENTITY_TABLES})
    existing: dict[str, set[str]] = field(default_factory=lambda: {t: set() for t in ENTITY_TABLES})
    category_lists: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    con: Any = None  # the batch's DuckDB connection (renames load the rows they change)
    links: list[dict[str, Any]] = field(default_factory=list)
    # later changes of links, in order: (client, consultant, new status; `Removed` for a removed link)
    link_changes: list[tuple[str, str, str]] = field(default_factory=list)
    # the loaded rows as they were before this batch, by table (for the rollups' deltas)
    before: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {t: {} for t in ENTITY_TABLES})


class ReportingProjection:
    def __init__(self, zone: ZoneInfo):
        self.zone = zone

    def _utc(self, moment: datetime) -> datetime:
        return moment.astimezone(UTC).replace(tzinfo=None)

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone).replace(tzinfo=None)

    # -- one batch -----------------------------------------------------------------------------------

    def apply(self, con: duckdb.DuckDBPyConnection, events: list[Any]) -> BatchRows:
        batch = BatchRows(con=con)
        self._load(con, batch, events)
        for event in events:
            handler = self._handlers.get(type(event))
            if handler is not None:
                handler(self, batch, event)
        self._derive_earned(con, batch)
        self._write(con, batch)
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
            for values in con.execute(
                f"SELECT {', '.join(names)} FROM transactions WHERE appointment_id IN (SELECT unnest(?))",
                [sorted(appointments)],
            ).fetchall():
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
        known = (
            dict(
                con.execute("SELECT id, status FROM appointments WHERE id IN (SELECT unnest(?))", [missing]).fetchall()
            )
            if missing
            else {}
        )
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
            if isinstance(event, (Account.Registered, Appointment.Created, Transaction.Recorded, Category.Created)):
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
                found = con.execute(
                    f"SELECT {', '.join(names)} FROM {target} WHERE id IN (SELECT unnest(?))", [sorted(ids)]
                ).fetchall()
                for values in found:
                    row = dict(zip(names, values, strict=True))
                    batch.rows[target][row["id"]] = row
                    batch.existing[target].add(row["id"])
                    batch.before[target][row["id"]] = dict(row)

    def _write(self, con: duckdb.DuckDBPyConnection, batch: BatchRows) -> None:
        for table in ENTITY_TABLES:
            rows = batch.rows[table]
            if not rows:
                continue
            replaced = sorted(batch.existing[table])
            if replaced:
                con.execute(f"DELETE FROM {table} WHERE id IN (SELECT unnest(?))", [replaced])
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
        roll_up(con, batch.rows, batch.before)

    # -- accounts ------------------------------------------------------------------------------------

    def _account(self, batch: BatchRows, event: Any) -> None:
        account_id = event.originator_id.hex[:24]
        if isinstance(event, Account.Registered):
            when = {"created_at": self._utc(event.timestamp), "created_local": self._local(event.timestamp)}
            if event.kind == CONSULTANT:
                batch.rows["consultants"][account_id] = {
                    "id": account_id,
                    **self._consultant(event.profile),
                    **when,
                    "deleted": False,
                }
                self._categories(batch, account_id, event.profile)
            elif event.kind == CLIENT:
                batch.rows["clients"][account_id] = {
                    "id": account_id,
                    **self._client(event.profile),
                    **when,
                    "deleted": False,
                }
            return
        consultant = batch.rows["consultants"].get(account_id)
        client = batch.rows["clients"].get(account_id)
        row = consultant if consultant is not None else client
        if row is None:
            return  # a back-office user: not part of the reporting store
        if isinstance(event, Account.Deleted):
            row["deleted"] = True
        elif isinstance(event, Account.ProfileUpdated):
            if consultant is not None:
                consultant.update(self._consultant(event.changes, consultant))
                if "categories" in event.changes:
                    self._categories(batch, account_id, event.changes)
            else:
                assert client is not None
                client.update(self._client(event.changes, client))
        else:
            row["status"] = ACCOUNT_STATUS[type(event)]

    @staticmethod
    def _consultant(profile: dict[str, Any], before: dict[str, Any] | None = None) -> dict[str, Any]:
        """The consultant columns from a (possibly partial) profile; a partial one keeps the rest."""
        out = dict(before or {})
        if before is None or set(NAME_FIELDS) & set(profile):
            names = {
                **json.loads((before or {}).get("name_fields") or "{}"),
                **{k: profile[k] for k in NAME_FIELDS if k in profile},
            }
            out["name"] = consultant_display_name(names) or ""
            out["name_fields"] = json.dumps(names, ensure_ascii=False)
        for column, key in (("email", "email"), ("status", "status")):
            if before is None or key in profile:
                out[column] = profile.get(key)
        if before is None or "category" in profile:
            out["primary_category"] = _name_of(profile.get("category"))
        if before is None or "subcategory" in profile:
            out["primary_subcategory"] = _name_of(profile.get("subcategory"))
        if before is None or "fees" in profile:
            out["fees"] = money(profile.get("fees"))
        if before is None or "commission" in profile:
            out["platform_percent"] = Decimal(str((profile.get("commission") or {}).get("platformPercent") or 0))
        return {k: v for k, v in out.items() if k in CONSULTANT_COLUMNS}

    @staticmethod
    def _client(profile: dict[str, Any], before: dict[str, Any] | None = None) -> dict[str, Any]:
        out = dict(before or {})
        for column, key in (("name", "fullName"), ("email", "email"), ("status", "status")):
            if before is None or key in profile:
                out[column] = profile.get(key)
        if before is None or {"avatar", "profileImage"} & set(profile):
            out["avatar"] = profile.get("avatar") or profile.get("profileImage") or ""
        return {k: v for k, v in out.items() if k in CLIENT_COLUMNS}

    @staticmethod
    def _categories(batch: BatchRows, consultant_id: str, profile: dict[str, Any]) -> None:
        batch.category_lists[consultant_id] = consultant_category_rows(consultant_id, profile.get("categories") or [])

    # -- catalogue -----------------------------------------------------------------------------------

    def _category(self, batch: BatchRows, event: Any) -> None:
        category_id = event.originator_id.hex[:24]
        rows = batch.rows["categories"]
        if isinstance(event, Category.Created):
            rows[category_id] = {
                "id": category_id,
                "title": str(event.fields.get("title", "")),
                "parent_id": event.parent_id,
                "status": event.fields.get("status", "Active"),
                "deleted": False,
            }
            return
        row = rows.get(category_id)
        if row is None:
            return
        if isinstance(event, Category.Deleted):
            row["deleted"] = True
            return
        if "title" in event.changes:
            if str(event.changes["title"]) != row["title"]:
                renames.cascade(
                    batch, category_id, row["title"], str(event.changes["title"]), sub=bool(row["parent_id"])
                )
            row["title"] = str(event.changes["title"])
        if "status" in event.changes:
            row["status"] = event.changes["status"]
        row["parent_id"] = event.parent_id

    # -- appointments and links ----------------------------------------------------------------------

    def _appointment(self, batch: BatchRows, event: Any) -> None:
        appointment_id = event.originator_id.hex[:24]
        rows = batch.rows["appointments"]
        if isinstance(event, Appointment.Created):
            fields = event.fields
            rows[appointment_id] = {
                "id": appointment_id,
                "consultant_id": event.consultant_id,
                "client_id": event.client_id,
                "status": event.status,
                "start_at": self._utc(event.start),
                "end_at": self._utc(event.end),
                "start_local": self._local(event.start),
                "created_at": self._utc(event.timestamp),
                "created_local": self._local(event.timestamp),
                "fee": money(fields.get("fee")),
                "category": _name_of(fields.get("category")) or None,
                "client_name": (fields.get("clientSnapshot") or {}).get("name") or None,
                "consultant_name": (fields.get("consultantSnapshot") or {}).get("name") or None,
                "created_by": event.created_by,
                "deleted": False,
            }
            return
        row = rows.get(appointment_id)
        if row is None:
            return
        if isinstance(event, Appointment.Deleted):
            row["deleted"] = True
        elif isinstance(event, Appointment.Rescheduled):
            row.update(
                start_at=self._utc(event.start), end_at=self._utc(event.end), start_local=self._local(event.start)
            )
        elif isinstance(event, (Appointment.Confirmed, Appointment.Updated)):
            if isinstance(event, Appointment.Confirmed):
                row["status"] = "Upcoming"
            changes = event.changes
            if "fee" in changes:
                row["fee"] = money(changes["fee"])
            if "category" in changes:
                row["category"] = _name_of(changes["category"]) or None
            if "clientSnapshot" in changes:
                row["client_name"] = (changes["clientSnapshot"] or {}).get("name") or row["client_name"]
            if "consultantSnapshot" in changes:
                row["consultant_name"] = (changes["consultantSnapshot"] or {}).get("name") or row["consultant_name"]
        else:
            row["status"] = {
                Appointment.HoldExpired: "Expired",
                Appointment.Cancelled: "Cancelled",
                Appointment.Completed: "Completed",
            }.get(type(event)) or event.status

    def _link(self, batch: BatchRows, event: Any) -> None:
        batch.links.append(
            {
                "client_id": event.client_id,
                "consultant_id": event.consultant_id,
                "status": "Active",
                "created_at": self._utc(event.timestamp),
                "created_local": self._local(event.timestamp),
            }
        )

    def _link_change(self, batch: BatchRows, event: Any) -> None:
        status = (
            "Active"
            if isinstance(event, ClientLink.Relinked)
            else "Removed"
            if isinstance(event, ClientLink.Removed)
            else event.status
        )
        batch.link_changes.append((event.client_id, event.consultant_id, status))

    # -- the ledger ----------------------------------------------------------------------------------

    def _transaction(self, batch: BatchRows, event: Any) -> None:
        transaction_id = event.originator_id.hex[:24]
        rows = batch.rows["transactions"]
        if isinstance(event, Transaction.Recorded):
            rows[transaction_id] = {
                "id": transaction_id,
                "kind": event.kind,
                "status": event.status,
                "amount": money(event.amount),
                "platform_fee": money(event.platform_fee),
                "net_amount": money(event.net_amount),
                "currency": event.currency,
                "user_id": event.user_id,
                "consultant_id": event.consultant_id,
                "appointment_id": event.appointment_id,
                "payment_method": event.payment_method,
                "reference": event.reference,
                "refund_id": None,
                "created_at": self._utc(event.timestamp),
                "created_local": self._local(event.timestamp),
                "updated_at": self._utc(event.timestamp),
            }
            return
        row = rows.get(transaction_id)
        if row is None:
            return
        row["updated_at"] = self._utc(event.timestamp)
        if isinstance(event, Transaction.Succeeded):
            row["status"] = "Success"
            row["reference"] = event.reference
            if event.appointment_id is not None:
                row["appointment_id"] = event.appointment_id
        elif isinstance(event, Transaction.Failed):
            row["status"] = "Failed"
        elif isinstance(event, Transaction.Refunded):
            row["status"] = "Refunded"
            row["refund_id"] = event.refund_id

    _handlers: dict[type, Callable[[ReportingProjection, BatchRows, Any], None]] = {}


CONSULTANT_COLUMNS = frozenset(c for c, _ in COLUMNS["consultants"])
CLIENT_COLUMNS = frozenset(c for c, _ in COLUMNS["clients"])
for _cls in ACCOUNT_EVENTS:
    ReportingProjection._handlers[_cls] = ReportingProjection._account
for _cls in APPOINTMENT_EVENTS:
    ReportingProjection._handlers[_cls] = ReportingProjection._appointment
for _cls in LEDGER_EVENTS:
    ReportingProjection._handlers[_cls] = ReportingProjection._transaction
for _cls in CATALOGUE_EVENTS:
    ReportingProjection._handlers[_cls] = ReportingProjection._category
ReportingProjection._handlers[ClientLink.Linked] = ReportingProjection._link
for _cls in LINK_EVENTS[1:]:
    ReportingProjection._handlers[_cls] = ReportingProjection._link_change


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


EPOCH = datetime(1970, 1, 1)
MICROSECOND = timedelta(microseconds=1)


def _micros(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - EPOCH) // MICROSECOND


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Bulk insert: one list per column, zipped back into rows by DuckDB's `unnest`. Decimals travel
    as text and instants as microseconds since the epoch (both convert far faster than objects)."""
    if not rows:
        return
    columns = COLUMNS[table]
    selects, values = [], []
    for index, (name, kind) in enumerate(columns, start=1):
        column = [row.get(name) for row in rows]
        if kind.startswith("DECIMAL"):
            selects.append(f"CAST(unnest(${index}::VARCHAR[]) AS {kind})")
            values.append([_decimal_text(v) for v in column])
        elif kind == "TIMESTAMP":
            selects.append(f"make_timestamp(unnest(${index}::BIGINT[]))")
            values.append([_micros(v) for v in column])
        else:
            selects.append(f"unnest(${index}::{kind}[])")
            values.append(column)
    con.execute(f"INSERT INTO {table} SELECT {', '.join(selects)}", values)
