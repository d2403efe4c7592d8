"""Contract tests of `/clients` and `/users` through HTTP (contract auth §4.2, §4.3, §6.4, §6.5 and the
decisions of CONTRACT.md on `/users/consultants/active` and `DELETE /users/:id` of a consultant)."""

from __future__ import annotations

import secrets
from typing import Any

from tests.conftest import bearer, create_admin, ok, refused, signup

API = "/api/v1"
MISSING_ID = "0123456789abcdef01234567"
NEVER = {"password", "otp", "otpExpires", "resetPasswordToken", "resetPasswordExpire"}
CLIENT_KEYS = {
    "_id",
    "id",
    "fullName",
    "email",
    "mobile",
    "dob",
    "address",
    "city",
    "state",
    "country",
    "pincode",
    "emergencyContact",
    "avatar",
    "status",
    "termsAcceptedAt",
    "privacyAcceptedAt",
    "marketingConsent",
    "dataProcessingConsent",
    "createdAt",
    "updatedAt",
}
USER_KEYS = {
    "_id",
    "id",
    "userId",
    "fullName",
    "email",
    "mobile",
    "role",
    "category",
    "subcategory",
    "status",
    "verificationStatus",
    "profileImage",
    "createdAt",
    "updatedAt",
}


def new_user(api: Any, admin: dict[str, str], **fields: Any) -> Any:
    unique = secrets.token_hex(3)
    body = {
        "userId": f"EMP{unique}",
        "fullName": "Emma Employee",
        "email": f"emp.{unique}@example.com",
        "mobile": "97" + str(int(unique, 16)).zfill(8),
        "role": "Employee",
        **fields,
    }
    return api.post(f"{API}/users", json=body, headers=admin)


def otp_token(api: Any, mobile: str, role: str) -> Any:
    otp = api.post(f"{API}/auth/send-otp", json={"mobile": mobile}).json()["data"]["otp"]
    return api.post(f"{API}/auth/verify-otp", json={"mobile": mobile, "otp": otp, "role": role})


def employee(api: Any, admin: dict[str, str]) -> tuple[dict[str, str], dict[str, Any]]:
    created = ok(new_user(api, admin), 201, "User created successfully")
    reply = otp_token(api, created["mobile"], "Employee")
    assert reply.status_code == 200, reply.text
    return bearer(reply.json()["data"]["token"]), created


# -- clients -----------------------------------------------------------------------------------


def test_client_own_profile(api):
    admin = bearer(create_admin(api))
    me = signup(api, "Client", fullName="Cara Client")
    token = bearer(me["token"])
    profile = ok(api.get(f"{API}/clients/profile", headers=token), 200, "Client profile fetched successfully")
    assert set(profile) == CLIENT_KEYS
    assert (profile["_id"], profile["fullName"], profile["email"], profile["mobile"], profile["status"]) == (
        me["user"]["id"],
        "Cara Client",
        me["user"]["email"],
        me["user"]["mobile"],
        "Active",
    )
    assert profile["dob"] is None and profile["avatar"] == ""

    updated = ok(
        api.patch(
            f"{API}/clients/profile",
            headers=token,
            json={
                "fullName": "Cara Changed",
                "city": "Pune",
                "state": "MH",
                "country": "IN",
                "pincode": "411001",
                "address": "1 Road",
                "emergencyContact": "Mum",
                "dob": "1990-05-01",
                "avatar": "https://img/me.png",
                "email": "hijack@example.com",
                "status": "Blocked",
                "role": "Admin",
            },
        ),
        200,
        "Profile updated successfully",
    )
    assert (
        updated["fullName"],
        updated["city"],
        updated["state"],
        updated["country"],
        updated["pincode"],
        updated["address"],
        updated["emergencyContact"],
        updated["avatar"],
    ) == ("Cara Changed", "Pune", "MH", "IN", "411001", "1 Road", "Mum", "https://img/me.png")
    assert updated["dob"].startswith("1990-05-01")
    assert updated["email"] == me["user"]["email"] and updated["status"] == "Active"  # not updatable here
    assert ok(api.get(f"{API}/clients/profile", headers=token), 200, "Client profile fetched successfully") == updated
    body = refused(
        api.patch(f"{API}/clients/profile", json={"fullName": "C", "pincode": "1" * 21}, headers=token),
        400,
        "Validation failed",
    )
    assert {e["field"] for e in body["errors"]} == {"fullName", "pincode"}

    consultant = bearer(signup(api, "Consultant")["token"])
    for who in (admin, consultant):
        refused(api.get(f"{API}/clients/profile", headers=who), 403, "Forbidden: Access denied")
        refused(api.patch(f"{API}/clients/profile", json={"city": "X"}, headers=who), 403, "Forbidden: Access denied")
    refused(api.get(f"{API}/clients/profile"), 401, "Access denied. No token provided.")


def test_client_list_pagination_search_and_roles(api):
    admin = bearer(create_admin(api))
    made = [signup(api, "Client", fullName=name)["user"] for name in ("Alpha One", "Beta Two", "Gamma Three")]
    alpha, beta, gamma = made

    def listing(headers: dict[str, str], **query: Any) -> dict[str, Any]:
        return ok(
            api.get(f"{API}/clients", params=query, headers=headers),
            200,  # type: ignore[no-any-return]
            "Clients fetched successfully",
        )

    first = listing(admin)
    assert [c["_id"] for c in first["clients"]] == [gamma["id"], beta["id"], alpha["id"]]  # newest first
    assert first["pagination"] == {"total": 3, "page": 1, "pages": 1}
    assert all(set(c) == CLIENT_KEYS for c in first["clients"])
    page = listing(admin, limit=2)
    assert [c["_id"] for c in page["clients"]] == [gamma["id"], beta["id"]]
    assert page["pagination"] == {"total": 3, "page": 1, "pages": 2}
    page = listing(admin, limit=2, page=2)
    assert [c["_id"] for c in page["clients"]] == [alpha["id"]]
    assert page["pagination"] == {"total": 3, "page": 2, "pages": 2}
    assert listing(admin, page=5)["clients"] == []

    assert [c["_id"] for c in listing(admin, search="gAmMa")["clients"]] == [gamma["id"]]
    assert [c["_id"] for c in listing(admin, search=beta["email"].upper())["clients"]] == [beta["id"]]
    assert [c["_id"] for c in listing(admin, search=alpha["mobile"][-8:])["clients"]] == [alpha["id"]]
    assert listing(admin, search="%")["pagination"]["total"] == 0
    ok(
        api.patch(f"{API}/clients/{beta['id']}", json={"status": "Inactive"}, headers=admin),
        200,
        "Client updated successfully",
    )
    inactive = listing(admin, status="Inactive")
    assert [c["_id"] for c in inactive["clients"]] == [beta["id"]] and inactive["pagination"]["total"] == 1
    assert listing(admin, status="Active", search="a")["pagination"]["total"] == 2

    # a consultant sees only the clients linked to it (none without bookings)
    consultant = bearer(signup(api, "Consultant")["token"])
    assert listing(consultant) == {"clients": [], "pagination": {"total": 0, "page": 1, "pages": 0}}
    refused(api.get(f"{API}/clients", headers=bearer(signup(api, "Client")["token"])), 403, "Forbidden: Access denied")
    refused(api.get(f"{API}/clients", headers=employee(api, admin)[0]), 403, "Forbidden: Access denied")
    refused(api.get(f"{API}/clients"), 401, "Access denied. No token provided.")


def test_get_client_by_id(api):
    admin = bearer(create_admin(api))
    client = signup(api, "Client")
    client_id = client["user"]["id"]
    doc = ok(api.get(f"{API}/clients/{client_id}", headers=admin), 200, "Client profile fetched successfully")
    assert doc == ok(
        api.get(f"{API}/clients/profile", headers=bearer(client["token"])), 200, "Client profile fetched successfully"
    )
    assert not NEVER & set(doc)
    refused(api.get(f"{API}/clients/{MISSING_ID}", headers=admin), 404, "User not found")
    body = refused(api.get(f"{API}/clients/nope", headers=admin), 400, "Validation failed")
    assert body["errors"][0]["field"] == "id"
    # consultants read only their own clients (no booking links yet)
    refused(
        api.get(f"{API}/clients/{client_id}", headers=bearer(signup(api, "Consultant")["token"])),
        403,
        "Forbidden: Access denied",
    )
    refused(api.get(f"{API}/clients/{client_id}", headers=bearer(client["token"])), 403, "Forbidden: Access denied")


def test_admin_updates_a_client(api):
    admin = bearer(create_admin(api))
    first, second = signup(api, "Client"), signup(api, "Client")
    first_id = first["user"]["id"]
    updated = ok(
        api.patch(
            f"{API}/clients/{first_id}",
            headers=admin,
            json={
                "fullName": "Renamed Client",
                "email": "  Renamed@Example.com",
                "mobile": "9123456780",
                "dob": None,
                "address": "Somewhere",
                "city": "Delhi",
                "status": "Pending",
                "unknown": "ignored",
            },
        ),
        200,
        "Client updated successfully",
    )
    assert (updated["fullName"], updated["email"], updated["mobile"], updated["city"], updated["status"]) == (
        "Renamed Client",
        "renamed@example.com",
        "+919123456780",
        "Delhi",
        "Pending",
    )
    assert "unknown" not in updated

    body = refused(
        api.patch(
            f"{API}/clients/{first_id}",
            headers=admin,
            json={
                "fullName": "R",
                "email": "not-an-email",
                "mobile": "12ab",
                "status": "Deleted",
                "address": "x" * 501,
                "city": "c" * 101,
                "pincode": "p" * 21,
                "emergencyContact": "e" * 51,
                "dob": "yesterday",
            },
        ),
        400,
        "Validation failed",
    )
    assert {e["field"] for e in body["errors"]} == {
        "fullName",
        "email",
        "mobile",
        "status",
        "address",
        "city",
        "pincode",
        "emergencyContact",
        "dob",
    }
    assert (
        refused(api.patch(f"{API}/clients/{first_id}", json={}, headers=admin), 400, "Validation failed")["errors"][0][
            "field"
        ]
        == ""
    )
    refused(api.patch(f"{API}/clients/{MISSING_ID}", json={"city": "X"}, headers=admin), 404, "User not found")

    # e-mails stay unique: another client's e-mail is refused, the old one becomes free
    duplicate = "Client with this email or mobile already exists"
    refused(
        api.patch(f"{API}/clients/{first_id}", json={"email": second["user"]["email"].upper()}, headers=admin),
        409,
        duplicate,
    )
    refused(
        api.patch(f"{API}/clients/{first_id}", json={"mobile": second["user"]["mobile"]}, headers=admin), 409, duplicate
    )
    still = ok(api.get(f"{API}/clients/{first_id}", headers=admin), 200, "Client profile fetched successfully")
    assert still["email"] == "renamed@example.com"
    reused = api.post(
        f"{API}/auth/signup",
        json={
            "fullName": "New Owner",
            "email": first["user"]["email"],
            "mobile": first["user"]["mobile"],
            "role": "Client",
        },
    )
    assert reused.status_code == 201, reused.text
    refused(
        api.post(
            f"{API}/auth/signup",
            json={"fullName": "Late", "email": "renamed@example.com", "mobile": "+919000000077", "role": "Client"},
        ),
        409,
        duplicate,
    )

    # status changes take effect on the client's token at once
    ok(
        api.patch(f"{API}/clients/{first_id}", json={"status": "Blocked"}, headers=admin),
        200,
        "Client updated successfully",
    )
    refused(
        api.get(f"{API}/clients/profile", headers=bearer(first["token"])),
        403,
        "Your account has been blocked by the administrator.",
    )
    ok(
        api.patch(f"{API}/clients/{first_id}", json={"status": "Active"}, headers=admin),
        200,
        "Client updated successfully",
    )
    ok(api.get(f"{API}/clients/profile", headers=bearer(first["token"])), 200, "Client profile fetched successfully")

    consultant = bearer(signup(api, "Consultant")["token"])
    for who in (consultant, bearer(second["token"])):
        refused(
            api.patch(f"{API}/clients/{first_id}", json={"city": "X"}, headers=who), 403, "Forbidden: Access denied"
        )


# -- users -------------------------------------------------------------------------------------


def test_create_and_list_users(api):
    admin = bearer(create_admin(api))
    legal = ok(api.post(f"{API}/categories", json={"title": "Legal"}, headers=admin), 201, "Category created")
    family = ok(
        api.post(f"{API}/subcategories", json={"title": "Family Law", "parentCategory": legal["_id"]}, headers=admin),
        201,
        "Subcategory created",
    )
    created = ok(
        new_user(
            api,
            admin,
            userId="EMP001",
            email="Emp.One@Example.com",
            mobile="9111111111",
            category=legal["_id"],
            subcategory="",
            profileImage="https://img/p.png",
            password="Ignored1234",
            status="Inactive",
        ),
        201,
        "User created successfully",
    )
    assert set(created) == {
        "id",
        "userId",
        "fullName",
        "email",
        "mobile",
        "role",
        "category",
        "subcategory",
        "status",
        "createdAt",
    }
    assert (created["userId"], created["email"], created["mobile"], created["role"], created["status"]) == (
        "EMP001",
        "emp.one@example.com",
        "9111111111",
        "Employee",
        "Active",
    )
    assert created["category"]["_id"] == legal["_id"] and created["category"]["title"] == "Legal"
    assert created["subcategory"] is None
    second_admin = ok(new_user(api, admin, role="Admin", subcategory=family["_id"]), 201, "User created successfully")
    assert second_admin["role"] == "Admin" and second_admin["subcategory"]["title"] == "Family Law"

    for role in ("Consultant", "Client"):
        refused(
            new_user(api, admin, role=role),
            400,
            f"Cannot create {role} using User endpoint. Please use the {role} creation endpoint instead.",
        )
    refused(new_user(api, admin, email="EMP.ONE@example.com"), 409, "User with this email already exists")
    refused(new_user(api, admin, userId="EMP001"), 409, "User with this User ID already exists")
    refused(new_user(api, admin, mobile="9111111111"), 409, "User with this mobile number already exists")
    body = refused(
        new_user(api, admin, userId="x", mobile="+919111", role="Boss", fullName="", email="nope"),
        400,
        "Validation failed",
    )
    assert {e["field"] for e in body["errors"]} == {"userId", "mobile", "role", "fullName", "email"}

    staff, _ = employee(api, admin)
    for who in (admin, staff):
        users = ok(api.get(f"{API}/users", headers=who), 200, "Users retrieved successfully")
        assert len(users) == 4 and users[2]["_id"] == created["id"]  # newest first
        assert all(set(u) <= USER_KEYS | {"lastLogin"} and USER_KEYS <= set(u) for u in users)
        assert users[2]["category"]["title"] == "Legal" and users[2]["verificationStatus"] == "Approved"
    consultant = bearer(signup(api, "Consultant")["token"])
    client = bearer(signup(api, "Client")["token"])
    # CONTRACT.md "People, files and platform": a Consultant gets 200 with an empty list, a Client 403
    assert ok(api.get(f"{API}/users", headers=consultant), 200, "Users retrieved successfully") == []
    refused(api.get(f"{API}/users", headers=client), 403, "Forbidden: Access denied")
    for who in (staff, consultant, client):
        refused(new_user(api, who), 403, "Forbidden: Access denied")
    refused(api.get(f"{API}/users"), 401, "Access denied. No token provided.")
    assert len(ok(api.get(f"{API}/users", headers=admin), 200, "Users retrieved successfully")) == 4


def test_update_user(api):
    admin = bearer(create_admin(api))
    staff, created = employee(api, admin)
    user_id = created["id"]
    ok(api.get(f"{API}/users", headers=staff), 200, "Users retrieved successfully")
    blocked = ok(
        api.patch(f"{API}/users/{user_id}", json={"verificationStatus": "Blocked"}, headers=admin),
        200,
        "User updated successfully",
    )
    assert (blocked["verificationStatus"], blocked["status"]) == ("Blocked", "Inactive")
    refused(api.get(f"{API}/users", headers=staff), 403, "Account is inactive. Please contact administrator.")
    approved = ok(
        api.patch(f"{API}/users/{user_id}", json={"verificationStatus": "Approved"}, headers=admin),
        200,
        "User updated successfully",
    )
    assert (approved["verificationStatus"], approved["status"]) == ("Approved", "Active")
    ok(api.get(f"{API}/users", headers=staff), 200, "Users retrieved successfully")

    renamed = ok(
        api.patch(
            f"{API}/users/{user_id}",
            headers=admin,
            json={
                "fullName": "Renamed Employee",
                "email": "Renamed@Example.com",
                "role": "Admin",
                "status": "Inactive",
            },
        ),
        200,
        "User updated successfully",
    )
    assert set(renamed) >= USER_KEYS
    assert (renamed["fullName"], renamed["email"], renamed["role"], renamed["status"]) == (
        "Renamed Employee",
        "renamed@example.com",
        "Employee",
        "Inactive",
    )  # role is immutable
    other = ok(new_user(api, admin), 201, "User created successfully")
    refused(
        api.patch(f"{API}/users/{other['id']}", json={"email": "RENAMED@example.com"}, headers=admin),
        409,
        "User with this email already exists",
    )
    refused(api.patch(f"{API}/users/{MISSING_ID}", json={"fullName": "Nobody"}, headers=admin), 404, "User not found")
    assert (
        refused(api.patch(f"{API}/users/{user_id}", json={"role": "Admin"}, headers=admin), 400, "Validation failed")[
            "errors"
        ][0]["field"]
        == ""
    )
    refused(
        api.patch(f"{API}/users/{other['id']}", json={"fullName": "By Staff"}, headers=staff),
        403,
        "Account is inactive. Please contact administrator.",
    )
    ok(api.patch(f"{API}/users/{user_id}", json={"status": "Active"}, headers=admin), 200, "User updated successfully")
    refused(
        api.patch(f"{API}/users/{other['id']}", json={"fullName": "By Staff"}, headers=staff),
        403,
        "Forbidden: Access denied",
    )


def test_delete_user(api):
    admin_token = create_admin(api)
    admin = bearer(admin_token)
    users = ok(api.get(f"{API}/users", headers=admin), 200, "Users retrieved successfully")
    admin_id = users[0]["_id"]
    refused(api.delete(f"{API}/users/{admin_id}", headers=admin), 400, "Cannot delete your own account")
    refused(api.delete(f"{API}/users/{MISSING_ID}", headers=admin), 404, "User not found")
    staff, created = employee(api, admin)
    refused(api.delete(f"{API}/users/{admin_id}", headers=staff), 403, "Forbidden: Access denied")
    assert ok(api.delete(f"{API}/users/{created['id']}", headers=admin), 200, "User deleted successfully") == {
        "deletedUserId": created["id"],
        "deletedUserName": "Emma Employee",
    }
    assert [u["_id"] for u in ok(api.get(f"{API}/users", headers=admin), 200, "Users retrieved successfully")] == [
        admin_id
    ]
    refused(api.get(f"{API}/users", headers=staff), 401, "Invalid or expired token")
    refused(api.delete(f"{API}/users/{created['id']}", headers=admin), 404, "User not found")

    # the admin portal deletes consultants through this route
    consultant = signup(api, "Consultant", fullName="Portal Deleted")
    consultant_id = consultant["user"]["id"]
    ok(api.post(f"{API}/consultants/{consultant_id}/approve", headers=admin), 200, "Consultant approved")
    assert ok(api.delete(f"{API}/users/{consultant_id}", headers=admin), 200, "User deleted successfully") == {
        "deletedUserId": consultant_id,
        "deletedUserName": "Portal Deleted",
    }
    refused(api.get(f"{API}/consultants/{consultant_id}", headers=admin), 404, "Consultant not found")
    assert ok(api.get(f"{API}/consultants/public"), 200, "Consultants fetched") == []
    refused(api.get(f"{API}/consultants", headers=bearer(consultant["token"])), 401, "Invalid or expired token")
    # ... but not clients
    client = signup(api, "Client")
    refused(api.delete(f"{API}/users/{client['user']['id']}", headers=admin), 404, "User not found")
    ok(api.get(f"{API}/clients/profile", headers=bearer(client["token"])), 200, "Client profile fetched successfully")


def test_active_consultants_for_the_booking_modal(api):
    admin = bearer(create_admin(api))
    legal = ok(api.post(f"{API}/categories", json={"title": "Legal"}, headers=admin), 201, "Category created")
    family = ok(
        api.post(f"{API}/subcategories", json={"title": "Family Law", "parentCategory": legal["_id"]}, headers=admin),
        201,
        "Subcategory created",
    )
    active = signup(
        api,
        "Consultant",
        fullName="Ada Active",
        fees=1200,
        currency="INR",
        categories=[{"categoryId": legal["_id"], "subcategoryId": family["_id"]}],
    )
    pending = signup(api, "Consultant")
    made = ok(
        api.post(
            f"{API}/consultants",
            headers=admin,
            json={
                "name": "Made Here",
                "email": "made@example.com",
                "phone": "9800000123",
                "category": "Legal",
                "country": "GB",
            },
        ),
        201,
        "Consultant created",
    )
    for consultant_id in (active["user"]["id"], made["_id"]):
        ok(api.post(f"{API}/consultants/{consultant_id}/approve", headers=admin), 200, "Consultant approved")

    staff, _ = employee(api, admin)
    callers = [admin, staff, bearer(pending["token"]), bearer(signup(api, "Client")["token"])]
    answers = [
        ok(api.get(f"{API}/users/consultants/active", headers=who), 200, "Active consultants fetched")
        for who in callers
    ]
    assert all(answer == answers[0] for answer in answers)
    listed = {c["_id"]: c for c in answers[0]}
    assert set(listed) == {active["user"]["id"], made["_id"]}
    ada = listed[active["user"]["id"]]
    assert {
        "_id",
        "fullName",
        "email",
        "mobile",
        "category",
        "subcategory",
        "fees",
        "commission",
        "country",
        "currency",
        "consultantProfileId",
        "categories",
    } <= set(ada)
    assert (ada["fullName"], ada["email"], ada["mobile"], ada["fees"], ada["currency"], ada["country"]) == (
        "Ada Active",
        active["user"]["email"],
        active["user"]["mobile"],
        1200,
        "INR",
        "IN",
    )
    assert ada["consultantProfileId"] == ada["_id"]
    assert ada["category"]["name"] == "Legal" and ada["subcategory"]["name"] == "Family Law"
    assert ada["commission"]["platformPercent"] == 0 and ada["categories"][0]["subcategoryId"] == family["_id"]
    here = listed[made["_id"]]
    assert (here["country"], here["currency"], here["fees"], here["categories"]) == ("GB", "", 0, [])
    assert not NEVER & set(ada)
    refused(api.get(f"{API}/users/consultants/active"), 401, "Access denied. No token provided.")
