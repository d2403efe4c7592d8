"""Management of consultants, clients, back-office users and the catalogue (admin and self-service)."""

from __future__ import annotations

from typing import Any

from application.catalogue_rules import refuse_names_outside_catalogue
from application.marketplace import KeyTaken, Marketplace
from application.ports import AccountDirectory, CatalogueLookup
from application.registration import resolve_categories, snapshot_from
from domain.accounts import CLIENT, CONSULTANT, USER, Account, ensure_consultant_may_change, unique_keys
from domain.errors import Conflict, Forbidden, Invalid, NotFound
from domain.phones import digits, to_e164
from domain.profiles import consultant_defaults, normalise_consultant, split_list, user_defaults

CONSULTANT_DUPLICATE = "Consultant with this email or mobile already exists"
USER_KEY_LABEL = {"email": "email", "userId": "User ID", "mobile": "mobile number"}
STATUS_EVENTS = {"approve": "approve", "reject": "reject", "block": "block", "unblock": "unblock"}


def consultant_phone(value: str) -> str:
    """10 digits → +91<digits>; 12 digits starting 91 without '+' → +<digits> (contract auth §6.3)."""
    return to_e164(value) if digits(value) else value.strip()


class People:
    def __init__(self, market: Marketplace, directory: AccountDirectory, catalogue: CatalogueLookup):
        self.market = market
        self.directory = directory
        self.catalogue = catalogue

    # -- consultants ----------------------------------------------------------------------------

    def _snapshots(self, changes: dict[str, Any]) -> dict[str, Any]:
        out = dict(changes)
        if "category" in out:
            out["category"] = snapshot_from(
                out["category"], self.catalogue.category, self.catalogue.category_by_title, "General", ids_only=False
            )
        if "subcategory" in out:
            out["subcategory"] = snapshot_from(
                out["subcategory"], self.catalogue.subcategory, self.catalogue.subcategory_by_title, "", ids_only=False
            )
        for key in ("tags", "languages"):
            if key in out:
                out[key] = split_list(out[key])
        for key in ("phone", "mobile"):
            if out.get(key):
                out[key] = consultant_phone(out[key])
        if "email" in out:
            out["email"] = out["email"].strip().lower()
        return out

    def create_consultant(self, body: dict[str, Any]) -> str:
        fields = self._snapshots(body)
        fields.setdefault("category", snapshot_from(None, None, None, "General", ids_only=False))
        _refuse_archived(fields)
        profile = normalise_consultant(_merged(consultant_defaults(), fields))
        try:
            return self.market.register(CONSULTANT, profile, None, "admin", unique_keys(CONSULTANT, profile))
        except KeyTaken:
            raise Conflict(CONSULTANT_DUPLICATE) from None

    def update_consultant(self, consultant_id: str, changes: dict[str, Any], role: str, actor_id: str) -> None:
        ensure_consultant_may_change(role, actor_id, consultant_id, changes)
        _refuse_archived(changes)
        if role == "Consultant":
            refuse_names_outside_catalogue(changes, self.catalogue)
        fields = self._snapshots(changes)
        if "categories" in fields:
            fields["categories"] = resolve_categories(fields["categories"], self.catalogue)

        def change(account: Account) -> None:
            merged = normalise_consultant(_merged(account.profile, fields))
            account.update_profile({k: v for k, v in merged.items() if account.profile.get(k) != v})

        try:
            self.market.change_account(consultant_id, CONSULTANT, change)
        except NotFound:
            raise NotFound("Consultant not found") from None
        except KeyTaken:
            raise Conflict(CONSULTANT_DUPLICATE) from None

    def set_consultant_status(self, consultant_id: str, action: str) -> None:
        try:
            self.market.change_account(consultant_id, CONSULTANT, lambda a: getattr(a, STATUS_EVENTS[action])())
        except NotFound:
            raise NotFound("Consultant not found") from None

    def delete_consultant(self, consultant_id: str, role: str, actor_id: str) -> None:
        if role != "Admin" and not (role == "Consultant" and actor_id == consultant_id):
            raise Forbidden("Forbidden: Access denied")
        try:
            self.market.delete_account(consultant_id, CONSULTANT)
        except NotFound:
            raise NotFound("Consultant not found") from None

    # -- clients --------------------------------------------------------------------------------

    def update_client(self, client_id: str, changes: dict[str, Any], not_found: str = "User not found") -> None:
        fields = dict(changes)
        if fields.get("mobile"):
            fields["mobile"] = to_e164(fields["mobile"])
        if "email" in fields:
            fields["email"] = fields["email"].strip().lower()

        try:
            self.market.change_account(client_id, CLIENT, lambda account: account.update_changed(fields))
        except NotFound:
            raise NotFound(not_found) from None
        except KeyTaken:
            raise Conflict("Client with this email or mobile already exists") from None

    # -- back-office users ----------------------------------------------------------------------

    def create_user(self, body: dict[str, Any]) -> str:
        if body["role"] in ("Consultant", "Client"):
            raise Invalid(
                f"Cannot create {body['role']} using User endpoint. Please use the {body['role']} "
                "creation endpoint instead."
            )
        self._check_user_refs(body)
        profile = {
            **user_defaults(),
            **body,
            "email": body["email"].strip().lower(),
            "status": "Active",
            "verificationStatus": "Approved",
        }
        try:
            return self.market.register(USER, profile, None, "admin", unique_keys(USER, profile))
        except KeyTaken as taken:
            raise Conflict(f"User with this {USER_KEY_LABEL.get(taken.field, taken.field)} already exists") from None

    def update_user(self, user_id: str, changes: dict[str, Any]) -> None:
        fields = dict(changes)
        self._check_user_refs(fields)
        if "email" in fields:
            fields["email"] = fields["email"].strip().lower()
        if fields.get("verificationStatus") == "Blocked":
            fields["status"] = "Inactive"
        elif fields.get("verificationStatus") == "Approved":
            fields["status"] = "Active"

        try:
            self.market.change_account(user_id, USER, lambda account: account.update_changed(fields))
        except NotFound:
            raise NotFound("User not found") from None
        except KeyTaken as taken:
            raise Conflict(f"User with this {USER_KEY_LABEL.get(taken.field, taken.field)} already exists") from None

    def delete_user(self, user_id: str, actor_id: str, actor_role: str) -> dict[str, str]:
        """Delete a back-office user; an Admin deleting a consultant id deletes that consultant
        (the admin portal deletes consultants through this route)."""
        if user_id == actor_id:
            raise Invalid("Cannot delete your own account")
        try:
            account = self.market.delete_account(user_id, USER)
        except NotFound:
            if actor_role == "Admin" and self.directory.by_id(CONSULTANT, user_id) is not None:
                account = self.market.delete_account(user_id, CONSULTANT)
            else:
                raise NotFound("User not found") from None
        name = account.profile.get("fullName") or account.profile.get("name") or ""
        return {"deletedUserId": user_id, "deletedUserName": name}

    def _check_user_refs(self, fields: dict[str, Any]) -> None:
        for key, finder, label in (
            ("category", self.catalogue.category, "Category"),
            ("subcategory", self.catalogue.subcategory, "Subcategory"),
        ):
            if fields.get(key) in ("", None):
                if key in fields:
                    fields[key] = None
                continue
            if finder(fields[key]) is None:
                raise NotFound(f"{label} not found")

    # -- catalogue ------------------------------------------------------------------------------

    def create_category(self, fields: dict[str, Any], parent_id: str | None = None) -> str:
        return self.market.create_category({**CATALOGUE_DEFAULTS, **_trimmed(fields)}, parent_id)

    def update_category(self, category_id: str, changes: dict[str, Any], *, subcategory: bool) -> None:
        parent = changes.pop("parentCategory", None)
        self.market.update_category(category_id, _trimmed(changes), subcategory=subcategory, parent_id=parent)

    def delete_category(self, category_id: str, *, subcategory: bool) -> None:
        children = [] if subcategory else self.catalogue.child_ids(category_id)
        self.market.delete_category(category_id, subcategory=subcategory, children=children)


CATALOGUE_DEFAULTS = {
    "description": "",
    "image": "",
    "rating": 0,
    "consultants": 0,
    "clients": 0,
    "monthlyRevenue": 0,
    "status": "Active",
}


NESTED_CONSULTANT_FIELDS = ("commission", "socials")


def _merged(profile: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """`fields` over `profile`, where a partial `commission` or `socials` keeps the keys it does not
    name (a PATCH of `commission.platformPercent` must not drop the cancellation window)."""
    out = {**profile, **fields}
    for key in NESTED_CONSULTANT_FIELDS:
        if isinstance(profile.get(key), dict) and isinstance(fields.get(key), dict):
            out[key] = {**profile[key], **fields[key]}
    return out


def _refuse_archived(fields: dict[str, Any]) -> None:
    """`Archived` passes the request schema but is not a status the store keeps (contract auth §6.3)."""
    if fields.get("status") == "Archived":
        raise Invalid(
            "Validation failed",
            [{"field": "status", "message": "`Archived` is not a valid enum value for path `status`."}],
        )


def _trimmed(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    if isinstance(out.get("title"), str):
        out["title"] = out["title"].strip()
    return out
