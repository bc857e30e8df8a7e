"""Phone numbers: senders as Twilio gives them (`From`), and masking numbers for logs.

A sender is a phone number we can answer by SMS, or one we cannot.
Twilio gives a texter's number in E.164. A network's alphanumeric sender ID ("VODAFONE"), a short code, a
number that is only dialable locally or was cut off in transit, or one outside any allocated range cannot
receive an SMS: Twilio refuses a send to it with error 21211. phonenumbers decides, by the number's
validity and type, never by its length.

Every phone number the service reads goes through here: senders (`classify`), the numbers in settings and in
the keywords file (`e164`, `national`). A full phone number or a message body never reaches a log line at
INFO: `mask` keeps the last 3 digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberType, ValidationResult

Kind = Literal["phone", "alphanumeric", "short_code", "local_only", "invalid", "missing"]

REGION = "GB"  # our numbers are UK numbers: a national spelling is read as one
MAX_RAW = 32  # no real sender is longer; longer input is junk and is never parsed
SHOWN_MAX = 40
_SHORT_CODE = re.compile(r"^\d{3,6}$")  # longer digit strings are read as numbers
_LETTER = re.compile(r"[^\W\d_]")
# Types that never receive an SMS (UNKNOWN: not a valid number at all).
_NO_SMS = frozenset({PhoneNumberType.UNKNOWN, PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST,
                     PhoneNumberType.UAN, PhoneNumberType.VOICEMAIL})


@dataclass(frozen=True)
class Sender:
    """Who sent a text: `e164` is set only when an SMS can be sent back to them."""

    raw: str
    kind: Kind
    e164: str | None = None

    @property
    def answerable(self) -> bool:
        """Whether an SMS can be sent to this sender."""
        return self.e164 is not None

    @property
    def shown(self) -> str:
        """The sender for staff to read: the E.164 number, or what Twilio gave, printable and bounded."""
        if self.e164 is not None:
            return self.e164
        text = "".join(ch if ch.isprintable() else "?" for ch in self.raw.strip())[:SHOWN_MAX]
        return text or "(no sender)"


def e164(text: str, region: str | None = REGION) -> str | None:
    """`text` in E.164 when it is a valid phone number (read as a UK number without a country code), else None."""
    try:
        number = phonenumbers.parse(text, region)
    except Exception:  # NumberParseException, or worse on junk (lone surrogates): not a number
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national(number: str) -> str:
    """A valid E.164 number as dialled inside its country, digits only ("+447800002414" -> "07800002414")."""
    parsed = phonenumbers.parse(number, None)
    return re.sub(r"\D", "", phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))


def classify(raw: str | None) -> Sender:
    """What kind of sender `raw` is, and its E.164 form when it can be answered."""
    raw = "" if raw is None else str(raw)
    text = raw.strip()
    if not text:
        return Sender(raw, "missing")
    if _LETTER.search(text):
        return Sender(raw, "alphanumeric")
    if _SHORT_CODE.match(text):
        return Sender(raw, "short_code")
    if len(text) > MAX_RAW or not text.isprintable():
        return Sender(raw, "invalid")
    try:
        number = phonenumbers.parse(text, REGION)
    except phonenumbers.NumberParseException:
        return Sender(raw, "invalid")
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason == ValidationResult.IS_POSSIBLE_LOCAL_ONLY:
        return Sender(raw, "local_only")
    # number_type is UNKNOWN exactly when is_valid_number is false: one look-up answers both.
    if reason != ValidationResult.IS_POSSIBLE or phonenumbers.number_type(number) in _NO_SMS:
        return Sender(raw, "invalid")
    return Sender(raw, "phone", phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


# A + or a 0, then nine digits or more with single spaces, hyphens or brackets between them, not glued to
# letters: a phone number (international or UK), not a MessageSid's hex, a date or a time.
_NUMBER_RUN = re.compile(r"(?<![\w+])(?:\+\d|0)(?:[ \-()]?\d){8,}(?!\w)")


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
    return _NUMBER_RUN.sub(lambda m: mask(re.sub(r"\D", "", m.group(0))), text)
