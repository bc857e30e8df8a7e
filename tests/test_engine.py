"""The keyword engine: how a text is read and which reply it gets."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from gateway.keywords import engine
from gateway.keywords.book import KeywordBook
from gateway.keywords.engine import Decision, decide
from gateway.keywords.reader import load_book, parse_book
from gateway.keywords.text import fold, normalise, typo_distance

ROOT = Path(__file__).resolve().parents[1]
SHORT_CODE = "82228"
RELAY = "+447800002414"


@pytest.fixture(scope="module")
def book() -> KeywordBook:
    return load_book(ROOT / "keywords.yaml")


def reply_of(book: KeywordBook, keyword: str, language: str = "en") -> str:
    return book.sets["main"].keywords[keyword].replies[language]


# --- folding and words ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("DVS", "dvs"),
        ("DVŠ", "dvs"),
        ("Ðvs", "dvs"),
        ("ＤＶＳ", "dvs"),
        ("Straße", "strasse"),
        ("Ørsted", "orsted"),
        ("Cefnogaeth ŵ ŷ", "cefnogaeth w y"),
        ("İstanbul", "istanbul"),
        ("naïve café", "naive cafe"),
    ],
)
def test_fold(text: str, folded: str) -> None:
    assert fold(text) == folded



@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("He's outside!!", "hes outside"),
        ("HES   OUTSIDE", "hes outside"),
        ("he’s outside", "hes outside"),
        ("help-me", "help me"),
        ("🙏 knife 🙏", "knife"),
    ],
)
def test_normalise(text: str, words: str) -> None:
    assert normalise(text) == words


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [("dvs", "dvs", 0), ("dsv", "dvs", 1), ("dvss", "dvs", 1), ("stalkng", "stalking", 1),
     ("stlakign", "stalking", 2), ("abc", "xyz", 3), ("ca", "abc", 3)],
)
def test_typo_distance(a: str, b: str, distance: int) -> None:
    assert typo_distance(a, b, 5) == distance
    assert typo_distance(a, b, 0) == min(distance, 1)


# --- keywords ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "keyword", "match"),
    [
        ("DVS", "DVS", "exact"),
        ("dvs", "DVS", "exact"),
        ("Dvs.", "DVS", "exact"),
        ("  DVS!!! 🙏", "DVS", "exact"),
        ("dvs please", "DVS", "exact"),
        ("DVŠ", "DVS", "exact"),
        ("ＤＶＳ", "DVS", "exact"),
        ("\u200bDVS\u200b", "DVS", "exact"),
        ("victim", "DVS", "alias"),
        ("Support please", "DVS", "alias"),
        ("STALKING", "STALKING", "exact"),
        ("stalker", "STALKING", "alias"),
        ("Stalked?", "STALKING", "alias"),
        ("crimestoppers", "CRIMESTOPPERS", "exact"),
        ("Crime Stoppers", "CRIMESTOPPERS", "exact"),
        ("anonymous", "CRIMESTOPPERS", "alias"),
        ("DEAF", "DEAF", "exact"),
        ("bsl", "DEAF", "alias"),
        ("police", "POLICE", "exact"),
        ("101", "POLICE", "alias"),
        ("DSV", "DVS", "typo"),
        ("DVSS", "DVS", "typo"),
        ("STALKNG", "STALKING", "typo"),
        ("STALKINGG", "STALKING", "typo"),
        ("Stlaking", "STALKING", "typo"),
        ("crimestopers", "CRIMESTOPPERS", "typo"),
        ("crime stopers", "CRIMESTOPPERS", "typo"),
        ("polise", "POLICE", "typo"),
    ],
)
def test_keyword_replies(book: KeywordBook, text: str, keyword: str, match: str) -> None:
    decision = decide(book, text, SHORT_CODE)
    assert (decision.kind, decision.keyword, decision.match) == ("keyword", keyword, match)
    assert decision.reply == reply_of(book, keyword)
    assert (decision.language, decision.danger, decision.relay) == ("en", False, False)


def test_first_word_decides(book: KeywordBook) -> None:
    assert decide(book, "police dvs stalking", SHORT_CODE).keyword == "POLICE"
    assert decide(book, "I need DVS", SHORT_CODE).kind == "default"


@pytest.mark.parametrize(
    "text",
    [
        "hello", "DV", "VS", "D", "102", "100", "1010", "thanks", "what is this", "DVSDVSDVS",
        "x" * 41, "STALKINGSTALKING",
    ],
)
def test_no_keyword_gets_the_default_reply(book: KeywordBook, text: str) -> None:
    decision = decide(book, text, SHORT_CODE)
    assert (decision.kind, decision.keyword, decision.match) == ("default", None, None)
    assert decision.reply == book.sets["main"].default["en"]
    assert "in danger, call 999" in decision.reply


# --- opt-out, opt-in and help --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("STOP", "optout"), ("stop", "optout"), ("sToP", "optout"), ("  STOP \n", "optout"),
        ("STOPALL", "optout"), ("Unsubscribe", "optout"), ("cancel", "optout"), ("END", "optout"),
        ("quit", "optout"), ("REVOKE", "optout"), ("OPTOUT", "optout"),
        ("START", "optin"), ("yes", "optin"), ("Unstop", "optin"),
        ("HELP", "help"), ("\thelp ", "help"), ("Info", "help"),
    ],
)
def test_opt_words_alone(book: KeywordBook, text: str, kind: str) -> None:
    # 82228 is a short code: Twilio does not answer these words there, so the gateway does.
    decision = decide(book, text, SHORT_CODE)
    assert decision.kind == kind
    assert decision.keyword == text.strip().upper()
    assert decision.danger is False
    assert decision.despite_optout is True
    main = book.sets["main"]
    expected = {"help": main.help, "optout": main.optout_reply, "optin": main.optin_reply}[kind]
    assert decision.reply == expected["en"]


@pytest.mark.parametrize(
    "text",
    # Twilio applies an opt-out only when the whole message, trimmed, is the word in any case. Folding
    # emoji, punctuation, full-width letters, accents or invisible characters away would record opt-outs
    # that Twilio never applied, and cut the texter off from every later reply.
    ["Stop.", "STOP!!", "stop 🙏", "ＳＴＯＰ", "STÖP", "S\u200bTOP", "STOP\u200b", "stop\u00ad", "¡stop!",
     "help!", "INFO?", "Yes.", "start 👍", "ｓｔａｒｔ"],
)
def test_opt_words_follow_the_carriers_rule(book: KeywordBook, text: str) -> None:
    decision = decide(book, text, SHORT_CODE)
    assert decision.kind == "default"
    assert decision.opt_change is None
    assert decision.reply == book.sets["main"].default["en"]


@pytest.mark.parametrize(
    ("optout_type", "body", "kind"),
    [
        ("STOP", "Arrêt", "optout"),  # a localized word in Twilio's Advanced Opt-Out
        ("STOP", "stop please", "optout"),  # a custom phrase: Twilio's word is the truth
        ("START", "oui", "optin"),
        ("HELP", "aide", "help"),
        ("stop", "x", "optout"),  # case of the field itself does not matter
    ],
)
def test_twilio_optout_type_is_the_truth(book: KeywordBook, optout_type: str, body: str, kind: str) -> None:
    decision = decide(book, body, SHORT_CODE, optout_type=optout_type)
    assert decision.kind == kind
    assert decision.keyword == optout_type.upper()
    assert decision.opt_change == (kind if kind != "help" else None)


@pytest.mark.parametrize("optout_type", ["", "UNKNOWN", "<x>"])
def test_unknown_optout_type_falls_back_to_the_body(book: KeywordBook, optout_type: str) -> None:
    assert decide(book, "STOP", SHORT_CODE, optout_type=optout_type).kind == "optout"
    assert decide(book, "DVS", SHORT_CODE, optout_type=optout_type).keyword == "DVS"


LONG_CODE = "+447911000555"  # not in keywords.yaml: a long code, where Twilio answers STOP/START/HELP


@pytest.mark.parametrize("text", ["STOP", "START"])
def test_twilio_confirms_on_long_codes(book: KeywordBook, text: str) -> None:
    decision = decide(book, text, LONG_CODE)
    assert decision.kind in ("optout", "optin")
    assert decision.reply is None  # Twilio sends its own confirmation there
    assert decision.opt_change == decision.kind


def test_help_is_answered_on_long_codes_too(book: KeywordBook) -> None:
    # Twilio's own HELP answer carries no 999 line; ours does, so the gateway always answers HELP.
    decision = decide(book, "HELP", LONG_CODE)
    assert decision.reply == book.sets["main"].help["en"]
    assert decision.despite_optout is False  # Twilio blocks sends to a texter who opted out there


@pytest.mark.parametrize(
    "text",
    ["stop texting me", "STOP DVS", "please stop", "yes please", "help me please", "info on stalking",
     "end it", "S T O P"],
)
def test_opt_words_count_only_as_the_whole_message(book: KeywordBook, text: str) -> None:
    assert decide(book, text, SHORT_CODE).kind not in ("optout", "optin", "help")


@pytest.mark.parametrize(
    "text",
    ["STPO", "STOPP", "SOTP", "STOPS", "STRAT", "STARTT", "HLEP", "HELPP", "INFOO", "UNSUBSCRIB", "QUITT"],
)
def test_typos_never_opt_out_opt_in_or_help(book: KeywordBook, text: str) -> None:
    decision = decide(book, text, SHORT_CODE)
    assert decision.kind == "default"
    assert decision.reply == book.sets["main"].default["en"]


def test_no_confirmation_texts_configured() -> None:
    book = parse_book(TWO_SETS)
    decision = decide(book, "STOP", SHORT_CODE)
    assert (decision.kind, decision.reply, decision.opt_change) == ("optout", None, "optout")


# --- danger --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("help me", "help me"),
        ("HELP ME!!!", "help me"),
        ("he's outside", "he's outside"),
        ("HES OUTSIDE", "he's outside"),
        ("he’s outside", "he's outside"),
        ("He's outside!!", "he's outside"),
        ("she's outside my flat", "she's outside"),
        ("there's a knife", "knife"),
        ("he said he will kill me", "kill*"),
        ("he killed my dog", "kill*"),
        ("I am in danger", "in danger"),
        ("EMERGENCY", "emergency"),
        ("he hurt me", "hurt me"),
        ("someone followed me home", "followed me"),
        ("I can’t talk", "can't talk"),
    ],
)
def test_danger_without_keyword(book: KeywordBook, text: str, phrase: str) -> None:
    decision = decide(book, text, SHORT_CODE)
    assert (decision.kind, decision.danger, decision.danger_phrase) == ("default", True, phrase)
    assert decision.keyword is None
    preamble = book.danger_reply["en"]
    assert decision.reply == preamble + "\n\n" + book.sets["main"].danger_footer["en"]
    assert decision.reply.startswith("If you are in danger, call 999")
    assert "07800 002414" in decision.reply and "999bsl.co.uk" in decision.reply


@pytest.mark.parametrize(
    ("text", "keyword", "phrase"),
    [
        ("DVS he's outside", "DVS", "he's outside"),
        ("stalking he followed me again", "STALKING", "followed me"),
        ("Dsv help me", "DVS", "help me"),
        ("DEAF emergency", "DEAF", "emergency"),
    ],
)
def test_danger_with_keyword(book: KeywordBook, text: str, keyword: str, phrase: str) -> None:
    decision = decide(book, text, SHORT_CODE)
    assert (decision.kind, decision.keyword, decision.danger, decision.danger_phrase) == (
        "keyword", keyword, True, phrase)
    assert decision.reply == book.danger_reply["en"] + "\n\n" + reply_of(book, keyword)


@pytest.mark.parametrize("text", ["skills", "knifed", "outside", "he is fine", "hurt", "helpful", "999bsl"])
def test_danger_phrases_match_whole_words(book: KeywordBook, text: str) -> None:
    assert decide(book, text, SHORT_CODE).danger is False


# --- relay lines and numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize("to", [RELAY, "07800 002414", "447800002414"])
@pytest.mark.parametrize("text", ["DVS", "knife", "he's outside help me", "hello", "", "DSV"])
def test_relay_lines_are_not_keyword_matched(book: KeywordBook, text: str, to: str) -> None:
    decision = decide(book, text, to)
    assert decision == Decision("relay", None, relay=True)


@pytest.mark.parametrize(
    ("text", "kind"),
    [("STOP", "optout"), ("unsubscribe", "optout"), ("start", "optin"), ("UNSTOP", "optin")],
)
def test_opt_words_work_on_relay_lines(book: KeywordBook, text: str, kind: str) -> None:
    decision = decide(book, text, RELAY)
    assert (decision.kind, decision.relay, decision.reply) == (kind, True, None)


@pytest.mark.parametrize("text", ["HELP", "help!", "Info", "yes."])
def test_help_and_yes_on_a_relay_line_reach_the_control_room(book: KeywordBook, text: str) -> None:
    # On the emergency text line "help" is someone asking for help, and "yes" may answer the control room.
    assert decide(book, text, RELAY) == Decision("relay", None, relay=True)


def test_yes_on_a_relay_line_is_relayed_and_the_opt_in_twilio_applied_recorded(book: KeywordBook) -> None:
    assert decide(book, "YES", RELAY) == Decision("relay", None, relay=True, opt_change="optin")


@pytest.mark.parametrize(
    ("optout_type", "body", "expected"),
    [
        # HELP on the emergency line is a person asking for help: relayed, whatever Twilio calls it.
        ("HELP", "HELP", Decision("relay", None, relay=True)),
        ("HELP", "info", Decision("relay", None, relay=True)),
        # YES may answer the control room: relayed, and the opt-in Twilio applied is recorded too.
        ("START", "yes", Decision("relay", None, relay=True, opt_change="optin")),
        ("STOP", "arret", Decision("optout", None, keyword="STOP", language="en", relay=True, opt_change="optout")),
    ],
)
def test_optout_type_on_a_relay_line(book: KeywordBook, optout_type: str, body: str, expected: Decision) -> None:
    assert decide(book, body, RELAY, optout_type=optout_type) == expected


@pytest.mark.parametrize("to", ["+447911000123", "", "12345", "not a number", "\ud800"])
def test_unknown_number_uses_the_default_set(book: KeywordBook, to: str) -> None:
    assert decide(book, "DVS", to).reply == reply_of(book, "DVS")


TWO_SETS = """\
version: 1
default_set: main
numbers:
  "82228": {set: other}
  "60123": {set: main}
danger:
  phrases: [knife]
  reply: "Call 999 now."
sets:
  main:
    keywords:
      SAMARITANS:
        reply: "Samaritans: call 116 123. In danger, call 999."
    default: "Text SAMARITANS. In danger, call 999."
    help: "Main help. In danger, call 999."
  other:
    keywords:
      DVS:
        reply: "Victim Services: call 0800 612 6505."
      DVT:
        reply: "Another service."
    default: "Text DVS or DVT. In danger, call 999."
    help: "Other help. In danger, call 999."
"""


def test_sets_follow_the_number() -> None:
    book = parse_book(TWO_SETS)
    assert decide(book, "DVS", "82228").keyword == "DVS"
    assert decide(book, "DVS", "60123").kind == "default"
    assert decide(book, "samaritans", "60123").keyword == "SAMARITANS"
    assert decide(book, "samaritans", "+447911000123").keyword == "SAMARITANS"
    assert decide(book, "help", "82228").reply == "Other help. In danger, call 999."
    assert decide(book, "help", "+447911000123").reply == "Main help. In danger, call 999."


def test_ambiguous_typo_gets_the_default_reply() -> None:
    book = parse_book(TWO_SETS)
    decision = decide(book, "DVX", "82228")  # one edit from both DVS and DVT
    assert (decision.kind, decision.keyword) == ("default", None)
    assert decision.reply == "Text DVS or DVT. In danger, call 999."
    assert decide(book, "DSV", "82228").keyword == "DVS"  # a transposition is closer to DVS


def test_danger_without_footer_is_the_preamble_alone() -> None:
    book = parse_book(TWO_SETS)
    assert decide(book, "a knife", "82228").reply == "Call 999 now."
    assert decide(book, "DVS knife", "82228").reply == "Call 999 now.\n\nVictim Services: call 0800 612 6505."


# --- languages -----------------------------------------------------------------------------------------

WELSH = """\
version: 1
default_set: main
numbers:
  "82228": {set: main}
  "60001": {set: cymraeg}
danger:
  phrases:
    en: [knife, help me]
    cy: [cyllell, helpwch fi]
  reply:
    en: "In danger? Call 999."
    cy: "Mewn perygl? Ffoniwch 999."
sets:
  main:
    language: en
    keywords:
      DVS:
        aliases:
          en: [SUPPORT]
          cy: [CEFNOGAETH]
        reply:
          en: "Victim Services: call 0800 612 6505."
          cy: "Gwasanaethau Dioddefwyr: ffoniwch 0800 612 6505."
      POLICE:
        aliases: {cy: [HEDDLU]}
        reply: "Police: call 101."
    default: "Text DVS or POLICE. In danger, call 999."
    help:
      en: "Help. In danger, call 999."
      cy: "Help Cymraeg. Mewn perygl, ffoniwch 999."
  cymraeg:
    language: cy
    keywords:
      CYMORTH:
        reply: "Cymorth: ffoniwch 0800 612 6505."
    default: "Tecstiwch CYMORTH. Mewn perygl, ffoniwch 999."
    help: "Help. Mewn perygl, ffoniwch 999."
    optout_reply: "Dim mwy o negeseuon. Mewn perygl, ffoniwch 999."
"""


WELSH_DVS = "Gwasanaethau Dioddefwyr: ffoniwch 0800 612 6505."


@pytest.fixture(scope="module")
def welsh() -> KeywordBook:
    return parse_book(WELSH)


@pytest.mark.parametrize(
    ("text", "keyword", "language", "match", "reply"),
    [
        ("CEFNOGAETH", "DVS", "cy", "alias", WELSH_DVS),
        ("cefnogaeth os gwelwch yn dda", "DVS", "cy", "alias", WELSH_DVS),
        ("Cefnogaeth!", "DVS", "cy", "alias", WELSH_DVS),
        ("CEFNOGATH", "DVS", "cy", "typo", WELSH_DVS),
        ("DVS", "DVS", "en", "exact", "Victim Services: call 0800 612 6505."),
        ("support", "DVS", "en", "alias", "Victim Services: call 0800 612 6505."),
        ("HEDDLU", "POLICE", "en", "alias", "Police: call 101."),  # no Welsh reply: falls back to English
    ],
)
def test_welsh_alias_answers_in_welsh(
    welsh: KeywordBook, text: str, keyword: str, language: str, match: str, reply: str
) -> None:
    decision = decide(welsh, text, "82228")
    assert (decision.kind, decision.keyword, decision.language, decision.match, decision.reply) == (
        "keyword", keyword, language, match, reply)


def test_welsh_danger(welsh: KeywordBook) -> None:
    with_keyword = decide(welsh, "cefnogaeth cyllell", "82228")
    assert with_keyword.reply == "Mewn perygl? Ffoniwch 999.\n\n" + WELSH_DVS
    alone = decide(welsh, "Helpwch fi", "82228")
    assert (alone.kind, alone.language, alone.danger_phrase) == ("default", "cy", "helpwch fi")
    assert alone.reply == "Mewn perygl? Ffoniwch 999."
    english = decide(welsh, "DVS knife", "82228")
    assert english.reply == "In danger? Call 999.\n\nVictim Services: call 0800 612 6505."


def test_welsh_set(welsh: KeywordBook) -> None:
    assert decide(welsh, "CYMORTH", "60001").reply == "Cymorth: ffoniwch 0800 612 6505."
    assert decide(welsh, "dim", "60001").reply == "Tecstiwch CYMORTH. Mewn perygl, ffoniwch 999."
    assert decide(welsh, "HELP", "60001").language == "cy"
    stop = decide(welsh, "STOP", "60001")
    assert (stop.kind, stop.reply) == ("optout", "Dim mwy o negeseuon. Mewn perygl, ffoniwch 999.")  # a short code
    assert decide(welsh, "cyllell", "60001").reply == "Mewn perygl? Ffoniwch 999."
    assert decide(welsh, "knife", "60001").reply == "In danger? Call 999."  # the phrase's language


# --- odd input -----------------------------------------------------------------------------------------

ODD = [
    "",
    " ",
    "\n\n\t",
    "🙏",
    "🙏🙏🙏👍🏽",
    "👨\u200d👩\u200d👧",
    "\u200d\u200c\u200b",
    "\u200f\u202e\u202d\u2066",
    "\ud800",
    "a\udfffb",
    "\ud83d",
    "\x00\x01\x02",
    "\ufeff",
    "x" * 10_000,
    "é" * 10_000,
    "🙏" * 5_000,
    "a b " * 2_500,
    "\u0301" * 1_000,
    "ﷺ" * 100,
]


@pytest.mark.parametrize("text", ODD, ids=range(len(ODD)))
def test_odd_text_gets_the_default_reply(book: KeywordBook, text: str) -> None:
    decision = decide(book, text, SHORT_CODE)
    assert decision.kind == "default"
    assert decision.reply == book.sets["main"].default["en"]


@pytest.fixture
def no_engine_failure(caplog: pytest.LogCaptureFixture):
    """`decide` never raises: it logs a failure and falls back to the default reply. Fail on any fallback."""
    with caplog.at_level("ERROR", logger="signpost.engine"):
        yield
    assert not [rec for rec in caplog.records if rec.name == "signpost.engine"], "the engine failed and fell back"


@pytest.mark.parametrize("text", ODD, ids=range(len(ODD)))
@pytest.mark.parametrize("to", [SHORT_CODE, RELAY, "", "\ud800", "x" * 1_000])
def test_odd_text_is_decided_without_falling_back(book: KeywordBook, text: str, to: str, no_engine_failure) -> None:
    decision = decide(book, text, to)
    if to == RELAY:
        assert decision == Decision("relay", None, relay=True)
    else:
        assert (decision.kind, decision.reply) == ("default", book.sets["main"].default["en"])


def test_random_text_is_decided_without_falling_back(book: KeywordBook, no_engine_failure) -> None:
    rng = random.Random(20240415)
    alphabet = [chr(c) for c in range(0x20, 0x3000)] + ["\ud800", "\udfff", "😀", "\u200d", "\u202e", "\x00"]
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        decision = decide(book, text, rng.choice([SHORT_CODE, RELAY, "junk"]))
        assert decision.reply or decision.relay or decision.opt_change  # every text is answered or relayed


def test_an_engine_failure_still_answers(book: KeywordBook, monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    def broken(text: str) -> str:
        raise RuntimeError("bug")

    monkeypatch.setattr(engine, "normalise", broken)
    with caplog.at_level("ERROR", logger="signpost.engine"):
        assert decide(book, "DVS", SHORT_CODE).reply == book.sets["main"].default["en"]
    assert "keyword engine failed" in caplog.text  # and the fixture above would see it
    assert decide(book, "DVS", RELAY) == Decision("relay", None, relay=True)


def test_none_body_never_raises(book: KeywordBook) -> None:
    assert decide(book, None, SHORT_CODE).kind == "default"  # type: ignore[arg-type]
    assert decide(book, "DVS", None).keyword == "DVS"  # type: ignore[arg-type]


def test_long_body_still_finds_keyword_and_danger(book: KeywordBook) -> None:
    text = "DVS " + "blah " * 2_000 + "he's outside"
    assert len(text) > 10_000
    decision = decide(book, text, SHORT_CODE)
    assert (decision.keyword, decision.danger, decision.danger_phrase) == ("DVS", True, "he's outside")


def test_decide_is_fast(book: KeywordBook) -> None:
    texts = ["DVS", "dsv", "STALKNG please", "hello there", "STOP", "he's outside", "Crime stoppers"] * 200
    started = time.perf_counter()
    for text in texts:
        decide(book, text, SHORT_CODE)
    per_text = (time.perf_counter() - started) / len(texts)
    assert per_text < 0.001  # well under a millisecond; typically tens of microseconds


def test_decision_is_frozen(book: KeywordBook) -> None:
    decision = decide(book, "DVS", SHORT_CODE)
    with pytest.raises(AttributeError):
        decision.reply = "something else"  # type: ignore[misc]
