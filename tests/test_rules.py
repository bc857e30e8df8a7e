"""What a reply must satisfy: SMS parts (3 warns, 10 refused, with the danger preamble too), GSM-7 characters,
valid UK phone numbers, the 999 line; and keywords' words kept more than a typo apart."""

from __future__ import annotations

import itertools
import random

import pytest

from bench.keywords import brute_close_words
from gateway.keywords import rules, sms
from gateway.keywords.book import WordEntry
from gateway.keywords.problems import Finding
from gateway.keywords.reader import parse_book
from gateway.keywords.rules import bad_phone_numbers
from tests.keyword_files import line_of, mutate, only_refusal

GOOD = "Victim Services: call 0800 612 6505. In danger, call 999."


# --- SMS parts -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("words", "segments", "found"),
    [(20, 1, []), (100, 4, [Finding("many_segments", {"segments": 4, "keep": 3})]),
     (298, 10, [Finding("many_segments", {"segments": 10, "keep": 3})]),
     (350, 12, [Finding("too_many_segments", {"segments": 12, "limit": 10})])],
)
def test_parts_warn_over_three_and_are_refused_over_ten(words: int, segments: int, found: list) -> None:
    text = "Call 999. " + "word " * words
    assert sms.analyse(text).segments == segments
    assert rules.reply(text) == found


def test_the_danger_preamble_counts_only_where_the_reply_fits_alone() -> None:
    preamble = "In danger? Call 999. Deaf: text 07800 002414 or use 999bsl.co.uk."
    fits = "Call 999. " + "word " * 298  # 10 parts alone, 11 after the preamble
    assert rules.with_danger_preamble(preamble, fits) == [
        Finding("too_long_with_danger", {"segments": 11, "limit": rules.MAX_SEGMENTS})]
    assert rules.with_danger_preamble(preamble, "Call 999. " + "word " * 350) == []  # refused as it is
    assert rules.with_danger_preamble(preamble, GOOD) == []


def test_the_danger_preamble_and_reply_together_must_fit_ten_parts() -> None:
    reply = "Call 999. " + "word " * 298  # 1500 characters: 10 parts alone, 11 after the preamble
    assert sms.analyse(reply).segments == 10
    text = mutate('reply: "Victim Services: call 0800 612 6505."', f'reply: "{reply}"')
    problem = only_refusal(text)
    assert problem.entry == "sets.main.keywords.DVS.reply"
    assert "with the danger preamble this reply is 11 SMS parts (max 10)" in problem.reason
    assert (problem.code, dict(problem.args)) == ("too_long_with_danger", {"segments": 11, "limit": 10})


def test_over_three_parts_warns() -> None:
    reply = "Call 999. " + "word " * 100  # 510 characters: 4 parts
    text = mutate('reply: "Victim Services: call 0800 612 6505."', f'reply: "{reply}"')
    book = parse_book(text)
    (warning,) = book.warnings
    assert (warning.entry, warning.line) == ("sets.main.keywords.DVS.reply", line_of(text, "Call 999. word"))
    assert "4 SMS parts" in warning.reason
    assert str(warning).startswith(f"keywords.yaml:{warning.line}: sets.main.keywords.DVS.reply: 4 SMS parts")


# --- characters ----------------------------------------------------------------------------------------


def test_ucs2_finding_names_the_characters_and_their_fixes() -> None:
    (finding,) = rules.reply("It\u2019s \u00e7a \u2013 call 999.")
    assert finding.code == "ucs2"
    assert finding.args == {"chars": ("\u2019", "\u00e7", "\u2013"), "fixes": {"\u2019": "'", "\u2013": "-"}}


def test_ucs2_reply_warns_with_the_fix() -> None:
    text = mutate("Victim Services: call", "Victim Services’ line: call")
    (warning,) = parse_book(text).warnings
    assert warning.entry == "sets.main.keywords.DVS.reply"
    assert "UCS-2" in warning.reason and "U+2019" in warning.reason and "use \"'\"" in warning.reason


# --- phone numbers and 999 -----------------------------------------------------------------------------


def test_phone_numbers_and_999() -> None:
    assert rules.reply(GOOD, needs_999=True) == []
    assert rules.reply("Call 0800 612 6505.") == []
    assert rules.reply("Call 0800 612 6505.", needs_999=True) == [Finding("needs_999", {})]
    assert rules.reply("Call 07800 00241 or 99.", needs_999=True) == [
        Finding("bad_phone_number", {"number": "07800 00241"}), Finding("bad_phone_number", {"number": "99"}),
        Finding("needs_999", {})]


@pytest.mark.parametrize(
    "text",
    [
        "Call 0800 612 6505 or visit DerbyshireVictimServices.co.uk",
        "Helpline: 0808 802 0300.",
        "Text 07800 002414 or +447800002414 or +44 7800 002414",
        "Call 101, 111, 112 or 999. Use 999bsl.co.uk",
        "Call 0800 555 111, 100% anonymous, 24/7",
        "1 in 5 women and 1 in 11 men; 76% online; 85% of perpetrators",
        "Text DVS to 82228",
        "Call 0800 612 6505 0808 802 0300",
        "Born 01/02/2020",
    ],
)
def test_valid_phone_numbers_pass(text: str) -> None:
    assert bad_phone_numbers(text) == []


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("Call 0800 612 65O5", ["0800 612"]),
        ("Text 07800 00241", ["07800 00241"]),
        ("Text 0780 002414", ["0780 002414"]),
        ("Call +44 800 1", ["+44 800 1"]),
        ("Call 99 now", ["99"]),
        ("Call 9999 now", ["9999"]),
    ],
)
def test_invalid_phone_numbers_are_found(text: str, bad: list[str]) -> None:
    assert bad_phone_numbers(text) == bad


# --- what the default reply names ----------------------------------------------------------------------


def test_default_mentions() -> None:
    default = "Text DVS or stalking. In danger, call 999."
    assert rules.default_mentions(default, ["DVS", "STALKING"]) == []
    assert rules.default_mentions(default, ["DVS", "POLICE", "DEAF"]) == [
        Finding("unmentioned_keyword", {"keyword": "POLICE"}), Finding("unmentioned_keyword", {"keyword": "DEAF"})]
    assert rules.default_mentions("", ["POLICE"]) == []


def test_default_reply_not_listing_a_keyword_warns() -> None:
    text = mutate("Text DVS or STALKING. If", "Text DVS. If")
    (warning,) = parse_book(text).warnings
    assert (warning.entry, warning.reason) == ("sets.main.default", "does not mention the keyword STALKING")


# --- words a typo apart --------------------------------------------------------------------------------


def _entry(word: str, keyword: str) -> tuple[str, WordEntry]:
    return word, WordEntry(word, keyword, "en", "alias", frozenset(word))


def test_close_words_of_different_keywords() -> None:
    lookup = dict([_entry("victim", "DVS"), _entry("victin", "STALKING"), _entry("victims", "DVS"),
                   _entry("ab", "X"), _entry("ac", "Y"), _entry("101", "POLICE"), _entry("102", "OTHER")])
    assert rules.close_words(lookup) == [
        Finding("close_words", {"word": "victim", "keyword": "DVS", "other_word": "victin",
                                "other_keyword": "STALKING"}),
        Finding("close_words", {"word": "victims", "keyword": "DVS", "other_word": "victin",
                                "other_keyword": "STALKING"}),
    ]  # two-letter and digit-only words are never typo-matched, so never close


def test_close_words_of_two_keywords_warn() -> None:
    text = mutate("[STALKER]", "[STALKER, VICTIN]")
    warnings = parse_book(text).warnings
    assert any("VICTIM (DVS) and VICTIN (STALKING) are close" in w.reason for w in warnings)


def test_close_words_compares_every_pair_of_short_words() -> None:
    # Every word of 1 to 6 letters a and b, each its own keyword: all 126 * 125 / 2 pairs checked both ways.
    words = ["".join(letters) for n in range(1, 7) for letters in itertools.product("ab", repeat=n)]
    lookup = dict(_entry(word, word.upper()) for word in words)
    assert rules.close_words(lookup) == brute_close_words(lookup)
    assert len(brute_close_words(lookup)) > 1000


@pytest.mark.parametrize("seed", range(40))
def test_close_words_finds_what_comparing_every_pair_finds(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    if seed % 2:  # every long word crowded: compared by the deletions of the whole word
        monkeypatch.setattr(rules, "_CROWD", 0)
    rng = random.Random(seed)
    alphabet = rng.choice(["ab", "abc", "abcdefgh", "aeioustrnl", "aé1ßx"])
    stems = ["".join(rng.choice(alphabet) for _ in range(rng.randint(8, 20))) for _ in range(3)]
    words: set[str] = set()
    for _ in range(rng.randint(20, 300)):
        shape = rng.random()
        word = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 16)))
        if shape < 0.3:  # long words sharing starts or ends: the windows of long words
            stem = rng.choice(stems)
            word = stem + word if rng.random() < 0.5 else word + stem
        elif shape < 0.5 and words:  # one or two typos of an earlier word
            word = rng.choice(sorted(words))
            for _ in range(rng.randint(1, 2)):
                at = rng.randrange(len(word) + 1)
                typo = rng.choice(["insert", "delete", "replace", "swap"])
                if typo == "insert":
                    word = word[:at] + rng.choice(alphabet) + word[at:]
                elif typo == "delete" and len(word) > 1:
                    word = word[:at] + word[at + 1:]
                elif typo == "replace" and at < len(word):
                    word = word[:at] + rng.choice(alphabet) + word[at + 1:]
                elif typo == "swap" and at + 1 < len(word):
                    word = word[:at] + word[at + 1] + word[at] + word[at + 2:]
        words.add(word[:40])
    keywords = [f"K{i}" for i in range(rng.randint(2, 12))]
    lookup = dict(_entry(word, rng.choice(keywords)) for word in sorted(words))
    assert rules.close_words(lookup) == brute_close_words(lookup)
