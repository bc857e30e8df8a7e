"""Masking for logs: a full phone number or a message body never reaches a log line at INFO."""

from __future__ import annotations

import re

_NUMBER = re.compile(r"\+?\d[\d \-()]{6,}\d")


def mask(number: str | None) -> str:
    """Mask all but the last 3 digits of a phone number ('+447700900123' -> '*********123')."""
    if not number:
        return "-"
    text = str(number)
    if len(text) <= 3:
        return "*" * len(text)
    return "*" * (len(text) - 3) + text[-3:]


def scrub(text: str) -> str:
    """Mask every phone-number-like run in free text (error messages from Twilio name the recipient)."""
    return _NUMBER.sub(lambda m: mask(re.sub(r"\D", "", m.group(0))), text)
