"""The keyword book as the engine and senders use it: the shipped file's content, our numbers in any spelling,
relay lines, sending rates and who confirms STOP/START/HELP."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.keywords import rules, sms
from gateway.keywords.book import KeywordBook
from gateway.keywords.reader import load_book, parse_book
from gateway.relay import cases, line
from tests.keyword_files import mutate

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "keywords.yaml"


# --- the shipped file ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> KeywordBook:
    return load_book(SHIPPED)


def test_shipped_file_loads_without_problems_or_warnings(shipped: KeywordBook) -> None:
    assert shipped.warnings == ()
    assert shipped.version == 1
    assert shipped.default_set == "main"
    assert shipped.source_text == SHIPPED.read_text(encoding="utf-8")


def test_shipped_keywords(shipped: KeywordBook) -> None:
    main = shipped.sets["main"]
    assert {"DVS", "STALKING", "CRIMESTOPPERS", "DEAF", "POLICE"} <= set(main.keywords)
    for alias, keyword in [("victim", "DVS"), ("support", "DVS"), ("stalker", "STALKING"),
                           ("stalked", "STALKING"), ("bsl", "DEAF"), ("text", "DEAF"), ("101", "POLICE")]:
        assert main.lookup[alias].keyword == keyword


def _all_replies(book: KeywordBook) -> list[str]:
    main = book.sets["main"]
    texts = [t for kw in main.keywords.values() for t in kw.replies.values()]
    for field in (main.default, main.help, main.optout_reply, main.optin_reply, main.danger_footer):
        texts += list((field or {}).values())
    texts += list(book.danger_reply.values())
    texts += [book.relay_ack(number) for number in book.relay_numbers]
    texts += [book.relay_text(number, which) or "" for number in book.relay_numbers for which in ("unread", "failed")]
    return texts


def test_shipped_replies_are_short_gsm7(shipped: KeywordBook) -> None:
    for text in _all_replies(shipped):
        info = sms.analyse(text)
        assert info.encoding == "GSM-7", text
        assert 1 <= info.segments <= 3, text


@pytest.mark.parametrize(
    ("keyword", "needles"),
    [
        ("DVS", ["0800 612 6505", "DerbyshireVictimServices.co.uk"]),
        ("STALKING", ["0808 802 0300", "followed"]),
        ("CRIMESTOPPERS", ["0800 555 111", "100% anonymous"]),
        ("DEAF", ["07800 002414", "999bsl.co.uk", "deafsms@derbyshire.police.uk"]),
        ("POLICE", ["101", "www.derbyshire.police.uk"]),
    ],
)
def test_shipped_replies_carry_the_numbers(shipped: KeywordBook, keyword: str, needles: list[str]) -> None:
    reply = shipped.sets["main"].keywords[keyword].replies["en"]
    for needle in needles:
        assert needle in reply
    assert "call 999" in reply


def test_shipped_danger_default_and_relay(shipped: KeywordBook) -> None:
    preamble = shipped.danger_reply["en"]
    assert preamble.startswith("If you are in danger, call 999")
    assert "07800 002414" in preamble and "999bsl.co.uk" in preamble
    assert "in danger, call 999" in shipped.sets["main"].default["en"]
    assert "999" in shipped.sets["main"].help["en"]
    phrases = {p.text for p in shipped.danger_phrases}
    assert {"help me", "he's outside", "she's outside", "knife", "in danger", "emergency", "hurt me",
            "followed me"} <= phrases
    assert shipped.relay_numbers == ("+447800002414",)
    ack = shipped.relay_ack("+447800002414")
    assert "control room" in ack and "999bsl.co.uk" in ack and "999" in ack
    # The texter's other texts are in the file for staff to edit, worded as the built-in ones.
    assert shipped.relay_text("+447800002414", "unread") == line.TEXTER_UNREAD
    assert shipped.relay_text("+447800002414", "failed") == line.TEXTER_WARNING
    read = shipped.relay_text("+447800002414", "read")
    assert read == line.TEXTER_READ
    facts = sms.analyse(read.replace(rules.CASE_ID, rules.SAMPLE_CASE_ID))  # one GSM-7 part with a case id
    assert (facts.encoding, facts.segments) == ("GSM-7", 1)


def test_relay_unread_is_checked_with_a_case_id_as_long_as_a_real_one() -> None:
    assert len(rules.SAMPLE_CASE_ID) == cases.ID_LENGTH
    assert set(rules.SAMPLE_CASE_ID) <= set(cases.ALPHABET)


# --- numbers -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "to",
    ["+447800002414", "07800 002414", "07800002414", "447800002414", "+44 7800 002414", "(07800) 002-414"],
)
def test_relay_line_in_any_spelling(shipped: KeywordBook, to: str) -> None:
    assert shipped.is_relay(to)
    assert shipped.number_config(to).number == "+447800002414"
    assert shipped.rate_per_second(to) == 10


@pytest.mark.parametrize("to", ["82228", " 82228 ", "82 228"])
def test_short_code(shipped: KeywordBook, to: str) -> None:
    config = shipped.number_config(to)
    assert (config.number, config.set, config.kind, config.known) == ("82228", "main", "short_code", True)
    assert not shipped.is_relay(to)
    assert shipped.rate_per_second(to) == 30


@pytest.mark.parametrize(
    ("to", "rate"),
    [("+447911000123", 10), ("07700 900123", 10), ("12345", 30), ("", 10), (None, 10), ("junk\ud800", 10),
     ("+44", 10), ("9" * 500, 10)],
)
def test_unknown_numbers_use_the_default_set(shipped: KeywordBook, to: str | None, rate: float) -> None:
    config = shipped.number_config(to)
    assert (config.set, config.known, config.relay) == ("main", False, False)
    assert shipped.rate_per_second(to) == rate  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("to", "confirmations"),
    # Twilio answers STOP/START/HELP on long codes but not on standalone short codes.
    [("82228", "gateway"), ("+447800002414", "twilio"), ("60777", "gateway"), ("+447911000123", "twilio")],
)
def test_who_confirms_by_default(shipped: KeywordBook, to: str, confirmations: str) -> None:
    assert shipped.number_config(to).confirmations == confirmations


@pytest.mark.parametrize("value", ["gateway", "twilio"])
def test_confirmations_override_per_number(value: str) -> None:
    book = parse_book(mutate("kind: short_code,", f"kind: short_code, confirmations: {value},"))
    assert book.number_config("82228").confirmations == value


def test_relay_ack_only_for_relay_lines(shipped: KeywordBook) -> None:
    with pytest.raises(ValueError, match="not a relay line"):
        shipped.relay_ack("82228")


def test_book_is_immutable(shipped: KeywordBook) -> None:
    with pytest.raises(TypeError):
        shipped.sets["other"] = shipped.sets["main"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        shipped.default_set = "other"  # type: ignore[misc]
