"""Account events as rows of `consultants`, `clients` and `consultant_categories` (back-office users
are not part of the reporting store)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from domain.accounts import CLIENT, CONSULTANT, Account
from domain.profiles import consultant_display_name
from infrastructure.directory_projection import consultant_category_rows
from reporting.batch import BatchRows, money, name_of
from reporting.columns import CLIENT_COLUMNS, CONSULTANT_COLUMNS

ACCOUNT_EVENTS = (
    Account.Registered,
    Account.ProfileUpdated,
    Account.Approved,
    Account.Rejected,
    Account.Blocked,
    Account.Unblocked,
    Account.Deleted,
)
NAME_FIELDS = ("displayName", "name", "firstName", "lastName")
ACCOUNT_STATUS = {
    Account.Approved: "Active",
    Account.Rejected: "Rejected",
    Account.Blocked: "Blocked",
    Account.Unblocked: "Active",
}


def account(batch: BatchRows, event: Any) -> None:
    account_id = event.originator_id.hex[:24]
    if isinstance(event, Account.Registered):
        when = {"created_at": batch.utc(event.timestamp), "created_local": batch.local(event.timestamp)}
        if event.kind == CONSULTANT:
            batch.rows["consultants"][account_id] = {
                "id": account_id,
                **consultant_columns(event.profile),
                **when,
                "deleted": False,
            }
            _categories(batch, account_id, event.profile)
        elif event.kind == CLIENT:
            batch.rows["clients"][account_id] = {
                "id": account_id,
                **client_columns(event.profile),
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
            consultant.update(consultant_columns(event.changes, consultant))
            if "categories" in event.changes:
                _categories(batch, account_id, event.changes)
        else:
            assert client is not None
            client.update(client_columns(event.changes, client))
    else:
        row["status"] = ACCOUNT_STATUS[type(event)]


def consultant_columns(profile: dict[str, Any], before: dict[str, Any] | None = None) -> dict[str, Any]:
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
        out["primary_category"] = name_of(profile.get("category"))
    if before is None or "subcategory" in profile:
        out["primary_subcategory"] = name_of(profile.get("subcategory"))
    if before is None or "fees" in profile:
        out["fees"] = money(profile.get("fees"))
    if before is None or "commission" in profile:
        out["platform_percent"] = Decimal(str((profile.get("commission") or {}).get("platformPercent") or 0))
    return {k: v for k, v in out.items() if k in CONSULTANT_COLUMNS}


def client_columns(profile: dict[str, Any], before: dict[str, Any] | None = None) -> dict[str, Any]:
    out = dict(before or {})
    for column, key in (("name", "fullName"), ("email", "email"), ("status", "status")):
        if before is None or key in profile:
            out[column] = profile.get(key)
    if before is None or {"avatar", "profileImage"} & set(profile):
        out["avatar"] = profile.get("avatar") or profile.get("profileImage") or ""
    return {k: v for k, v in out.items() if k in CLIENT_COLUMNS}


def _categories(batch: BatchRows, consultant_id: str, profile: dict[str, Any]) -> None:
    batch.category_lists[consultant_id] = consultant_category_rows(consultant_id, profile.get("categories") or [])
