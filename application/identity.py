"""Identity: OTP and password login, registration and signup, password reset, first admin.

Lookups read the directory read model (kept current by read-your-writes); every change is an
event on an Account aggregate; unique e-mails and phones are claimed in the same atomic write."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from application.marketplace import KeyTaken, Marketplace
from application.ports import (
    Account,
    AccountDirectory,
    CatalogueLookup,
    Mailer,
    OneTimeSecrets,
    PasswordHasher,
    SmsSender,
    TokenIssuer,
)
from application.registration import primary_category, resolve_categories
from domain.accounts import CLIENT, CONSULTANT, USER, account_status_refusal, unique_keys
from domain.clock import Clock
from domain.errors import Conflict, Forbidden, Invalid, NotAuthenticated, NotFound
from domain.phones import digits, to_e164
from domain.profiles import (
    client_defaults,
    consultant_defaults,
    normalise_consultant,
    pick_image,
    user_defaults,
)

OTP_LIFETIME = 300
OTP_MAX_ATTEMPTS = 5
RESET_LIFETIME = 600
DUPLICATE = {
    CONSULTANT: "Consultant with this email or mobile already exists",
    CLIENT: "Client with this email or mobile already exists",
}
LOGIN_STATUS = {"Pending": "Account pending approval", "Rejected": "Account rejected", "Blocked": "Account blocked"}
FIRST_ADMIN = "first-admin"


def phone_variants(mobile: str) -> list[str]:
    """The forms a stored phone may take for this input (contract auth §2.5.2), E.164 first."""
    only = digits(mobile)
    variants = [to_e164(mobile), mobile, only]
    if len(only) == 12 and only.startswith("91"):
        variants += [only[2:], "+" + only]
    elif len(only) == 10 and not mobile.startswith("+"):
        variants += ["+91" + only, "91" + only]
    return list(dict.fromkeys(v for v in variants if v))


class Identity:
    def __init__(
        self,
        market: Marketplace,
        directory: AccountDirectory,
        catalogue: CatalogueLookup,
        hasher: PasswordHasher,
        tokens: TokenIssuer,
        one_time: OneTimeSecrets,
        sms: SmsSender,
        mailer: Mailer,
        secret_digest: Callable[[str], str],
        frontend_url: str,
        clock: Clock,
    ):
        self.market = market
        self.directory = directory
        self.catalogue = catalogue
        self.hasher = hasher
        self.tokens = tokens
        self.one_time = one_time
        self.sms = sms
        self.mailer = mailer
        self.digest = secret_digest
        self.frontend_url = frontend_url.rstrip("/")
        self.clock = clock
        self._dummy_hash = hasher.hash(secrets.token_hex(8))

    def _seconds(self) -> float:
        """Now, in seconds since the epoch (the expiry unit of the one-time secrets store)."""
        return self.clock().timestamp()

    # -- OTP ------------------------------------------------------------------------------------

    def send_otp(self, mobile: str) -> str:
        code = f"{secrets.randbelow(1_000_000):06d}"
        key = to_e164(mobile)
        self.one_time.put_otp(key, self.digest(key + ":" + code), self._seconds() + OTP_LIFETIME)
        self.sms.send(mobile, f"Your verification code is {code}. It expires in 5 minutes.")
        return code

    def verify_otp(self, mobile: str, otp: str, role: str | None) -> dict[str, Any]:
        key = to_e164(mobile)
        code_hash = self.digest(key + ":" + otp)
        outcome = self.one_time.check_otp(key, code_hash, self._seconds(), OTP_MAX_ATTEMPTS)
        if outcome == "expired":
            raise Invalid("OTP expired")
        if outcome == "locked":
            raise Invalid("Too many incorrect attempts. Please request a new OTP.")
        if outcome != "ok":
            raise Invalid("Invalid OTP")
        account = self._find_by_phone(mobile, role)
        if account is not None and account.status not in (None, "", "Active"):
            raise Forbidden(
                account_status_refusal("", account.status) or "Account is inactive. Please contact administrator."
            )
        if not self.one_time.consume_otp(key, code_hash):  # single use, even against a concurrent twin
            raise Invalid("Invalid OTP")
        if account is None:
            return {"registrationToken": self.tokens.registration_token(key), "isNewUser": True}
        answer = self._signed_in(account, "otp", mobile)
        doc = account.document
        answer["user"]["image"] = pick_image(doc, "image", "avatar", "profileImage")
        answer["user"]["profileImage"] = pick_image(doc, "profileImage", "avatar", "image")
        return {**answer, "isNewUser": False}

    def _find_by_phone(self, mobile: str, role: str | None) -> Account | None:
        variants = phone_variants(mobile)
        order = {"Consultant": [CONSULTANT], "Client": [CLIENT], "Admin": [USER], "Employee": [USER]}.get(
            role or "", [CLIENT, CONSULTANT]
        )
        for kind in order:
            found = self.directory.by_phone(kind, variants)
            if found is not None:
                return found
        return None

    # -- password login -------------------------------------------------------------------------

    def login(self, email: str, password: str, role: str | None) -> dict[str, Any]:
        role = _normalise_role(role)
        order = {
            None: [CLIENT, CONSULTANT, USER],
            "Client": [CLIENT, CONSULTANT, USER],
            "Consultant": [CONSULTANT, CLIENT, USER],
        }.get(role, [USER])
        account = None
        for kind in order:
            account = self.directory.by_email(kind, email)
            if account is not None:
                break
        if account is None:
            self.hasher.verify(password, self._dummy_hash)  # same cost whether or not the e-mail exists
            raise NotAuthenticated("Invalid credentials")
        if not account.password_hash:
            if role is not None and account.role != role:  # no password to check: the role decides first
                raise NotAuthenticated("Invalid credentials or role mismatch")
            raise NotAuthenticated("Password not set. Please login via OTP.")
        if not self.hasher.verify(password, account.password_hash):
            raise NotAuthenticated("Invalid credentials")
        if role is not None and account.role != role:  # checked after the password: no e-mail oracle
            raise NotAuthenticated("Invalid credentials or role mismatch")
        if account.status not in (None, "", "Active"):
            raise Forbidden(LOGIN_STATUS.get(account.status or "", "Account inactive"))
        doc = account.document
        return self._signed_in(account, "password", doc.get("mobile") or doc.get("phone") or "")

    def _signed_in(self, account: Account, channel: str, mobile: str) -> dict[str, Any]:
        """Record the login and answer with the session: the access token and the user fields every
        login answers with (OTP login adds its own)."""
        self.market.change_account(account.id, account.kind, lambda a: a.record_login(channel))
        return {
            "token": self.tokens.access_token(account.id, account.email, account.role),
            "user": {
                "id": account.id,
                "name": _display_name(account),
                "email": account.email,
                "role": account.role,
                "mobile": mobile,
                "avatar": pick_image(account.document, "avatar", "image", "profileImage"),
            },
        }

    # -- registration ---------------------------------------------------------------------------

    def register(self, registration_token: str, body: dict[str, Any]) -> dict[str, Any]:
        mobile = self.tokens.read_registration_token(registration_token)
        if mobile is None:
            raise NotAuthenticated("Invalid or expired registration session")
        return self._register(body, mobile, channel="register")

    def signup(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._register(body, body["mobile"], channel="signup")

    def _register(self, body: dict[str, Any], mobile: str, channel: str) -> dict[str, Any]:
        kind = CONSULTANT if body["role"] == "Consultant" else CLIENT
        email = body["email"].strip().lower()
        phone = to_e164(mobile)
        accepted = _iso(self.clock()) if channel == "signup" else None
        if kind == CONSULTANT:
            resolved = resolve_categories(body.get("categories") or [], self.catalogue)
            category, subcategory = primary_category(
                resolved, body.get("category"), body.get("subcategory"), self.catalogue, ids_only=channel == "register"
            )
            profile = normalise_consultant(
                {
                    **consultant_defaults(),
                    "name": body["fullName"].strip(),
                    "email": email,
                    "phone": phone,
                    "mobile": phone,
                    "category": category,
                    "subcategory": subcategory,
                    "categories": resolved,
                    "status": "Pending",
                    "fees": body.get("fees") or 0,
                    "termsAcceptedAt": accepted,
                    "privacyAcceptedAt": accepted,
                }
            )
            if body.get("currency"):
                profile["currency"] = body["currency"]
            name = profile["name"]
        else:
            profile = {
                **client_defaults(),
                "fullName": body["fullName"].strip(),
                "email": email,
                "mobile": phone,
                "termsAcceptedAt": accepted,
                "privacyAcceptedAt": accepted,
            }
            name = profile["fullName"]
        password_hash = self.hasher.hash(body["password"]) if body.get("password") else None
        try:
            account_id = self.market.register(kind, profile, password_hash, channel, unique_keys(kind, profile))
        except KeyTaken:
            raise Conflict(DUPLICATE[kind]) from None
        role = "Consultant" if kind == CONSULTANT else "Client"
        return {
            "token": self.tokens.access_token(account_id, email, role),
            "user": {"id": account_id, "name": name, "email": email, "role": role, "mobile": phone},
        }

    # -- password reset -------------------------------------------------------------------------

    def forgot_password(self, email: str, role: str | None) -> None:
        order = {"Consultant": [CONSULTANT], "Client": [CLIENT], "Admin": [USER], "Employee": [USER]}.get(
            role or "", [CONSULTANT, CLIENT, USER]
        )
        account = next((a for a in (self.directory.by_email(k, email) for k in order) if a), None)
        if account is None:
            raise NotFound("Account does not exist with this email and role")
        token = secrets.token_hex(20)
        self.one_time.put_reset(_sha256(token), account.kind, account.id, self._seconds() + RESET_LIFETIME)
        doc = account.document
        user_name = doc.get("fullName") or doc.get("name") or account.email.split("@")[0]
        try:
            self.mailer.send(
                account.email,
                "reset-password",
                {
                    "user_name": user_name,
                    "reset_link": f"{self.frontend_url}/reset-password/{token}",
                    "expiry_time": "10 minutes",
                },
            )
        except Exception:
            self.one_time.clear_reset(account.kind, account.id)
            raise

    def reset_password(self, token: str, password: str) -> str:
        found = self.one_time.take_reset(_sha256(token), self._seconds())
        if found is None:
            raise Invalid("Invalid token")
        kind, account_id = found
        password_hash = self.hasher.hash(password)
        try:
            account = self.market.change_account(account_id, kind, lambda a: a.set_password(password_hash, "reset"))
        except NotFound:
            raise Invalid("Invalid token") from None
        return self.tokens.access_token(account_id, account.profile.get("email", ""), account.role)

    # -- first admin ----------------------------------------------------------------------------

    def create_first_admin(self, full_name: str, email: str, password: str, mobile: str) -> dict[str, Any]:
        refusal = "Admin already exists. Use User Management to add more admins."
        if self.directory.admin_exists():
            raise Forbidden(refusal)
        user_id = "ADM-" + secrets.token_hex(4).upper()
        profile = {
            **user_defaults(),
            "userId": user_id,
            "fullName": full_name.strip(),
            "email": email.strip().lower(),
            "mobile": mobile,
            "role": "Admin",
            "status": "Active",
            "verificationStatus": "Approved",
        }
        try:
            account_id = self.market.register(
                USER,
                profile,
                self.hasher.hash(password),
                "bootstrap",
                unique_keys(USER, profile),
                extra=lambda owner: [self.market.take_singleton(FIRST_ADMIN, owner)],
            )
        except KeyTaken as taken:
            raise Conflict(
                f"User with this {'email' if taken.field == 'email' else 'mobile number'} already exists"
            ) from None
        except Conflict:  # the singleton was taken: another admin won the race
            raise Forbidden(refusal) from None
        return {
            "id": account_id,
            "userId": user_id,
            "email": profile["email"],
            "fullName": profile["fullName"],
            "role": "Admin",
        }


def _normalise_role(role: str | None) -> str | None:
    if role is None:
        return None
    cleaned = role.strip()
    return {"client": "Client", "consultant": "Consultant", "admin": "Admin", "employee": "Employee"}.get(
        cleaned.lower(), cleaned
    ) or None


def _display_name(account: Account) -> str:
    doc = account.document
    first_last = f"{doc.get('firstName', '')} {doc.get('lastName', '')}".strip()
    return doc.get("name") or doc.get("fullName") or first_last or ""


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _iso(now: datetime) -> str:
    now = now.astimezone(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
