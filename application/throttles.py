"""Per-account and per-phone throttles on top of the per-IP ones (CONTRACT.md "Throttles").

A login or an OTP verification first reserves an attempt on its account's (e-mail's) or phone's
counter; a reservation beyond the limit is refused with 429 before anything is checked, so even
the right password or code waits for the window to end. A success (or a refusal that is not a
wrong guess) gives its reservation back; a wrong password or code keeps it. Reserving first makes
the limit hold under concurrent guesses: at most `limit` guesses are ever evaluated per window.
The phone's budget is its own counter, not the code's row, so sending a fresh code does not reset it."""

from __future__ import annotations

from typing import Any

from application.identity import Identity
from application.ports import AttemptCounter
from domain.errors import Invalid, NotAuthenticated, TooManyRequests
from domain.phones import to_e164

TOO_MANY = "Too many attempts. Please try again later."
WRONG_OTP = "Invalid OTP"


class ThrottledIdentity(Identity):
    def __init__(
        self,
        *args: Any,
        attempts: AttemptCounter,
        login_failures: int = 10,
        otp_guesses: int = 10,
        window: int = 900,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.attempts = attempts
        self.login_failures = login_failures
        self.otp_guesses = otp_guesses
        self.window = window

    def login(self, email: str, password: str, role: str | None) -> dict[str, Any]:
        key = "login:" + email.strip().lower()
        if not self.attempts.take(key, self.login_failures, self.window):
            raise TooManyRequests(TOO_MANY)
        try:
            result = super().login(email, password, role)
        except NotAuthenticated:
            raise  # a failed login: the reservation stays counted
        except BaseException:
            self.attempts.give_back(key)
            raise
        self.attempts.give_back(key)
        return result

    def verify_otp(self, mobile: str, otp: str, role: str | None) -> dict[str, Any]:
        key = "otp:" + to_e164(mobile)
        if not self.attempts.take(key, self.otp_guesses, self.window):
            raise TooManyRequests(TOO_MANY)
        try:
            result = super().verify_otp(mobile, otp, role)
        except Invalid as error:
            if error.message != WRONG_OTP:  # expired or dead code: not a guess that was checked
                self.attempts.give_back(key)
            raise
        except BaseException:
            self.attempts.give_back(key)
            raise
        self.attempts.give_back(key)
        return result
