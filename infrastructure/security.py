"""Passwords (bcrypt), JWTs (HS256) and secret hashing."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import bcrypt
import jwt

REGISTRATION_AUDIENCE = "registration"


class BcryptHasher:
    def __init__(self, rounds: int):
        self.rounds = max(4, min(31, rounds))

    def hash(self, password: str) -> str:
        return bcrypt.hashpw(password.encode()[:72], bcrypt.gensalt(self.rounds)).decode()

    def verify(self, password: str, hashed: str) -> bool:
        try:
            return bcrypt.checkpw(password.encode()[:72], hashed.encode())
        except ValueError:
            return False


class JwtTokens:
    """Access tokens `{id, email, role}` and registration tokens `{mobile}`.

    A registration token carries `aud: registration` and `typ: registration`; an access token must
    carry `typ: access`, `id` and `role`, so neither can pass for the other."""

    def __init__(self, secret: str, access_lifetime: int, registration_lifetime: int = 900):
        self.secret = secret
        self.access_lifetime = access_lifetime
        self.registration_lifetime = registration_lifetime
        # Verified access tokens until they expire: an HS256 check per request costs more than the
        # slot query itself. Keyed by the whole token text, so a forged or altered token is never a hit.
        self._verified: dict[str, dict[str, Any]] = {}

    def access_token(self, account_id: str, email: str, role: str) -> str:
        now = int(time.time())
        claims = {
            "id": account_id,
            "email": email,
            "role": role,
            "typ": "access",
            "iat": now,
            "exp": now + self.access_lifetime,
        }
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def registration_token(self, mobile: str) -> str:
        now = int(time.time())
        claims = {
            "mobile": mobile,
            "typ": "registration",
            "aud": REGISTRATION_AUDIENCE,
            "iat": now,
            "exp": now + self.registration_lifetime,
        }
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def read_access_token(self, token: str) -> dict[str, Any] | None:
        hit = self._verified.get(token)
        if hit is not None and hit["exp"] > time.time():
            return hit
        claims = self._verify_access_token(token)
        if claims is not None:
            if len(self._verified) >= 10_000:
                self._verified.clear()
            self._verified[token] = claims
        return claims

    def _verify_access_token(self, token: str) -> dict[str, Any] | None:
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"], options={"require": ["exp"]})
        except jwt.PyJWTError:
            return None
        if claims.get("typ") != "access" or not claims.get("id") or not claims.get("role"):
            return None
        return claims

    def read_registration_token(self, token: str) -> str | None:
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"], audience=REGISTRATION_AUDIENCE)
        except jwt.PyJWTError:
            return None
        if claims.get("typ") != "registration" or not isinstance(claims.get("mobile"), str):
            return None
        return claims["mobile"]


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
