"""Contract tests of `/categories` and `/subcategories` through HTTP (contract auth §5, CONTRACT.md
"Catalogue and registration"): envelopes, roles, messages, shapes, computed stats and cascades."""

from __future__ import annotations

import secrets
from typing import Any

from tests.conftest import bearer, create_admin, employee_token, ok, refused, signup

API = "/api/v1"
MISSING_ID = "0123456789abcdef01234567"
CATEGORY_KEYS = {
    "_id",
    "title",
    "description",
    "image",
    "rating",
    "consultants",
    "clients",
    "monthlyRevenue",
    "status",
    "createdAt",
    "updatedAt",
}


def new_category(api: Any, admin: dict[str, str], title: str, **fields: Any) -> dict[str, Any]:
    return ok(api.post(f"{API}/categories", json={"title": title, **fields}, headers=admin), 201, "Category created")


def new_sub(api: Any, admin: dict[str, str], title: str, parent: str, **fields: Any) -> dict[str, Any]:
    reply = api.post(f"{API}/subcategories", json={"title": title, "parentCategory": parent, **fields}, headers=admin)
    return ok(reply, 201, "Subcategory created")


def by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["_id"]: item for item in items}


# -- categories --------------------------------------------------------------------------------


def test_category_create_update_delete(api):
    admin = bearer(create_admin(api))
    created = new_category(
        api,
        admin,
        "  Legal  ",
        description="Legal advice",
        image="https://img/legal.png",
        rating=4,
        unknownField="ignored",
    )
    assert set(created) == CATEGORY_KEYS
    assert created["title"] == "Legal"  # trimmed by the store
    assert (created["description"], created["image"], created["rating"], created["status"]) == (
        "Legal advice",
        "https://img/legal.png",
        4,
        "Active",
    )
    assert len(created["_id"]) == 24 and created["createdAt"].endswith("Z")
    older = new_category(api, admin, "Finance", status="Inactive", consultants=7, clients=3, monthlyRevenue=100)

    listed = ok(api.get(f"{API}/categories"), 200, "Categories fetched")
    assert [c["_id"] for c in listed] == [older["_id"], created["_id"]]  # newest first, Inactive included
    assert listed[0]["status"] == "Inactive" and listed[1]["subcategories"] == []
    # stored counters never show: every read computes them
    assert (listed[0]["consultants"], listed[0]["clients"], listed[0]["monthlyRevenue"]) == (0, 0, 0)

    updated = ok(
        api.patch(f"{API}/categories/{created['_id']}", json={"title": "Law", "rating": 5}, headers=admin),
        200,
        "Category updated",
    )
    assert (updated["_id"], updated["title"], updated["rating"], updated["description"]) == (
        created["_id"],
        "Law",
        5,
        "Legal advice",
    )
    assert updated["updatedAt"] >= created["updatedAt"]
    refused(
        api.patch(f"{API}/categories/{MISSING_ID}", json={"title": "Nope"}, headers=admin), 404, "Category not found"
    )

    deleted = ok(api.delete(f"{API}/categories/{created['_id']}", headers=admin), 200, "Category deleted")
    assert deleted == {"deletedId": created["_id"]}
    refused(api.delete(f"{API}/categories/{created['_id']}", headers=admin), 404, "Category not found")
    assert [c["_id"] for c in ok(api.get(f"{API}/categories"), 200, "Categories fetched")] == [older["_id"]]


def test_category_validation(api):
    admin = bearer(create_admin(api))
    body = refused(
        api.post(f"{API}/categories", json={"description": "no title"}, headers=admin), 400, "Validation failed"
    )
    assert body["errors"] == [{"field": "title", "message": "Title is required"}]
    body = refused(
        api.post(
            f"{API}/categories",
            json={"title": "L", "rating": 6, "status": "Gone", "description": "x" * 501},
            headers=admin,
        ),
        400,
        "Validation failed",
    )
    assert {e["field"] for e in body["errors"]} == {"title", "rating", "status", "description"}
    category = new_category(api, admin, "Legal")
    for patch in ({}, {"somethingElse": 1}):
        body = refused(
            api.patch(f"{API}/categories/{category['_id']}", json=patch, headers=admin), 400, "Validation failed"
        )
        assert body["errors"][0]["field"] == ""
    body = refused(
        api.patch(f"{API}/categories/not-an-id", json={"title": "Law"}, headers=admin), 400, "Validation failed"
    )
    assert body["errors"][0]["field"] == "id"
    assert [c["title"] for c in ok(api.get(f"{API}/categories"), 200, "Categories fetched")] == ["Legal"]


def test_catalogue_writes_are_admin_only(api):
    admin = bearer(create_admin(api))
    category = new_category(api, admin, "Legal")
    sub = new_sub(api, admin, "Family Law", category["_id"])
    consultant = bearer(signup(api, "Consultant")["token"])
    client = bearer(signup(api, "Client")["token"])
    employee = bearer(employee_token(api, admin))
    writes = [
        ("post", f"{API}/categories", {"title": "Hacked"}),
        ("patch", f"{API}/categories/{category['_id']}", {"title": "Hacked"}),
        ("delete", f"{API}/categories/{category['_id']}", None),
        ("post", f"{API}/subcategories", {"title": "Hacked", "parentCategory": category["_id"]}),
        ("patch", f"{API}/subcategories/{sub['_id']}", {"title": "Hacked"}),
        ("delete", f"{API}/subcategories/{sub['_id']}", None),
    ]
    for method, url, body in writes:
        kwargs = {"json": body} if body is not None else {}
        refused(getattr(api, method)(url, **kwargs), 401, "Access denied. No token provided.")
        for who in (consultant, client, employee):
            refused(getattr(api, method)(url, headers=who, **kwargs), 403, "Forbidden: Access denied")
    # nothing changed, and the reads are public
    listed = ok(api.get(f"{API}/categories"), 200, "Categories fetched")
    assert [(c["title"], [s["title"] for s in c["subcategories"]]) for c in listed] == [("Legal", ["Family Law"])]
    assert ok(api.get(f"{API}/subcategories/{sub['_id']}"), 200, "Subcategory fetched")["title"] == "Family Law"


# -- subcategories -----------------------------------------------------------------------------


def test_subcategory_routes(api):
    admin = bearer(create_admin(api))
    legal = new_category(api, admin, "Legal")
    finance = new_category(api, admin, "Finance")
    family = new_sub(api, admin, "Family Law", legal["_id"], description="Families")
    assert set(family) == CATEGORY_KEYS | {"parentCategory"}
    assert family["parentCategory"] == {"_id": legal["_id"], "title": "Legal"}
    tax = new_sub(api, admin, "Tax", finance["_id"], status="Inactive")
    criminal = new_sub(api, admin, "Criminal Law", legal["_id"].upper())  # ids are case-insensitive hex

    assert criminal["parentCategory"] == {"_id": legal["_id"], "title": "Legal"}
    refused(
        api.post(f"{API}/subcategories", json={"title": "Orphan", "parentCategory": MISSING_ID}, headers=admin),
        400,
        "Parent category not found",
    )
    refused(
        api.post(f"{API}/subcategories", json={"title": "Nested", "parentCategory": family["_id"]}, headers=admin),
        400,
        "Parent category not found",
    )  # a subcategory is no parent
    body = refused(
        api.post(f"{API}/subcategories", json={"title": "Bad", "parentCategory": "123"}, headers=admin),
        400,
        "Validation failed",
    )
    assert [e["field"] for e in body["errors"]] == ["parentCategory"]
    body = refused(
        api.post(f"{API}/subcategories", json={"title": "No parent"}, headers=admin), 400, "Validation failed"
    )
    assert [e["field"] for e in body["errors"]] == ["parentCategory"]

    listed = ok(api.get(f"{API}/subcategories"), 200, "Subcategories fetched")
    assert [s["_id"] for s in listed] == [criminal["_id"], tax["_id"], family["_id"]]  # newest first, Inactive too
    assert by_id(listed)[tax["_id"]]["parentCategory"] == {"_id": finance["_id"], "title": "Finance"}
    assert all(set(s) == CATEGORY_KEYS | {"parentCategory"} for s in listed)
    only_legal = ok(api.get(f"{API}/subcategories", params={"categoryId": legal["_id"]}), 200, "Subcategories fetched")
    assert [s["_id"] for s in only_legal] == [criminal["_id"], family["_id"]]
    assert ok(api.get(f"{API}/subcategories", params={"categoryId": MISSING_ID}), 200, "Subcategories fetched") == []
    refused(api.get(f"{API}/subcategories", params={"categoryId": "xyz"}), 400, "Invalid ID format")

    fetched = ok(api.get(f"{API}/subcategories/{family['_id']}"), 200, "Subcategory fetched")
    assert fetched == by_id(listed)[family["_id"]]
    refused(api.get(f"{API}/subcategories/{MISSING_ID}"), 404, "Subcategory not found")
    refused(api.get(f"{API}/subcategories/{legal['_id']}"), 404, "Subcategory not found")  # a category

    moved = ok(
        api.patch(
            f"{API}/subcategories/{criminal['_id']}",
            json={"parentCategory": finance["_id"], "title": "Fraud"},
            headers=admin,
        ),
        200,
        "Subcategory updated",
    )
    assert (moved["title"], moved["parentCategory"]) == ("Fraud", {"_id": finance["_id"], "title": "Finance"})
    refused(
        api.patch(f"{API}/subcategories/{criminal['_id']}", json={"parentCategory": MISSING_ID}, headers=admin),
        400,
        "Parent category not found",
    )
    refused(
        api.patch(f"{API}/subcategories/{MISSING_ID}", json={"title": "Ghost"}, headers=admin),
        404,
        "Subcategory not found",
    )
    body = refused(
        api.patch(f"{API}/subcategories/{criminal['_id']}", json={"nothing": "known"}, headers=admin),
        400,
        "Validation failed",
    )
    assert body["errors"][0]["field"] == ""
    assert [
        s["_id"]
        for s in ok(
            api.get(f"{API}/subcategories", params={"categoryId": finance["_id"]}), 200, "Subcategories fetched"
        )
    ] == [criminal["_id"], tax["_id"]]

    assert ok(api.delete(f"{API}/subcategories/{tax['_id']}", headers=admin), 200, "Subcategory deleted") == {
        "deletedId": tax["_id"]
    }
    refused(api.delete(f"{API}/subcategories/{tax['_id']}", headers=admin), 404, "Subcategory not found")
    refused(api.get(f"{API}/subcategories/{tax['_id']}"), 404, "Subcategory not found")
    assert ok(api.get(f"{API}/categories"), 200, "Categories fetched")[0]["_id"] == finance["_id"]  # no cascade up


def test_get_categories_embeds_active_subcategories_with_bare_parent(api):
    admin = bearer(create_admin(api))
    legal = new_category(api, admin, "Legal")
    family = new_sub(api, admin, "Family Law", legal["_id"])
    hidden = new_sub(api, admin, "Old Law", legal["_id"], status="Inactive")
    criminal = new_sub(api, admin, "Criminal Law", legal["_id"])
    [category] = ok(api.get(f"{API}/categories"), 200, "Categories fetched")
    assert set(category) == CATEGORY_KEYS | {"subcategories"}
    assert [s["_id"] for s in category["subcategories"]] == [criminal["_id"], family["_id"]]
    for embedded in category["subcategories"]:
        assert embedded["parentCategory"] == legal["_id"]  # bare id here; populated only in subcategory routes
        assert set(embedded) == CATEGORY_KEYS | {"parentCategory"}
    ok(
        api.patch(f"{API}/subcategories/{family['_id']}", json={"status": "Inactive"}, headers=admin),
        200,
        "Subcategory updated",
    )
    ok(
        api.patch(f"{API}/subcategories/{hidden['_id']}", json={"status": "Active"}, headers=admin),
        200,
        "Subcategory updated",
    )
    [category] = ok(api.get(f"{API}/categories"), 200, "Categories fetched")
    assert [s["title"] for s in category["subcategories"]] == ["Criminal Law", "Old Law"]


# -- stats and cascades ------------------------------------------------------------------------


def catalogue_with_consultants(api: Any) -> dict[str, Any]:
    """Legal {Family Law, Criminal Law, Old Law (Inactive)}, Finance {Tax}, and consultants in every
    state, registered with several categories or with a primary category only."""
    admin = bearer(create_admin(api))
    legal = new_category(api, admin, "Legal")
    finance = new_category(api, admin, "Finance")
    family = new_sub(api, admin, "Family Law", legal["_id"])
    criminal = new_sub(api, admin, "Criminal Law", legal["_id"])
    old = new_sub(api, admin, "Old Law", legal["_id"], status="Inactive")
    tax = new_sub(api, admin, "Tax", finance["_id"])

    def entry(category: dict[str, Any], sub: dict[str, Any]) -> dict[str, str]:
        return {
            "categoryId": category["_id"],
            "categoryName": "ignored",
            "subcategoryId": sub["_id"],
            "subcategoryName": "ignored",
        }

    def approve(consultant_id: str) -> None:
        ok(api.post(f"{API}/consultants/{consultant_id}/approve", headers=admin), 200, "Consultant approved")

    # Pending, two categories: counts under Family Law AND Tax
    both = signup(api, "Consultant", categories=[entry(legal, family), entry(finance, tax)])["user"]["id"]
    # Active, primary category only (admin-created with titles)
    primary = ok(
        api.post(
            f"{API}/consultants",
            headers=admin,
            json={
                "name": "Primary Only",
                "email": f"primary.{secrets.token_hex(3)}@example.com",
                "phone": "9812345670",
                "category": "Legal",
                "subcategory": "Family Law",
            },
        ),
        201,
        "Consultant created",
    )["_id"]
    approve(primary)
    # Approved (by an admin PATCH) under Criminal Law: counted
    approved = signup(api, "Consultant", categories=[entry(legal, criminal)])["user"]["id"]
    ok(
        api.patch(f"{API}/consultants/{approved}", json={"status": "Approved"}, headers=admin),
        200,
        "Consultant updated",
    )
    # Rejected, Blocked, Inactive and deleted consultants are not counted
    rejected = signup(api, "Consultant", categories=[entry(legal, criminal)])["user"]["id"]
    ok(api.post(f"{API}/consultants/{rejected}/reject", headers=admin), 200, "Consultant rejected")
    blocked = signup(api, "Consultant", categories=[entry(finance, tax)])["user"]["id"]
    approve(blocked)
    ok(api.post(f"{API}/consultants/{blocked}/block", headers=admin), 200, "Consultant blocked")
    inactive = signup(api, "Consultant", categories=[entry(legal, family)])["user"]["id"]
    ok(
        api.patch(f"{API}/consultants/{inactive}", json={"status": "Inactive"}, headers=admin),
        200,
        "Consultant updated",
    )
    gone = signup(api, "Consultant", categories=[entry(finance, tax)])["user"]["id"]
    ok(api.delete(f"{API}/consultants/{gone}", headers=admin), 200, "Consultant deleted")
    # under the Inactive subcategory: counted there, but not in Legal's total
    under_old = signup(api, "Consultant", categories=[entry(legal, old)])["user"]["id"]
    return {
        "admin": admin,
        "legal": legal,
        "finance": finance,
        "family": family,
        "criminal": criminal,
        "old": old,
        "tax": tax,
        "both": both,
        "primary": primary,
        "approved": approved,
        "under_old": under_old,
    }


def test_stats_count_primary_and_every_categories_entry(api):
    w = catalogue_with_consultants(api)
    expected_subs = {w["family"]["_id"]: 2, w["criminal"]["_id"]: 1, w["old"]["_id"]: 1, w["tax"]["_id"]: 1}
    subs = by_id(ok(api.get(f"{API}/subcategories"), 200, "Subcategories fetched"))
    assert {sub_id: subs[sub_id]["consultants"] for sub_id in expected_subs} == expected_subs
    for sub_id, count in expected_subs.items():
        fetched = ok(api.get(f"{API}/subcategories/{sub_id}"), 200, "Subcategory fetched")
        assert (fetched["consultants"], fetched["clients"], fetched["monthlyRevenue"]) == (count, 0, 0)
    categories = by_id(ok(api.get(f"{API}/categories"), 200, "Categories fetched"))
    legal, finance = categories[w["legal"]["_id"]], categories[w["finance"]["_id"]]
    assert {s["_id"]: s["consultants"] for s in legal["subcategories"]} == {
        w["family"]["_id"]: 2,
        w["criminal"]["_id"]: 1,
    }
    assert legal["consultants"] == 3  # Active subcategories only: Old Law's consultant is left out
    assert finance["consultants"] == 1 and finance["subcategories"][0]["consultants"] == 1
    assert (legal["clients"], legal["monthlyRevenue"]) == (0, 0)


def test_renames_cascade_into_consultants(api):
    w = catalogue_with_consultants(api)
    admin = w["admin"]
    ok(
        api.patch(f"{API}/categories/{w['legal']['_id']}", json={"title": "Law"}, headers=admin),
        200,
        "Category updated",
    )
    ok(
        api.patch(f"{API}/subcategories/{w['tax']['_id']}", json={"title": "Taxation"}, headers=admin),
        200,
        "Subcategory updated",
    )
    ok(
        api.patch(f"{API}/subcategories/{w['family']['_id']}", json={"title": "Family"}, headers=admin),
        200,
        "Subcategory updated",
    )

    both = ok(api.get(f"{API}/consultants/{w['both']}", headers=admin), 200, "Consultant fetched")
    assert both["category"]["name"] == "Law" and both["subcategory"]["name"] == "Family"
    assert [(e["categoryName"], e["subcategoryName"]) for e in both["categories"]] == [
        ("Law", "Family"),
        ("Finance", "Taxation"),
    ]
    primary = ok(api.get(f"{API}/consultants/{w['primary']}", headers=admin), 200, "Consultant fetched")
    assert (primary["category"]["name"], primary["subcategory"]["name"]) == ("Law", "Family")
    assert primary["categories"] == []

    # the category filter follows the new names (primary and categories[] entries)
    public = ok(api.get(f"{API}/consultants/public", params={"category": "Law"}), 200, "Consultants fetched")
    assert {c["_id"] for c in public} == {w["primary"]}
    assert ok(api.get(f"{API}/consultants/public", params={"category": "Legal"}), 200, "Consultants fetched") == []
    listed = ok(
        api.get(f"{API}/consultants", params={"category": "Finance"}, headers=admin), 200, "Consultants fetched"
    )
    assert w["both"] in {c["_id"] for c in listed}

    # the stats still find everyone after the renames
    subs = by_id(ok(api.get(f"{API}/subcategories"), 200, "Subcategories fetched"))
    assert (subs[w["family"]["_id"]]["title"], subs[w["family"]["_id"]]["consultants"]) == ("Family", 2)
    assert (subs[w["tax"]["_id"]]["title"], subs[w["tax"]["_id"]]["consultants"]) == ("Taxation", 1)
    assert subs[w["family"]["_id"]]["parentCategory"] == {"_id": w["legal"]["_id"], "title": "Law"}


def test_delete_category_cascades_its_subcategories(api):
    w = catalogue_with_consultants(api)
    admin = w["admin"]
    assert ok(api.delete(f"{API}/categories/{w['legal']['_id']}", headers=admin), 200, "Category deleted") == {
        "deletedId": w["legal"]["_id"]
    }
    for sub in ("family", "criminal", "old"):
        refused(api.get(f"{API}/subcategories/{w[sub]['_id']}"), 404, "Subcategory not found")
    assert [s["_id"] for s in ok(api.get(f"{API}/subcategories"), 200, "Subcategories fetched")] == [w["tax"]["_id"]]
    assert [c["_id"] for c in ok(api.get(f"{API}/categories"), 200, "Categories fetched")] == [w["finance"]["_id"]]
    assert (
        ok(api.get(f"{API}/subcategories", params={"categoryId": w["legal"]["_id"]}), 200, "Subcategories fetched")
        == []
    )
    # consultants are untouched
    both = ok(api.get(f"{API}/consultants/{w['both']}", headers=admin), 200, "Consultant fetched")
    assert both["category"]["name"] == "Legal" and len(both["categories"]) == 2
