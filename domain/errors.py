"""Errors the domain raises, by kind. They carry a message (the contract's text) and, for bad input,
field errors; never an HTTP status: `interfaces/http/errors.py` maps each kind to its code in one table."""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str, errors: list[dict[str, str]] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors


class Invalid(DomainError):
    """The request breaks a rule (bad input, a state that does not allow it)."""


class NotAuthenticated(DomainError):
    """The caller is not who it must be (missing or bad credentials)."""


class Forbidden(DomainError):
    """The caller may not do this."""


class NotFound(DomainError):
    """What the request names does not exist (or is not the caller's to see)."""


class Conflict(DomainError):
    """The request collides with what exists (taken slot, e-mail in use, ...)."""


class TooManyRequests(DomainError):
    """Too many attempts in the window."""


class Unavailable(DomainError):
    """A service the command needs is down or refused (SMS, e-mail)."""
