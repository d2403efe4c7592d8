"""Secrets in request lines stay out of access logs: the reset token of
`PUT /api/v1/auth/reset-password/<token>` and `?token=<jwt>` query parameters are replaced by
`[redacted]` in uvicorn's access log records (installed by `create_app` in every process)."""

from __future__ import annotations

import logging
import re

SECRET_PATTERNS = (
    (re.compile(r"(/reset-password/)[^/?#\s\"]+"), r"\1[redacted]"),
    (re.compile(r"([?&]token=)[^&#\s\"]+"), r"\1[redacted]"),
)


def redact(text: str) -> str:
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) if isinstance(arg, str) else arg for arg in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def install(logger_name: str = "uvicorn.access") -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactSecrets) for f in logger.filters):
        logger.addFilter(RedactSecrets())
