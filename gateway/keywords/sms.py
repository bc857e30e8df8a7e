"""SMS length maths: GSM-7 or UCS-2 encoding, units, segments, and the actual parts a text is sent in.

GSM-7 texts count septets (extension characters take two: an escape and the character) and fit 160 in one
SMS or 153 per part when split. Any character outside GSM 03.38 makes the whole text UCS-2, counted in UTF-16
code units: 70 in one SMS or 67 per part. As in Twilio's message segment calculator, a part never splits an
escape pair or a grapheme cluster (an emoji with its modifiers, flag, keycap or ZWJ sequence, or a letter with its
combining marks), and an empty text counts as one segment.
"""

from __future__ import annotations

import unicodedata
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


_DROP_GSM = dict.fromkeys(map(ord, GSM_BASIC | GSM_EXTENSION))


def non_gsm_chars(text: str) -> tuple[str, ...]:
    """The characters of `text` outside GSM 03.38, each once, in order of first appearance."""
    return tuple(dict.fromkeys(text.translate(_DROP_GSM)))


def _units(text: str, gsm: bool) -> int:
    """Septets (GSM-7) or UTF-16 code units (UCS-2) of `text`."""
    if gsm:
        return len(text) + sum(text.count(ch) for ch in GSM_EXTENSION)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


_ZWJ = "\u200d"


def _extends(ch: str) -> bool:
    cp = ord(ch)
    # Marks include variation selectors and the combining keycap; skin-tone modifiers and tags extend emoji.
    return (
        unicodedata.category(ch).startswith("M")
        or cp in (0x200C, 0x200D)
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0xE0020 <= cp <= 0xE007F
    )


def _control(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category in ("Cc", "Zl", "Zp") or (category == "Cf" and not _extends(ch))


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _pictographic(ch: str) -> bool:
    # A block-level stand-in for Extended_Pictographic, which unicodedata lacks; only used to join ZWJ sequences.
    cp = ord(ch)
    return (
        cp in (0xA9, 0xAE, 0x203C, 0x2049, 0x2122, 0x2139, 0x3030, 0x303D, 0x3297, 0x3299)
        or 0x2190 <= cp <= 0x21FF
        or 0x2300 <= cp <= 0x23FF
        or 0x25A0 <= cp <= 0x27BF
        or 0x2900 <= cp <= 0x297F
        or 0x2B00 <= cp <= 0x2BFF
        or (0x1F000 <= cp <= 0x1FFFD and not _regional(ch) and not 0x1F3FB <= cp <= 0x1F3FF)
    )


def _joins(cluster: str, ch: str) -> bool:
    last = cluster[-1]
    if _control(last) or _control(ch):
        return False  # CR LF too: the calculator counts a Windows line break as two characters
    if _extends(ch):
        return True
    if _regional(ch):
        return len(cluster) == 1 and _regional(last)  # flags are pairs of regional indicators
    return last == _ZWJ and _pictographic(ch) and _pictographic(cluster[0])


def _graphemes(text: str) -> list[str]:
    """`text` cut into grapheme clusters, the characters a reader sees, which no part may split."""
    # Enough of Unicode's extended grapheme clusters (UAX #29) for emoji and combining marks; no Hangul jamo or
    # prepended marks. Unlike the calculator, stuck on Unicode 10 tables, it also keeps ZWJ sequences and skin tones
    # of newer emoji whole, so it may count a segment more than the calculator there, never fewer.
    clusters: list[str] = []
    for ch in text:
        if clusters and _joins(clusters[-1], ch):
            clusters[-1] += ch
        else:
            clusters.append(ch)
    return clusters


def _split(text: str, gsm: bool) -> list[str]:
    cost = _septets if gsm else _utf16_units
    single, part = (GSM_SINGLE, GSM_PART) if gsm else (UCS2_SINGLE, UCS2_PART)
    units = _units(text, gsm)
    if units <= single:
        return [text] if text else []
    if units == len(text) and gsm:
        # One septet per character, and no GSM-7 character joins another in a grapheme cluster: equal parts.
        return [text[start:start + part] for start in range(0, len(text), part)]
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for cluster in list(text) if gsm else _graphemes(text):
        size = sum(map(cost, cluster))
        # A cluster longer than a whole part (a pile of combining marks) can only go between code points; the
        # calculator overfills a segment instead, which no real SMS can carry.
        for piece in [cluster] if size <= part else list(cluster):
            piece_size = sum(map(cost, piece))
            if used + piece_size > part:
                parts.append("".join(current))
                current, used = [], 0
            current.append(piece)
            used += piece_size
    parts.append("".join(current))
    return parts


def split_parts(text: str) -> list[str]:
    """The parts `text` is sent in, in order; empty text has no parts to send (though it counts as one segment)."""
    return _split(text, not non_gsm_chars(text))


def analyse(text: str) -> SmsInfo:
    """Encoding, units and segment count of `text` as one SMS message; empty text is one segment, as Twilio counts."""
    non_gsm = non_gsm_chars(text)
    gsm = not non_gsm
    return SmsInfo(
        chars=len(text),
        encoding="GSM-7" if gsm else "UCS-2",
        units=_units(text, gsm),
        segments=max(1, len(_split(text, gsm))),
        non_gsm=non_gsm,
    )


def replace_smart(text: str) -> str:
    """`text` with typographic quotes, dashes, ellipses and odd spaces swapped for GSM-7 equivalents."""
    return text.translate(_REPLACE_TABLE)
