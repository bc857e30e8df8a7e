"""Reading keywords.yaml: every refusal and warning names its line, entry and reason, and carries a stable code
with the values its English is built from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.keywords import problems as catalogue
from gateway.keywords import sms
from gateway.keywords.problems import KeywordFileError, Problem
from gateway.keywords.reader import load_book, parse_book
from tests.keyword_files import BASE, WELSH, line_of, mutate, only_refusal, refusals
from tests.test_opening_hours import CODES as HOURS_CODES

LINE = re.compile(r"^(?P<source>[^:]+):(?P<line>\d+): (?P<entry>[^ ]+): (?P<reason>refused: .+)$")

# Codes no keywords text can produce: a duplicate number is a duplicate field first, and parse_book takes str.
UNREACHABLE = {"listed_twice", "yaml_unreadable", "yaml_error"}


def has_args(problem: Problem, expected: dict) -> bool:
    return {key: problem.args.get(key) for key in expected} == expected


# --- syntax --------------------------------------------------------------------------------------------


SYNTAX = [
    # (text, line, reason, code, args)
    ("version: 1\nsets: [a, b\ndefault_set: main\n", 3, "YAML syntax error", "yaml_syntax", {}),
    ("version: 1\n  sets: 2\n", 2, "mapping values are not allowed", "yaml_syntax",
     {"detail": "mapping values are not allowed here"}),
    ("version: 1\nsets:\n\tmain: 1\n", 3, "not tabs", "yaml_syntax", {}),
    ('version: 1\ndefault_set: "main\n', 3, "line 2", "yaml_syntax", {}),
    ("version: 1\n---\nsets: 1\n", 2, "single document", "yaml_syntax", {}),
    ("version: 1\ndefault_set: main\x07\n", 2, "U+0007", "yaml_character", {"character": 7}),
]


@pytest.mark.parametrize(("text", "line", "reason"), [case[:3] for case in SYNTAX])
def test_syntax_errors_report_the_line(text: str, line: int, reason: str) -> None:
    problem = only_refusal(text)
    assert problem.line == line
    assert reason in problem.reason
    assert str(problem).startswith(f"keywords.yaml:{line}: refused: ")


@pytest.mark.parametrize(("text", "line", "reason", "code", "args"), SYNTAX)
def test_syntax_errors_carry_their_code(text: str, line: int, reason: str, code: str, args: dict) -> None:
    problem = only_refusal(text)
    assert (problem.code, problem.refused, problem.entry) == (code, True, "")
    assert has_args(problem, args)


NOT_A_BOOK = [("", "empty", "empty_file"), ("# only a comment\n", "empty", "empty_file"),
              ("- a list\n", "must be a mapping", "not_a_mapping")]


@pytest.mark.parametrize(("text", "reason"), [case[:2] for case in NOT_A_BOOK])
def test_not_a_book(text: str, reason: str) -> None:
    assert reason in only_refusal(text).reason


@pytest.mark.parametrize(("text", "reason", "code"), NOT_A_BOOK)
def test_not_a_book_carries_its_code(text: str, reason: str, code: str) -> None:
    assert only_refusal(text).code == code


def test_missing_file_and_bad_encoding(tmp_path: Path) -> None:
    with pytest.raises(KeywordFileError, match="cannot read"):
        load_book(tmp_path / "missing.yaml")
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"version: 1\n# caf\xe9\n")
    with pytest.raises(KeywordFileError) as caught:
        load_book(bad)
    assert caught.value.problems[0].line == 2
    assert str(caught.value).startswith(f"{bad}:2: refused: not UTF-8")


def test_missing_file_and_bad_encoding_carry_their_codes(tmp_path: Path) -> None:
    with pytest.raises(KeywordFileError) as caught:
        load_book(tmp_path / "missing.yaml")
    (problem,) = caught.value.problems
    assert (problem.code, problem.line, dict(problem.args)) == ("unreadable_file", None,
                                                                {"error": "No such file or directory"})
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"version: 1\n# caf\xe9\n")
    with pytest.raises(KeywordFileError) as caught:
        load_book(bad)
    assert [(p.code, p.line) for p in caught.value.problems] == [("not_utf8", 2)]


def test_load_book_reports_its_path(tmp_path: Path) -> None:
    path = tmp_path / "keywords.yaml"
    path.write_text(mutate("reply: \"Stalking", "replly: \"Stalking"), encoding="utf-8")
    with pytest.raises(KeywordFileError) as caught:
        load_book(path)
    assert str(caught.value).splitlines()[0].startswith(f"{path}:")




# --- refusals: line, entry, reason, code and args -----------------------------------------------------

LONG = "Call 999. " + "word " * 350  # 1760 characters: 12 SMS parts
TOP = ("version", "default_set", "danger", "sets", "numbers", "publish_requires_approval")
NUMBER_FIELDS = ("set", "kind", "rate_per_second", "confirmations", "relay", "relay_ack", "relay_unread",
                 "relay_failed", "relay_read")
ACK_LINE = '    relay_ack: "Your message reached the control room. In danger, call 999."\n'

REFUSALS = [
    # (old, new, marker on the expected line, entry, reason, code, args (those named))
    ("version: 1", "version: 2", "version: 2", "version", "not a known version",
     "unknown_version", {"value": "2"}),
    ("default_set: main", "default_set: main\npublish_requires_approval: yes please", "yes please",
     "publish_requires_approval", "must be true or false", "not_a_bool", {}),
    ("default_set: main", 'default_set: main\npublish_requires_approval: "true"', '"true"',
     "publish_requires_approval", "must be true or false", "not_a_bool", {}),
    ("default_set: main", "default_set: main\ncolour: blue", "colour", "colour", "unknown field 'colour'",
     "unknown_field", {"field": "colour", "expected": TOP}),
    ('        reply: "Stalking', '        replly: "Stalking', "replly", "sets.main.keywords.STALKING.replly",
     "unknown field 'replly'", "unknown_field",
     {"field": "replly", "expected": ("reply", "aliases", "hours", "closed_reply")}),
    ('        aliases: [STALKER]\n        reply: "Stalking Helpline: 0808 802 0300."\n',
     "        aliases: [STALKER]\n", "STALKING:", "sets.main.keywords.STALKING", "missing field 'reply'",
     "missing_field", {"field": "reply"}),
    ("    help: \"Text DVS or STALKING. In danger, call 999.\"\n", "", "  main:", "sets.main",
     "missing field 'help'", "missing_field", {"field": "help"}),
    ("      DVS:", "      DV-S:", "DV-S", "sets.main.keywords.DV-S", "single word of letters and digits",
     "not_one_word", {"word": "DV-S"}),
    ("[VICTIM, SUPPORT]", "[VICTIM, VICTIM SUPPORT]", "VICTIM SUPPORT", "sets.main.keywords.DVS.aliases[1]",
     "single word", "not_one_word", {"word": "VICTIM SUPPORT"}),
    ("[STALKER]", "[STALKER, victim]", "[STALKER, victim]", "sets.main.keywords.STALKING.aliases[1]",
     "'victim' is already used by an alias of DVS (line 16)",
     "word_taken", {"word": "victim", "keyword": "DVS", "match": "alias", "line": 16, "claimant": "STALKING"}),
    ("[STALKER]", "[STALKER, Dvs]", "[STALKER, Dvs]", "sets.main.keywords.STALKING.aliases[1]",
     "'Dvs' is already used by keyword DVS",
     "word_taken", {"word": "Dvs", "keyword": "DVS", "match": "exact", "line": 15, "claimant": "STALKING"}),
    ("[VICTIM, SUPPORT]", "[VICTIM, SUPPORT, VICTIM]", "[VICTIM, SUPPORT, VICTIM]",
     "sets.main.keywords.DVS.aliases[2]", "already used by an alias of DVS",
     "word_taken", {"word": "VICTIM", "keyword": "DVS", "match": "alias", "line": 16, "claimant": "DVS"}),
    ("[VICTIM, SUPPORT]", "[VICTIM, STOP]", "[VICTIM, STOP]", "sets.main.keywords.DVS.aliases[1]",
     "'STOP' is reserved", "reserved_word", {"word": "STOP"}),
    ("[VICTIM, SUPPORT]", "[VICTIM, Info]", "[VICTIM, Info]", "sets.main.keywords.DVS.aliases[1]",
     "'Info' is reserved", "reserved_word", {"word": "Info"}),
    ("      STALKING:", "      HELP:", "HELP:", "sets.main.keywords.HELP", "'HELP' is reserved",
     "reserved_word", {"word": "HELP"}),
    ("      STALKING:", "      Unsubscribe:", "Unsubscribe:", "sets.main.keywords.Unsubscribe",
     "is reserved", "reserved_word", {"word": "Unsubscribe"}),
    ("[VICTIM, SUPPORT]", "VICTIM", "VICTIM", "sets.main.keywords.DVS.aliases", "must be a list",
     "not_a_list", {}),
    ('reply: "Victim Services: call 0800 612 6505."', f'reply: "{LONG}"', "Call 999. word",
     "sets.main.keywords.DVS.reply", "refused: 12 SMS parts (max 10)",
     "too_many_segments", {"segments": 12, "limit": 10}),
    ("call 0800 612 6505.", "call 07800 00241.", "call 07800 00241", "sets.main.keywords.DVS.reply",
     "phone number '07800 00241' is not a valid UK number", "bad_phone_number", {"number": "07800 00241"}),
    ("call 0800 612 6505.", "call +44 20 1234.", "+44 20 1234", "sets.main.keywords.DVS.reply",
     "'+44 20 1234' is not a valid UK number", "bad_phone_number", {"number": "+44 20 1234"}),
    ("STALKING. In danger, call 999.", "STALKING. In danger, call 99.", "call 99.", "sets.main.help", "'99'",
     "bad_phone_number", {"number": "99"}),
    ("If you are in danger, call 999.", "Have a nice day.", "Have a nice day", "sets.main.default",
     "must tell people in danger to call 999", "needs_999", {}),
    ('reply: "In danger? Call 999.', 'reply: "In danger? Call us.', "Call us", "danger.reply",
     "call 999", "needs_999", {}),
    ('reply: "Victim Services: call 0800 612 6505."', 'reply: ""', 'reply: ""',
     "sets.main.keywords.DVS.reply", "is empty", "empty", {}),
    ('"82228": {set: main', '"12": {set: main', '"12"', "numbers.12", "not a short code",
     "bad_receiving_number", {"number": "12", "suggestion": None}),
    ('"+447800002414":', '"07800002414":', '"07800002414"', "numbers.07800002414",
     "write it as '+447800002414'",
     "bad_receiving_number", {"number": "07800002414", "suggestion": "+447800002414"}),
    ('"+447800002414":', '"+4412345":', '"+4412345"', "numbers.+4412345", "not a short code",
     "bad_receiving_number", {"number": "+4412345", "suggestion": None}),
    ("{set: main, kind", "{set: other, kind", "set: other", "numbers.82228.set",
     "set 'other' is not defined under sets (have: main)", "unknown_set", {"name": "other", "have": ("main",)}),
    ("default_set: main", "default_set: nope", "default_set", "default_set", "set 'nope' is not defined",
     "unknown_set", {"name": "nope", "have": ("main",)}),
    ("kind: short_code", "kind: long_code", "kind: long_code", "numbers.82228.kind", "does not fit 82228",
     "kind_mismatch", {"kind": "long_code", "number": "82228", "shape": "short_code"}),
    ("kind: short_code", "kind: landline", "kind: landline", "numbers.82228.kind", "short_code or long_code",
     "not_a_choice", {"value": "landline", "choices": ("short_code", "long_code")}),
    ("rate_per_second: 30", "rate_per_second: fast", "fast", "numbers.82228.rate_per_second",
     "must be a number", "not_a_number", {}),
    ("rate_per_second: 30", "rate_per_second: 0", "rate_per_second: 0", "numbers.82228.rate_per_second",
     "must be more than 0 and at most 1000", "out_of_range", {"value": "0", "above": 0, "at_most": 1000}),
    ("    relay: true\n", '    relay: "true"\n', 'relay: "true"', "numbers.+447800002414.relay",
     "must be true or false", "not_a_bool", {}),
    ("    relay: true\n", "    relay: false\n", "relay_ack:", "numbers.+447800002414.relay_ack",
     "only for numbers with relay: true", "relay_only", {}),
    ('    relay_ack: "Your message reached the control room. In danger, call 999."\n', "",
     '"+447800002414":', "numbers.+447800002414", "missing field 'relay_ack'",
     "missing_field", {"field": "relay_ack"}),
    ("relay_ack: \"Your message reached the control room. In danger, call 999.\"",
     "relay_ack: \"Your message reached the control room.\"", "relay_ack", "numbers.+447800002414.relay_ack",
     "call 999", "needs_999", {}),
    (ACK_LINE, ACK_LINE + '    relay_unread: "Case {id}: nobody has read your message yet."\n', "relay_unread",
     "numbers.+447800002414.relay_unread", "call 999", "needs_999", {}),
    (ACK_LINE, ACK_LINE + '    relay_failed: "We could not pass your message on."\n', "relay_failed",
     "numbers.+447800002414.relay_failed", "call 999", "needs_999", {}),
    (ACK_LINE, ACK_LINE + '    relay_read: "Case {id}: someone has read your message."\n', "relay_read",
     "numbers.+447800002414.relay_read", "call 999", "needs_999", {}),
    (ACK_LINE, ACK_LINE + '    relay_read: "Case {case}: read. In danger, call 999."\n', "relay_read",
     "numbers.+447800002414.relay_read",
     "{case} is not known and would be sent as written: the only placeholder here is {id}, the case id",
     "unknown_relay_placeholder", {"placeholder": "{case}", "allowed": ("{id}",)}),
    (ACK_LINE, ACK_LINE + f'    relay_read: "Case {{id}}. {LONG}"\n', "relay_read",
     "numbers.+447800002414.relay_read", "refused: 12 SMS parts (max 10)", "too_many_segments",
     {"segments": 12, "limit": 10}),
    ("rate_per_second: 30}", 'rate_per_second: 30, relay_read: "Case {id}: read. In danger, call 999."}',
     "relay_read", "numbers.82228.relay_read", "only for numbers with relay: true", "relay_only", {}),
    (ACK_LINE, ACK_LINE + '    relay_unread: "Case {case}: not read yet. In danger, call 999."\n', "relay_unread",
     "numbers.+447800002414.relay_unread",
     "{case} is not known and would be sent as written: the only placeholder here is {id}, the case id",
     "unknown_relay_placeholder", {"placeholder": "{case}", "allowed": ("{id}",)}),
    (ACK_LINE, ACK_LINE + '    relay_unread: "Case {id}: read by {opens}. In danger, call 999."\n',
     "relay_unread", "numbers.+447800002414.relay_unread", "{opens} is not known",
     "unknown_relay_placeholder", {"placeholder": "{opens}", "allowed": ("{id}",)}),
    (ACK_LINE, ACK_LINE + '    relay_failed: "Case {id} failed. In danger, call 999."\n', "relay_failed",
     "numbers.+447800002414.relay_failed",
     "{id} is not known and would be sent as written: this text takes none",
     "unknown_relay_placeholder", {"placeholder": "{id}", "allowed": ()}),
    (ACK_LINE, ACK_LINE + f'    relay_unread: "{LONG}"\n', "relay_unread", "numbers.+447800002414.relay_unread",
     "refused: 12 SMS parts (max 10)", "too_many_segments", {"segments": 12, "limit": 10}),
    (ACK_LINE, ACK_LINE + f'    relay_failed: "{LONG}"\n', "relay_failed", "numbers.+447800002414.relay_failed",
     "refused: 12 SMS parts (max 10)", "too_many_segments", {"segments": 12, "limit": 10}),
    ("rate_per_second: 30}", 'rate_per_second: 30, relay_unread: "Case {id}. In danger, call 999."}',
     "relay_unread", "numbers.82228.relay_unread", "only for numbers with relay: true", "relay_only", {}),
    ("rate_per_second: 30}", 'rate_per_second: 30, relay_failed: "Not passed on. In danger, call 999."}',
     "relay_failed", "numbers.82228.relay_failed", "only for numbers with relay: true", "relay_only", {}),
    ("{set: main, kind: short_code,", "{set: main, sett: main, kind: short_code,", "sett",
     "numbers.82228.sett", "unknown field 'sett'", "unknown_field", {"field": "sett", "expected": NUMBER_FIELDS}),
    ("  phrases: [help me, \"he's outside\", knife, kill*]", "  phrases: []", "phrases: []", "danger.phrases",
     "needs at least one phrase", "needs_one", {"what": "phrase"}),
    ("[help me, \"he's outside\", knife, kill*]", "[help me, \"!!!\"]", "[help me", "danger.phrases[1]",
     "needs letters or digits", "bad_phrase", {"phrase": "!!!"}),
    ("[help me, \"he's outside\", knife, kill*]", "[help me, k*ll]", "[help me", "danger.phrases[1]",
     "* only at the end", "bad_phrase", {"phrase": "k*ll"}),
    ("      STALKING:\n", "      DVS:\n", "      DVS:\n        aliases: [STALKER]", "sets.main.keywords.DVS",
     "duplicate field (first on line 15)", "duplicate_field", {"field": "DVS", "line": 15}),
    ('reply: "Victim Services: call 0800 612 6505."', 'reply: {cy: "Gwasanaethau Dioddefwyr"}',
     "reply: {cy", "sets.main.keywords.DVS.reply", "no 'en' text", "no_fallback_text", {"language": "en"}),
    ('reply: "Victim Services: call 0800 612 6505."', 'reply: {english: "Victim Services"}',
     "reply: {english", "sets.main.keywords.DVS.reply.english", "not a language code",
     "not_a_language", {"value": "english"}),
    ("    language: en", "    language: English", "language: English", "sets.main.language",
     "not a language code", "not_a_language", {"value": "English"}),
    ("sets:\n  main:", "sets:\n  main: []\n  other:", "main: []", "sets.main", "must be a mapping",
     "not_a_mapping", {}),
    ("kind: short_code,", "kind: short_code, confirmations: us,", "confirmations: us",
     "numbers.82228.confirmations", "'us' must be gateway or twilio",
     "not_a_choice", {"value": "us", "choices": ("gateway", "twilio")}),
    ("kind: short_code,", "kind: short_code, confirmations: [gateway],", "confirmations: [gateway]",
     "numbers.82228.confirmations", "must be text", "not_text", {}),
    ("    language: en", "    language: en\n    ? [a]\n    : b", "? [a]", "sets.main",
     "field names must be plain text", "bad_field_name", {}),
    ("sets:\n  main:", "sets: {}\nx:\n  main:", "sets: {}", "sets", "needs at least one set",
     "needs_one", {"what": "set"}),
]


@pytest.mark.parametrize(("old", "new", "marker", "entry", "reason"), [case[:5] for case in REFUSALS])
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


@pytest.mark.parametrize(("old", "new", "marker", "entry", "reason", "code", "args"), REFUSALS)
def test_refusal_carries_code_and_args(
    old: str, new: str, marker: str, entry: str, reason: str, code: str, args: dict
) -> None:
    text = mutate(old, new)
    problem = next(p for p in refusals(text) if p.entry == entry and reason in p.reason)
    assert problem.code == code and problem.refused
    assert has_args(problem, args), dict(problem.args)
    assert problem.reason == "refused: " + problem.message == "refused: " + catalogue.REFUSALS[code](**problem.args)


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


# --- warnings ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("line, expected", [("", False), ("publish_requires_approval: true\n", True),
                                            ("publish_requires_approval: false\n", False)])
def test_publish_requires_approval_is_read_from_the_top_level(line: str, expected: bool) -> None:
    assert parse_book(line + BASE).publish_requires_approval is expected


def test_base_book_has_no_warnings() -> None:
    assert parse_book(BASE).warnings == ()


def test_repeated_danger_phrase_warns() -> None:
    text = mutate("knife, kill*]", "knife, KNIFE, kill*]")
    (warning,) = parse_book(text).warnings
    assert warning.entry == "danger.phrases[3]" and "repeats" in warning.reason


WARNINGS = [
    # (old, new, text to edit, entry, code, args (those named)); gateway.keywords.rules makes the rest
    ("knife, kill*]", "knife, KNIFE, kill*]", BASE, "danger.phrases[3]", "repeated_phrase",
     {"phrase": "KNIFE", "line": 9}),
    ('          cy: "Gwasanaethau Dioddefwyr: ffoniwch 0800 612 6505."\n', "", WELSH,
     "sets.main.keywords.DVS.aliases", "alias_without_reply", {"language": "cy", "fallback": "en"}),
    ("Text DVS or STALKING. If", "Text DVS. If", BASE, "sets.main.default", "unmentioned_keyword",
     {"keyword": "STALKING"}),
    ("[STALKER]", "[STALKER, VICTIN]", BASE, "sets.main.keywords.DVS", "close_words",
     {"word": "victim", "keyword": "DVS", "other_word": "victin", "other_keyword": "STALKING"}),
    ('reply: "Victim Services: call 0800 612 6505."', 'reply: "Call 999. ' + "word " * 100 + '"', BASE,
     "sets.main.keywords.DVS.reply", "many_segments", {"segments": 4, "keep": 3}),
    ("Victim Services: call", "Victim Services’ line: call", BASE, "sets.main.keywords.DVS.reply", "ucs2",
     {"chars": ("’",), "fixes": {"’": "'"}}),
]


@pytest.mark.parametrize(("old", "new", "text", "entry", "code", "args"), WARNINGS)
def test_warning_carries_code_and_args(old: str, new: str, text: str, entry: str, code: str, args: dict) -> None:
    book = parse_book(mutate(old, new, text))
    warning = next(w for w in book.warnings if w.code == code)
    assert warning.entry == entry and not warning.refused
    assert has_args(warning, args), dict(warning.args)
    assert warning.reason == warning.message == catalogue.WARNINGS[code](**warning.args)
    assert str(warning) == f"keywords.yaml:{warning.line}: {entry}: {warning.message}"


# --- languages -----------------------------------------------------------------------------------------

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
    assert (problem.code, dict(problem.args)) == ("bad_phone_number", {"number": "07800 00241"})


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
    assert (problem.code, dict(problem.args)) == ("no_language_text", {"language": "cy"})


def test_relay_unread_is_counted_with_a_case_id_in_place_of_id() -> None:
    """{id} is sent as a 6-character case id: in UCS-2 that is two units more than the 4 written."""
    words = "Case {id}: " + "\u0142" * 649 + " Call 999."  # 670 UCS-2 units as written: 10 parts of 67
    as_sent = words.replace("{id}", "K7QD2X")
    assert (sms.analyse(words).segments, sms.analyse(as_sent).segments) == (10, 11)
    text = mutate(ACK_LINE, ACK_LINE + f'    relay_unread: "{words}"\n')
    problem = only_refusal(text)
    assert (problem.entry, problem.line, problem.code) == ("numbers.+447800002414.relay_unread",
                                                           line_of(text, "relay_unread"), "too_many_segments")
    assert problem.reason == "refused: 11 SMS parts (max 10)"
    fits = words.replace(" Call 999.", " 999.")  # 5 units fewer: 10 parts with the case id
    book = parse_book(mutate(ACK_LINE, ACK_LINE + f'    relay_unread: "{fits}"\n'))
    assert book.relay_text("+447800002414", "unread") == fits


def test_relay_texts_are_optional_and_read_by_language() -> None:
    book = parse_book(BASE)
    assert book.relay_text("+447800002414", "unread") is None
    assert book.relay_text("+447800002414", "failed") is None
    text = mutate(ACK_LINE, ACK_LINE + """    relay_unread:
      en: "Case {id}: not read yet. In danger, call 999."
      cy: "Achos {id}: heb ei ddarllen eto. Mewn perygl, ffoniwch 999."
    relay_failed: "Not passed on. In danger, call 999."
""")
    book = parse_book(text)
    assert book.relay_text("+447800002414", "unread") == "Case {id}: not read yet. In danger, call 999."
    assert book.relay_text("07800 002414", "unread", "cy").startswith("Achos {id}:")
    assert book.relay_text("+447800002414", "failed", "cy") == "Not passed on. In danger, call 999."
    assert book.relay_text("82228", "failed") is None
    with pytest.raises(ValueError, match="no relay text 'ack'"):
        book.relay_text("+447800002414", "ack")


# --- the codes -----------------------------------------------------------------------------------------


def test_every_code_is_tested() -> None:
    tested = ({case[5] for case in REFUSALS} | {case[3] for case in SYNTAX} | {case[2] for case in NOT_A_BOOK}
              | {case[4] for case in WARNINGS} | {"unreadable_file", "not_utf8", "no_language_text"}
              | {"too_long_with_danger"}  # in tests/test_rules.py
              | {"no_set_language", "too_long_with_languages", "many_segments_with_languages",
                 "offer_without_word"}  # tests/test_languages.py
              | {"too_large", "too_deep", "yaml_alias", "too_many", "word_too_long"}  # tests/test_keyword_limits.py
              | HOURS_CODES)
    assert tested | UNREACHABLE == set(catalogue.REFUSALS) | set(catalogue.WARNINGS)
    assert not set(catalogue.REFUSALS) & set(catalogue.WARNINGS)


def test_a_problem_needs_a_known_code_and_its_args_are_frozen() -> None:
    with pytest.raises(ValueError, match="unknown problem code"):
        Problem("keywords.yaml", 1, "version", "not_a_code")
    problem = Problem("keywords.yaml", 3, "sets.main.keywords.DVS", "reserved_word", {"word": "STOP"})
    with pytest.raises(TypeError):
        problem.args["word"] = "START"  # type: ignore[index]
    assert hash(problem) == hash(Problem("keywords.yaml", 3, "sets.main.keywords.DVS", "reserved_word",
                                         {"word": "STOP"}))
