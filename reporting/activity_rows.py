"""Catalogue, appointment, link and ledger events as rows of `categories`, `appointments`,
`client_consultants` and `transactions`."""

from __future__ import annotations

from typing import Any

from domain.appointments import Appointment, ClientLink
from domain.catalogue import Category
from domain.ledger import Transaction
from reporting import renames
from reporting.batch import BatchRows, money, name_of

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
APPOINTMENT_STATUS = {
    Appointment.HoldExpired: "Expired",
    Appointment.Cancelled: "Cancelled",
    Appointment.Completed: "Completed",
}

# -- catalogue -----------------------------------------------------------------------------------


def category(batch: BatchRows, event: Any) -> None:
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
            renames.cascade(batch, category_id, row["title"], str(event.changes["title"]), sub=bool(row["parent_id"]))
        row["title"] = str(event.changes["title"])
    if "status" in event.changes:
        row["status"] = event.changes["status"]
    row["parent_id"] = event.parent_id


# -- appointments and links ----------------------------------------------------------------------


def appointment(batch: BatchRows, event: Any) -> None:
    appointment_id = event.originator_id.hex[:24]
    rows = batch.rows["appointments"]
    if isinstance(event, Appointment.Created):
        fields = event.fields
        rows[appointment_id] = {
            "id": appointment_id,
            "consultant_id": event.consultant_id,
            "client_id": event.client_id,
            "status": event.status,
            "start_at": batch.utc(event.start),
            "end_at": batch.utc(event.end),
            "start_local": batch.local(event.start),
            "created_at": batch.utc(event.timestamp),
            "created_local": batch.local(event.timestamp),
            "fee": money(fields.get("fee")),
            "category": name_of(fields.get("category")) or None,
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
        row.update(start_at=batch.utc(event.start), end_at=batch.utc(event.end), start_local=batch.local(event.start))
    elif isinstance(event, (Appointment.Confirmed, Appointment.Updated)):
        if isinstance(event, Appointment.Confirmed):
            row["status"] = "Upcoming"
        changes = event.changes
        if "fee" in changes:
            row["fee"] = money(changes["fee"])
        if "category" in changes:
            row["category"] = name_of(changes["category"]) or None
        if "clientSnapshot" in changes:
            row["client_name"] = (changes["clientSnapshot"] or {}).get("name") or row["client_name"]
        if "consultantSnapshot" in changes:
            row["consultant_name"] = (changes["consultantSnapshot"] or {}).get("name") or row["consultant_name"]
    else:
        row["status"] = APPOINTMENT_STATUS.get(type(event)) or event.status


def link(batch: BatchRows, event: Any) -> None:
    batch.links.append(
        {
            "client_id": event.client_id,
            "consultant_id": event.consultant_id,
            "status": "Active",
            "created_at": batch.utc(event.timestamp),
            "created_local": batch.local(event.timestamp),
        }
    )


def link_change(batch: BatchRows, event: Any) -> None:
    status = (
        "Active"
        if isinstance(event, ClientLink.Relinked)
        else "Removed"
        if isinstance(event, ClientLink.Removed)
        else event.status
    )
    batch.link_changes.append((event.client_id, event.consultant_id, status))


# -- the ledger ----------------------------------------------------------------------------------


def transaction(batch: BatchRows, event: Any) -> None:
    transaction_id = event.originator_id.hex[:24]
    rows = batch.rows["transactions"]
    if isinstance(event, Transaction.Recorded):
        created_at = batch.utc(event.timestamp)
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
            "created_at": created_at,
            "created_local": batch.local(event.timestamp),
            "updated_at": created_at,
        }
        return
    row = rows.get(transaction_id)
    if row is None:
        return
    row["updated_at"] = batch.utc(event.timestamp)
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
