"""Contract tests of `/consultants` through HTTP (contract auth §4.1, §6.1, §6.3, §8.1.7-8 and the
decisions of CONTRACT.md): listing by role, private fields, detail view, management and status actions."""

from __future__ import annotations

import secrets
from typing import Any

from tests.conftest import bearer, create_admin, employee_token, ok, refused, signup

API = "/api/v1"
MISSING_ID = "0123456789abcdef01234567"
PRIVATE = {
    "email",
    "phone",
    "mobile",
    "alternatePhone",
    "password",
    "otp",
    "otpExpires",
    "resetPasswordToken",
    "resetPasswordExpire",
    "address",
    "pincode",
}
NEVER = {"password", "otp", "otpExpires", "resetPasswordToken", "resetPasswordExpire"}
DOCUMENT_KEYS = {
    "_id",
    "id",
    "name",
    "firstName",
    "lastName",
    "displayName",
    "email",
    "phone",
    "mobile",
    "alternatePhone",
    "category",
    "subcategory",
    "categories",
    "tags",
    "regNo",
    "fees",
    "gender",
    "yearsOfExperience",
    "bioTitle",
    "languages",
    "about",
    "image",
    "socials",
    "address",
    "country",
    "state",
    "city",
    "pincode",
    "education",
    "experiences",
    "awards",
    "commission",
    "clientInfo",
    "ratingSummary",
    "reviews",
    "appointmentsSnapshot",
    "clients",
    "status",
    "termsAcceptedAt",
    "privacyAcceptedAt",
    "marketingConsent",
    "dataProcessingConsent",
    "createdAt",
    "updatedAt",
    "clientsCount",
    "fullName",
}


def catalogue(api: Any, admin: dict[str, str]) -> dict[str, str]:
    ids = {}
    for title, subs in (("Legal", ("Family Law",)), ("Finance", ("Tax",))):
        category = api.post(
            f"{API}/categories",
            json={"title": title, "description": f"{title} advice", "image": f"https://img/{title}.png"},
            headers=admin,
        )
        ids[title] = category.json()["data"]["_id"]
        for sub in subs:
            reply = api.post(f"{API}/subcategories", json={"title": sub, "parentCategory": ids[title]}, headers=admin)
            ids[sub] = reply.json()["data"]["_id"]
    return ids


def two_categories(ids: dict[str, str]) -> list[dict[str, str]]:
    return [
        {
            "categoryId": ids["Legal"],
            "categoryName": "Legal",
            "subcategoryId": ids["Family Law"],
            "subcategoryName": "Family Law",
        },
        {
            "categoryId": ids["Finance"],
            "categoryName": "Finance",
            "subcategoryId": ids["Tax"],
            "subcategoryName": "Tax",
        },
    ]


def create(api: Any, admin: dict[str, str], **fields: Any) -> Any:
    unique = secrets.token_hex(3)
    body = {
        "name": f"Consultant {unique}",
        "email": f"made.{unique}@example.com",
        "phone": "98" + str(int(unique, 16)).zfill(8),
        "category": "Legal",
        **fields,
    }
    return api.post(f"{API}/consultants", json=body, headers=admin)


def approve(api: Any, admin: dict[str, str], consultant_id: str) -> dict[str, Any]:
    return ok(
        api.post(f"{API}/consultants/{consultant_id}/approve", headers=admin),
        200,  # type: ignore[no-any-return]
        "Consultant approved",
    )


# -- listing -----------------------------------------------------------------------------------


def test_public_list_shows_active_consultants_without_private_fields(api):
    admin = bearer(create_admin(api))
    ids = catalogue(api, admin)
    multi = signup(api, "Consultant", fullName="Maya Multi", categories=two_categories(ids), fees=1500, currency="inr")[
        "user"
    ]["id"]
    legal_only = ok(create(api, admin, name="Lena Legal", category="Legal"), 201, "Consultant created")["_id"]
    finance_only = ok(create(api, admin, name="Fred Finance", category="Finance"), 201, "Consultant created")["_id"]
    pending = signup(api, "Consultant", fullName="Paula Pending", categories=two_categories(ids))["user"]["id"]
    assert ok(api.get(f"{API}/consultants/public"), 200, "Consultants fetched") == []
    for consultant_id in (multi, legal_only, finance_only):
        approve(api, admin, consultant_id)

    listed = ok(api.get(f"{API}/consultants/public"), 200, "Consultants fetched")
    assert [c["_id"] for c in listed] == [finance_only, legal_only, multi]  # newest first; Pending left out
    assert pending not in {c["_id"] for c in listed}
    for doc in listed:
        assert not PRIVATE & set(doc), PRIVATE & set(doc)
        assert doc["id"] == doc["_id"] and doc["status"] == "Active" and doc["clientsCount"] == 0
        assert {
            "name",
            "fullName",
            "image",
            "category",
            "subcategory",
            "categories",
            "fees",
            "yearsOfExperience",
            "ratingSummary",
            "clientInfo",
            "clients",
            "city",
            "state",
            "country",
        } <= set(doc)
    maya = next(c for c in listed if c["_id"] == multi)
    assert (maya["fullName"], maya["fees"], maya["currency"]) == ("Maya Multi", 1500, "INR")
    assert [(e["categoryName"], e["subcategoryName"]) for e in maya["categories"]] == [
        ("Legal", "Family Law"),
        ("Finance", "Tax"),
    ]

    def public(**query: str) -> list[str]:
        return [c["_id"] for c in ok(api.get(f"{API}/consultants/public", params=query), 200, "Consultants fetched")]

    # `category` matches the primary category or any categories[] entry
    assert public(category="Finance") == [finance_only, multi]
    assert public(category="Legal") == [legal_only, multi]
    assert public(category="Nothing") == []
    assert public(q="lena") == [legal_only]
    assert public(q="MULTI") == [multi]
    assert public(q="%") == [] and public(q="_") == []  # no wildcard leaks
    assert public(status="Active", category="Legal") == [legal_only, multi]
    assert public(status="Pending") == []


def test_authenticated_list_depends_on_the_role(api):
    admin = bearer(create_admin(api))
    ids = catalogue(api, admin)
    me = signup(api, "Consultant", categories=two_categories(ids))
    me_id, me_token = me["user"]["id"], bearer(me["token"])
    other_pending = signup(api, "Consultant")["user"]["id"]
    other_active = ok(create(api, admin), 201, "Consultant created")["_id"]
    approve(api, admin, other_active)
    client = bearer(signup(api, "Client")["token"])

    everyone = ok(api.get(f"{API}/consultants", headers=admin), 200, "Consultants fetched")
    assert [c["_id"] for c in everyone] == [other_active, other_pending, me_id]
    assert all(set(c) == DOCUMENT_KEYS and not NEVER & set(c) for c in everyone)
    assert [
        c["_id"]
        for c in ok(
            api.get(f"{API}/consultants", params={"status": "Pending"}, headers=admin), 200, "Consultants fetched"
        )
    ] == [other_pending, me_id]

    # a (Pending) consultant finds its own full record, and others' public view
    seen = {c["_id"]: c for c in ok(api.get(f"{API}/consultants", headers=me_token), 200, "Consultants fetched")}
    assert set(seen) == {me_id, other_active}
    assert seen[me_id]["email"] == me["user"]["email"] and seen[me_id]["mobile"] == me["user"]["mobile"]
    assert len(seen[me_id]["categories"]) == 2
    assert not PRIVATE & set(seen[other_active])

    by_client = ok(api.get(f"{API}/consultants", headers=client), 200, "Consultants fetched")
    assert [c["_id"] for c in by_client] == [other_active] and not PRIVATE & set(by_client[0])

    refused(api.get(f"{API}/consultants", headers=bearer(employee_token(api, admin))), 403, "Forbidden: Access denied")
    refused(api.get(f"{API}/consultants"), 401, "Access denied. No token provided.")


def test_get_one_consultant(api):
    admin = bearer(create_admin(api))
    ids = catalogue(api, admin)
    me = signup(api, "Consultant", fullName="Dana Detail", categories=two_categories(ids))
    consultant_id = me["user"]["id"]
    detail = ok(api.get(f"{API}/consultants/{consultant_id}", headers=admin), 200, "Consultant fetched")
    assert detail["_id"] == detail["id"] == consultant_id
    assert detail["fullName"] is None and detail["name"] == "Dana Detail" == detail["displayName"]
    for key in ("image", "bioTitle", "about", "city", "state"):
        assert detail[key] is None, key
    assert detail["email"] == me["user"]["email"] and detail["status"] == "Pending"
    assert detail["category"] == {"name": "Legal", "description": "", "imageUrl": ""}
    assert detail["subcategory"] == {"name": "Family Law", "description": "", "imageUrl": ""}
    assert [e["categoryId"] for e in detail["categories"]] == [ids["Legal"], ids["Finance"]]
    assert all(len(e["_id"]) == 24 for e in detail["categories"])
    assert detail["clientsCount"] == 0 and not NEVER & set(detail)
    assert (
        ok(api.get(f"{API}/consultants/{consultant_id}", headers=bearer(me["token"])), 200, "Consultant fetched")
        == detail
    )  # its own record
    ok(
        api.patch(f"{API}/consultants/{consultant_id}", json={"city": "Pune", "about": "Hello"}, headers=admin),
        200,
        "Consultant updated",
    )
    detail = ok(api.get(f"{API}/consultants/{consultant_id.upper()}", headers=admin), 200, "Consultant fetched")
    assert (detail["city"], detail["about"], detail["state"]) == ("Pune", "Hello", None)

    approve(api, admin, consultant_id)
    client = bearer(signup(api, "Client")["token"])
    seen = ok(api.get(f"{API}/consultants/{consultant_id}", headers=client), 200, "Consultant fetched")
    assert seen["name"] == "Dana Detail" and not PRIVATE & set(seen)

    body = refused(api.get(f"{API}/consultants/123", headers=admin), 400, "Validation failed")
    assert body["errors"][0]["field"] == "id"
    refused(api.get(f"{API}/consultants/{MISSING_ID}", headers=admin), 404, "Consultant not found")
    refused(
        api.get(f"{API}/consultants/{consultant_id}", headers=bearer(employee_token(api, admin))),
        403,
        "Forbidden: Access denied",
    )
    refused(api.get(f"{API}/consultants/{consultant_id}"), 401, "Access denied. No token provided.")


# -- management --------------------------------------------------------------------------------


def test_admin_creates_consultants(api):
    admin = bearer(create_admin(api))
    ids = catalogue(api, admin)
    made = ok(
        create(
            api,
            admin,
            name="Jo Admin",
            email="  Jo.Admin@Example.COM ",
            phone="9876543210",
            mobile="9876543210",
            category="Legal",
            subcategory="Family Law",
            fees=1500,
            image="",
            commission={"platformPercent": 10},
            socials={"linkedin": "https://in/jo"},
            pricing={"x": 1},
            media=[1],
            password="ignored",
        ),
        201,
        "Consultant created",
    )
    assert set(made) == DOCUMENT_KEYS
    assert (made["email"], made["phone"], made["mobile"]) == ("jo.admin@example.com", "+919876543210", "+919876543210")
    assert made["status"] == "Pending" and made["categories"] == [] and made["fees"] == 1500
    assert made["category"] == {"name": "Legal", "description": "Legal advice", "imageUrl": "https://img/Legal.png"}
    assert made["subcategory"] == {"name": "Family Law", "description": "", "imageUrl": ""}
    assert made["fullName"] == made["name"] == made["displayName"] == "Jo Admin"
    assert "pricing" not in made and "media" not in made and not NEVER & set(made)
    # a partial nested object keeps the defaults of the keys it does not name
    assert made["commission"] == {
        "platformPercent": 10,
        "minDurationMin": 30,
        "maxDurationMin": 180,
        "cancellationWindowHours": 24,
    }
    assert made["socials"] == {
        "website": "",
        "linkedin": "https://in/jo",
        "twitter": "",
        "instagram": "",
        "facebook": "",
    }

    by_id = ok(create(api, admin, category=ids["Finance"], subcategory=ids["Tax"]), 201, "Consultant created")
    assert (by_id["category"]["name"], by_id["subcategory"]["name"]) == ("Finance", "Tax")
    as_object = ok(
        create(api, admin, category={"name": "Custom", "description": "Own", "imageUrl": ""}), 201, "Consultant created"
    )
    assert as_object["category"] == {"name": "Custom", "description": "Own", "imageUrl": ""}
    unknown_title = ok(create(api, admin, category="Astrology"), 201, "Consultant created")
    assert unknown_title["category"] == {"name": "Astrology", "description": "", "imageUrl": ""}
    named = ok(
        create(api, admin, name=None, firstName="Ann", lastName="Bee", phone="12 345 678 901"),
        201,
        "Consultant created",
    )
    assert (named["name"], named["displayName"]) == ("Ann Bee", "Ann Bee")

    body = refused(create(api, admin, name=None), 400, "Validation failed")
    assert body["errors"] == [{"field": "", "message": "Provide either name or firstName and lastName"}]
    body = refused(create(api, admin, name=None, firstName="Ann"), 400, "Validation failed")
    assert body["errors"][0]["message"] == "Provide either name or firstName and lastName"
    body = refused(create(api, admin, email="not-an-email", phone="123"), 400, "Validation failed")
    assert {e["field"] for e in body["errors"]} == {"email", "phone"}
    body = refused(create(api, admin, status="Archived"), 400, "Validation failed")
    assert body["errors"][0]["field"] == "status"

    duplicate = "Consultant with this email or mobile already exists"
    refused(create(api, admin, email="JO.ADMIN@example.com"), 409, duplicate)
    for variant in ("+919876543210", "919876543210", "9876543210"):
        refused(create(api, admin, phone=variant), 409, duplicate)
    refused(create(api, admin, mobile="+91 98765 43210"), 409, duplicate)

    consultant = bearer(signup(api, "Consultant")["token"])
    client = bearer(signup(api, "Client")["token"])
    employee = bearer(employee_token(api, admin))
    for who in (consultant, client, employee):
        refused(
            api.post(
                f"{API}/consultants",
                headers=who,
                json={"name": "Sneaky", "email": "sneaky@example.com", "phone": "9000011111", "category": "Legal"},
            ),
            403,
            "Forbidden: Access denied",
        )
    refused(
        api.post(
            f"{API}/consultants",
            json={"name": "Anon", "email": "anon@example.com", "phone": "9000011112", "category": "Legal"},
        ),
        401,
        "Access denied. No token provided.",
    )
    everyone = ok(api.get(f"{API}/consultants", headers=admin), 200, "Consultants fetched")
    assert len(everyone) == 6 and "sneaky@example.com" not in {c["email"] for c in everyone}


def test_update_consultant_admin_and_self(api):
    admin = bearer(create_admin(api))
    catalogue(api, admin)
    me = signup(api, "Consultant")
    me_id, me_token = me["user"]["id"], bearer(me["token"])
    other = signup(api, "Consultant")["user"]

    mine = ok(
        api.patch(
            f"{API}/consultants/{me_id}",
            headers=me_token,
            json={
                "about": "About me",
                "fees": 999,
                "tags": "tax, law ,",
                "category": "Finance",
                "pricing": {"ignored": 1},
            },
        ),
        200,
        "Consultant updated",
    )
    assert (mine["about"], mine["fees"], mine["tags"]) == ("About me", 999, ["tax", "law"])
    assert mine["category"] == {
        "name": "Finance",
        "description": "Finance advice",
        "imageUrl": "https://img/Finance.png",
    }
    assert "pricing" not in mine and mine["status"] == "Pending"
    for forbidden in (
        {"status": "Active"},
        {"commission": {"platformPercent": 1}},
        {"about": "x", "status": "Approved"},
        {"about": "x", "commission": {}},
    ):
        refused(
            api.patch(f"{API}/consultants/{me_id}", json=forbidden, headers=me_token), 403, "Forbidden: Access denied"
        )
    # the other admin-owned fields are either refused or never stored from this route
    sneaky = api.patch(
        f"{API}/consultants/{me_id}",
        headers=me_token,
        json={
            "about": "About me",
            "clients": 5,
            "ratingSummary": {"totalReviews": 9, "average": 5, "breakdown": []},
            "reviews": [{"rating": 5}],
            "clientInfo": {"totalClients": 9},
        },
    )
    assert sneaky.status_code in (200, 403), sneaky.text
    refused(
        api.patch(f"{API}/consultants/{other['id']}", json={"about": "hijacked"}, headers=me_token),
        403,
        "Forbidden: Access denied",
    )
    unchanged = ok(api.get(f"{API}/consultants/{me_id}", headers=admin), 200, "Consultant fetched")
    assert (unchanged["status"], unchanged["about"], unchanged["commission"]["platformPercent"]) == (
        "Pending",
        "About me",
        0,
    )
    assert (
        unchanged["clients"],
        unchanged["reviews"],
        unchanged["ratingSummary"]["average"],
        unchanged["clientInfo"]["totalClients"],
    ) == (0, [], 0, 0)

    by_admin = ok(
        api.patch(
            f"{API}/consultants/{other['id']}",
            headers=admin,
            json={"status": "Active", "commission": {"platformPercent": 12.5}, "yearsOfExperience": 7},
        ),
        200,
        "Consultant updated",
    )
    assert (by_admin["status"], by_admin["commission"]["platformPercent"], by_admin["yearsOfExperience"]) == (
        "Active",
        12.5,
        7,
    )
    assert by_admin["commission"] == {
        "platformPercent": 12.5,
        "minDurationMin": 30,
        "maxDurationMin": 180,
        "cancellationWindowHours": 24,
    }
    again = ok(
        api.patch(
            f"{API}/consultants/{other['id']}",
            headers=admin,
            json={"commission": {"cancellationWindowHours": 6}, "socials": {"website": "https://w"}},
        ),
        200,
        "Consultant updated",
    )
    assert again["commission"] == {
        "platformPercent": 12.5,
        "minDurationMin": 30,
        "maxDurationMin": 180,
        "cancellationWindowHours": 6,
    }
    assert again["socials"]["website"] == "https://w" and set(again["socials"]) == {
        "website",
        "linkedin",
        "twitter",
        "instagram",
        "facebook",
    }
    refused(
        api.patch(f"{API}/consultants/{me_id}", json={"email": other["email"].upper()}, headers=admin),
        409,
        "Consultant with this email or mobile already exists",
    )
    refused(
        api.patch(f"{API}/consultants/{me_id}", json={"mobile": other["mobile"]}, headers=admin),
        409,
        "Consultant with this email or mobile already exists",
    )
    refused(
        api.patch(f"{API}/consultants/{me_id}", json={"status": "Archived"}, headers=admin), 400, "Validation failed"
    )
    refused(
        api.patch(f"{API}/consultants/{MISSING_ID}", json={"about": "x"}, headers=admin), 404, "Consultant not found"
    )
    body = refused(
        api.patch(f"{API}/consultants/{me_id}", json={"pricing": 1}, headers=admin), 400, "Validation failed"
    )
    assert body["errors"][0]["field"] == ""
    client = bearer(signup(api, "Client")["token"])
    refused(
        api.patch(f"{API}/consultants/{me_id}", json={"about": "x"}, headers=client), 403, "Forbidden: Access denied"
    )
    assert ok(api.get(f"{API}/consultants/{me_id}", headers=admin), 200, "Consultant fetched")["status"] == "Pending"


def test_delete_consultant(api):
    admin = bearer(create_admin(api))
    first = signup(api, "Consultant")
    second = signup(api, "Consultant")
    refused(
        api.delete(f"{API}/consultants/{second['user']['id']}", headers=bearer(first["token"])),
        403,
        "Forbidden: Access denied",
    )
    refused(
        api.delete(f"{API}/consultants/{second['user']['id']}", headers=bearer(signup(api, "Client")["token"])),
        403,
        "Forbidden: Access denied",
    )
    assert ok(api.delete(f"{API}/consultants/{second['user']['id']}", headers=admin), 200, "Consultant deleted") == {
        "deletedId": second["user"]["id"]
    }
    refused(api.get(f"{API}/consultants/{second['user']['id']}", headers=admin), 404, "Consultant not found")
    refused(api.delete(f"{API}/consultants/{second['user']['id']}", headers=admin), 404, "Consultant not found")
    # a consultant may delete itself; its token is refused afterwards
    assert ok(
        api.delete(f"{API}/consultants/{first['user']['id']}", headers=bearer(first["token"])),
        200,
        "Consultant deleted",
    ) == {"deletedId": first["user"]["id"]}
    refused(api.get(f"{API}/consultants", headers=bearer(first["token"])), 401, "Invalid or expired token")
    assert ok(api.get(f"{API}/consultants", headers=admin), 200, "Consultants fetched") == []
    # the e-mail is free again
    again = api.post(
        f"{API}/auth/signup",
        json={
            "fullName": "Back Again",
            "email": first["user"]["email"],
            "mobile": first["user"]["mobile"],
            "role": "Consultant",
        },
    )
    assert again.status_code == 201, again.text


def test_status_actions(api):
    admin = bearer(create_admin(api))
    me = signup(api, "Consultant")
    me_id, me_token = me["user"]["id"], bearer(me["token"])
    client = bearer(signup(api, "Client")["token"])
    employee = bearer(employee_token(api, admin))
    for action in ("approve", "reject", "block", "unblock"):
        for who in (me_token, client, employee):
            refused(api.post(f"{API}/consultants/{me_id}/{action}", headers=who), 403, "Forbidden: Access denied")
        refused(api.post(f"{API}/consultants/{me_id}/{action}"), 401, "Access denied. No token provided.")
        refused(api.post(f"{API}/consultants/{MISSING_ID}/{action}", headers=admin), 404, "Consultant not found")
        body = refused(api.post(f"{API}/consultants/xyz/{action}", headers=admin), 400, "Validation failed")
        assert body["errors"][0]["field"] == "id"
    assert ok(api.get(f"{API}/consultants/{me_id}", headers=admin), 200, "Consultant fetched")["status"] == "Pending"

    def act(action: str, message: str, status: str) -> None:
        doc = ok(api.post(f"{API}/consultants/{me_id}/{action}", headers=admin), 200, message)
        assert doc["_id"] == me_id and doc["status"] == status and "email" in doc

    def public_ids() -> set[str]:
        return {c["_id"] for c in ok(api.get(f"{API}/consultants/public"), 200, "Consultants fetched")}

    ok(api.get(f"{API}/consultants", headers=me_token), 200, "Consultants fetched")  # Pending may act
    act("approve", "Consultant approved", "Active")
    assert me_id in public_ids()
    act("block", "Consultant blocked", "Blocked")
    blocked = "Your account has been blocked by the administrator."
    refused(api.get(f"{API}/consultants", headers=me_token), 403, blocked)
    refused(api.get(f"{API}/consultants/{me_id}", headers=me_token), 403, blocked)
    refused(api.patch(f"{API}/consultants/{me_id}", json={"about": "x"}, headers=me_token), 403, blocked)
    assert me_id not in public_ids()
    act("unblock", "Consultant unblocked", "Active")
    assert ok(api.get(f"{API}/consultants/{me_id}", headers=me_token), 200, "Consultant fetched")["status"] == "Active"
    assert me_id in public_ids()
    act("reject", "Consultant rejected", "Rejected")
    refused(api.get(f"{API}/consultants", headers=me_token), 403, "Your account application has been rejected.")
    assert me_id not in public_ids()
    act("approve", "Consultant approved", "Active")
    ok(api.get(f"{API}/consultants", headers=me_token), 200, "Consultants fetched")


def test_categories_array_in_every_consultant_response(api):
    admin = bearer(create_admin(api))
    ids = catalogue(api, admin)
    multi = signup(api, "Consultant", categories=two_categories(ids))
    multi_id = multi["user"]["id"]
    made_id = ok(create(api, admin), 201, "Consultant created")["_id"]
    pairs = [("Legal", "Family Law"), ("Finance", "Tax")]

    def entries(doc: dict[str, Any]) -> list[tuple[str, str]]:
        return [(e["categoryName"], e["subcategoryName"]) for e in doc["categories"]]

    for consultant_id, expected in ((multi_id, pairs), (made_id, [])):
        for action, message in (
            ("approve", "Consultant approved"),
            ("block", "Consultant blocked"),
            ("unblock", "Consultant unblocked"),
        ):
            assert (
                entries(ok(api.post(f"{API}/consultants/{consultant_id}/{action}", headers=admin), 200, message))
                == expected
            )
        assert (
            entries(
                ok(
                    api.patch(f"{API}/consultants/{consultant_id}", json={"about": "x"}, headers=admin),
                    200,
                    "Consultant updated",
                )
            )
            == expected
        )
        assert (
            entries(ok(api.get(f"{API}/consultants/{consultant_id}", headers=admin), 200, "Consultant fetched"))
            == expected
        )
    lists = [
        ok(api.get(f"{API}/consultants", headers=admin), 200, "Consultants fetched"),
        ok(api.get(f"{API}/consultants", headers=bearer(multi["token"])), 200, "Consultants fetched"),
        ok(api.get(f"{API}/consultants/public"), 200, "Consultants fetched"),
        ok(api.get(f"{API}/users/consultants/active", headers=admin), 200, "Active consultants fetched"),
    ]
    for listed in lists:
        found = {c["_id"]: c for c in listed}
        assert entries(found[multi_id]) == pairs and found[made_id]["categories"] == []
    assert (
        entries(ok(api.get(f"{API}/consultants/{made_id}", headers=bearer(multi["token"])), 200, "Consultant fetched"))
        == []
    )
