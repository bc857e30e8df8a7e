"""The texter's language: picked by a word or a listed alias, remembered per number, used in later replies."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from gateway import create_app
from gateway.keywords import engine
from gateway.keywords.reader import parse_book
from gateway.reports import counters
from gateway.settings import Settings
from gateway.texts import languages
from tests.conftest import SHORT_CODE, TEXTER, inbound_form, post_signed
from tests.keyword_files import BASE, POLISH, WELSH, line_of, mutate, only_refusal
from tests.test_webhook import messages_in

OTHER = "+447911000456"
DVS_EN, DVS_PL = "Victim Services: call 0800 612 6505.", "Pomoc dla ofiar: zadzwon 0800 612 6505."
HELP_EN = "Text DVS or STALKING. In danger, call 999."
HELP_PL = "Wyslij DVS lub STALKING. W razie zagrozenia dzwon 999."
DEFAULT_EN = "Text DVS or STALKING. If you are in danger, call 999."
DEFAULT_PL = "Wyslij DVS lub STALKING. W niebezpieczenstwie dzwon 999."
OFFER_EN, OFFER_PL = "English: text ENGLISH", "Po polsku: wyslij POLSKI"
STALKING_EN = "Stalking Helpline: 0808 802 0300."
BOOK = parse_book(POLISH)


# --- the file ------------------------------------------------------------------------------------------


def test_two_language_file_loads_with_its_words_and_offers():
    kset = BOOK.sets["main"]
    assert BOOK.warnings == ()
    assert {code: (lang.name, lang.words, lang.offer) for code, lang in kset.languages.items()} == {
        "en": ("English", ("English",), OFFER_EN),
        "pl": ("Polski", ("Polski", "POLISH"), OFFER_PL),
    }
    assert dict(kset.language_words) == {"english": "en", "polski": "pl", "polish": "pl"}
    assert kset.offers_languages
    assert not parse_book(BASE).sets["main"].offers_languages


LANGUAGES_PL = """      pl:
        name: Polski
        words: [POLISH]
        offer: "Po polsku: wyslij POLSKI"
"""

REFUSED = [
    # (old, new, marker of the line, entry, code, args)
    ("words: [POLISH]", "words: [POLISH, VICTIM]", "POLISH, VICTIM]", "sets.main.languages.pl.words[1]",
     "word_taken", {"word": "VICTIM", "keyword": "DVS", "match": "alias", "claimant": "pl"}),
    ("en: [VICTIM, SUPPORT]", "en: [VICTIM, SUPPORT, POLSKI]", "name: Polski", "sets.main.languages.pl.name",
     "word_taken", {"word": "Polski", "keyword": "DVS", "match": "alias"}),
    ("words: [POLISH]", "words: [HELP]", "words: [HELP]", "sets.main.languages.pl.words[0]", "reserved_word",
     {"word": "HELP"}),
    ('      en: {name: English, offer: "English: text ENGLISH"}\n', "", "    languages:", "sets.main.languages",
     "no_set_language", {"language": "en"}),
    ('      pl: "Wyslij DVS lub STALKING. W razie zagrozenia dzwon 999."\n', "", f'en: "{HELP_EN}"', "sets.main.help",
     "no_language_text", {"language": "pl"}),
    (LANGUAGES_PL, '      pl: {name: "Jezyk polski"}\n', "Jezyk polski", "sets.main.languages.pl", "needs_one", {}),
    ("words: [POLISH]", "word: [POLISH]", "word: [POLISH]", "sets.main.languages.pl.word", "unknown_field", {}),
    ("      pl:\n        name: Polski", "      polish language:\n        name: Polski", "polish language:",
     "sets.main.languages.polish language", "not_a_language", {}),
]


@pytest.mark.parametrize(("old", "new", "marker", "entry", "code", "args"), REFUSED)
def test_language_mistakes_are_refused_at_their_line(old, new, marker, entry, code, args):
    text = mutate(old, new, POLISH)
    problem = only_refusal(text)
    assert (problem.entry, problem.code) == (entry, code)
    assert problem.line == line_of(text, marker)
    assert {key: problem.args.get(key) for key in args} == args


LONG_HELP = "Text DVS or STALKING. In danger, call 999. " + "More about the service here. " * 14


@pytest.mark.parametrize(("old", "new", "entries", "code", "refused"), [
    ('offer: "Po polsku: wyslij POLSKI"', 'offer: "Po polsku"', ["sets.main.languages.pl.offer"],
     "offer_without_word", False),
    ('offer: "Po polsku: wyslij POLSKI"', 'offer: "Po polsku: wy\u015blij POLSKI"',
     ["sets.main.default", "sets.main.help"], "ucs2", False),  # the English replies turn UCS-2
    (f'en: "{HELP_EN}"', f'en: "{LONG_HELP[:440]}"', ["sets.main.help"], "many_segments_with_languages", False),
    (f'en: "{HELP_EN}"', f'en: "{(LONG_HELP * 4)[:1520]} 999"', ["sets.main.help"], "too_long_with_languages",
     True),
])
def test_offers_grow_help_and_default_replies_and_are_checked(old, new, entries, code, refused):
    text = mutate(old, new, POLISH)
    if refused:
        problem = only_refusal(text)
        assert [(problem.entry, problem.code)] == [(entry, code) for entry in entries]
        return
    book = parse_book(text)
    assert [(w.entry, w.code) for w in book.warnings] == [(entry, code) for entry in entries]


def test_reply_lengths_without_the_offers_are_fine():
    """The lengths used above are under the limits on their own: the offers are what tips them over."""
    from gateway.keywords import sms

    assert sms.analyse(LONG_HELP[:440]).segments == 3
    assert sms.analyse((LONG_HELP * 4)[:1520] + " 999").segments == 10


# --- the engine ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "remembered", "kind", "reply", "language", "chosen"), [
    ("POLSKI", None, "help", f"{HELP_PL}\n{OFFER_EN}", "pl", "pl"),  # the language's own name
    ("polish", None, "help", f"{HELP_PL}\n{OFFER_EN}", "pl", "pl"),  # a word listed under it
    ("Polski!", "en", "help", f"{HELP_PL}\n{OFFER_EN}", "pl", "pl"),
    ("ofiara", None, "keyword", DVS_PL, "pl", "pl"),  # an alias listed under it
    ("polski dvs", None, "keyword", DVS_PL, "pl", "pl"),  # language word, then keyword
    ("DVS", "pl", "keyword", DVS_PL, "pl", None),  # remembered
    ("DVS", None, "keyword", DVS_EN, "en", None),
    ("STALKING", "pl", "keyword", STALKING_EN, "en", None),  # no Polish text: the set's language
    ("hello", "pl", "default", f"{DEFAULT_PL}\n{OFFER_EN}", "pl", None),
    ("hello", None, "default", f"{DEFAULT_EN}\n{OFFER_PL}", "en", None),
    ("HELP", "pl", "help", f"{HELP_PL}\n{OFFER_EN}", "pl", None),
    ("knife", "pl", "default", "W niebezpieczenstwie? Dzwon 999.", "pl", None),
    ("dvs knife", "pl", "keyword", f"W niebezpieczenstwie? Dzwon 999.\n\n{DVS_PL}", "pl", None),
    ("victim", "pl", "keyword", DVS_EN, "en", "en"),  # an alias listed under English switches back
    ("ENGLISH", "pl", "help", f"{HELP_EN}\n{OFFER_PL}", "en", "en"),
    ("ofiarq", None, "keyword", DVS_PL, "pl", None),  # a typo answers in its language but picks nothing
    ("DVS", "de", "keyword", DVS_EN, "en", None),  # a remembered language the set no longer offers
])
def test_engine_picks_and_uses_the_language(text, remembered, kind, reply, language, chosen):
    decision = engine.decide(BOOK, text, SHORT_CODE, language=remembered)
    assert (decision.kind, decision.reply, decision.language, decision.language_chosen) == (
        kind, reply, language, chosen)


ENGLISH_ONLY = mutate("    language: en\n", "    language: en\n    languages: {en: {name: English}}\n", BASE)


@pytest.mark.parametrize(("text", "file"), [(t, f) for t in ("HELP", "hello", "ENGLISH", "victim")
                                            for f in ("BASE", "WELSH", "ENGLISH_ONLY")])
def test_help_and_default_list_no_languages_and_nothing_is_picked_when_the_set_offers_one(text, file):
    book = parse_book({"BASE": BASE, "WELSH": WELSH, "ENGLISH_ONLY": ENGLISH_ONLY}[file])
    decision = engine.decide(book, text, SHORT_CODE, language="en")
    assert decision.reply in (HELP_EN, DEFAULT_EN, DVS_EN)
    assert decision.language_chosen is None
    assert engine.decide(book, "cefnogaeth", SHORT_CODE).language_chosen is None


# --- the store -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("days", [1, 30])
def test_store_keeps_the_pick_for_retention_days_under_a_digest(r, days):
    settings = Settings(secret_key="k", retention_days=days)
    languages.remember(r, settings, TEXTER, "pl")
    (key,) = r.keys("*")
    assert TEXTER[1:] not in key.decode() and TEXTER[-9:] not in key.decode()
    assert days * 86400 - 5 <= r.ttl(key) <= days * 86400
    assert languages.recall(r, settings, TEXTER) == "pl"
    assert languages.recall(r, settings, OTHER) is None
    assert languages.recall(r, Settings(secret_key="other", retention_days=days), TEXTER) is None
    assert languages.forget(r, settings, TEXTER, "en") is False  # not the pick it holds: kept
    assert languages.recall(r, settings, TEXTER) == "pl"
    assert languages.forget(r, settings, TEXTER, "pl") is True
    assert languages.recall(r, settings, TEXTER) is None


# --- end to end: webhook, worker, Twilio stand-in -------------------------------------------------------


@pytest.fixture
def polish_config(config: dict[str, Any], tmp_path) -> dict[str, Any]:
    path = tmp_path / "keywords.yaml"
    path.write_text(POLISH)
    return {**config, "KEYWORDS_FILE": str(path), "RETENTION_DAYS": "7"}


@pytest.fixture
def texts(polish_config, run_jobs, standin):
    """texts(body, sender=TEXTER) -> the bodies the stand-in received for that text, after the workers ran."""
    client = create_app(polish_config).test_client()

    def send(body: str, sender: str = TEXTER) -> list[str]:
        standin.clear()
        response = post_signed(client, "/sms", inbound_form(body, texter=sender))
        assert response.status_code == 200 and messages_in(response) == []
        run_jobs()
        return [m["body"] for m in standin.messages if m["to"] == sender]

    return send


@pytest.mark.parametrize("pick", ["POLSKI", "polish", "Ofiara"])
def test_a_pick_is_remembered_for_the_next_text_from_the_same_number(texts, pick):
    assert texts(pick) in ([f"{HELP_PL}\n{OFFER_EN}"], [DVS_PL])
    assert texts("DVS") == [DVS_PL]
    assert texts("hello") == [f"{DEFAULT_PL}\n{OFFER_EN}"]


def test_the_log_line_says_the_language_used_and_the_one_picked(texts, caplog):
    with caplog.at_level(logging.INFO, logger="signpost.webhook"):
        texts("POLSKI")
        texts("DVS")
    lines = [rec.getMessage() for rec in caplog.records if rec.getMessage().startswith("inbound ")]
    assert ["language=pl chosen=pl" in lines[0], "language=pl chosen=None" in lines[1]] == [True, True]


def test_another_number_is_unaffected(texts):
    texts("POLSKI")
    assert texts("DVS", sender=OTHER) == [DVS_EN]
    assert texts("DVS") == [DVS_PL]


@pytest.mark.parametrize("back", ["ENGLISH", "victim"])
def test_picking_another_language_switches(texts, back):
    texts("POLSKI")
    texts(back)
    assert texts("DVS") == [DVS_EN]


def test_a_keyword_without_the_picked_language_falls_back_to_the_set_language(texts):
    texts("POLSKI")
    assert texts("STALKING") == [STALKING_EN]
    assert texts("DVS") == [DVS_PL]  # still remembered


def test_the_pick_is_stored_for_retention_days_without_the_number_and_counted(texts, r):
    texts("POLSKI")
    (key,) = r.keys("signpost:lang:*")
    assert TEXTER[1:] not in key.decode()
    assert r.get(key) == b"pl"
    assert 7 * 86400 - 5 <= r.ttl(key) <= 7 * 86400
    assert all(TEXTER[-9:] not in k.decode() for k in r.keys("*"))
    (day,) = counters.read(r, [counters.day_of()]).values()
    assert day["lang:pl"] == 1


def test_stop_does_not_erase_the_pick(texts, r, polish_config):
    texts("POLSKI")
    texts("STOP")
    texts("START")
    settings = Settings(secret_key=polish_config["SECRET_KEY"])
    assert languages.recall(r, settings, TEXTER) == "pl"
    assert texts("DVS") == [DVS_PL]


def test_redis_down_inline_fallback_still_answers(polish_config, caplog):
    app = create_app({**polish_config, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_TIMEOUT": 0.5})
    client = app.test_client()
    with caplog.at_level(logging.ERROR, logger="signpost"):
        assert messages_in(post_signed(client, "/sms", inbound_form("DVS"))) == [DVS_EN]
        assert messages_in(post_signed(client, "/sms", inbound_form("POLSKI"))) == [f"{HELP_PL}\n{OFFER_EN}"]
    assert any("answering inline" in rec.getMessage() for rec in caplog.records)


@pytest.mark.parametrize(("keywords", "reads"), [("shipped", 0), ("polish", 1)])
def test_the_pick_is_read_only_where_the_set_offers_languages(config, polish_config, r, monkeypatch, keywords,
                                                              reads):
    calls = []
    real = languages.recall

    def counted(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(languages, "recall", counted)
    app = create_app(polish_config if keywords == "polish" else config)  # config: the shipped keywords.yaml
    assert post_signed(app.test_client(), "/sms", inbound_form("DVS")).status_code == 200
    assert len(calls) == reads


def test_a_failed_read_of_the_pick_answers_inline_in_the_set_language(polish_config, r, monkeypatch):
    def down(*args):
        raise redis.ConnectionError("gone")

    monkeypatch.setattr(languages, "recall", down)
    client = create_app(polish_config).test_client()
    assert messages_in(post_signed(client, "/sms", inbound_form("DVS"))) == [DVS_EN]


# --- the command line ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("args", "shown"), [
    (["DVS", "--language", "pl"], ["language: pl", "language chosen: (none", DVS_PL]),
    (["DVS", "--language", "PL"], ["language: pl", DVS_PL]),
    (["DVS"], ["language: en", DVS_EN]),
    (["POLSKI"], ["language: pl", "language chosen: pl", HELP_PL, OFFER_EN]),
])
def test_simulate_takes_and_shows_the_language(polish_config, args, shown):
    result = create_app(polish_config).test_cli_runner().invoke(args=["simulate", *args])
    assert result.exit_code == 0, result.output
    for part in shown:
        assert part in result.output


@pytest.mark.parametrize(("file", "offered"), [("polish", "en, pl"), ("shipped", "en")])
def test_simulate_refuses_a_language_the_set_does_not_offer(config, polish_config, file, offered):
    app = create_app(polish_config if file == "polish" else config)
    result = app.test_cli_runner().invoke(args=["simulate", "DVS", "--language", "de"])
    assert result.exit_code == 2
    assert f"(offered: {offered})" in result.output


# --- with opening hours ------------------------------------------------------------------------------------

POLISH_HOURS = mutate(
    """          pl: "Pomoc dla ofiar: zadzwon 0800 612 6505."
""",
    """          pl: "Pomoc dla ofiar: zadzwon 0800 612 6505."
        hours:
          monday: 09:30-16:00
        closed_reply:
          en: "Victim Services open {opens}. In danger, call 999."
          pl: "Pomoc dla ofiar: czynne {opens}. W niebezpieczenstwie dzwon 999."
""",
    POLISH,
)


@pytest.mark.parametrize(("text", "remembered", "reply", "chosen"), [
    ("DVS", "pl", "Pomoc dla ofiar: czynne 30/11 09:30. W niebezpieczenstwie dzwon 999.", None),
    ("POLSKI DVS", None, "Pomoc dla ofiar: czynne 30/11 09:30. W niebezpieczenstwie dzwon 999.", "pl"),
    ("DVS", None, "Victim Services open on Monday 30 November at 9:30am. In danger, call 999.", None),
])
def test_a_closed_service_answers_in_the_texters_language(text, remembered, reply, chosen):
    book = parse_book(POLISH_HOURS)
    decision = engine.decide(book, text, SHORT_CODE, at=datetime(2026, 11, 28, 3, 0, tzinfo=UTC),
                             language=remembered)
    assert (decision.open, decision.reply, decision.language_chosen) == (False, reply, chosen)
