"""Loading and checking keywords.yaml: every refusal names its line, entry and reason."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.keywords import sms
from gateway.keywords.book import (
    KeywordBook,
    KeywordFileError,
    Problem,
    bad_phone_numbers,
    load_book,
    parse_book,
)

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "keywords.yaml"

BASE = """\
version: 1
default_set: main
numbers:
  "82228": {set: main, kind: short_code, rate_per_second: 30}
  "+447800002414":
    relay: true
    relay_ack: "Your message reached the control room. In danger, call 999."
danger:
  phrases: [help me, "he's outside", knife, kill*]
  reply: "In danger? Call 999. Deaf: text 07800 002414 or use 999bsl.co.uk."
sets:
  main:
    language: en
    keywords:
      DVS:
        aliases: [VICTIM, SUPPORT]
        reply: "Victim Services: call 0800 612 6505."
      STALKING:
        aliases: [STALKER]
        reply: "Stalking Helpline: 0808 802 0300."
    default: "Text DVS or STALKING. If you are in danger, call 999."
    help: "Text DVS or STALKING. In danger, call 999."
"""

LINE = re.compile(r"^(?P<source>[^:]+):(?P<line>\d+): (?P<entry>[^ ]+): (?P<reason>refused: .+)$")


def mutate(old: str, new: str, text: str = BASE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, marker: str) -> int:
    return text[: text.index(marker)].count("\n") + 1


def refusals(text: str) -> list[Problem]:
    with pytest.raises(KeywordFileError) as caught:
        parse_book(text)
    return caught.value.problems


def only_refusal(text: str) -> Problem:
    problems = refusals(text)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


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


# --- syntax --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("version: 1\nsets: [a, b\ndefault_set: main\n", 3, "YAML syntax error"),
        ("version: 1\n  sets: 2\n", 2, "mapping values are not allowed"),
        ("version: 1\nsets:\n\tmain: 1\n", 3, "not tabs"),
        ('version: 1\ndefault_set: "main\n', 3, "line 2"),
        ("version: 1\n---\nsets: 1\n", 2, "single document"),
        ("version: 1\ndefault_set: main\x07\n", 2, "U+0007"),
    ],
)
def test_syntax_errors_report_the_line(text: str, line: int, reason: str) -> None:
    problem = only_refusal(text)
    assert problem.line == line
    assert reason in problem.reason
    assert str(problem).startswith(f"keywords.yaml:{line}: refused: ")


@pytest.mark.parametrize(("text", "reason"), [("", "empty"), ("# only a comment\n", "empty"),
                                              ("- a list\n", "must be a mapping")])
def test_not_a_book(text: str, reason: str) -> None:
    assert reason in only_refusal(text).reason


def test_missing_file_and_bad_encoding(tmp_path: Path) -> None:
    with pytest.raises(KeywordFileError, match="cannot read"):
        load_book(tmp_path / "missing.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"version: 1\n# caf\xe9\n")
    with pytest.raises(KeywordFileError) as caught:
        load_book(bad)
    assert caught.value.problems[0].line == 2
    assert str(caught.value).startswith(f"{bad}:2: refused: not UTF-8")


def test_load_book_reports_its_path(tmp_path: Path) -> None:
    path = tmp_path / "keywords.yaml"
    path.write_text(mutate("reply: \"Stalking", "replly: \"Stalking"), encoding="utf-8")
    with pytest.raises(KeywordFileError) as caught:
        load_book(path)
    assert str(caught.value).splitlines()[0].startswith(f"{path}:")


# --- refusals: line, entry, reason ---------------------------------------------------------------------

LONG = "Call 999. " + "word " * 350  # 1760 characters: 12 SMS parts

REFUSALS = [
    # (old, new, marker on the expected line, entry, reason)
    ("version: 1", "version: 2", "version: 2", "version", "not a known version"),
    ("default_set: main", "default_set: main\ncolour: blue", "colour", "colour", "unknown field 'colour'"),
    ('        reply: "Stalking', '        replly: "Stalking', "replly", "sets.main.keywords.STALKING.replly",
     "unknown field 'replly'"),
    ('        aliases: [STALKER]\n        reply: "Stalking Helpline: 0808 802 0300."\n',
     "        aliases: [STALKER]\n", "STALKING:", "sets.main.keywords.STALKING", "missing field 'reply'"),
    ("    help: \"Text DVS or STALKING. In danger, call 999.\"\n", "", "  main:", "sets.main",
     "missing field 'help'"),
    ("      DVS:", "      DV-S:", "DV-S", "sets.main.keywords.DV-S", "single word of letters and digits"),
    ("[VICTIM, SUPPORT]", "[VICTIM, VICTIM SUPPORT]", "VICTIM SUPPORT", "sets.main.keywords.DVS.aliases[1]",
     "single word"),
    ("[STALKER]", "[STALKER, victim]", "[STALKER, victim]", "sets.main.keywords.STALKING.aliases[1]",
     "'victim' is already used by an alias of DVS (line 16)"),
    ("[STALKER]", "[STALKER, Dvs]", "[STALKER, Dvs]", "sets.main.keywords.STALKING.aliases[1]",
     "'Dvs' is already used by keyword DVS"),
    ("[VICTIM, SUPPORT]", "[VICTIM, SUPPORT, VICTIM]", "[VICTIM, SUPPORT, VICTIM]",
     "sets.main.keywords.DVS.aliases[2]", "already used by an alias of DVS"),
    ("[VICTIM, SUPPORT]", "[VICTIM, STOP]", "[VICTIM, STOP]", "sets.main.keywords.DVS.aliases[1]",
     "'STOP' is reserved"),
    ("[VICTIM, SUPPORT]", "[VICTIM, Info]", "[VICTIM, Info]", "sets.main.keywords.DVS.aliases[1]",
     "'Info' is reserved"),
    ("      STALKING:", "      HELP:", "HELP:", "sets.main.keywords.HELP", "'HELP' is reserved"),
    ("      STALKING:", "      Unsubscribe:", "Unsubscribe:", "sets.main.keywords.Unsubscribe",
     "is reserved"),
    ("[VICTIM, SUPPORT]", "VICTIM", "VICTIM", "sets.main.keywords.DVS.aliases", "must be a list"),
    ('reply: "Victim Services: call 0800 612 6505."', f'reply: "{LONG}"', "Call 999. word",
     "sets.main.keywords.DVS.reply", "refused: 12 SMS parts (max 10)"),
    ("call 0800 612 6505.", "call 07800 00241.", "call 07800 00241", "sets.main.keywords.DVS.reply",
     "phone number '07800 00241' is not a valid UK number"),
    ("call 0800 612 6505.", "call +44 20 1234.", "+44 20 1234", "sets.main.keywords.DVS.reply",
     "'+44 20 1234' is not a valid UK number"),
    ("STALKING. In danger, call 999.", "STALKING. In danger, call 99.", "call 99.", "sets.main.help", "'99'"),
    ("If you are in danger, call 999.", "Have a nice day.", "Have a nice day", "sets.main.default",
     "must tell people in danger to call 999"),
    ('reply: "In danger? Call 999.', 'reply: "In danger? Call us.', "Call us", "danger.reply",
     "call 999"),
    ('reply: "Victim Services: call 0800 612 6505."', 'reply: ""', 'reply: ""',
     "sets.main.keywords.DVS.reply", "is empty"),
    ('"82228": {set: main', '"12": {set: main', '"12"', "numbers.12", "not a short code"),
    ('"+447800002414":', '"07800002414":', '"07800002414"', "numbers.07800002414",
     "write it as '+447800002414'"),
    ('"+447800002414":', '"+4412345":', '"+4412345"', "numbers.+4412345", "not a short code"),
    ("{set: main, kind", "{set: other, kind", "set: other", "numbers.82228.set",
     "set 'other' is not defined under sets (have: main)"),
    ("default_set: main", "default_set: nope", "default_set", "default_set", "set 'nope' is not defined"),
    ("kind: short_code", "kind: long_code", "kind: long_code", "numbers.82228.kind", "does not fit 82228"),
    ("kind: short_code", "kind: landline", "kind: landline", "numbers.82228.kind", "short_code or long_code"),
    ("rate_per_second: 30", "rate_per_second: fast", "fast", "numbers.82228.rate_per_second",
     "must be a number"),
    ("rate_per_second: 30", "rate_per_second: 0", "rate_per_second: 0", "numbers.82228.rate_per_second",
     "must be more than 0 and at most 1000"),
    ("    relay: true\n", '    relay: "true"\n', 'relay: "true"', "numbers.+447800002414.relay",
     "must be true or false"),
    ("    relay: true\n", "    relay: false\n", "relay_ack:", "numbers.+447800002414.relay_ack",
     "only for numbers with relay: true"),
    ('    relay_ack: "Your message reached the control room. In danger, call 999."\n', "",
     '"+447800002414":', "numbers.+447800002414", "missing field 'relay_ack'"),
    ("relay_ack: \"Your message reached the control room. In danger, call 999.\"",
     "relay_ack: \"Your message reached the control room.\"", "relay_ack", "numbers.+447800002414.relay_ack",
     "call 999"),
    ("{set: main, kind: short_code,", "{set: main, sett: main, kind: short_code,", "sett",
     "numbers.82228.sett", "unknown field 'sett'"),
    ("  phrases: [help me, \"he's outside\", knife, kill*]", "  phrases: []", "phrases: []", "danger.phrases",
     "needs at least one phrase"),
    ("[help me, \"he's outside\", knife, kill*]", "[help me, \"!!!\"]", "[help me", "danger.phrases[1]",
     "needs letters or digits"),
    ("[help me, \"he's outside\", knife, kill*]", "[help me, k*ll]", "[help me", "danger.phrases[1]",
     "* only at the end"),
    ("      STALKING:\n", "      DVS:\n", "      DVS:\n        aliases: [STALKER]", "sets.main.keywords.DVS",
     "duplicate field (first on line 15)"),
    ('reply: "Victim Services: call 0800 612 6505."', 'reply: {cy: "Gwasanaethau Dioddefwyr"}',
     "reply: {cy", "sets.main.keywords.DVS.reply", "no 'en' text"),
    ('reply: "Victim Services: call 0800 612 6505."', 'reply: {english: "Victim Services"}',
     "reply: {english", "sets.main.keywords.DVS.reply.english", "not a language code"),
    ("    language: en", "    language: English", "language: English", "sets.main.language",
     "not a language code"),
    ("sets:\n  main:", "sets:\n  main: []\n  other:", "main: []", "sets.main", "must be a mapping"),
    ("kind: short_code,", "kind: short_code, confirmations: us,", "confirmations: us",
     "numbers.82228.confirmations", "'us' must be gateway or twilio"),
    ("kind: short_code,", "kind: short_code, confirmations: [gateway],", "confirmations: [gateway]",
     "numbers.82228.confirmations", "must be text"),
]


@pytest.mark.parametrize(("old", "new", "marker", "entry", "reason"), REFUSALS)
def test_refusal_names_line_entry_and_reason(
    old: str, new: str, marker: str, entry: str, reason: str
) -> None:
    text = mutate(old, new)
    problems = refusals(text)
    matching = [p for p in problems if p.entry == entry and reason in p.reason]
    assert matching, "\n".join(map(str, problems))
    problem = matching[0]
    assert problem.line == line_of(text, marker)
    assert problem.source == "keywords.yaml"
    assert LINE.match(str(problem)), str(problem)
    assert str(problem) == f"keywords.yaml:{problem.line}: {entry}: {problem.reason}"


def test_every_problem_is_reported_one_per_line() -> None:
    text = mutate("version: 1", "version: 3")
    text = mutate("[STALKER]", "[STALKER, STOP]", text)
    text = mutate("rate_per_second: 30", "rate_per_second: -1", text)
    with pytest.raises(KeywordFileError) as caught:
        parse_book(text)
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert all(LINE.match(line) for line in lines)
    assert [p.line for p in caught.value.problems] == sorted(p.line for p in caught.value.problems)


def test_the_danger_preamble_and_reply_together_must_fit_ten_parts() -> None:
    reply = "Call 999. " + "word " * 298  # 1500 characters: 10 parts alone, 11 after the preamble
    assert sms.analyse(reply).segments == 10
    text = mutate('reply: "Victim Services: call 0800 612 6505."', f'reply: "{reply}"')
    problem = only_refusal(text)
    assert problem.entry == "sets.main.keywords.DVS.reply"
    assert "with the danger preamble this reply is 11 SMS parts (max 10)" in problem.reason


# --- warnings ------------------------------------------------------------------------------------------


def test_base_book_has_no_warnings() -> None:
    assert parse_book(BASE).warnings == ()


def test_over_three_parts_warns() -> None:
    reply = "Call 999. " + "word " * 100  # 510 characters: 4 parts
    text = mutate('reply: "Victim Services: call 0800 612 6505."', f'reply: "{reply}"')
    book = parse_book(text)
    (warning,) = book.warnings
    assert (warning.entry, warning.line) == ("sets.main.keywords.DVS.reply", line_of(text, "Call 999. word"))
    assert "4 SMS parts" in warning.reason
    assert str(warning).startswith(f"keywords.yaml:{warning.line}: sets.main.keywords.DVS.reply: 4 SMS parts")


def test_ucs2_reply_warns_with_the_fix() -> None:
    text = mutate("Victim Services: call", "Victim Services’ line: call")
    (warning,) = parse_book(text).warnings
    assert warning.entry == "sets.main.keywords.DVS.reply"
    assert "UCS-2" in warning.reason and "U+2019" in warning.reason and "use \"'\"" in warning.reason


def test_default_reply_not_listing_a_keyword_warns() -> None:
    text = mutate("Text DVS or STALKING. If", "Text DVS. If")
    (warning,) = parse_book(text).warnings
    assert (warning.entry, warning.reason) == ("sets.main.default", "does not mention the keyword STALKING")


def test_close_words_of_two_keywords_warn() -> None:
    text = mutate("[STALKER]", "[STALKER, VICTIN]")
    warnings = parse_book(text).warnings
    assert any("VICTIM (DVS) and VICTIN (STALKING) are close" in w.reason for w in warnings)


def test_repeated_danger_phrase_warns() -> None:
    text = mutate("knife, kill*]", "knife, KNIFE, kill*]")
    (warning,) = parse_book(text).warnings
    assert warning.entry == "danger.phrases[3]" and "repeats" in warning.reason


# --- phone numbers in replies --------------------------------------------------------------------------


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


# --- languages -----------------------------------------------------------------------------------------

WELSH = mutate(
    """      DVS:
        aliases: [VICTIM, SUPPORT]
        reply: "Victim Services: call 0800 612 6505."
""",
    """      DVS:
        aliases:
          en: [VICTIM, SUPPORT]
          cy: [CEFNOGAETH, DIODDEFWR]
        reply:
          en: "Victim Services: call 0800 612 6505."
          cy: "Gwasanaethau Dioddefwyr: ffoniwch 0800 612 6505."
""",
)


def test_welsh_aliases_and_replies_load() -> None:
    book = parse_book(WELSH)
    main = book.sets["main"]
    assert main.lookup["cefnogaeth"].language == "cy"
    assert main.lookup["victim"].language == "en"
    assert main.keywords["DVS"].replies["cy"].startswith("Gwasanaethau")
    assert main.keywords["DVS"].aliases == {"en": ("VICTIM", "SUPPORT"), "cy": ("CEFNOGAETH", "DIODDEFWR")}
    assert book.warnings == ()


def test_welsh_alias_without_welsh_reply_warns() -> None:
    text = mutate('          cy: "Gwasanaethau Dioddefwyr: ffoniwch 0800 612 6505."\n', "", WELSH)
    (warning,) = parse_book(text).warnings
    assert warning.entry == "sets.main.keywords.DVS.aliases"
    assert "no 'cy' reply" in warning.reason


def test_collision_across_languages_is_refused() -> None:
    text = mutate("[STALKER]", "[STALKER, Cefnogaeth]", WELSH)
    problem = only_refusal(text)
    assert problem.entry == "sets.main.keywords.STALKING.aliases[1]"
    assert "already used by an alias of DVS" in problem.reason


def test_welsh_reply_error_names_the_language() -> None:
    text = mutate("ffoniwch 0800 612 6505", "ffoniwch 07800 00241", WELSH)
    problem = only_refusal(text)
    assert problem.entry == "sets.main.keywords.DVS.reply.cy"
    assert problem.line == line_of(text, "cy: \"Gwasanaethau")


def test_danger_reply_by_language_must_cover_every_set() -> None:
    text = mutate(
        'reply: "In danger? Call 999. Deaf: text 07800 002414 or use 999bsl.co.uk."',
        'reply: {en: "In danger? Call 999."}',
    )
    text += """  cymraeg:
    language: cy
    keywords: {}
    default: "Mewn perygl? Ffoniwch 999."
    help: "Mewn perygl? Ffoniwch 999."
"""
    problem = only_refusal(text)
    assert problem.entry == "danger.reply"
    assert problem.reason == "refused: no 'cy' text (a set answers in 'cy')"
