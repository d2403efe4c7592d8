"""Phone numbers: normalised to E.164 at write time, so uniqueness and OTP lookups agree.

The platform's home country is India (+91): a bare 10-digit national number is +91<digits>,
and a 12-digit number starting with 91 written without '+' is +<digits>."""

from __future__ import annotations

import re

HOME_COUNTRY_CODE = "91"


def digits(value: str) -> str:
    return re.sub(r"\D", "", value or "")


def to_e164(value: str) -> str:
    raw = (value or "").strip()
    only = digits(raw)
    if not only:
        return raw
    if raw.startswith("+"):
        return "+" + only
    if len(only) == 10:
        return "+" + HOME_COUNTRY_CODE + only
    return "+" + only
