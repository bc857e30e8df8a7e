"""Text as the engine reads it: folding for generous keyword matching, words, typo distance, and the
carrier's stricter rule for opt-out, opt-in and help words. Pure functions of strings."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

CarrierKind = Literal["optout", "optin", "help"]

# Twilio's default words (https://help.twilio.com/hc/en-us/articles/223134027-Twilio-support-for-opt-out-keywords-SMS-STOP-filtering-).
OPTOUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
OPTIN_WORDS = frozenset({"start", "yes", "unstop"})
HELP_WORDS = frozenset({"help", "info"})
RESERVED_WORDS = OPTOUT_WORDS | OPTIN_WORDS | HELP_WORDS
_RESERVED_KIND: dict[str, CarrierKind] = (
    {w: "optout" for w in OPTOUT_WORDS} | {w: "optin" for w in OPTIN_WORDS} | {w: "help" for w in HELP_WORDS}
)

MIN_TYPO_LENGTH = 3
MAX_WORD = 40  # longer "words" are never keywords (the reader refuses them); this bounds the typo search

# Letters NFKD leaves whole but a texter means as plain ASCII.
_LETTERS = {
    "ø": "o", "Ø": "o", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th", "æ": "ae", "Æ": "ae",
    "œ": "oe", "Œ": "oe", "ł": "l", "Ł": "l", "ı": "i", "ħ": "h", "Ħ": "h", "ŧ": "t", "Ŧ": "t",
}
_APOSTROPHES = "'\u2019\u2018\u201b\u02bc\u02bb\u2032`"
_NON_WORD = re.compile(r"[\W_]+")
_CACHE_LIMIT = 20_000


class _FoldTable(dict):
    """str.translate table dropping combining marks and ASCII-fying a few letters; fills in as it goes."""

    def __missing__(self, code: int) -> str | int | None:
        ch = chr(code)
        value: str | int | None
        if ch in _LETTERS:
            value = _LETTERS[ch]
        elif unicodedata.category(ch)[0] == "M":
            value = None
        else:
            value = code
        if len(self) < _CACHE_LIMIT:  # odd input must not grow it without bound
            self[code] = value
        return value


_FOLD = _FoldTable()
_DROP_APOSTROPHES = str.maketrans("", "", _APOSTROPHES)


def fold(text: str) -> str:
    """Text for matching: compatibility forms, accents dropped, case-folded ("DVŠ" -> "dvs", ß -> ss)."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKD", text).translate(_FOLD).casefold()
    if not text.isascii():  # casefold can produce new marks (İ -> i + dot above)
        text = unicodedata.normalize("NFKD", text).translate(_FOLD)
    return text


def normalise(text: str) -> str:
    """The folded words of `text` (letters/digits, apostrophes dropped), joined by single spaces."""
    return _NON_WORD.sub(" ", fold(text).translate(_DROP_APOSTROPHES)).strip()




def typo_limit(length: int) -> int:
    """How many edits a word of `length` letters may be from a keyword and still match it."""
    if length < MIN_TYPO_LENGTH:
        return 0
    return 1 if length <= 6 else 2


def typo_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment (Damerau) distance of a and b, or limit + 1 once it exceeds `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        ca = a[i - 1]
        current = [i] + [0] * len(b)
        row_best = i
        for j in range(1, len(b) + 1):
            cb = b[j - 1]
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                value = min(value, before[j - 2] + 1)
            current[j] = value
            row_best = min(row_best, value)
        if row_best > limit:
            return limit + 1
        before, previous = previous, current
    return min(previous[-1], limit + 1)


def carrier_word(text: str) -> CarrierKind | None:
    """optout, optin or help when the whole message, trimmed, is one of Twilio's words in any case."""
    word = text.strip()
    return _RESERVED_KIND.get(word.lower()) if word.isascii() else None
