"""Local adapters of the SMS and e-mail ports for development: they keep what a real gateway would
deliver in memory (`sent`, for the developer's tools and tests) and log only THAT a message went
out, never its text: OTP codes and reset links stay out of every log. `ENVIRONMENT=production`
refuses them (`infrastructure.delivery`); in development the code reaches the apps through
`ALLOW_OTP_IN_RESPONSE`."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("consult.messaging")


def masked(address: str) -> str:
    """`+91******3210`, `j***@example.com`: enough to tell messages apart in a log."""
    if "@" in address:
        local, _, domain = address.partition("@")
        return (local[:1] + "***@" + domain) if local else "***@" + domain
    return address[:3] + "*" * max(0, len(address) - 7) + address[-4:] if len(address) > 7 else "***"


class LoggingSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, mobile: str, text: str) -> None:
        self.sent.append((mobile, text))
        log.info("SMS to %s sent by the logging sender (%d characters, text not logged)", masked(mobile), len(text))


class LoggingMailer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def send(self, to: str, template: str, data: dict[str, Any]) -> None:
        self.sent.append((to, template, data))
        log.info("e-mail %s to %s sent by the logging mailer (content not logged)", template, masked(to))
