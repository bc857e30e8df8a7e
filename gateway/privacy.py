"""Masking for logs: a full phone number or a message body never reaches a log line at INFO."""

from __future__ import annotations


def mask(number: str | None) -> str:
    """Mask all but the last 3 digits of a phone number ('+447700900123' -> '*********123')."""
    if not number:
        return "-"
    text = str(number)
    if len(text) <= 3:
        return "*" * len(text)
    return "*" * (len(text) - 3) + text[-3:]
