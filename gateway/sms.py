"""SMS length maths: GSM-7 or UCS-2 encoding, units, segments, and the actual parts a text is sent in.

GSM-7 texts count septets (extension characters take two: an escape and the character) and fit 160 in one
SMS or 153 per part when split. Any character outside GSM 03.38 makes the whole text UCS-2, counted in UTF-16
code units: 70 in one SMS or 67 per part. Parts never split an escape pair or a surrogate pair.
"""

from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 default alphabet, in code order 0x00-0x7F (0x1B is the escape to the extension table).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
) - {"\x1b"}

# GSM 03.38 extension table: each costs two septets (escape + character). \f is the page break.
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

# One-click fixes for the typographic characters word processors put in, which force UCS-2.
REPLACEMENTS: dict[str, str] = {
    "\u2018": "'",  # ‘
    "\u2019": "'",  # ’
    "\u201a": "'",  # ‚
    "\u201b": "'",  # ‛
    "\u2032": "'",  # ′
    "\u201c": '"',  # “
    "\u201d": '"',  # ”
    "\u201e": '"',  # „
    "\u2033": '"',  # ″
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # – en dash
    "\u2014": "-",  # — em dash
    "\u2212": "-",  # minus sign
    "\u2026": "...",  # …
    "\u00a0": " ",  # non-breaking space
    "\u2007": " ",  # figure space
    "\u2009": " ",  # thin space
    "\u202f": " ",  # narrow non-breaking space
    "\u200b": "",  # zero-width space
    "\ufeff": "",  # byte order mark
}
_REPLACE_TABLE = str.maketrans(REPLACEMENTS)


@dataclass(frozen=True)
class SmsInfo:
    """How a text goes over SMS: its encoding, size in units, and number of parts."""

    chars: int
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int
    non_gsm: tuple[str, ...]  # the characters forcing UCS-2, each once, in order of appearance


def _septets(ch: str) -> int:
    return 2 if ch in GSM_EXTENSION else 1


def _utf16_units(ch: str) -> int:
    return 2 if ord(ch) > 0xFFFF else 1


def non_gsm_chars(text: str) -> tuple[str, ...]:
    """The characters of `text` outside GSM 03.38, each once, in order of first appearance."""
    return tuple(dict.fromkeys(ch for ch in text if ch not in GSM_BASIC and ch not in GSM_EXTENSION))


def _cost(text: str, gsm: bool) -> list[int]:
    return [_septets(ch) for ch in text] if gsm else [_utf16_units(ch) for ch in text]


def _split(text: str, costs: list[int], single: int, part: int) -> list[str]:
    if sum(costs) <= single:
        return [text] if text else []
    parts: list[str] = []
    start = used = 0
    for i, cost in enumerate(costs):
        # A character that does not fit whole (escape pair, surrogate pair) moves to the next part.
        if used + cost > part:
            parts.append(text[start:i])
            start, used = i, 0
        used += cost
    parts.append(text[start:])
    return parts


def split_parts(text: str) -> list[str]:
    """The parts `text` is sent in, in order; empty text has no parts."""
    gsm = not non_gsm_chars(text)
    return _parts(text, _cost(text, gsm), gsm)


def _parts(text: str, costs: list[int], gsm: bool) -> list[str]:
    if gsm:
        return _split(text, costs, GSM_SINGLE, GSM_PART)
    return _split(text, costs, UCS2_SINGLE, UCS2_PART)


def analyse(text: str) -> SmsInfo:
    """Encoding, units and segment count of `text` as one SMS message."""
    non_gsm = non_gsm_chars(text)
    gsm = not non_gsm
    costs = _cost(text, gsm)
    return SmsInfo(
        chars=len(text),
        encoding="GSM-7" if gsm else "UCS-2",
        units=sum(costs),
        segments=len(_parts(text, costs, gsm)),
        non_gsm=non_gsm,
    )


def replace_smart(text: str) -> str:
    """`text` with typographic quotes, dashes, ellipses and odd spaces swapped for GSM-7 equivalents."""
    return text.translate(_REPLACE_TABLE)
