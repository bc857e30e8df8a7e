"""What a reply in the keywords file must satisfy: SMS length, GSM-7 characters, valid UK phone numbers, the
999 line; and that no two keywords' words are one typo apart. Each check returns findings for the reader to
place at a line."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache

from gateway import phone
from gateway.keywords import sms
from gateway.keywords.book import WordEntry
from gateway.keywords.hours import LONGEST_OPENS, PLACEHOLDER
from gateway.keywords.problems import Finding
from gateway.keywords.text import MIN_TYPO_LENGTH, fold, normalise, typo_distance

MAX_SEGMENTS = 10  # refused above
WARN_SEGMENTS = 3  # warned above
SERVICE_NUMBERS = frozenset({"999", "112", "101", "111"})

# Digit groups separated by single spaces or hyphens, not glued to letters ("999bsl.co.uk" is no number).
_DIGIT_RUN = re.compile(r"(?<![\w.@/+])\+?\(?\d[\d()]*(?:[ -]\(?\d[\d()]*)*(?![\w@])")
_999 = re.compile(r"\b999\b")  # not 999bsl.co.uk
_PLACEHOLDER = re.compile(r"\{[^{}\s]{1,30}\}")
CASE_ID = "{id}"  # in a relay_unread or relay_read text: the case id
# Counted in place of {id}: as long as a case id (gateway.relay.cases.ID_LENGTH), letters as in one, and no digits
# a phone-number check could read.
SAMPLE_CASE_ID = "KQDXHM"


@lru_cache(maxsize=4096)  # replies repeat a few numbers (999, 101, the helplines) many times over
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
    if PLACEHOLDER in text:
        found.append(Finding("opens_only_when_closed", {}))
    return found


def closed_reply(text: str) -> list[Finding]:
    """A keyword's closed reply: {opens} and no other placeholder, the 999 line, and the reply checks counted
    with the longest {opens} can be."""
    found = [Finding("unknown_placeholder", {"placeholder": p}) for p in dict.fromkeys(_PLACEHOLDER.findall(text))
             if p != PLACEHOLDER]
    if PLACEHOLDER not in text:
        found.append(Finding("needs_opens", {}))
    return found + reply(with_longest_opens(text), needs_999=True)


def relay_text(text: str, *, case_id: bool) -> list[Finding]:
    """A relay line's relay_unread or relay_read (`case_id`: they may say {id}) or relay_failed text: no other
    placeholder, the 999 line, and the reply checks counted with {id} as long as a case id."""
    allowed = (CASE_ID,) if case_id else ()
    found = [Finding("unknown_relay_placeholder", {"placeholder": p, "allowed": allowed})
             for p in dict.fromkeys(_PLACEHOLDER.findall(text)) if p not in allowed]
    sent = text.replace(CASE_ID, SAMPLE_CASE_ID) if case_id else text
    # {opens} is reported above as unknown here; the reply check's "only in a closed_reply" would repeat it.
    return found + [f for f in reply(sent, needs_999=True) if f.code != "opens_only_when_closed"]


def with_longest_opens(text: str) -> str:
    """A closed reply as long as it can be sent: {opens} filled with the longest it says."""
    return text.replace(PLACEHOLDER, LONGEST_OPENS)


def with_danger_preamble(preamble: str, text: str) -> list[Finding]:
    """A reply too long once the danger preamble goes in front (unless it is too long anyway)."""
    segments = sms.analyse(preamble + "\n\n" + text).segments
    if segments > MAX_SEGMENTS and sms.analyse(text).segments <= MAX_SEGMENTS:
        return [Finding("too_long_with_danger", {"segments": segments, "limit": MAX_SEGMENTS})]
    return []


def with_languages(line: str, text: str) -> list[Finding]:
    """A help or default reply grown too long, or into UCS-2, once the other languages are listed under it."""
    if not line:
        return []
    alone, full = sms.analyse(text), sms.analyse(text + "\n" + line)
    found: list[Finding] = []
    if full.segments > MAX_SEGMENTS and alone.segments <= MAX_SEGMENTS:
        found.append(Finding("too_long_with_languages", {"segments": full.segments, "limit": MAX_SEGMENTS}))
    elif full.segments > WARN_SEGMENTS and alone.segments <= WARN_SEGMENTS:
        found.append(Finding("many_segments_with_languages", {"segments": full.segments, "keep": WARN_SEGMENTS}))
    added = tuple(ch for ch in full.non_gsm if ch not in alone.non_gsm)
    if added:
        fixes = {ch: sms.REPLACEMENTS[ch] for ch in added if ch in sms.REPLACEMENTS}
        found.append(Finding("ucs2", {"chars": added, "fixes": fixes}))
    return found


def default_mentions(default: str, keywords: Iterable[str]) -> list[Finding]:
    """Keywords the default reply (the reply to texts matching nothing) does not name."""
    if not default:
        return []
    named = set(normalise(default).split())
    return [Finding("unmentioned_keyword", {"keyword": k}) for k in keywords if fold(k) not in named]


_WINDOW = 12  # words up to this long are indexed whole; longer ones by their first and by their last 12 letters
_CROWD = 1_000  # a longer word sharing its end strings this often at both ends is compared by its whole deletions


def _deletions(word: str) -> set[str]:
    """`word` and every string left by deleting one or two of its characters."""
    n = len(word)
    ones = [word[:i] + word[i + 1:] for i in range(n)]
    variants = {shorter[:j] + shorter[j + 1:] for i, shorter in enumerate(ones) for j in range(i, n - 1)}
    variants.update(ones)
    variants.add(word)
    return variants


def _within_two(a: str, b: str) -> bool:
    """Whether a and b are at most two typos apart (typo_distance)."""
    # No edit of an optimal alignment touches a common start or end, so the distance of what is left is the same.
    shortest = min(len(a), len(b))
    start = 0
    while start < shortest and a[start] == b[start]:
        start += 1
    end = 0
    while end < shortest - start and a[-1 - end] == b[-1 - end]:
        end += 1
    return typo_distance(a[start:len(a) - end], b[start:len(b) - end], 2) <= 2


def _sharing(keys: list[set[str]]) -> dict[str, list[int]]:
    """The strings in more than one of `keys`, each with the indexes of the sets holding it, ascending."""
    seen: set[str] = set()
    shared: set[str] = set()
    for variants in keys:  # set operations: the per-string work is done in C
        shared |= variants & seen
        seen |= variants
    holders: dict[str, list[int]] = {}
    for i, variants in enumerate(keys):
        for variant in variants & shared:
            holders.setdefault(variant, []).append(i)
    return holders


def close_words(lookup: Mapping[str, WordEntry]) -> list[Finding]:
    """Words of two keywords close enough that one typo of either could be either; `keyword` is the first's.

    Pairs in the order of the words, the first word's before the second's. Words two typos (Damerau) apart
    both turn into one string once at most two characters are deleted from each, and so do their first
    _WINDOW characters, and their last: only words sharing such a string are compared, not every pair, so
    the time grows with the words and the close pairs found, not with the pairs of words.
    """
    words = sorted((w for w in lookup.values() if len(w.word) >= MIN_TYPO_LENGTH and not w.word.isdigit()),
                   key=lambda w: w.word)
    # Words up to _WINDOW long by their deletions; longer ones by those of their head and of their tail, which
    # for a word of _WINDOW - 1 or _WINDOW characters (a possible partner of a longer one) are its own.
    heads = [_deletions(entry.word[:_WINDOW]) for entry in words]
    tails = [variants if len(entry.word) <= _WINDOW else _deletions(entry.word[-_WINDOW:])
             for entry, variants in zip(words, heads, strict=True)]
    longer = [i for i, entry in enumerate(words) if len(entry.word) > _WINDOW]
    pairs: set[tuple[int, int]] = set()
    for indexes in _sharing([heads[i] if len(e.word) <= _WINDOW else set() for i, e in enumerate(words)]).values():
        pairs.update(itertools.combinations(indexes, 2))
    if longer:
        ends = [i for i, entry in enumerate(words) if len(entry.word) >= _WINDOW - 1]
        by_head = _sharing([heads[i] for i in ends])
        by_tail = _sharing([tails[i] for i in ends])
        crowded: list[int] = []
        for i in longer:
            # A close word shares a string with both ends: look on the side fewer words share, so that many
            # words starting alike (or ending alike) cost no more than a few.
            sides = [(heads[i], by_head), (tails[i], by_tail)]
            load, side = min((sum(len(holders.get(v, ())) for v in variants), n) for n, (variants, holders)
                             in enumerate(sides))
            if load > _CROWD:
                crowded.append(i)
                continue
            variants, holders = sides[side]
            pairs.update((i, ends[k]) if i < ends[k] else (ends[k], i)
                         for variant in variants for k in holders.get(variant, ()) if ends[k] != i)
        if crowded:
            # Many words alike at both ends: compare these by the deletions of their whole words.
            whole = [_deletions(words[i].word) for i in ends]
            holders = _sharing(whole)
            position = {i: k for k, i in enumerate(ends)}
            for i in crowded:
                near = {ends[k] for variant in whole[position[i]] for k in holders.get(variant, ())} - {i}
                pairs.update((i, j) if i < j else (j, i) for j in near)
    found: list[Finding] = []
    for i, j in sorted(pairs):
        a, b = words[i], words[j]
        if a.keyword != b.keyword and abs(len(a.word) - len(b.word)) <= 2 and _within_two(a.word, b.word):
            found.append(Finding("close_words", {"word": a.word, "keyword": a.keyword,
                                                 "other_word": b.word, "other_keyword": b.keyword}))
    return found
