"""Reading keywords.yaml into a KeywordBook, every refusal and warning placed at its line and entry.

Schema (keywords.yaml carries the same description, with comments, for the staff who edit it):

    version: 1                        # required, always 1
    publish_requires_approval: true   # optional, default false: a second console user approves each draft
                                      #   before it goes live (the organisation-wide settings are top-level)
    default_set: main                 # required: the set used for numbers not listed under `numbers`
    numbers:                          # optional: our receiving numbers
      "82228":                        # a short code (3-8 digits) or an E.164 number ("+447800002414")
        set: main                     # optional, defaults to default_set
        kind: short_code              # optional: short_code | long_code (defaults from the number's shape)
        rate_per_second: 30           # optional: sending rate (defaults: short code 30, long code 10)
        confirmations: gateway        # optional: gateway | twilio, who answers STOP/START/HELP (defaults:
                                      #   gateway on short codes, where Twilio does not; twilio on long codes)
        relay: true                   # optional: texts here go to people, not keyword matching
        relay_ack: TEXT               # required with relay: true, refused without it
        relay_unread: TEXT            # optional, relay lines only: sent once to a texter whose case is still
                                      #   unread when the second tier is alerted; {id} is the case id
        relay_failed: TEXT            # optional, relay lines only: sent when a forward to the control room
                                      #   failed after all retries (no placeholders)
        relay_read: TEXT              # optional, relay lines only: sent once when the control room
                                      #   acknowledges a case (ACK or the console); {id} is the case id
    danger:                           # required
      phrases: [help me, knife, kill*]   # or {en: [...], cy: [...]}; a trailing * matches word starts
      reply: TEXT                     # the preamble put before any reply when a phrase is found
    sets:                             # required: at least one
      main:
        language: en                  # optional, default en: the language every text falls back to
        languages:                    # optional: languages a texter can pick, each in its own words; when
          en: {name: English}         #   present it lists the set's language too, and every other one
          pl:                         #   needs help and default texts in it
            name: Polski              # required: the language's own name (one word: texting it picks it)
            words: [POLSKI, POLISH]   # optional: more words that pick it
            offer: "Polski: wyslij POLSKI"   # optional, default "<name>: <first word>": the line listing it
        keywords:
          DVS:
            reply: TEXT
            aliases: [VICTIM, SUPPORT]   # optional; or {en: [VICTIM], cy: [CEFNOGAETH]} (these pick the language)
          STALKING:
            reply: TEXT               # sent while the service is open
            hours:                    # optional: opening hours, London time; with closed_reply, never alone
              monday: 09:30-16:00     # monday .. sunday: "09:00-12:30, 13:30-17:00", a list of ranges,
              wednesday: 13:00-16:00  #   "all day" or "closed"; a day not given is closed
              bank_holidays: closed   # optional: closed (default) or open, England and Wales bank holidays
            closed_reply: TEXT        # sent while it is closed, in the same languages as reply; must say
                                      #   {opens} (filled with "today at 9:30am", "on Monday 30 November at
                                      #   9:30am") and mention 999
        default: TEXT                 # required: reply to texts matching nothing; must mention 999
        help: TEXT                    # required: reply to HELP / INFO; must mention 999
        optout_reply: TEXT            # optional: confirmation after STOP (sent where the gateway confirms)
        optin_reply: TEXT             # optional: confirmation after START
        danger_footer: TEXT           # optional: added after the danger preamble when no keyword matched

TEXT is a string or a mapping of language code to string ({en: "...", cy: "..."}); a mapping must include
the set's language. Replies are trimmed and checked by gateway.keywords.rules: over 3 SMS parts warns, over 10
is refused, including the danger preamble + blank line + each keyword reply, and the help and default replies
with the other languages' offers under them; phone numbers in replies must be valid UK numbers. A closed_reply
is counted with {opens} as long as it can be (hours.LONGEST_OPENS); {opens} in any other reply, or another
{placeholder} in a closed_reply, is refused. relay_ack, relay_unread, relay_failed and relay_read must mention
999, like default and help; relay_unread and relay_read are counted with {id} as long as a case id (6
characters), and any other {placeholder} in relay_unread, relay_failed or relay_read is refused. Without
relay_unread, relay_failed or relay_read the built-in texts of gateway/relay/line.py are sent.

A texter picks a language by texting one of its words (alone, or before a keyword), or a keyword alias listed
under it; the gateway remembers the choice for their number (gateway.texts.languages) and the engine answers in
it wherever a text has that language, else in the set's language. Language words share the set's words with
keywords and aliases: a word used twice is refused.

Caps, far above any real file (the shipped one has 5 keywords), so that a file staff get wrong is refused with
one line instead of stalling the web requests that re-read a published version: at most 1 MB (MAX_FILE_BYTES),
UTF-8; nested at most 10 levels deep, the file itself being the first (the format needs 7); no YAML anchors or
aliases (&name, *name); at most 20 sets, 50 numbers, 500 danger phrases, and per set 5,000 keywords and 20,000
keywords and aliases together; a keyword or alias at most 40 letters (text.MAX_WORD: longer words are never
matched).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from os import PathLike
from types import MappingProxyType
from typing import Any

import yaml
from yaml.error import Mark
from yaml.events import AliasEvent, MappingEndEvent, MappingStartEvent, SequenceEndEvent, SequenceStartEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gateway.keywords import rules
from gateway.keywords.book import (
    CASE_ID_TEXTS,
    CONFIRMATIONS,
    DEFAULT_RATES,
    RELAY_TEXTS,
    SHORT_CODE,
    DangerPhrase,
    Keyword,
    KeywordBook,
    KeywordSet,
    Language,
    NumberConfig,
    Texts,
    WordEntry,
    canonical_number,
)
from gateway.keywords.hours import DAYS, Hours, HoursError, Span, parse_day
from gateway.keywords.nodes import Fields, NodeReader, line_of
from gateway.keywords.problems import KeywordFileError, Problem
from gateway.keywords.text import MAX_WORD, RESERVED_WORDS, fold, normalise

MAX_FILE_BYTES = 1_000_000
MAX_DEPTH = 10  # nested mappings and lists, the file itself the first
MAX_SETS = 20
MAX_NUMBERS = 50
MAX_PHRASES = 500
MAX_KEYWORDS = 5_000  # in one set
MAX_WORDS = 20_000  # keywords and aliases in one set
MAX_LANGUAGES = 20  # offered in one set

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_ONE_WORD = re.compile(r"^[^\W_]+$")
BANK_HOLIDAYS = ("closed", "open")
_INT, _FLOAT, _BOOL = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"


def _freeze(texts: Mapping[str, str] | None) -> Texts | None:
    return MappingProxyType(dict(texts)) if texts else None


def _at(entry: str, field: str, language: str, set_language: str) -> str:
    return f"{entry}.{field}" if language == set_language else f"{entry}.{field}.{language}"


# (entry, node, language, text) of each reply that can follow the danger preamble.
_Followers = list[tuple[str, Node, str, str]]


def _read_set(reader: NodeReader, name: str, key: Node, node: Node) -> tuple[KeywordSet, _Followers] | None:
    entry = f"sets.{name}"
    fields = reader.mapping(
        node, entry, required=("keywords", "default", "help"),
        optional=("language", "languages", "optout_reply", "optin_reply", "danger_footer"), key=key,
    )
    if fields is None:
        return None
    language = "en"
    if "language" in fields:
        language = reader.language(fields["language"][1], f"{entry}.language") or "en"
    texts: dict[str, dict[str, str]] = {}
    nodes: dict[str, dict[str, Node]] = {}
    for part in ("default", "help", "optout_reply", "optin_reply", "danger_footer"):
        if part in fields:
            texts[part], nodes[part] = reader.texts(fields[part][1], f"{entry}.{part}", language)
            for lang, text in texts[part].items():
                reader.report(nodes[part][lang], _at(entry, part, lang, language),
                              rules.reply(text, needs_999=part in ("default", "help")))
    language_words: dict[str, str] = {}

    keywords: dict[str, Keyword] = {}
    lookup: dict[str, WordEntry] = {}
    owners: dict[str, tuple[str, str, int | None]] = {}  # folded word -> (keyword, match, line)
    followers: _Followers = []

    def claim(word: str, node: Node, where: str, keyword: str, lang: str, match: str, listed: bool = False) -> None:
        folded = fold(word)
        if not _ONE_WORD.match(folded):
            reader.refuse(node, where, "not_one_word", word=word)
        elif len(folded) > MAX_WORD:
            reader.refuse(node, where, "word_too_long", word=word, limit=MAX_WORD)
        elif folded in RESERVED_WORDS:
            reader.refuse(node, where, "reserved_word", word=word)
        elif folded in owners:
            owner, how, line = owners[folded]
            reader.refuse(node, where, "word_taken", word=word, keyword=owner, match=how, line=line,
                          claimant=keyword, claimant_match=match)
        else:
            owners[folded] = (keyword, match, line_of(node))
            if match == "language":
                language_words[folded] = lang
            else:
                lookup[folded] = WordEntry(folded, keyword, lang, match, frozenset(folded), listed)

    keyword_fields = None
    if "keywords" in fields:
        keyword_fields = reader.mapping(fields["keywords"][1], f"{entry}.keywords", any_keys=True)
    for kname, (key, value) in (keyword_fields or {}).items():
        where = f"{entry}.keywords.{kname}"
        claim(kname, key, where, kname, language, "exact")
        kfields = reader.mapping(value, where, required=("reply",), optional=("aliases", "hours", "closed_reply"),
                                 key=key)
        if kfields is None:
            continue
        replies, rnodes = ({}, {})
        if "reply" in kfields:
            replies, rnodes = reader.texts(kfields["reply"][1], f"{where}.reply", language)
            for lang, text in replies.items():
                reader.report(rnodes[lang], _at(where, "reply", lang, language), rules.reply(text))
                followers.append((_at(where, "reply", lang, language), rnodes[lang], lang, text))
        opening, closed = _read_hours(reader, kfields, where, kname, language, replies, followers)
        aliases: dict[str, list[str]] = {}
        if "aliases" in kfields:
            by_language = isinstance(kfields["aliases"][1], MappingNode)
            listed = reader.words_by_language(kfields["aliases"][1], f"{where}.aliases", language)
            for word, lang, wnode, at in listed:
                if lang is not None:
                    claim(word, wnode, at, kname, lang, "alias", by_language)
                    aliases.setdefault(lang, []).append(word)
            for lang in aliases:
                if replies and lang not in replies:
                    reader.warn(kfields["aliases"][1], f"{where}.aliases", "alias_without_reply",
                                language=lang, fallback=language)
        if replies:
            keywords[kname] = Keyword(kname, MappingProxyType(replies),
                                      MappingProxyType({k: tuple(v) for k, v in aliases.items()}),
                                      hours=opening, closed_replies=_freeze(closed) if opening else None)

    offered: dict[str, Language] = {}
    if "languages" in fields:
        offered = _read_languages(reader, entry, fields["languages"], language, claim)
    for part in ("default", "help"):
        if part not in fields or len(offered) < 2:
            continue
        for lang in offered:
            if lang not in texts[part]:
                reader.refuse(fields[part][1], f"{entry}.{part}", "no_language_text", language=lang)
        for lang, text in texts[part].items():
            line = "\n".join(o.offer for code, o in offered.items() if code != lang)
            reader.report(nodes[part][lang], _at(entry, part, lang, language), rules.with_languages(line, text))

    if "default" in fields:
        default_text = texts["default"].get(language, "")
        reader.report(fields["default"][1], f"{entry}.default", rules.default_mentions(default_text, keywords))
    for finding in rules.close_words(lookup):
        first = finding.args["keyword"]
        node_of = (keyword_fields or {}).get(first)
        reader.report(node_of[0] if node_of else None, f"{entry}.keywords.{first}", [finding])

    targets: dict[int, list[WordEntry]] = {}
    for word_entry in lookup.values():
        if not word_entry.word.isdigit():
            targets.setdefault(len(word_entry.word), []).append(word_entry)
    kset = KeywordSet(
        name=name,
        language=language,
        keywords=MappingProxyType(keywords),
        default=MappingProxyType(texts.get("default") or {language: ""}),
        help=MappingProxyType(texts.get("help") or {language: ""}),
        optout_reply=_freeze(texts.get("optout_reply")),
        optin_reply=_freeze(texts.get("optin_reply")),
        danger_footer=_freeze(texts.get("danger_footer")),
        lookup=MappingProxyType(lookup),
        typo_targets=MappingProxyType({n: tuple(v) for n, v in targets.items()}),
        languages=MappingProxyType(offered),
        language_words=MappingProxyType(language_words),
    )
    for lang, text in texts.get("danger_footer", {}).items():
        place = _at(entry, "danger_footer", lang, language)
        followers.append((place, nodes["danger_footer"][lang], lang, text))
    return kset, followers


def _read_languages(
    reader: NodeReader, entry: str, field: tuple[Node, Node], set_language: str, claim: Callable[..., None],
) -> dict[str, Language]:
    """A set's `languages`: each language's name, words (claimed like keywords) and offer line."""
    where = f"{entry}.languages"
    key, node = field
    listed = reader.mapping(node, where, any_keys=True, key=key)
    if listed is None:
        return {}
    if len(listed) > MAX_LANGUAGES:
        reader.refuse(key, where, "too_many", what="languages", count=len(listed), limit=MAX_LANGUAGES)
        return {}
    offered: dict[str, Language] = {}
    for name, (lkey, value) in listed.items():
        code = reader.language(lkey, f"{where}.{name}")
        at = f"{where}.{name}"
        lfields = reader.mapping(value, at, required=("name",), optional=("words", "offer"), key=lkey)
        if code is None or lfields is None or "name" not in lfields:
            continue
        own_name = reader.text(lfields["name"][1], f"{at}.name")
        if own_name is None:
            continue
        words: list[tuple[str, Node, str]] = []
        if _ONE_WORD.match(fold(own_name)):
            words.append((own_name, lfields["name"][1], f"{at}.name"))
        if "words" in lfields:
            words += reader.word_list(lfields["words"][1], f"{at}.words")
        seen: set[str] = set()
        kept: list[str] = []
        for word, wnode, wat in words:
            if fold(word) in seen:  # the name written again under words
                continue
            seen.add(fold(word))
            claim(word, wnode, wat, code, code, "language")
            kept.append(word)
        if not kept:
            reader.refuse(lfields["name"][1], at, "needs_one", what="one-word name or word under words")
            continue
        offer = f"{own_name}: {kept[0].upper()}"
        if "offer" in lfields:
            offer = reader.text(lfields["offer"][1], f"{at}.offer") or offer
            if not any(fold(word) in normalise(offer).split() for word in kept):
                reader.warn(lfields["offer"][1], f"{at}.offer", "offer_without_word", words=tuple(kept))
        offered[code] = Language(code, own_name, tuple(kept), offer)
    if offered and set_language not in offered:
        reader.refuse(key, where, "no_set_language", language=set_language)
    return offered


def _read_hours(
    reader: NodeReader, kfields: Fields, where: str, kname: str, language: str, replies: Mapping[str, str],
    followers: _Followers,
) -> tuple[Hours | None, dict[str, str]]:
    """A keyword's `hours` and `closed_reply`, each refused without the other."""
    opening: Hours | None = None
    closed: dict[str, str] = {}
    if "hours" in kfields:
        opening = _read_week(reader, kfields["hours"][1], f"{where}.hours", kname)
        if "closed_reply" not in kfields:
            reader.refuse(kfields["hours"][0], f"{where}.closed_reply", "missing_field", field="closed_reply",
                          what="the reply sent while the service is closed")
    if "closed_reply" not in kfields:
        return opening, closed
    key, node = kfields["closed_reply"]
    if "hours" not in kfields:
        reader.refuse(key, f"{where}.closed_reply", "closed_without_hours")
    closed, nodes = reader.texts(node, f"{where}.closed_reply", language)
    for lang, text in closed.items():
        place = _at(where, "closed_reply", lang, language)
        reader.report(nodes[lang], place, rules.closed_reply(text))
        followers.append((place, nodes[lang], lang, rules.with_longest_opens(text)))
    if replies and closed:
        for lang in sorted(set(replies) ^ set(closed)):
            reader.refuse(node, f"{where}.closed_reply", "closed_languages", language=lang,
                          has="reply" if lang in replies else "closed_reply")
    return opening, closed


def _read_week(reader: NodeReader, node: Node, entry: str, name: str) -> Hours | None:
    """hours: {monday: "09:30-16:00", ..., bank_holidays: closed}; a day not given is closed."""
    fields = reader.mapping(node, entry, optional=(*DAYS, "bank_holidays"))
    if fields is None:
        return None
    week: list[tuple[Span, ...]] = []
    readable = True
    for day in DAYS:
        if day not in fields:
            week.append(())
            continue
        value = fields[day][1]
        if isinstance(value, SequenceNode):
            ranges = [reader.text(item, f"{entry}.{day}[{i}]") for i, item in enumerate(value.value)]
            if not ranges:
                reader.refuse(value, f"{entry}.{day}", "needs_one", what="time range (or write closed)")
            text = None if None in ranges or not ranges else ", ".join(r for r in ranges if r)
        else:
            text = reader.text(value, f"{entry}.{day}")
        try:
            week.append(parse_day(text) if text is not None else ())
        except HoursError as exc:
            reader.refuse(value, f"{entry}.{day}", "bad_hours", detail=str(exc))
            text = None
        readable = readable and text is not None
    bank_holidays_open = False
    if "bank_holidays" in fields:
        value = fields["bank_holidays"][1]
        choice = reader.text(value, f"{entry}.bank_holidays")
        if choice is not None and choice not in BANK_HOLIDAYS:
            reader.refuse(value, f"{entry}.bank_holidays", "not_a_choice", value=choice, choices=BANK_HOLIDAYS)
        bank_holidays_open = choice == "open"
    if not readable:
        return None
    if not any(week):
        reader.refuse(node, entry, "never_open")
        return None
    return Hours(tuple(week), bank_holidays_open=bank_holidays_open, name=name)


def _read_danger(
    reader: NodeReader, key: Node, node: Node, languages: Iterable[str], default_language: str
) -> tuple[list[DangerPhrase], dict[str, str]]:
    fields = reader.mapping(node, "danger", required=("phrases", "reply"), key=key)
    if fields is None:
        return [], {}
    phrases: list[DangerPhrase] = []
    seen: dict[tuple[str, bool], int | None] = {}
    if "phrases" in fields:
        items = reader.words_by_language(fields["phrases"][1], "danger.phrases", None)
        if not items and isinstance(fields["phrases"][1], (SequenceNode, MappingNode)):
            reader.refuse(fields["phrases"][1], "danger.phrases", "needs_one", what="phrase")
        for text, language, pnode, where in items:
            prefix = text.endswith("*")
            words = normalise(text.rstrip("*"))
            if not words or "*" in text.rstrip("*"):
                reader.refuse(pnode, where, "bad_phrase", phrase=text)
                continue
            if (words, prefix) in seen:
                reader.warn(pnode, where, "repeated_phrase", phrase=text, line=seen[(words, prefix)])
                continue
            seen[(words, prefix)] = line_of(pnode)
            phrases.append(DangerPhrase(text, words, language, prefix))
    replies: dict[str, str] = {}
    rnodes: dict[str, Node] = {}
    if "reply" in fields:
        rnode = fields["reply"][1]
        if isinstance(rnode, MappingNode):
            replies, rnodes = reader.texts(rnode, "danger.reply", None)
            for language in sorted(set(languages) - set(replies)):
                reader.refuse(rnode, "danger.reply", "no_language_text", language=language)
        else:
            text = reader.text(rnode, "danger.reply")
            if text is not None:
                # One text for every language the book answers in.
                replies = {language: text for language in {default_language, *languages}}
                rnodes = {language: rnode for language in replies}
        checked: set[str] = set()
        for language, text in replies.items():
            if text not in checked:
                checked.add(text)
                place = f"danger.reply.{language}" if isinstance(rnode, MappingNode) else "danger.reply"
                reader.report(rnodes[language], place, rules.reply(text, needs_999=True))
    return phrases, replies


def _read_number(
    reader: NodeReader, key_node: ScalarNode, node: Node, default_set: str, sets: Mapping[str, KeywordSet],
) -> NumberConfig | None:
    raw = key_node.value.strip()
    entry = f"numbers.{raw}"
    if SHORT_CODE.match(raw):
        number, shape = raw, "short_code"
    elif _E164.match(raw) and rules.valid_phone(raw):
        number, shape = raw, "long_code"
    else:
        canonical = canonical_number(raw)
        suggestion = canonical if canonical.startswith("+") and canonical != raw else None
        reader.refuse(key_node, entry, "bad_receiving_number", number=raw, suggestion=suggestion)
        return None
    fields = reader.mapping(node, entry, optional=("set", "kind", "rate_per_second", "confirmations", "relay",
                                                   "relay_ack", *RELAY_TEXTS.values()), key=key_node)
    if fields is None:
        return None
    set_name = default_set
    if "set" in fields:
        set_name = reader.text(fields["set"][1], f"{entry}.set") or default_set
        if set_name not in sets:
            reader.refuse(fields["set"][1], f"{entry}.set", "unknown_set", name=set_name, have=tuple(sets))
            return None
    kind = shape
    if "kind" in fields:
        value = reader.text(fields["kind"][1], f"{entry}.kind")
        if value is not None and value not in DEFAULT_RATES:
            reader.refuse(fields["kind"][1], f"{entry}.kind", "not_a_choice", value=value,
                          choices=tuple(DEFAULT_RATES))
        elif value is not None and value != shape:
            reader.refuse(fields["kind"][1], f"{entry}.kind", "kind_mismatch", kind=value, number=raw, shape=shape)
    rate = DEFAULT_RATES[kind]
    if "rate_per_second" in fields:
        rnode = fields["rate_per_second"][1]
        if not (isinstance(rnode, ScalarNode) and rnode.tag in (_INT, _FLOAT)):
            reader.refuse(rnode, f"{entry}.rate_per_second", "not_a_number")
        else:
            rate = float(yaml.safe_load(rnode.value))
            if not 0 < rate <= 1000:
                reader.refuse(rnode, f"{entry}.rate_per_second", "out_of_range", value=rnode.value, above=0,
                              at_most=1000)
    confirmations = ""
    if "confirmations" in fields:
        value = reader.text(fields["confirmations"][1], f"{entry}.confirmations")
        if value is not None and value not in CONFIRMATIONS:
            reader.refuse(fields["confirmations"][1], f"{entry}.confirmations", "not_a_choice", value=value,
                          choices=CONFIRMATIONS)
        elif value is not None:
            confirmations = value
    relay: bool | None = False
    if "relay" in fields:
        rnode = fields["relay"][1]
        if not (isinstance(rnode, ScalarNode) and rnode.tag == _BOOL):
            reader.refuse(rnode, f"{entry}.relay", "not_a_bool")
            relay = None  # unknown: relay_ack can be neither required nor refused
        else:
            relay = bool(yaml.safe_load(rnode.value))
    set_language = sets[set_name].language if set_name in sets else "en"
    ack: dict[str, str] = {}
    if relay is None:
        pass
    elif "relay_ack" in fields:
        if not relay:
            reader.refuse(fields["relay_ack"][0], f"{entry}.relay_ack", "relay_only")
        else:
            ack, nodes = reader.texts(fields["relay_ack"][1], f"{entry}.relay_ack", set_language)
            for lang, text in ack.items():
                reader.report(nodes[lang], _at(entry, "relay_ack", lang, set_language),
                              rules.reply(text, needs_999=True))
    elif relay:
        reader.refuse(key_node, entry, "missing_field", field="relay_ack",
                      what="the text sent back on a relay line")
    # Optional: versions published before these fields existed lack them, and the built-in texts are sent.
    others: dict[str, dict[str, str]] = {}
    for name in RELAY_TEXTS.values():
        if relay is None or name not in fields:
            continue
        if not relay:
            reader.refuse(fields[name][0], f"{entry}.{name}", "relay_only")
            continue
        others[name], nodes = reader.texts(fields[name][1], f"{entry}.{name}", set_language)
        for lang, text in others[name].items():
            reader.report(nodes[lang], _at(entry, name, lang, set_language),
                          rules.relay_text(text, case_id=name in CASE_ID_TEXTS))
    return NumberConfig(number, set_name, kind, rate, bool(relay), _freeze(ack),
                        relay_unread=_freeze(others.get("relay_unread")),
                        relay_failed=_freeze(others.get("relay_failed")),
                        relay_read=_freeze(others.get("relay_read")), confirmations=confirmations)


def _syntax_problem(exc: yaml.YAMLError, source: str, text: str) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "not valid YAML"
        if exc.context and exc.problem:
            started = exc.context_mark
            on = f" on line {started.line + 1}" if started and mark and started.line != mark.line else ""
            what += f" ({exc.context}{on})"
        if "'\\t'" in what:  # PyYAML shows the tab as '\t'
            what += "; indent with spaces, not tabs"
        return Problem(source, mark.line + 1 if mark else None, "", "yaml_syntax", {"detail": what})
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        if isinstance(exc.character, int):
            return Problem(source, line, "", "yaml_character", {"character": exc.character})
        return Problem(source, line, "", "yaml_unreadable", {"detail": exc.reason})
    return Problem(source, None, "", "yaml_error", {"detail": str(exc)})


class _Refused(Exception):
    """A refusal of the whole file found while composing it."""

    def __init__(self, code: str, mark: Mark | None, **args: Any) -> None:
        super().__init__(code)
        self.code, self.line, self.args_ = code, mark.line + 1 if mark else None, args


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing anchors, aliases and deep nesting as it composes."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        # PyYAML composes recursively: thousands of levels end in RecursionError, so stop at MAX_DEPTH. Aliases
        # would let a few lines stand for billions of entries; the format never needs them.
        event = self.peek_event()
        if event.anchor is not None:
            raise _Refused("yaml_alias", event.start_mark)
        nested = isinstance(event, (MappingStartEvent, SequenceStartEvent))
        if nested:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _Refused("too_deep", event.start_mark, limit=MAX_DEPTH)
        try:
            return super().compose_node(parent, index)
        finally:
            if nested:
                self._depth -= 1


def _compose(text: str) -> Node | None:
    """The file's node tree, anchors, aliases and deep nesting refused, with libyaml when PyYAML has it."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is None:
        return yaml.compose(text, Loader=_Loader)
    try:
        # libyaml composes recursively too, so the nesting and aliases are checked on its event stream (flat)
        # first. The pure-Python composer takes four times as long on a 2,000-keyword file (bench/keywords.py).
        depth = 0
        for event in yaml.parse(text, Loader=loader):
            if getattr(event, "anchor", None) is not None or isinstance(event, AliasEvent):
                raise _Refused("yaml_alias", event.start_mark)
            if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _Refused("too_deep", event.start_mark, limit=MAX_DEPTH)
            elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
                depth -= 1
        return yaml.compose(text, Loader=loader)
    except yaml.YAMLError:
        # A broken file: PyYAML's own parser gives the wording (and the marks) staff see for every other error.
        return yaml.compose(text, Loader=_Loader)


def _fields(node: Node | None) -> dict[str, tuple[Node, Node]]:
    """A mapping node's (key, value) by name, for a first look before the full walk; {} for anything else."""
    if not isinstance(node, MappingNode):
        return {}
    return {key.value.strip(): (key, value) for key, value in node.value if isinstance(key, ScalarNode)}


def _listed(node: Node | None) -> int:
    """How many items a list, or a {language: list}, holds."""
    if isinstance(node, SequenceNode):
        return len(node.value)
    if isinstance(node, MappingNode):
        return sum(len(value.value) for _, value in node.value if isinstance(value, SequenceNode))
    return 0


def _over_caps(root: Node, source: str) -> list[Problem]:
    """Entry counts over their caps, found before the checks whose time grows with them."""
    problems: list[Problem] = []

    def cap(key: Node, entry: str, what: str, count: int, limit: int) -> None:
        if count > limit:
            problems.append(Problem(source, line_of(key), entry, "too_many",
                                    {"what": what, "count": count, "limit": limit}))

    top = _fields(root)
    if "numbers" in top and isinstance(top["numbers"][1], MappingNode):
        cap(top["numbers"][0], "numbers", "numbers", len(top["numbers"][1].value), MAX_NUMBERS)
    phrases = _fields(top["danger"][1]).get("phrases") if "danger" in top else None
    if phrases is not None:
        cap(phrases[0], "danger.phrases", "danger phrases", _listed(phrases[1]), MAX_PHRASES)
    if "sets" in top and isinstance(top["sets"][1], MappingNode):
        cap(top["sets"][0], "sets", "sets", len(top["sets"][1].value), MAX_SETS)
        for name, (_, node) in _fields(top["sets"][1]).items():
            keywords = _fields(node).get("keywords")
            if keywords is None or not isinstance(keywords[1], MappingNode):
                continue
            entries = keywords[1].value
            cap(keywords[0], f"sets.{name}.keywords", "keywords", len(entries), MAX_KEYWORDS)
            words = len(entries) + sum(_listed(_fields(value).get("aliases", (None, None))[1]) for _, value in entries)
            cap(keywords[0], f"sets.{name}.keywords", "keywords and aliases", words, MAX_WORDS)
    return problems


def parse_book(text: str, source: str = "keywords.yaml") -> KeywordBook:
    """Check and index the keywords YAML `text`; KeywordFileError lists every problem with its line."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise KeywordFileError([Problem(source, None, "", "too_large", {"limit": MAX_FILE_BYTES})])
    try:
        root = _compose(text)
    except yaml.YAMLError as exc:
        raise KeywordFileError([_syntax_problem(exc, source, text)]) from None
    except _Refused as refused:
        raise KeywordFileError([Problem(source, refused.line, "", refused.code, refused.args_)]) from None
    reader = NodeReader(source)
    if root is None:
        reader.refuse(None, "", "empty_file")
        raise KeywordFileError(reader.problems)
    over = _over_caps(root, source)
    if over:
        raise KeywordFileError(over)
    fields = reader.mapping(root, "", required=("version", "default_set", "danger", "sets"),
                            optional=("numbers", "publish_requires_approval"))
    if fields is None:
        raise KeywordFileError(reader.problems)

    version = 0
    if "version" in fields:
        vnode = fields["version"][1]
        if isinstance(vnode, ScalarNode) and vnode.tag == _INT and vnode.value == "1":
            version = 1
        else:
            reader.refuse(vnode, "version", "unknown_version", value=getattr(vnode, "value", ""))

    requires_approval = False
    if "publish_requires_approval" in fields:
        anode = fields["publish_requires_approval"][1]
        if isinstance(anode, ScalarNode) and anode.tag == _BOOL:
            requires_approval = bool(yaml.safe_load(anode.value))
        else:
            reader.refuse(anode, "publish_requires_approval", "not_a_bool")

    sets: dict[str, KeywordSet] = {}
    followers: dict[str, _Followers] = {}
    if "sets" in fields:
        set_fields = reader.mapping(fields["sets"][1], "sets", any_keys=True)
        if set_fields is not None and not set_fields:
            reader.refuse(fields["sets"][1], "sets", "needs_one", what="set")
        for name, (key, node) in (set_fields or {}).items():
            read = _read_set(reader, name, key, node)
            if read is not None:
                sets[name], followers[name] = read

    default_set = ""
    if "default_set" in fields:
        default_set = reader.text(fields["default_set"][1], "default_set") or ""
        if default_set and sets and default_set not in sets:
            reader.refuse(fields["default_set"][1], "default_set", "unknown_set", name=default_set,
                          have=tuple(sets))
    default_language = sets[default_set].language if default_set in sets else "en"

    languages = {kset.language for kset in sets.values()}
    phrases: list[DangerPhrase] = []
    danger_reply: dict[str, str] = {}
    if "danger" in fields:
        phrases, danger_reply = _read_danger(reader, *fields["danger"], languages, default_language)
    if danger_reply:
        for name, kset in sets.items():
            for place, node, language, reply in followers[name]:
                preamble = danger_reply.get(language) or danger_reply.get(kset.language, "")
                reader.report(node, place, rules.with_danger_preamble(preamble, reply))

    numbers: dict[str, NumberConfig] = {}
    if "numbers" in fields:
        listed = reader.mapping(fields["numbers"][1], "numbers", any_keys=True) or {}
        for raw, (key, node) in listed.items():
            config = _read_number(reader, key, node, default_set, sets)
            if config is None:
                continue
            if config.number in numbers:
                reader.refuse(key, f"numbers.{raw}", "listed_twice", number=config.number)
                continue
            numbers[config.number] = config

    reader.problems.sort(key=lambda p: p.line or 0)
    reader.warnings.sort(key=lambda p: p.line or 0)
    if reader.problems:
        raise KeywordFileError(reader.problems, reader.warnings)
    return KeywordBook(
        version=version,
        default_set=default_set,
        sets=MappingProxyType(sets),
        numbers=MappingProxyType(numbers),
        danger_phrases=tuple(phrases),
        danger_reply=MappingProxyType(danger_reply),
        warnings=tuple(reader.warnings),
        source=source,
        source_text=text,
        publish_requires_approval=requires_approval,
    )


def read_text(path: str | PathLike[str]) -> str:
    """The text of the keywords file at `path` (UTF-8, a leading byte order mark dropped); else KeywordFileError."""
    source = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)  # never the whole of a huge file or a device
    except OSError as exc:
        error = exc.strerror or str(exc)
        raise KeywordFileError([Problem(source, None, "", "unreadable_file", {"error": error})]) from None
    if len(data) > MAX_FILE_BYTES:
        raise KeywordFileError([Problem(source, None, "", "too_large", {"limit": MAX_FILE_BYTES})])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise KeywordFileError([Problem(source, line, "", "not_utf8")]) from None


def load_book(path: str | PathLike[str]) -> KeywordBook:
    """Read and check the keywords file at `path` (UTF-8)."""
    return parse_book(read_text(path), str(path))
