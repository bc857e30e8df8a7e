"""What a reply in the keywords file must satisfy: SMS length, GSM-7 characters, valid UK phone numbers, the
999 line; and that no two keywords' words are one typo apart. Each check returns findings for the reader to
place at a line."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from gateway import phone
from gateway.keywords import sms
from gateway.keywords.book import WordEntry
from gateway.keywords.problems import Finding
from gateway.keywords.text import fold, normalise, typo_distance, typo_limit

MAX_SEGMENTS = 10  # refused above
WARN_SEGMENTS = 3  # warned above
SERVICE_NUMBERS = frozenset({"999", "112", "101", "111"})

# Digit groups separated by single spaces or hyphens, not glued to letters ("999bsl.co.uk" is no number).
_DIGIT_RUN = re.compile(r"(?<![\w.@/+])\+?\(?\d[\d()]*(?:[ -]\(?\d[\d()]*)*(?![\w@])")
_999 = re.compile(r"\b999\b")  # not 999bsl.co.uk


def valid_phone(text: str) -> bool:
    """Whether `text` is a valid phone number, read as a UK number when it has no country code."""
    return phone.e164(text) is not None


def bad_phone_numbers(text: str) -> list[str]:
    """Phone numbers in `text` that are not valid UK numbers (999, 112, 101, 111 are valid)."""
    bad: list[str] = []
    for run in _DIGIT_RUN.finditer(text):
        groups = re.split(r"[ -]", run.group())
        i = 0
        while i < len(groups):
            group = groups[i]
            digits = re.sub(r"\D", "", group)
            if group.startswith("+") or group.lstrip("(").startswith("0"):
                # The longest run of groups that is a valid number; what follows may be another number.
                end = next((j for j in range(len(groups), i, -1) if valid_phone(" ".join(groups[i:j]))), 0)
                if end:
                    i = end
                    continue
                rest = " ".join(groups[i:])
                if group.startswith("+") or len(re.sub(r"\D", "", rest)) >= 7:  # shorter: a date, a count
                    bad.append(rest)
                    break
            elif digits not in SERVICE_NUMBERS and set(digits) == {"9"}:
                bad.append(group)  # 99, 9999: a mistyped 999
            i += 1
    return bad


def reply(text: str, *, needs_999: bool = False) -> list[Finding]:
    """Length, characters and phone numbers of one reply text, and the 999 line where `needs_999`."""
    found: list[Finding] = []
    info = sms.analyse(text)
    if info.segments > MAX_SEGMENTS:
        found.append(Finding("too_many_segments", {"segments": info.segments, "limit": MAX_SEGMENTS}))
    elif info.segments > WARN_SEGMENTS:
        found.append(Finding("many_segments", {"segments": info.segments, "keep": WARN_SEGMENTS}))
    if info.non_gsm:
        fixes = {ch: sms.REPLACEMENTS[ch] for ch in info.non_gsm if ch in sms.REPLACEMENTS}
        found.append(Finding("ucs2", {"chars": info.non_gsm, "fixes": fixes}))
    found += [Finding("bad_phone_number", {"number": number}) for number in bad_phone_numbers(text)]
    if needs_999 and not _999.search(text):
        found.append(Finding("needs_999", {}))
    return found


def with_danger_preamble(preamble: str, text: str) -> list[Finding]:
    """A reply too long once the danger preamble goes in front (unless it is too long anyway)."""
    segments = sms.analyse(preamble + "\n\n" + text).segments
    if segments > MAX_SEGMENTS and sms.analyse(text).segments <= MAX_SEGMENTS:
        return [Finding("too_long_with_danger", {"segments": segments, "limit": MAX_SEGMENTS})]
    return []


def default_mentions(default: str, keywords: Iterable[str]) -> list[Finding]:
    """Keywords the default reply (the reply to texts matching nothing) does not name."""
    if not default:
        return []
    named = set(normalise(default).split())
    return [Finding("unmentioned_keyword", {"keyword": k}) for k in keywords if fold(k) not in named]


def close_words(lookup: Mapping[str, WordEntry]) -> list[Finding]:
    """Words of two keywords close enough that one typo of either could be either; `keyword` is the first's."""
    found: list[Finding] = []
    words = sorted((w for w in lookup.values() if not w.word.isdigit()), key=lambda w: w.word)
    for i, a in enumerate(words):
        for b in words[i + 1:]:
            close = typo_limit(min(len(a.word), len(b.word))) > 0 and typo_distance(a.word, b.word, 2) <= 2
            if a.keyword != b.keyword and close:
                found.append(Finding("close_words", {"word": a.word, "keyword": a.keyword,
                                                     "other_word": b.word, "other_keyword": b.keyword}))
    return found
