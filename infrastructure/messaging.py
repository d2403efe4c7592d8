"""Local adapters of the SMS and e-mail ports: they log what a real gateway would deliver."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("consult.messaging")


class LoggingSms:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, mobile: str, text: str) -> None:
        self.sent.append((mobile, text))
        log.info("SMS to %s: %s", mobile, text)


class LoggingMailer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, dict[str, Any]]] = []

    def send(self, to: str, template: str, data: dict[str, Any]) -> None:
        self.sent.append((to, template, data))
        log.info("e-mail %s to %s: %s", template, to, data)
