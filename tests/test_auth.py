"""Contract tests of `/api/v1/auth` (contract/auth.md §1-3, §7, §8 and the decisions of CONTRACT.md).

Everything goes through HTTP: the in-process app (`api`, on SQLite and PostgreSQL) and, for
Socket.IO, a real server process. Status codes, envelopes, field names and the contract's
messages are asserted exactly."""

from __future__ import annotations

import contextlib
import queue
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import socketio
import sqlalchemy as sa

from infrastructure.settings import Settings
from infrastructure.tables import otp_codes, reset_tokens
from tests.conftest import ADMIN_PASSWORD, bearer, create_admin, login, make_settings, postgres_database, signup

AUTH = "/api/v1/auth"
HEX24 = re.compile(r"^[0-9a-f]{24}$")
ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

CONSULTANT_DUPLICATE = "Consultant with this email or mobile already exists"
CLIENT_DUPLICATE = "Client with this email or mobile already exists"
ADMIN_EXISTS = "Admin already exists. Use User Management to add more admins."
WEAK_PASSWORD = "Password must contain at least one uppercase letter, one lowercase letter, and one number"


# -- one app per backend for the module ---------------------------------------------------------------
# Most tests share one app (and database) per backend and use unique e-mails, phones and titles, so
# a Postgres database is not created and dropped for every test; tests that need an empty store
# (the first admin, other settings, real servers) use the function-scoped fixtures of conftest.


@dataclass
class Shared:
    api: Any
    settings: Settings
    admin: str  # token of the first admin (admin@example.com, mobile 9000000001)
    admin_id: str


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    from fastapi.testclient import TestClient

    from interfaces.http.app import create_app

    with contextlib.ExitStack() as stack:
        url = stack.enter_context(postgres_database()) if request.param == "postgres" else None
        settings = make_settings(tmp_path_factory.mktemp(f"auth-{request.param}"), url)
        api = stack.enter_context(TestClient(create_app(settings)))
        admin = create_admin(api)
        yield Shared(api, settings, admin, jwt.decode(admin, options={"verify_signature": False})["id"])


# -- helpers --------------------------------------------------------------------------------------


def unique_mobile() -> str:
    return "+9197" + str(secrets.randbelow(10**8)).zfill(8)


def failure(reply: httpx.Response, status: int, message: str) -> None:
    """An error answer: exactly `{success: false, message}` (no `errors`, no `data`)."""
    assert reply.status_code == status, reply.text
    assert reply.json() == {"success": False, "message": message}


def validation(reply: httpx.Response) -> dict[str, str]:
    """A request-validation answer (auth §1.3); returns `{field: message}`."""
    assert reply.status_code == 400, reply.text
    body = reply.json()
    assert body["success"] is False and body["message"] == "Validation failed", body
    assert set(body) == {"success", "message", "errors"}
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"field", "message"} and isinstance(error["message"], str) and error["message"]
    return {error["field"]: error["message"] for error in body["errors"]}


def send_otp(api: Any, mobile: str) -> str:
    reply = api.post(f"{AUTH}/send-otp", json={"mobile": mobile})
    assert reply.status_code == 200, reply.text
    code = reply.json()["data"]["otp"]
    assert re.fullmatch(r"\d{6}", code)
    return str(code)


def verify(api: Any, mobile: str, otp: str, role: str | None = None) -> httpx.Response:
    body = {"mobile": mobile, "otp": otp}
    if role is not None:
        body["role"] = role
    return api.post(f"{AUTH}/verify-otp", json=body)


def other_code(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def registration_token(api: Any, mobile: str) -> str:
    reply = verify(api, mobile, send_otp(api, mobile))
    assert reply.status_code == 200, reply.text
    return str(reply.json()["data"]["registrationToken"])


def counts(api: Any, admin: str) -> tuple[int, int, int]:
    """(consultants, clients, users) as an admin sees them."""
    consultants = api.get("/api/v1/consultants", headers=bearer(admin))
    clients = api.get("/api/v1/clients", params={"limit": 100}, headers=bearer(admin))
    users = api.get("/api/v1/users", headers=bearer(admin))
    assert consultants.status_code == clients.status_code == users.status_code == 200
    return len(consultants.json()["data"]), clients.json()["data"]["pagination"]["total"], len(users.json()["data"])


def consultant_doc(api: Any, admin: str, consultant_id: str) -> dict[str, Any]:
    reply = api.get(f"/api/v1/consultants/{consultant_id}", headers=bearer(admin))
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]  # type: ignore[no-any-return]


def client_doc(api: Any, admin: str, client_id: str) -> dict[str, Any]:
    reply = api.get(f"/api/v1/clients/{client_id}", headers=bearer(admin))
    assert reply.status_code == 200, reply.text
    return reply.json()["data"]  # type: ignore[no-any-return]


class Catalogue:
    """Legal (Family Law, Property) and Finance (Tax), with titles unique to this call:
    `ids["Legal"]` is the id, `titles["Legal"]` the stored title."""

    def __init__(self, api: Any, admin: str):
        suffix = secrets.token_hex(3)
        self.titles = {name: f"{name} {suffix}" for name in ("Legal", "Finance", "Family Law", "Property", "Tax")}
        self.ids: dict[str, str] = {}
        for name in ("Legal", "Finance"):
            reply = api.post("/api/v1/categories", json={"title": self.titles[name]}, headers=bearer(admin))
            assert reply.status_code == 201, reply.text
            self.ids[name] = reply.json()["data"]["_id"]
        for name, parent in (("Family Law", "Legal"), ("Property", "Legal"), ("Tax", "Finance")):
            reply = api.post(
                "/api/v1/subcategories",
                json={"title": self.titles[name], "parentCategory": self.ids[parent]},
                headers=bearer(admin),
            )
            assert reply.status_code == 201, reply.text
            self.ids[name] = reply.json()["data"]["_id"]


def set_consultant_status(api: Any, admin: str, consultant_id: str, action: str) -> None:
    reply = api.post(f"/api/v1/consultants/{consultant_id}/{action}", headers=bearer(admin))
    assert reply.status_code == 200, reply.text


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}.{secrets.token_hex(4)}@example.com"


# -- send-otp -------------------------------------------------------------------------------------


def test_send_otp_answers_and_echoes_the_code_in_development(shared):
    api = shared.api
    mobile = unique_mobile()
    reply = api.post(f"{AUTH}/send-otp", json={"mobile": mobile, "channel": "sms"})  # unknown key ignored
    assert reply.status_code == 200
    body = reply.json()
    assert set(body) == {"success", "message", "data"}
    assert body["success"] is True and body["message"] == "OTP sent successfully"
    assert set(body["data"]) == {"otp"} and re.fullmatch(r"\d{6}", body["data"]["otp"])
    sms = api.app.state.container.sms.sent
    assert sms[-1][0] == mobile and body["data"]["otp"] in sms[-1][1]
    # a second request replaces the code: the first one no longer verifies
    second = send_otp(api, mobile)
    if second != body["data"]["otp"]:
        failure(verify(api, mobile, body["data"]["otp"]), 400, "Invalid OTP")
    assert verify(api, mobile, second).status_code == 200


def test_send_otp_validation_messages(shared):
    api = shared.api
    assert validation(api.post(f"{AUTH}/send-otp", json={})) == {"mobile": "Mobile number is required"}
    assert validation(api.post(f"{AUTH}/send-otp", json={"mobile": ""})) == {"mobile": "Mobile number cannot be empty"}
    for bad in ("12345", "98765abc10", "+91 98765 43210", "1234567890123456", "++919876543210"):
        assert validation(api.post(f"{AUTH}/send-otp", json={"mobile": bad})) == {
            "mobile": "Mobile number must be valid (7-15 digits, optional + prefix)"
        }, bad
    assert validation(api.post(f"{AUTH}/send-otp", json={"mobile": 9876543210})) == {
        "mobile": '"mobile" must be a string'
    }
    assert api.post(f"{AUTH}/send-otp", json={"mobile": "1234567"}).status_code == 200
    assert api.post(f"{AUTH}/send-otp", json={"mobile": "+123456789012345"}).status_code == 200


def test_send_otp_never_echoes_the_code_outside_the_dev_switch(tmp_path: Path, backend):
    from fastapi.testclient import TestClient

    from interfaces.http.app import create_app

    # (production, which needs a real SMS provider: tests/test_delivery.py)
    for name, overrides in (("flag-off", {"environment": "development", "allow_otp_in_response": False}),):
        settings = make_settings(tmp_path / name, backend, **overrides)
        with TestClient(create_app(settings)) as api:
            mobile = unique_mobile()
            reply = api.post(f"{AUTH}/send-otp", json={"mobile": mobile})
            assert reply.status_code == 200, name
            assert reply.json() == {"success": True, "message": "OTP sent successfully"}, name
            # the code still reaches the SMS port, and verifies
            mobile_sent, text = api.app.state.container.sms.sent[-1]
            assert mobile_sent == mobile
            code = re.search(r"\b(\d{6})\b", text).group(1)
            answer = verify(api, mobile, code)
            assert answer.status_code == 200 and answer.json()["data"]["isNewUser"] is True, name


# -- verify-otp -----------------------------------------------------------------------------------


def test_verify_otp_logs_in_an_existing_client(shared):
    api, admin = shared.api, shared.admin
    client = signup(api, "Client")
    mobile = client["user"]["mobile"]
    reply = verify(api, mobile, send_otp(api, mobile), role="Client")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert set(body) == {"success", "message", "data"}
    assert body["success"] is True and body["message"] == "Login successful"
    data = body["data"]
    assert set(data) == {"token", "user", "isNewUser"} and data["isNewUser"] is False
    assert data["user"] == {
        "id": client["user"]["id"],
        "name": client["user"]["name"],
        "email": client["user"]["email"],
        "role": "Client",
        "mobile": mobile,
        "avatar": "",
        "image": "",
        "profileImage": "",
    }
    claims = jwt.decode(data["token"], shared.settings.resolved_jwt_secret, algorithms=["HS256"])
    assert (claims["id"], claims["email"], claims["role"]) == (client["user"]["id"], client["user"]["email"], "Client")
    assert claims["exp"] - claims["iat"] == 24 * 3600
    profile = api.get("/api/v1/clients/profile", headers=bearer(data["token"]))
    assert profile.status_code == 200 and profile.json()["data"]["_id"] == client["user"]["id"]
    # the OTP login is recorded (lastLogin)
    assert ISO_MS.match(client_doc(api, admin, client["user"]["id"]).get("lastLogin") or "")

    # no role: clients are searched first; the avatar is mirrored into image and profileImage
    url = "https://cdn.example.com/avatar.png"
    patched = api.patch("/api/v1/clients/profile", json={"avatar": url}, headers=bearer(client["token"]))
    assert patched.status_code == 200, patched.text
    again = verify(api, mobile, send_otp(api, mobile))
    assert again.status_code == 200, again.text
    user = again.json()["data"]["user"]
    assert (user["id"], user["role"]) == (client["user"]["id"], "Client")
    assert user["avatar"] == user["image"] == user["profileImage"] == url


def test_verify_otp_finds_a_consultant_by_its_national_number(shared):
    api, admin = shared.api, shared.admin
    national = "98" + str(secrets.randbelow(10**8)).zfill(8)
    consultant = signup(api, "Consultant", mobile="+91" + national)
    set_consultant_status(api, admin, consultant["user"]["id"], "approve")
    image = "https://cdn.example.com/consultant.png"
    patched = api.patch(f"/api/v1/consultants/{consultant['user']['id']}", json={"image": image}, headers=bearer(admin))
    assert patched.status_code == 200, patched.text

    reply = verify(api, national, send_otp(api, national), role="Consultant")
    assert reply.status_code == 200, reply.text
    data = reply.json()["data"]
    assert data["isNewUser"] is False
    assert data["user"] == {
        "id": consultant["user"]["id"],
        "name": consultant["user"]["name"],
        "email": consultant["user"]["email"],
        "role": "Consultant",
        "mobile": national,
        "avatar": image,
        "image": image,
        "profileImage": image,
    }
    # without a role, consultants are searched after the clients (no client has this phone)
    for sent in ("91" + national, "+91" + national):
        answer = verify(api, sent, send_otp(api, sent))
        assert answer.status_code == 200, answer.text
        assert answer.json()["data"]["user"]["id"] == consultant["user"]["id"]
        assert answer.json()["data"]["user"]["mobile"] == sent
    # role Client does not search consultants: a new user for that store
    fresh = verify(api, national, send_otp(api, national), role="Client")
    assert fresh.status_code == 200 and fresh.json()["data"]["isNewUser"] is True


def test_verify_otp_admin_portal_and_users_never_searched_without_role(shared):
    api = shared.api
    for sent in ("9000000001", "+919000000001"):  # the admin was created with 9000000001
        reply = verify(api, sent, send_otp(api, sent), role="Admin")
        assert reply.status_code == 200, reply.text
        assert reply.json()["data"]["user"] == {
            "id": shared.admin_id,
            "name": "Site Admin",
            "email": "admin@example.com",
            "role": "Admin",
            "mobile": sent,
            "avatar": "",
            "image": "",
            "profileImage": "",
        }
    newcomer = verify(api, "9000000001", send_otp(api, "9000000001"))
    assert newcomer.status_code == 200
    assert set(newcomer.json()["data"]) == {"registrationToken", "isNewUser"}
    assert newcomer.json()["data"]["isNewUser"] is True


def test_verify_otp_unknown_mobile_gives_a_registration_token(shared):
    api = shared.api
    mobile = unique_mobile()
    reply = verify(api, mobile, send_otp(api, mobile))
    assert reply.status_code == 200
    body = reply.json()
    assert body["success"] is True and body["message"] == "OTP verified. Please complete registration."
    assert set(body["data"]) == {"registrationToken", "isNewUser"} and body["data"]["isNewUser"] is True
    claims = jwt.decode(
        body["data"]["registrationToken"],
        shared.settings.resolved_jwt_secret,
        algorithms=["HS256"],
        audience="registration",
    )
    assert claims["mobile"] == mobile and claims["exp"] - claims["iat"] == 15 * 60
    assert "id" not in claims and "role" not in claims


def test_verify_otp_wrong_code_and_single_use(shared):
    api = shared.api
    mobile = unique_mobile()
    code = send_otp(api, mobile)
    failure(verify(api, mobile, other_code(code)), 400, "Invalid OTP")
    failure(verify(api, "+9111" + mobile[-8:], code), 400, "Invalid OTP")  # a code belongs to its mobile
    assert verify(api, mobile, code).status_code == 200
    failure(verify(api, mobile, code), 400, "Invalid OTP")  # used
    failure(verify(api, unique_mobile(), "123456"), 400, "Invalid OTP")  # never sent


def test_verify_otp_code_dies_after_five_wrong_attempts(shared):
    api = shared.api
    mobile = unique_mobile()
    code = send_otp(api, mobile)
    for _ in range(5):
        failure(verify(api, mobile, other_code(code)), 400, "Invalid OTP")
    dead = verify(api, mobile, code)
    failure(dead, 400, "Too many incorrect attempts. Please request a new OTP.")
    failure(verify(api, mobile, code), 400, "Too many incorrect attempts. Please request a new OTP.")
    fresh = send_otp(api, mobile)  # a new code starts a new count
    failure(verify(api, mobile, other_code(fresh)), 400, "Invalid OTP")
    assert verify(api, mobile, fresh).status_code == 200


def test_verify_otp_expired_code(shared):
    api = shared.api
    mobile = unique_mobile()
    code = send_otp(api, mobile)
    engine = api.app.state.container.write_engine
    with engine.begin() as conn:
        changed = conn.execute(
            otp_codes.update().where(otp_codes.c.mobile == mobile).values(expires_at=time.time() - 1)
        )
        assert changed.rowcount == 1
    failure(verify(api, mobile, code), 400, "OTP expired")
    failure(verify(api, mobile, code), 400, "Invalid OTP")  # an expired code is removed
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(otp_codes).where(otp_codes.c.mobile == mobile)).scalar()
            == 0
        )


def test_verify_otp_codes_are_stored_hashed(shared):
    api = shared.api
    mobile = unique_mobile()
    code = send_otp(api, mobile)
    with api.app.state.container.write_engine.connect() as conn:
        rows = conn.execute(sa.select(otp_codes).where(otp_codes.c.mobile == mobile)).mappings().all()
    assert len(rows) == 1 and code not in str(dict(rows[0]))


def test_verify_otp_refuses_accounts_that_are_not_active(shared):
    api, admin = shared.api, shared.admin
    consultant = signup(api, "Consultant")
    consultant_id, mobile = consultant["user"]["id"], consultant["user"]["mobile"]
    code = send_otp(api, mobile)
    failure(verify(api, mobile, code, role="Consultant"), 403, "Your account is pending approval.")
    set_consultant_status(api, admin, consultant_id, "reject")
    failure(verify(api, mobile, code, role="Consultant"), 403, "Your account application has been rejected.")
    set_consultant_status(api, admin, consultant_id, "block")
    failure(verify(api, mobile, code), 403, "Your account has been blocked by the administrator.")
    # the refusals did not consume the code
    set_consultant_status(api, admin, consultant_id, "unblock")
    reply = verify(api, mobile, code, role="Consultant")
    assert reply.status_code == 200, reply.text
    assert reply.json()["data"]["user"]["id"] == consultant_id

    client = signup(api, "Client")
    patched = api.patch(f"/api/v1/clients/{client['user']['id']}", json={"status": "Inactive"}, headers=bearer(admin))
    assert patched.status_code == 200, patched.text
    failure(
        verify(api, client["user"]["mobile"], send_otp(api, client["user"]["mobile"])),
        403,
        "Account is inactive. Please contact administrator.",
    )


def test_verify_otp_validation_messages(shared):
    api = shared.api
    mobile = unique_mobile()
    assert validation(api.post(f"{AUTH}/verify-otp", json={})) == {
        "mobile": "Mobile number is required",
        "otp": "OTP is required",
    }
    assert validation(verify(api, mobile, "12345")) == {"otp": "OTP must be 6 digits"}
    assert validation(verify(api, mobile, "12a456")) == {"otp": "OTP must contain only numbers"}
    assert validation(verify(api, mobile, "")) == {"otp": "OTP is required"}
    for role in ("client", "Manager", ""):
        assert validation(verify(api, mobile, "123456", role=role)) == {
            "role": "Role must be Client, Consultant, Admin, or Employee"
        }, role
    assert validation(api.post(f"{AUTH}/verify-otp", json={"mobile": mobile, "otp": 123456})) == {
        "otp": '"otp" must be a string'
    }


# -- login ----------------------------------------------------------------------------------------


def test_login_client_role_is_normalised_and_email_case_insensitive(shared):
    api = shared.api
    client = signup(api, "Client")
    email = client["user"]["email"]
    for role in (None, "Client", "client", "  CLIENT  ", "cLiEnT"):
        body = {"email": email.upper(), "password": "secret1", "mobile": "ignored", "otp": "ignored"}
        if role is not None:
            body["role"] = role
        reply = api.post(f"{AUTH}/login", json=body)
        assert reply.status_code == 200, (role, reply.text)
        answer = reply.json()
        assert answer["success"] is True and answer["message"] == "Login successful"
        assert set(answer["data"]) == {"token", "user"}
        assert answer["data"]["user"] == {
            "id": client["user"]["id"],
            "name": client["user"]["name"],
            "email": email,
            "role": "Client",
            "mobile": client["user"]["mobile"],
            "avatar": "",
        }
        claims = jwt.decode(answer["data"]["token"], shared.settings.resolved_jwt_secret, algorithms=["HS256"])
        assert (claims["id"], claims["email"], claims["role"]) == (client["user"]["id"], email, "Client")


def test_login_lookup_order_across_stores(shared):
    api, admin = shared.api, shared.admin
    email = unique_email("both")
    client = signup(api, "Client", email=email, password="clientpw")
    consultant = signup(api, "Consultant", email=email, password="consultantpw")
    set_consultant_status(api, admin, consultant["user"]["id"], "approve")

    def login_as(password: str, role: str | None = None) -> httpx.Response:
        body = {"email": email, "password": password}
        if role is not None:
            body["role"] = role
        return api.post(f"{AUTH}/login", json=body)

    # no role and role Client: clients first
    assert login_as("clientpw").json()["data"]["user"]["id"] == client["user"]["id"]
    assert login_as("clientpw", "client").json()["data"]["user"]["id"] == client["user"]["id"]
    failure(login_as("consultantpw"), 401, "Invalid credentials")  # the client account is the one checked
    # role Consultant: consultants first
    reply = login_as("consultantpw", "CONSULTANT")
    assert reply.status_code == 200, reply.text
    assert reply.json()["data"]["user"] == {
        "id": consultant["user"]["id"],
        "name": consultant["user"]["name"],
        "email": email,
        "role": "Consultant",
        "mobile": consultant["user"]["mobile"],
        "avatar": "",
    }
    # Admin / Employee / any other role: users only
    failure(login_as("clientpw", "Admin"), 401, "Invalid credentials")
    failure(login_as("clientpw", "Employee"), 401, "Invalid credentials")
    failure(login_as("clientpw", "Manager"), 401, "Invalid credentials")
    # an e-mail that exists only as a consultant, asked for as a client: found, role mismatch
    only = signup(api, "Consultant", password="onlypass")
    set_consultant_status(api, admin, only["user"]["id"], "approve")
    failure(
        api.post(f"{AUTH}/login", json={"email": only["user"]["email"], "password": "onlypass", "role": "Client"}),
        401,
        "Invalid credentials or role mismatch",
    )
    no_role = api.post(f"{AUTH}/login", json={"email": only["user"]["email"], "password": "onlypass"})
    assert no_role.status_code == 200 and no_role.json()["data"]["user"]["role"] == "Consultant"
    # the admin, with any role value other than Admin, is a role mismatch
    failure(
        api.post(f"{AUTH}/login", json={"email": "admin@example.com", "password": ADMIN_PASSWORD, "role": "Manager"}),
        401,
        "Invalid credentials or role mismatch",
    )


def test_login_failures(shared):
    api, admin = shared.api, shared.admin
    failure(
        api.post(f"{AUTH}/login", json={"email": unique_email("nobody"), "password": "whatever"}),
        401,
        "Invalid credentials",
    )
    client = signup(api, "Client")
    failure(
        api.post(f"{AUTH}/login", json={"email": client["user"]["email"], "password": "wrong-one"}),
        401,
        "Invalid credentials",
    )
    passwordless = signup(api, "Client", password=None)
    failure(
        api.post(f"{AUTH}/login", json={"email": passwordless["user"]["email"], "password": "anything"}),
        401,
        "Password not set. Please login via OTP.",
    )

    consultant = signup(api, "Consultant")
    consultant_id, email = consultant["user"]["id"], consultant["user"]["email"]
    body = {"email": email, "password": "secret1", "role": "Consultant"}
    failure(api.post(f"{AUTH}/login", json=body), 403, "Account pending approval")
    failure(api.post(f"{AUTH}/login", json={**body, "password": "wrong-one"}), 401, "Invalid credentials")
    set_consultant_status(api, admin, consultant_id, "reject")
    failure(api.post(f"{AUTH}/login", json=body), 403, "Account rejected")
    set_consultant_status(api, admin, consultant_id, "block")
    failure(api.post(f"{AUTH}/login", json=body), 403, "Account blocked")
    set_consultant_status(api, admin, consultant_id, "unblock")
    assert api.post(f"{AUTH}/login", json=body).status_code == 200

    assert validation(api.post(f"{AUTH}/login", json={})) == {
        "email": "Email is required",
        "password": "Password is required",
    }
    assert validation(api.post(f"{AUTH}/login", json={"email": "not-an-email", "password": ""})) == {
        "email": "Please enter a valid email address",
        "password": "Password is required",
    }


def test_login_admin_and_employee(shared):
    api, admin = shared.api, shared.admin
    reply = api.post(f"{AUTH}/login", json={"email": "Admin@Example.com", "password": ADMIN_PASSWORD, "role": "Admin"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["data"]["user"] == {
        "id": shared.admin_id,
        "name": "Site Admin",
        "email": "admin@example.com",
        "role": "Admin",
        "mobile": "9000000001",
        "avatar": "",
    }
    assert (
        api.post(f"{AUTH}/login", json={"email": "admin@example.com", "password": ADMIN_PASSWORD}).json()["data"][
            "user"
        ]["role"]
        == "Admin"
    )  # no role: users are searched last

    email = unique_email("eve")
    created = api.post(
        "/api/v1/users",
        headers=bearer(admin),
        json={
            "userId": "EMP" + secrets.token_hex(4),
            "fullName": "Eve Employee",
            "email": email,
            "mobile": "8" + str(secrets.randbelow(10**9)).zfill(9),
            "role": "Employee",
        },
    )
    assert created.status_code == 201, created.text
    employee = created.json()["data"]
    # an Employee cannot pass the Admin portal's password login (it sends role "Admin")
    failure(
        api.post(f"{AUTH}/login", json={"email": email, "password": "Whatever1", "role": "Admin"}),
        401,
        "Invalid credentials or role mismatch",
    )
    failure(
        api.post(f"{AUTH}/login", json={"email": email, "password": "Whatever1", "role": "Employee"}),
        401,
        "Password not set. Please login via OTP.",
    )
    # give it a password through the reset flow, then: Employee yes, Admin no
    assert api.post(f"{AUTH}/forgot-password", json={"email": email, "role": "Employee"}).status_code == 200
    token = api.app.state.container.mailer.sent[-1][2]["reset_link"].rsplit("/", 1)[1]
    assert api.put(f"{AUTH}/reset-password/{token}", json={"password": "EvePassw0rd"}).status_code == 200
    failure(
        api.post(f"{AUTH}/login", json={"email": email, "password": "EvePassw0rd", "role": "Admin"}),
        401,
        "Invalid credentials or role mismatch",
    )
    reply = api.post(f"{AUTH}/login", json={"email": email, "password": "EvePassw0rd", "role": "employee"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["data"]["user"] == {
        "id": employee["id"],
        "name": "Eve Employee",
        "email": email,
        "role": "Employee",
        "mobile": employee["mobile"],
        "avatar": "",
    }


# -- register (OTP-verified registration) ------------------------------------------------------------


def test_register_consultant_with_two_categories(shared):
    api, admin = shared.api, shared.admin
    cat = Catalogue(api, admin)
    mobile = unique_mobile()
    token = registration_token(api, mobile)
    email = unique_email("jane")
    before = counts(api, admin)
    reply = api.post(
        f"{AUTH}/register",
        json={
            "registrationToken": token,
            "fullName": "Jane Doe",
            "email": email.upper(),
            "role": "Consultant",
            "mobile": "+910000000000",  # not accepted: the mobile comes from the token
            "categories": [
                {
                    "categoryId": cat.ids["Legal"],
                    "categoryName": "Client-side name",
                    "subcategoryId": cat.ids["Family Law"],
                    "subcategoryName": "Whatever",
                    "category": "stripped",
                },
                {
                    "categoryId": cat.ids["Finance"],
                    "categoryName": "Finance",
                    "subcategoryId": "",
                    "subcategoryName": "",
                },
            ],
            "category": cat.ids["Legal"],
            "subcategory": cat.ids["Family Law"],
        },
    )
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["success"] is True and body["message"] == "User created successfully"
    assert set(body["data"]) == {"token", "user"}
    user = body["data"]["user"]
    assert HEX24.match(user["id"])
    assert user == {"id": user["id"], "name": "Jane Doe", "email": email, "role": "Consultant", "mobile": mobile}
    claims = jwt.decode(body["data"]["token"], shared.settings.resolved_jwt_secret, algorithms=["HS256"])
    assert (claims["id"], claims["email"], claims["role"]) == (user["id"], email, "Consultant")
    assert counts(api, admin) == (before[0] + 1, before[1], before[2])

    doc = consultant_doc(api, admin, user["id"])
    assert (doc["name"], doc["displayName"], doc["email"]) == ("Jane Doe", "Jane Doe", email)
    assert (doc["phone"], doc["mobile"], doc["status"], doc["fees"]) == (mobile, mobile, "Pending", 0)
    assert doc["category"] == {"name": cat.titles["Legal"], "description": "", "imageUrl": ""}
    assert doc["subcategory"] == {"name": cat.titles["Family Law"], "description": "", "imageUrl": ""}
    assert [{k: v for k, v in entry.items() if k != "_id"} for entry in doc["categories"]] == [
        {
            "categoryId": cat.ids["Legal"],
            "categoryName": cat.titles["Legal"],
            "subcategoryId": cat.ids["Family Law"],
            "subcategoryName": cat.titles["Family Law"],
        },
        {
            "categoryId": cat.ids["Finance"],
            "categoryName": cat.titles["Finance"],
            "subcategoryId": None,
            "subcategoryName": "",
        },
    ]
    assert all(HEX24.match(entry["_id"]) for entry in doc["categories"])
    assert doc["termsAcceptedAt"] is None and doc["privacyAcceptedAt"] is None  # register does not set them
    for private in ("password", "otp", "otpExpires", "resetPasswordToken", "resetPasswordExpire"):
        assert private not in doc
    # the (Pending) consultant may use its token on its own record, and is listed under both categories
    own = api.get(f"/api/v1/consultants/{user['id']}", headers=bearer(body["data"]["token"]))
    assert own.status_code == 200 and own.json()["data"]["_id"] == user["id"]
    for name in ("Legal", "Finance"):
        listed = api.get("/api/v1/consultants", params={"category": cat.titles[name]}, headers=bearer(admin)).json()[
            "data"
        ]
        assert [c["_id"] for c in listed] == [user["id"]], name
    # the same registration session cannot register the same mobile twice
    failure(
        api.post(
            f"{AUTH}/register",
            json={"registrationToken": token, "fullName": "Jane Again", "email": unique_email(), "role": "Consultant"},
        ),
        409,
        CONSULTANT_DUPLICATE,
    )


def test_register_consultant_with_legacy_category_ids(shared):
    api, admin = shared.api, shared.admin
    cat = Catalogue(api, admin)
    reply = api.post(
        f"{AUTH}/register",
        json={
            "registrationToken": registration_token(api, unique_mobile()),
            "fullName": "Raj Kumar",
            "email": unique_email("raj"),
            "role": "Consultant",
            "category": cat.ids["Finance"],
            "subcategory": cat.ids["Tax"],
            "fees": 1500,
            "currency": "inr",
            "password": "secret1",
        },
    )
    assert reply.status_code == 201, reply.text
    doc = consultant_doc(api, admin, reply.json()["data"]["user"]["id"])
    assert doc["category"] == {"name": cat.titles["Finance"], "description": "", "imageUrl": ""}
    assert doc["subcategory"] == {"name": cat.titles["Tax"], "description": "", "imageUrl": ""}
    assert not doc.get("categories")
    assert (doc["fees"], doc["currency"]) == (1500, "INR")
    # unknown (well-formed) ids fall back to General / ""
    missing = "665000000000000000000099"
    other = api.post(
        f"{AUTH}/register",
        json={
            "registrationToken": registration_token(api, unique_mobile()),
            "fullName": "No Category",
            "email": unique_email("nocat"),
            "role": "Consultant",
            "category": missing,
            "subcategory": missing,
        },
    )
    assert other.status_code == 201, other.text
    doc = consultant_doc(api, admin, other.json()["data"]["user"]["id"])
    assert (doc["category"]["name"], doc["subcategory"]["name"]) == ("General", "")
    failure(
        api.post(
            f"{AUTH}/register",
            json={
                "registrationToken": registration_token(api, unique_mobile()),
                "fullName": "Bad Id",
                "email": unique_email("badid"),
                "role": "Consultant",
                "category": "not-an-id",
            },
        ),
        400,
        "Invalid ID format",
    )


def test_register_refuses_a_subcategory_of_another_category(shared):
    api, admin = shared.api, shared.admin
    cat = Catalogue(api, admin)
    token = registration_token(api, unique_mobile())
    before = counts(api, admin)
    body = {
        "registrationToken": token,
        "fullName": "Mixed Up",
        "email": unique_email("mixed"),
        "role": "Consultant",
        "categories": [
            {"categoryId": cat.ids["Legal"], "subcategoryId": cat.ids["Family Law"]},
            {"categoryId": cat.ids["Legal"], "subcategoryId": cat.ids["Tax"]},
        ],
    }
    failure(
        api.post(f"{AUTH}/register", json=body),
        400,
        f'Subcategory "{cat.titles["Tax"]}" does not belong to category "{cat.titles["Legal"]}"',
    )
    failure(
        api.post(
            f"{AUTH}/register", json={**body, "categories": [{"categoryId": cat.ids["Legal"], "subcategoryId": "zz"}]}
        ),
        400,
        "Invalid ID format",
    )
    assert counts(api, admin) == before
    # nothing was claimed: the corrected request with the same session succeeds
    body["categories"][1] = {"categoryId": cat.ids["Finance"], "subcategoryId": cat.ids["Tax"]}
    fixed = api.post(f"{AUTH}/register", json=body)
    assert fixed.status_code == 201, fixed.text
    doc = consultant_doc(api, admin, fixed.json()["data"]["user"]["id"])
    assert [(e["categoryName"], e["subcategoryName"]) for e in doc["categories"]] == [
        (cat.titles["Legal"], cat.titles["Family Law"]),
        (cat.titles["Finance"], cat.titles["Tax"]),
    ]


def test_register_client(shared):
    api, admin = shared.api, shared.admin
    before = counts(api, admin)
    mobile = unique_mobile()
    email = unique_email("carl")
    token = registration_token(api, mobile)
    reply = api.post(
        f"{AUTH}/register",
        json={
            "registrationToken": token,
            "fullName": "Carl Client",
            "email": email.upper(),
            "role": "Client",
            "categories": [{"categoryId": "665000000000000000000001"}],
        },
    )
    assert reply.status_code == 201, reply.text
    data = reply.json()["data"]
    assert data["user"] == {
        "id": data["user"]["id"],
        "name": "Carl Client",
        "email": email,
        "role": "Client",
        "mobile": mobile,
    }
    profile = api.get("/api/v1/clients/profile", headers=bearer(data["token"]))
    assert profile.status_code == 200, profile.text
    doc = profile.json()["data"]
    assert (doc["fullName"], doc["email"], doc["mobile"], doc["status"]) == ("Carl Client", email, mobile, "Active")
    assert "category" not in doc and "categories" not in doc
    # the client can now log in by OTP with the same mobile
    again = verify(api, mobile, send_otp(api, mobile))
    assert again.json()["data"]["isNewUser"] is False and again.json()["data"]["user"]["id"] == data["user"]["id"]
    # duplicates, by mobile (same session) and by e-mail (another session)
    failure(
        api.post(
            f"{AUTH}/register",
            json={"registrationToken": token, "fullName": "Carl Two", "email": unique_email(), "role": "Client"},
        ),
        409,
        CLIENT_DUPLICATE,
    )
    failure(
        api.post(
            f"{AUTH}/register",
            json={
                "registrationToken": registration_token(api, unique_mobile()),
                "fullName": "Carl Three",
                "email": email,
                "role": "Client",
            },
        ),
        409,
        CLIENT_DUPLICATE,
    )
    assert counts(api, admin) == (before[0], before[1] + 1, before[2])


def test_register_refuses_bad_registration_sessions(shared):
    api, admin = shared.api, shared.admin
    body = {"fullName": "Jane Doe", "email": unique_email("jane"), "role": "Client"}
    message = "Invalid or expired registration session"
    now = int(time.time())
    secret = shared.settings.resolved_jwt_secret
    expired = jwt.encode(
        {"mobile": unique_mobile(), "typ": "registration", "aud": "registration", "iat": now - 1000, "exp": now - 100},
        secret,
        algorithm="HS256",
    )
    forged = jwt.encode(
        {"mobile": unique_mobile(), "typ": "registration", "aud": "registration", "iat": now, "exp": now + 600},
        "another-secret-" + "y" * 32,
        algorithm="HS256",
    )
    legacy = jwt.encode({"mobile": unique_mobile(), "iat": now, "exp": now + 600}, secret, algorithm="HS256")
    client = signup(api, "Client")
    before = counts(api, admin)
    for token in ("garbage", expired, forged, legacy, admin, client["token"]):
        failure(api.post(f"{AUTH}/register", json={**body, "registrationToken": token}), 401, message)
    assert counts(api, admin) == before
    assert validation(api.post(f"{AUTH}/register", json=body)) == {
        "registrationToken": '"registrationToken" is required'
    }


def test_a_registration_token_is_not_an_access_token(shared):
    api = shared.api
    token = registration_token(api, unique_mobile())
    failure(api.get("/api/v1/clients/profile", headers=bearer(token)), 401, "Invalid or expired token")
    failure(api.get("/api/v1/clients/profile", params={"token": token}), 401, "Invalid or expired token")
    failure(api.get("/api/v1/users/consultants/active", headers=bearer(token)), 401, "Invalid or expired token")
    failure(api.get("/api/v1/clients/profile"), 401, "Access denied. No token provided.")
    failure(
        api.get("/api/v1/clients/profile", headers={"Authorization": f"bearer {token}"}),
        401,
        "Access denied. No token provided.",
    )
    client = signup(api, "Client")
    assert api.get("/api/v1/clients/profile", params={"token": client["token"]}).status_code == 200


def test_register_validation_messages(shared):
    api = shared.api
    token = registration_token(api, unique_mobile())
    errors = validation(
        api.post(
            f"{AUTH}/register",
            json={
                "registrationToken": token,
                "fullName": "J",
                "email": "nope",
                "role": "Admin",
                "fees": -5,
                "currency": "RUPEE",
                "password": "123",
                "categories": [{"categoryId": ""}],
            },
        )
    )
    assert errors == {
        "fullName": "Full name must be at least 2 characters long",
        "email": "Please enter a valid email address",
        "role": "Role must be either Client or Consultant",
        "fees": errors["fees"],
        "currency": "Currency must be 3 characters",
        "password": "Password must be at least 6 characters long",
        "categories.0.categoryId": '"categoryId" is not allowed to be empty',
    }
    assert validation(api.post(f"{AUTH}/register", json={"registrationToken": token})) == {
        "fullName": "Full name is required",
        "email": "Email is required",
        "role": "Role is required",
    }
    assert validation(
        api.post(
            f"{AUTH}/register",
            json={"registrationToken": token, "fullName": "x" * 51, "email": "a@example.com", "role": "consultant"},
        )
    ) == {"fullName": "Full name cannot exceed 50 characters", "role": "Role must be either Client or Consultant"}
    # the session survived all of that
    assert (
        api.post(
            f"{AUTH}/register",
            json={"registrationToken": token, "fullName": "Fine Name", "email": unique_email("fine"), "role": "Client"},
        ).status_code
        == 201
    )


# -- signup ---------------------------------------------------------------------------------------


def test_signup_client(shared):
    api, admin = shared.api, shared.admin
    mobile = unique_mobile()
    email = unique_email("chloe")
    reply = api.post(
        f"{AUTH}/signup",
        json={
            "fullName": "Chloe Client",
            "email": email.title(),
            "mobile": mobile,
            "password": "secret1",
            "role": "Client",
            "confirmPassword": "secret1",
            "acceptTerms": True,
            "status": "Blocked",
            "isAdmin": True,
        },
    )
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert set(body) == {"success", "message", "data"}
    assert body["success"] is True and body["message"] == "User created successfully"
    assert set(body["data"]) == {"token", "user"}
    user = body["data"]["user"]
    assert user == {"id": user["id"], "name": "Chloe Client", "email": email, "role": "Client", "mobile": mobile}
    doc = client_doc(api, admin, user["id"])
    assert doc["status"] == "Active"  # the unknown `status` key was ignored
    assert "isAdmin" not in doc and "confirmPassword" not in doc and "password" not in doc
    assert ISO_MS.match(doc["termsAcceptedAt"]) and ISO_MS.match(doc["privacyAcceptedAt"])
    assert api.get("/api/v1/clients/profile", headers=bearer(body["data"]["token"])).status_code == 200
    assert login(api, email, "secret1", "Client")


def test_signup_consultant_starts_pending_and_unlisted(shared):
    api, admin = shared.api, shared.admin
    cat = Catalogue(api, admin)
    mobile = unique_mobile()
    email = unique_email("nina")
    reply = api.post(
        f"{AUTH}/signup",
        json={
            "fullName": "Nina Rao",
            "email": email,
            "mobile": mobile,
            "password": "secret1",
            "role": "Consultant",
            "fees": "1500",
            "currency": "inr",
            "status": "Active",
            "commission": {"platformPercent": 0},
            "categories": [
                {
                    "categoryId": cat.ids["Legal"],
                    "categoryName": "Legal",
                    "subcategoryId": cat.ids["Property"],
                    "subcategoryName": "Property",
                }
            ],
            "category": cat.ids["Legal"],
            "subcategory": cat.ids["Property"],
        },
    )
    assert reply.status_code == 201, reply.text
    user = reply.json()["data"]["user"]
    assert user == {"id": user["id"], "name": "Nina Rao", "email": email, "role": "Consultant", "mobile": mobile}
    doc = consultant_doc(api, admin, user["id"])
    assert doc["status"] == "Pending"  # the unknown `status` key did not self-approve
    assert (doc["fees"], doc["currency"]) == (1500, "INR")
    assert (doc["category"]["name"], doc["subcategory"]["name"]) == (cat.titles["Legal"], cat.titles["Property"])
    assert ISO_MS.match(doc["termsAcceptedAt"]) and ISO_MS.match(doc["privacyAcceptedAt"])
    for params in ({}, {"status": "Active"}, {"status": "Pending"}, {"category": cat.titles["Legal"]}):
        listed = api.get("/api/v1/consultants/public", params=params)
        assert listed.status_code == 200, params
        assert user["id"] not in [c["_id"] for c in listed.json()["data"]], params
    failure(api.post(f"{AUTH}/login", json={"email": email, "password": "secret1"}), 403, "Account pending approval")
    set_consultant_status(api, admin, user["id"], "approve")
    listed = api.get("/api/v1/consultants/public", params={"status": "Active", "category": cat.titles["Legal"]}).json()[
        "data"
    ]
    assert [c["_id"] for c in listed] == [user["id"]]
    assert "email" not in listed[0] and "phone" not in listed[0] and "mobile" not in listed[0]


def test_signup_consultant_with_legacy_names(shared):
    api, admin = shared.api, shared.admin
    cat = Catalogue(api, admin)
    by_title = signup(api, "Consultant", category=cat.titles["Finance"], subcategory=cat.titles["Tax"])
    doc = consultant_doc(api, admin, by_title["user"]["id"])
    assert (doc["category"]["name"], doc["subcategory"]["name"]) == (cat.titles["Finance"], cat.titles["Tax"])
    as_object = signup(api, "Consultant", category={"name": "Astrology", "description": "Stars", "imageUrl": ""})
    doc = consultant_doc(api, admin, as_object["user"]["id"])
    assert doc["category"] == {"name": "Astrology", "description": "Stars", "imageUrl": ""}
    by_id = signup(api, "Consultant", category=cat.ids["Legal"])
    assert consultant_doc(api, admin, by_id["user"]["id"])["category"]["name"] == cat.titles["Legal"]
    nothing = signup(api, "Consultant")
    doc = consultant_doc(api, admin, nothing["user"]["id"])
    assert (doc["category"]["name"], doc["subcategory"]["name"]) == ("General", "")


def test_signup_duplicates(shared):
    api, admin = shared.api, shared.admin
    mobile = unique_mobile()
    email = unique_email("dup")
    first = signup(api, "Consultant", email=email, mobile=mobile)
    before = counts(api, admin)
    base = {"fullName": "Second One", "password": "secret1", "role": "Consultant"}
    failure(
        api.post(f"{AUTH}/signup", json={**base, "email": email, "mobile": unique_mobile()}), 409, CONSULTANT_DUPLICATE
    )
    failure(
        api.post(f"{AUTH}/signup", json={**base, "email": f" {email.upper()} ", "mobile": unique_mobile()}),
        409,
        CONSULTANT_DUPLICATE,
    )
    failure(
        api.post(f"{AUTH}/signup", json={**base, "email": unique_email(), "mobile": mobile}), 409, CONSULTANT_DUPLICATE
    )
    national = mobile.removeprefix("+91")  # the same phone written as a national number
    failure(
        api.post(f"{AUTH}/signup", json={**base, "email": unique_email(), "mobile": national}),
        409,
        CONSULTANT_DUPLICATE,
    )
    assert counts(api, admin) == before
    # the same e-mail and phone may exist as a client and as a consultant
    client = signup(api, "Client", email=email, mobile=mobile)
    assert client["user"]["id"] != first["user"]["id"]
    client_base = {"fullName": "Client Two", "password": "secret1", "role": "Client"}
    failure(
        api.post(f"{AUTH}/signup", json={**client_base, "email": email, "mobile": unique_mobile()}),
        409,
        CLIENT_DUPLICATE,
    )
    failure(
        api.post(f"{AUTH}/signup", json={**client_base, "email": unique_email(), "mobile": mobile}),
        409,
        CLIENT_DUPLICATE,
    )
    assert counts(api, admin) == (before[0], before[1] + 1, before[2])


def test_signup_validation_messages(shared):
    api, admin = shared.api, shared.admin
    before = counts(api, admin)
    errors = validation(
        api.post(
            f"{AUTH}/signup",
            json={"fullName": "J", "email": "nope", "role": "Admin", "password": "123", "mobile": "12"},
        )
    )
    assert errors == {
        "fullName": "Full name must be at least 2 characters long",
        "email": "Please enter a valid email address",
        "role": "Role must be either Client or Consultant",
        "password": "Password must be at least 6 characters long",
        "mobile": "Mobile number must be valid (7-15 digits, optional + prefix)",
    }
    assert validation(api.post(f"{AUTH}/signup", json={})) == {
        "fullName": "Full name is required",
        "email": "Email is required",
        "role": "Role is required",
        "mobile": "Mobile number is required",
    }
    assert set(
        validation(
            api.post(
                f"{AUTH}/signup",
                json={
                    "fullName": "Jane Doe",
                    "email": unique_email(),
                    "mobile": unique_mobile(),
                    "role": "Consultant",
                    "fees": "lots",
                    "categories": {"categoryId": "x"},
                },
            )
        )
    ) == {"fees", "categories"}
    assert counts(api, admin) == before


# -- forgot-password / reset-password -----------------------------------------------------------------


def test_forgot_password_unknown_account(shared):
    api = shared.api
    client = signup(api, "Client")
    mailer = api.app.state.container.mailer
    sent = len(mailer.sent)
    message = "Account does not exist with this email and role"
    failure(api.post(f"{AUTH}/forgot-password", json={"email": unique_email("nobody")}), 404, message)
    failure(
        api.post(f"{AUTH}/forgot-password", json={"email": client["user"]["email"], "role": "Consultant"}), 404, message
    )
    failure(api.post(f"{AUTH}/forgot-password", json={"email": client["user"]["email"], "role": "Admin"}), 404, message)
    assert len(mailer.sent) == sent
    assert validation(
        api.post(f"{AUTH}/forgot-password", json={"email": client["user"]["email"], "role": "client"})
    ).keys() == {"role"}
    assert validation(api.post(f"{AUTH}/forgot-password", json={})) == {"email": "Email is required"}


def test_password_reset_flow(shared):
    api = shared.api
    client = signup(api, "Client", fullName="Rita Reset", password="OldPassw0rd")
    email = client["user"]["email"]
    mailer = api.app.state.container.mailer
    reply = api.post(f"{AUTH}/forgot-password", json={"email": email.upper()})
    assert reply.status_code == 200
    assert reply.json() == {
        "success": True,
        "message": "If an account exists with that email, you will receive a reset link.",
    }
    to, template, data = mailer.sent[-1]
    assert (to, template) == (email, "reset-password")
    assert set(data) == {"user_name", "reset_link", "expiry_time"}
    assert data["user_name"] == "Rita Reset" and data["expiry_time"] == "10 minutes"
    match = re.fullmatch(r"http://localhost:5173/reset-password/([0-9a-f]{40})", data["reset_link"])
    assert match, data["reset_link"]
    token = match.group(1)
    with api.app.state.container.write_engine.connect() as conn:
        stored = (
            conn.execute(sa.select(reset_tokens.c.token_hash).where(reset_tokens.c.account_id == client["user"]["id"]))
            .scalars()
            .all()
        )
    assert len(stored) == 1 and stored[0] != token  # stored hashed

    # weak passwords are refused before the token is used
    assert validation(api.put(f"{AUTH}/reset-password/{token}", json={"password": "alllowercase1"})) == {
        "password": WEAK_PASSWORD
    }
    assert validation(api.put(f"{AUTH}/reset-password/{token}", json={"password": "Ab1"})) == {
        "password": "Password must be at least 8 characters long"
    }
    assert validation(api.put(f"{AUTH}/reset-password/{token}", json={})) == {"password": "Password is required"}

    done = api.put(f"{AUTH}/reset-password/{token}", json={"password": "NewPassw0rd"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["success"] is True and body["message"] == "Password updated" and set(body["data"]) == {"token"}
    assert api.get("/api/v1/clients/profile", headers=bearer(body["data"]["token"])).status_code == 200
    failure(api.put(f"{AUTH}/reset-password/{token}", json={"password": "OtherPassw0rd"}), 400, "Invalid token")
    failure(api.post(f"{AUTH}/login", json={"email": email, "password": "OldPassw0rd"}), 401, "Invalid credentials")
    assert login(api, email, "NewPassw0rd", "Client")
    failure(api.put(f"{AUTH}/reset-password/{'0' * 40}", json={"password": "NewPassw0rd"}), 400, "Invalid token")


def test_password_reset_token_is_replaced_and_expires(shared):
    api = shared.api
    consultant = signup(api, "Consultant", password="secret1")
    email = consultant["user"]["email"]
    mailer = api.app.state.container.mailer
    links = []
    for _ in range(2):
        assert api.post(f"{AUTH}/forgot-password", json={"email": email, "role": "Consultant"}).status_code == 200
        assert mailer.sent[-1][0] == email
        links.append(mailer.sent[-1][2]["reset_link"].rsplit("/", 1)[1])
    failure(api.put(f"{AUTH}/reset-password/{links[0]}", json={"password": "NewPassw0rd"}), 400, "Invalid token")
    with api.app.state.container.write_engine.begin() as conn:
        assert (
            conn.execute(
                reset_tokens.update()
                .where(reset_tokens.c.account_id == consultant["user"]["id"])
                .values(expires_at=time.time() - 1)
            ).rowcount
            == 1
        )
    failure(api.put(f"{AUTH}/reset-password/{links[1]}", json={"password": "NewPassw0rd"}), 400, "Invalid token")
    failure(api.post(f"{AUTH}/login", json={"email": email, "password": "NewPassw0rd"}), 401, "Invalid credentials")


# -- create-admin (needs an empty store) ----------------------------------------------------------------


def test_create_admin(api):
    # validation first: nothing is created by refused requests
    assert validation(api.post(f"{AUTH}/create-admin", json={})) == {
        "fullName": "Full name is required",
        "email": "Email is required",
        "password": "Password is required",
        "mobile": "Mobile number is required",
    }
    assert validation(
        api.post(
            f"{AUTH}/create-admin",
            json={"fullName": "  ", "email": "admin", "password": "weakpassword", "mobile": "+919000000001"},
        )
    ) == {
        "fullName": "Full name must be at least 2 characters long",
        "email": "Please enter a valid email address",
        "password": WEAK_PASSWORD,
        "mobile": "Mobile must be 10-15 digits",
    }
    assert validation(
        api.post(
            f"{AUTH}/create-admin",
            json={"fullName": "Ada", "email": "ada@example.com", "password": "Sh0rt", "mobile": "900000"},
        )
    ) == {"password": "Password must be at least 8 characters long", "mobile": "Mobile must be 10-15 digits"}

    reply = api.post(
        f"{AUTH}/create-admin",
        json={
            "fullName": "  Ada Admin  ",
            "email": "Ada@Example.com",
            "password": "Adm1nPassword",
            "mobile": "9000000010",
            "role": "Employee",
        },
    )
    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["success"] is True and body["message"] == "Admin created successfully"
    data = body["data"]
    assert set(data) == {"id", "userId", "email", "fullName", "role"}
    assert HEX24.match(data["id"]) and re.fullmatch(r"ADM-[0-9A-F]{8}", data["userId"])
    assert (data["email"], data["fullName"], data["role"]) == ("ada@example.com", "Ada Admin", "Admin")
    token = login(api, "ada@example.com", "Adm1nPassword", "Admin")
    second = {"fullName": "Bob Admin", "email": "bob@example.com", "password": "Adm1nPassword", "mobile": "9000000011"}
    failure(api.post(f"{AUTH}/create-admin", json=second), 403, ADMIN_EXISTS)
    failure(api.post(f"{AUTH}/create-admin", json={**second, "email": "ada@example.com"}), 403, ADMIN_EXISTS)
    users = api.get("/api/v1/users", headers=bearer(token)).json()["data"]
    assert [(u["_id"], u["role"], u["userId"], u["status"], u["verificationStatus"]) for u in users] == [
        (data["id"], "Admin", data["userId"], "Active", "Approved")
    ]
    assert "password" not in users[0]


# -- bad input everywhere -------------------------------------------------------------------------

BAD_TYPES = {
    "send-otp": {"mobile": 9876543210},
    "verify-otp": {"mobile": "+919876543210", "otp": 123456},
    "login": {"email": ["a@example.com"], "password": "secret1"},
    "register": {"registrationToken": 5, "fullName": "Jane Doe", "email": "j@example.com", "role": "Client"},
    "signup": {
        "fullName": "Jane Doe",
        "email": "j@example.com",
        "mobile": "+919876543210",
        "role": "Client",
        "password": 123456,
    },
    "forgot-password": {"email": 42},
    "create-admin": {
        "fullName": "Admin Two",
        "email": "two@example.com",
        "password": "Adm1nPassword",
        "mobile": 9000000002,
    },
}


def _auth_request(api: Any, route: str, **kwargs: Any) -> httpx.Response:
    if route == "reset-password":
        return api.put(f"{AUTH}/reset-password/{'a' * 40}", **kwargs)
    return api.post(f"{AUTH}/{route}", **kwargs)


def test_bad_input_is_refused_and_changes_nothing(shared):
    api, admin = shared.api, shared.admin
    signup(api, "Client")
    signup(api, "Consultant")
    before = counts(api, admin)
    assert before[0] >= 1 and before[1] >= 1 and before[2] >= 1
    json_headers = {"Content-Type": "application/json"}
    for route in [*BAD_TYPES, "reset-password"]:
        malformed = validation(_auth_request(api, route, content=b'{"email": "x@example.com",', headers=json_headers))
        assert malformed == {"": "Malformed JSON body"}, route
        for payload in (b"[]", b'[{"mobile": "+919876543210"}]', b'"text"', b"42", b"null"):
            assert validation(_auth_request(api, route, content=payload, headers=json_headers)), (route, payload)
        assert validation(_auth_request(api, route, json={})), route
        assert validation(
            _auth_request(
                api, route, content=b"mobile=1", headers={"Content-Type": "application/x-www-form-urlencoded"}
            )
        ), route
    for route, body in BAD_TYPES.items():
        errors = validation(_auth_request(api, route, json=body))
        assert any(message.endswith("must be a string") for message in errors.values()), (route, errors)
    assert validation(_auth_request(api, "reset-password", json={"password": 12345678})) == {
        "password": '"password" must be a string'
    }
    assert counts(api, admin) == before


def test_oversize_bodies_are_refused_with_413(shared):
    api, admin = shared.api, shared.admin
    assert shared.settings.max_body_bytes == 1_000_000
    before = counts(api, admin)
    body = {
        "fullName": "Big Body",
        "email": unique_email("big"),
        "mobile": unique_mobile(),
        "role": "Client",
        "password": "secret1",
        "padding": "x" * 1_000_001,
    }
    reply = api.post(f"{AUTH}/signup", json=body)
    assert reply.status_code == 413
    assert reply.json() == {"success": False, "message": "Request body too large"}
    # streamed without a Content-Length: counted as it arrives
    payload = httpx.Request("POST", "http://x", json=body).content

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    streamed = api.post(f"{AUTH}/signup", content=chunks(), headers={"Content-Type": "application/json"})
    assert streamed.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in streamed.request.headers
    assert streamed.status_code == 413, streamed.text
    assert streamed.json() == {"success": False, "message": "Request body too large"}
    assert counts(api, admin) == before
    # a body under the limit, streamed in pieces, is read whole
    small = {**body, "padding": "x" * 900_000}
    small_payload = httpx.Request("POST", "http://x", json=small).content
    fine = api.post(
        f"{AUTH}/signup",
        content=iter([small_payload[:500_000], small_payload[500_000:]]),
        headers={"Content-Type": "application/json"},
    )
    assert fine.status_code == 201, fine.text[:300]
    assert counts(api, admin) == (before[0], before[1] + 1, before[2])


# -- account status on every request -----------------------------------------------------------------


def test_blocked_client_is_refused_on_its_next_request(shared):
    api, admin = shared.api, shared.admin
    client = signup(api, "Client")
    client_id, token = client["user"]["id"], client["token"]
    assert api.get("/api/v1/clients/profile", headers=bearer(token)).status_code == 200
    blocked = api.patch(f"/api/v1/clients/{client_id}", json={"status": "Blocked"}, headers=bearer(admin))
    assert blocked.status_code == 200 and blocked.json()["data"]["status"] == "Blocked"
    failure(
        api.get("/api/v1/clients/profile", headers=bearer(token)),
        403,
        "Your account has been blocked by the administrator.",
    )
    failure(
        api.get("/api/v1/users/consultants/active", headers=bearer(token)),
        403,
        "Your account has been blocked by the administrator.",
    )
    failure(
        api.post(f"{AUTH}/login", json={"email": client["user"]["email"], "password": "secret1"}),
        403,
        "Account blocked",
    )
    assert (
        api.patch(f"/api/v1/clients/{client_id}", json={"status": "Inactive"}, headers=bearer(admin)).status_code == 200
    )
    failure(
        api.get("/api/v1/clients/profile", headers=bearer(token)),
        403,
        "Account is inactive. Please contact administrator.",
    )
    failure(
        api.post(f"{AUTH}/login", json={"email": client["user"]["email"], "password": "secret1"}),
        403,
        "Account inactive",
    )
    assert (
        api.patch(f"/api/v1/clients/{client_id}", json={"status": "Active"}, headers=bearer(admin)).status_code == 200
    )
    assert api.get("/api/v1/clients/profile", headers=bearer(token)).status_code == 200


def test_consultant_status_and_deletion_apply_to_existing_tokens(shared):
    api, admin = shared.api, shared.admin
    consultant = signup(api, "Consultant")
    consultant_id, token = consultant["user"]["id"], consultant["token"]
    own = f"/api/v1/consultants/{consultant_id}"
    assert api.get(own, headers=bearer(token)).status_code == 200  # Pending: its own record only
    set_consultant_status(api, admin, consultant_id, "reject")
    failure(api.get(own, headers=bearer(token)), 403, "Your account application has been rejected.")
    set_consultant_status(api, admin, consultant_id, "block")
    failure(api.get(own, headers=bearer(token)), 403, "Your account has been blocked by the administrator.")
    set_consultant_status(api, admin, consultant_id, "unblock")
    assert api.get(own, headers=bearer(token)).status_code == 200
    deleted = api.delete(own, headers=bearer(admin))
    assert deleted.status_code == 200 and deleted.json()["data"] == {"deletedId": consultant_id}
    failure(api.get(own, headers=bearer(token)), 401, "Invalid or expired token")
    failure(api.get("/api/v1/consultants", headers=bearer(token)), 401, "Invalid or expired token")
    failure(
        api.post(f"{AUTH}/login", json={"email": consultant["user"]["email"], "password": "secret1"}),
        401,
        "Invalid credentials",
    )
    # its e-mail and phone were released
    again = signup(api, "Consultant", email=consultant["user"]["email"], mobile=consultant["user"]["mobile"])
    assert again["user"]["id"] != consultant_id


# -- Socket.IO (a real server) ----------------------------------------------------------------------


def _connect(url: str, token: str | None, events: dict[str, Any]) -> socketio.Client:
    sio = socketio.Client(reconnection=False)
    for name, sink in events.items():
        sio.on(name, sink)
    sio.connect(url, auth={"token": token} if token is not None else None, transports=["websocket"], wait_timeout=10)
    return sio


def test_socket_handshake_and_admin_notification_of_a_consultant_signup(server):
    with httpx.Client(base_url=server.url, timeout=30) as http:
        admin = create_admin(http)
        client = signup(http, "Client")
        registration = registration_token(http, unique_mobile())

        # the handshake needs a valid access token
        for token, message in (
            (None, "Authentication error: No token provided"),
            ("", "Authentication error: No token provided"),
            ("not-a-jwt", "Authentication error: Invalid token"),
            (registration, "Authentication error: Invalid token"),
        ):
            refusals: list[Any] = []
            with pytest.raises(socketio.exceptions.ConnectionError):
                _connect(server.url, token, {"connect_error": refusals.append})
            assert refusals == [{"message": message}], token

        admin_events: queue.Queue[dict[str, Any]] = queue.Queue()
        client_events: list[Any] = []
        admin_socket = _connect(server.url, f"Bearer {admin}", {"notification:new": admin_events.put})
        client_socket = _connect(server.url, client["token"], {"notification:new": client_events.append})
        try:
            name = f"Nina {secrets.token_hex(3)}"
            reply = http.post(
                f"{AUTH}/signup",
                json={
                    "fullName": name,
                    "email": unique_email("nina"),
                    "mobile": unique_mobile(),
                    "password": "secret1",
                    "role": "Consultant",
                    "fees": 500,
                },
            )
            assert reply.status_code == 201, reply.text
            deadline = time.monotonic() + 10
            payload = None
            while payload is None:
                event = admin_events.get(timeout=max(0.1, deadline - time.monotonic()))
                if event.get("name") == "New Consultant Signup":
                    payload = event
            assert payload["message"] == f"{name} has signed up as a consultant and is pending approval."
            assert (payload["type"], payload["recipientRole"], payload["category"], payload["priority"]) == (
                "registration",
                "Admin",
                "system",
                "high",
            )
            assert (payload["actionUrl"], payload["actionLabel"]) == ("/consultants", "Review")
            assert HEX24.match(payload["_id"]) and ISO_MS.match(payload["createdAt"])
            time.sleep(0.3)
            assert client_events == []  # only the Admin room hears it
        finally:
            admin_socket.disconnect()
            client_socket.disconnect()
