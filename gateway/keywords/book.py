"""The keyword book: keywords.yaml read, checked line by line, and indexed for the engine.

Schema (keywords.yaml carries the same description, with comments, for the staff who edit it):

    version: 1                        # required, always 1
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
    danger:                           # required
      phrases: [help me, knife, kill*]   # or {en: [...], cy: [...]}; a trailing * matches word starts
      reply: TEXT                     # the preamble put before any reply when a phrase is found
    sets:                             # required: at least one
      main:
        language: en                  # optional, default en: the language every text falls back to
        keywords:
          DVS:
            reply: TEXT
            aliases: [VICTIM, SUPPORT]   # optional; or {en: [VICTIM], cy: [CEFNOGAETH]}
        default: TEXT                 # required: reply to texts matching nothing; must mention 999
        help: TEXT                    # required: reply to HELP / INFO; must mention 999
        optout_reply: TEXT            # optional: confirmation after STOP (sent where the gateway confirms)
        optin_reply: TEXT             # optional: confirmation after START
        danger_footer: TEXT           # optional: added after the danger preamble when no keyword matched

TEXT is a string or a mapping of language code to string ({en: "...", cy: "..."}); a mapping must include
the set's language. Replies are trimmed; over 3 SMS parts warns, over 10 is refused, including the danger
preamble + blank line + each keyword reply. Phone numbers in replies must be valid UK numbers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from os import PathLike
from types import MappingProxyType

import phonenumbers
import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from gateway.keywords import sms
from gateway.keywords.text import RESERVED_WORDS, fold, normalise, typo_distance, typo_limit

Texts = Mapping[str, str]  # language code -> text

MAX_SEGMENTS = 10
WARN_SEGMENTS = 3
DEFAULT_RATES = {"short_code": 30.0, "long_code": 10.0}
# Who answers STOP, START and HELP. Twilio does on long codes, not on standalone short codes
# (https://help.twilio.com/hc/en-us/articles/223181748-Customizing-HELP-STOP-messages-for-SMS-filtering).
CONFIRMATIONS = ("gateway", "twilio")
DEFAULT_CONFIRMATIONS = {"short_code": "gateway", "long_code": "twilio"}
SERVICE_NUMBERS = frozenset({"999", "112", "101", "111"})

_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
_SHORT_CODE = re.compile(r"^\d{3,8}$")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_ONE_WORD = re.compile(r"^[^\W_]+$")
# Digit groups separated by single spaces or hyphens, not glued to letters ("999bsl.co.uk" is no number).
_DIGIT_RUN = re.compile(r"(?<![\w.@/+])\+?\(?\d[\d()]*(?:[ -]\(?\d[\d()]*)*(?![\w@])")
_NUMBER_PUNCTUATION = re.compile(r"[\s\-().]")
_999 = re.compile(r"\b999\b")  # not 999bsl.co.uk
_INT, _FLOAT, _BOOL = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool"


@dataclass(frozen=True)
class Problem:
    """One refusal or warning about the keywords file, pointing at a line and an entry."""

    source: str
    line: int | None
    entry: str
    reason: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.entry}: {self.reason}" if self.entry else f"{where}: {self.reason}"


class KeywordFileError(ValueError):
    """The keywords file was refused; `problems` lists every reason, one line each in str()."""

    def __init__(self, problems: Iterable[Problem], warnings: Iterable[Problem] = ()) -> None:
        self.problems = list(problems)
        self.warnings = list(warnings)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class WordEntry:
    """A folded word that selects a keyword, in a language."""

    word: str
    keyword: str
    language: str
    match: str  # "exact" (the keyword itself) or "alias"
    letters: frozenset[str] = frozenset()  # the word's characters, a cheap first test for typos


@dataclass(frozen=True)
class Keyword:
    """One keyword: its canonical name, replies by language and aliases by language."""

    name: str
    replies: Texts
    aliases: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class KeywordSet:
    """The keywords and fixed replies used on one or more of our numbers."""

    name: str
    language: str
    keywords: Mapping[str, Keyword]
    default: Texts
    help: Texts
    optout_reply: Texts | None
    optin_reply: Texts | None
    danger_footer: Texts | None
    lookup: Mapping[str, WordEntry]  # folded keyword or alias -> entry
    typo_targets: Mapping[int, tuple[WordEntry, ...]]  # by word length; digit-only words left out

    def resolve(self, texts: Texts, language: str | None) -> str:
        """The language `texts` answers in for `language`: itself if present, else the set's language."""
        return language if language in texts else self.language

    def pick(self, texts: Texts, language: str | None = None) -> str:
        """The text for `language`, falling back to the set's language."""
        return texts[self.resolve(texts, language)]


@dataclass(frozen=True)
class NumberConfig:
    """How one of our receiving numbers is used."""

    number: str  # short code digits or E.164
    set: str
    kind: str  # "short_code" or "long_code"
    rate_per_second: float
    relay: bool = False
    relay_ack: Texts | None = None
    known: bool = True  # False: not in the file, so the default set answers
    confirmations: str = ""  # "gateway" or "twilio"; empty: the default for the kind

    def __post_init__(self) -> None:
        if not self.confirmations:
            object.__setattr__(self, "confirmations", DEFAULT_CONFIRMATIONS[self.kind])


@dataclass(frozen=True)
class DangerPhrase:
    """A phrase that means the texter may be in danger."""

    text: str  # as written in the file
    words: str  # normalised
    language: str | None
    prefix: bool  # written with a trailing *: its last word matches word starts too


@dataclass(frozen=True, eq=False)
class KeywordBook:
    """The checked keywords file, with folded lookup tables built once at load."""

    version: int
    default_set: str
    sets: Mapping[str, KeywordSet]
    numbers: Mapping[str, NumberConfig]
    danger_phrases: tuple[DangerPhrase, ...]
    danger_reply: Texts
    warnings: tuple[Problem, ...]
    source: str
    source_text: str = field(repr=False)
    _number_forms: Mapping[str, str] = field(repr=False)  # spellings of our numbers -> key in `numbers`
    _danger: re.Pattern[str] | None = field(repr=False)

    def number_config(self, to: str | None) -> NumberConfig:
        """The configuration of our number `to` (any usual spelling); unknown numbers get the default set."""
        raw = to if isinstance(to, str) else ("" if to is None else str(to))
        compact = _NUMBER_PUNCTUATION.sub("", raw)
        key = self._number_forms.get(compact)
        if key is None:
            canonical = _canonical_number(compact)
            key = self._number_forms.get(canonical)
            if key is None:
                kind = "short_code" if _SHORT_CODE.match(canonical) else "long_code"
                return NumberConfig(canonical, self.default_set, kind, DEFAULT_RATES[kind], known=False)
        return self.numbers[key]

    def is_relay(self, to: str | None) -> bool:
        """Whether texts to `to` go to people (a relay line) rather than keyword matching."""
        return self.number_config(to).relay

    @property
    def relay_numbers(self) -> tuple[str, ...]:
        """Our relay lines, E.164."""
        return tuple(key for key, config in self.numbers.items() if config.relay)

    def relay_ack(self, to: str, language: str | None = None) -> str:
        """The acknowledgement sent for a text to relay line `to`; ValueError if `to` is not a relay line."""
        config = self.number_config(to)
        if not config.relay or not config.relay_ack:
            raise ValueError(f"{to!r} is not a relay line")
        return self.sets[config.set].pick(config.relay_ack, language)

    def rate_per_second(self, number: str) -> float:
        """Messages per second we may send from `number`."""
        return self.number_config(number).rate_per_second

    def find_danger(self, words: str) -> DangerPhrase | None:
        """The first danger phrase in normalised `words` (see text.normalise), or None."""
        if self._danger is None or not words:
            return None
        found = self._danger.search(words)
        return self.danger_phrases[found.lastindex - 1] if found and found.lastindex else None

    def danger_preamble(self, language: str | None, fallback: str) -> str:
        """The danger preamble in `language`, else in `fallback`."""
        return self.danger_reply.get(language or fallback) or self.danger_reply[fallback]


@lru_cache(maxsize=4096)
def _canonical_number(compact: str) -> str:
    """E.164 for a phone number in any usual UK or international spelling; short codes and junk unchanged."""
    if not compact or _SHORT_CODE.match(compact) or len(compact) > 20:
        return compact
    candidates = [compact] if compact.startswith(("+", "0")) else ["+" + compact, compact]
    for candidate in candidates:
        try:
            parsed = phonenumbers.parse(candidate, "GB")
        except Exception:  # NumberParseException, or worse on junk from a bad form: never a known number
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return compact


def _valid_phone(text: str) -> bool:
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(text, "GB"))
    except phonenumbers.NumberParseException:
        return False


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
                end = next((j for j in range(len(groups), i, -1) if _valid_phone(" ".join(groups[i:j]))), 0)
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


def _line(node: Node | None) -> int | None:
    return node.start_mark.line + 1 if node is not None and node.start_mark is not None else None


def _describe(ch: str) -> str:
    name = unicodedata.name(ch, "unnamed character")
    fix = sms.REPLACEMENTS.get(ch)
    shown = ch if ch.isprintable() and not ch.isspace() else ""
    hint = f" -> use {fix!r}" if fix is not None else ""
    return f"{shown} (U+{ord(ch):04X} {name}{hint})".strip()


class _Reader:
    """Walks the composed YAML, collecting every refusal and warning with its line."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def refuse(self, node: Node | None, entry: str, reason: str) -> None:
        self.problems.append(Problem(self.source, _line(node), entry, "refused: " + reason))

    def warn(self, node: Node | None, entry: str, reason: str) -> None:
        self.warnings.append(Problem(self.source, _line(node), entry, reason))

    # --- shapes -------------------------------------------------------------------------------------------

    def mapping(
        self, node: Node, entry: str, required: Iterable[str] = (), optional: Iterable[str] = (), *,
        any_keys: bool = False, key: Node | None = None,
    ) -> dict[str, tuple[ScalarNode, Node]] | None:
        """Fields of a mapping node by name; unknown, duplicate and missing (reported at `key`) refused."""
        if not isinstance(node, MappingNode):
            self.refuse(node, entry, "must be a mapping (name: value lines)")
            return None
        required, optional = list(required), list(optional)
        allowed = required + optional
        fields: dict[str, tuple[ScalarNode, Node]] = {}
        for name_node, value in node.value:
            if not isinstance(name_node, ScalarNode) or not name_node.value.strip():
                self.refuse(name_node, entry, "field names must be plain text")
                continue
            name = name_node.value.strip()
            where = f"{entry}.{name}" if entry else name
            if name in fields:
                self.refuse(name_node, where, f"duplicate field (first on line {_line(fields[name][0])})")
            elif not any_keys and name not in allowed:
                expected = ", ".join(allowed)
                self.refuse(name_node, where, f"unknown field {name!r} (expected one of: {expected})")
            else:
                fields[name] = (name_node, value)
        for name in required:
            if name not in fields:
                self.refuse(key or node, entry, f"missing field {name!r}")
        return fields

    def text(self, node: Node, entry: str) -> str | None:
        """A scalar's text, trimmed; empty and non-scalar values refused."""
        if not isinstance(node, ScalarNode):
            self.refuse(node, entry, "must be text")
            return None
        text = node.value.strip()
        if not text:
            self.refuse(node, entry, "is empty")
            return None
        return text

    def language(self, node: Node, entry: str) -> str | None:
        value = self.text(node, entry)
        if value is None:
            return None
        if not _LANGUAGE.match(value.lower()):
            self.refuse(node, entry, f"{value!r} is not a language code (like en or cy)")
            return None
        return value.lower()

    def texts(self, node: Node, entry: str, fallback: str | None) -> tuple[dict[str, str], dict[str, Node]]:
        """TEXT: a string or {language: string}; returns texts and their nodes by language."""
        if isinstance(node, MappingNode):
            fields = self.mapping(node, entry, any_keys=True) or {}
            texts: dict[str, str] = {}
            nodes: dict[str, Node] = {}
            for name, (key, value) in fields.items():
                language = self.language(key, f"{entry}.{name}")
                text = self.text(value, f"{entry}.{name}")
                if language and text:
                    texts[language], nodes[language] = text, value
            if fallback and fields and fallback not in texts:
                self.refuse(node, entry, f"no {fallback!r} text (the set's language, the fallback)")
            return texts, nodes
        text = self.text(node, entry)
        if text is None or fallback is None:
            return {}, {}
        return {fallback: text}, {fallback: node}

    def word_list(self, node: Node, entry: str) -> list[tuple[str, Node, str]]:
        """A list of words: (word, node, entry) for each."""
        if not isinstance(node, SequenceNode):
            self.refuse(node, entry, "must be a list, like [VICTIM, SUPPORT]")
            return []
        words = []
        for index, item in enumerate(node.value):
            word = self.text(item, f"{entry}[{index}]")
            if word is not None:
                words.append((word, item, f"{entry}[{index}]"))
        return words

    def words_by_language(
        self, node: Node, entry: str, fallback: str | None
    ) -> list[tuple[str, str | None, Node, str]]:
        """A list, or {language: list}: (word, language, node, entry) for each word."""
        if isinstance(node, MappingNode):
            out = []
            for name, (key, value) in (self.mapping(node, entry, any_keys=True) or {}).items():
                language = self.language(key, f"{entry}.{name}")
                if language is not None:
                    out += [(w, language, n, at) for w, n, at in self.word_list(value, f"{entry}.{name}")]
            return out
        return [(w, fallback, n, at) for w, n, at in self.word_list(node, entry)]

    # --- reply checks -------------------------------------------------------------------------------------

    def reply(self, node: Node, entry: str, text: str, *, needs_999: bool = False) -> None:
        """Length, characters and phone numbers of one reply text."""
        info = sms.analyse(text)
        if info.segments > MAX_SEGMENTS:
            self.refuse(node, entry, f"{info.segments} SMS parts (max {MAX_SEGMENTS})")
        elif info.segments > WARN_SEGMENTS:
            self.warn(node, entry, f"{info.segments} SMS parts (keep replies to {WARN_SEGMENTS} or fewer)")
        if info.non_gsm:
            chars = ", ".join(_describe(ch) for ch in info.non_gsm)
            self.warn(node, entry, f"sent as UCS-2 (67 characters per SMS part, not 153) because of: {chars}")
        for number in bad_phone_numbers(text):
            self.refuse(node, entry, f"phone number {number!r} is not a valid UK number")
        if needs_999 and not _999.search(text):
            self.refuse(node, entry, "must tell people in danger to call 999")

    def combined(self, node: Node, entry: str, preamble: str, text: str, what: str) -> None:
        """Refuse a reply that is too long once the danger preamble goes in front (unless too long anyway)."""
        segments = sms.analyse(preamble + "\n\n" + text).segments
        if segments > MAX_SEGMENTS and sms.analyse(text).segments <= MAX_SEGMENTS:
            self.refuse(node, entry, f"{what} is {segments} SMS parts (max {MAX_SEGMENTS})")


def _freeze(texts: Mapping[str, str] | None) -> Texts | None:
    return MappingProxyType(dict(texts)) if texts else None


def _set_language(reader: _Reader, fields: dict[str, tuple[ScalarNode, Node]], entry: str) -> str:
    if "language" in fields:
        return reader.language(fields["language"][1], f"{entry}.language") or "en"
    return "en"


# (entry, node, language, text) of each reply that can follow the danger preamble.
_Followers = list[tuple[str, Node, str, str]]


def _read_set(reader: _Reader, name: str, key: Node, node: Node) -> tuple[KeywordSet, _Followers] | None:
    entry = f"sets.{name}"
    fields = reader.mapping(
        node, entry, required=("keywords", "default", "help"),
        optional=("language", "optout_reply", "optin_reply", "danger_footer"), key=key,
    )
    if fields is None:
        return None
    language = _set_language(reader, fields, entry)
    texts: dict[str, dict[str, str]] = {}
    nodes: dict[str, dict[str, Node]] = {}
    for part in ("default", "help", "optout_reply", "optin_reply", "danger_footer"):
        if part in fields:
            texts[part], nodes[part] = reader.texts(fields[part][1], f"{entry}.{part}", language)
            for lang, text in texts[part].items():
                reader.reply(nodes[part][lang], _at(entry, part, lang, language), text,
                             needs_999=part in ("default", "help"))

    keywords: dict[str, Keyword] = {}
    lookup: dict[str, WordEntry] = {}
    owners: dict[str, tuple[str, int | None]] = {}  # folded word -> (description, line)
    followers: _Followers = []

    def claim(word: str, node: Node, where: str, keyword: str, lang: str, match: str) -> None:
        folded = fold(word)
        if not _ONE_WORD.match(folded):
            reader.refuse(node, where, f"{word!r} must be a single word of letters and digits")
        elif folded in RESERVED_WORDS:
            reader.refuse(node, where, f"{word!r} is reserved for opt-out, opt-in and help texts "
                                       "(STOP, START, HELP and the like)")
        elif folded in owners:
            other, line = owners[folded]
            reader.refuse(node, where, f"{word!r} is already used by {other} (line {line})")
        else:
            owner = f"keyword {keyword}" if match == "exact" else f"an alias of {keyword}"
            owners[folded] = (owner, _line(node))
            lookup[folded] = WordEntry(folded, keyword, lang, match, frozenset(folded))

    keyword_fields = None
    if "keywords" in fields:
        keyword_fields = reader.mapping(fields["keywords"][1], f"{entry}.keywords", any_keys=True)
    for kname, (key, value) in (keyword_fields or {}).items():
        where = f"{entry}.keywords.{kname}"
        claim(kname, key, where, kname, language, "exact")
        kfields = reader.mapping(value, where, required=("reply",), optional=("aliases",), key=key)
        if kfields is None:
            continue
        replies, rnodes = ({}, {})
        if "reply" in kfields:
            replies, rnodes = reader.texts(kfields["reply"][1], f"{where}.reply", language)
            for lang, text in replies.items():
                reader.reply(rnodes[lang], _at(where, "reply", lang, language), text)
                followers.append((_at(where, "reply", lang, language), rnodes[lang], lang, text))
        aliases: dict[str, list[str]] = {}
        if "aliases" in kfields:
            listed = reader.words_by_language(kfields["aliases"][1], f"{where}.aliases", language)
            for word, lang, wnode, at in listed:
                if lang is not None:
                    claim(word, wnode, at, kname, lang, "alias")
                    aliases.setdefault(lang, []).append(word)
            for lang in aliases:
                if replies and lang not in replies:
                    reader.warn(kfields["aliases"][1], f"{where}.aliases",
                                f"aliases in {lang!r} but no {lang!r} reply: they get the {language!r} reply")
        if replies:
            keywords[kname] = Keyword(kname, MappingProxyType(replies),
                                      MappingProxyType({k: tuple(v) for k, v in aliases.items()}))

    default_text = texts.get("default", {}).get(language, "")
    folded_default = set(normalise(default_text).split())
    for kname in keywords:
        if default_text and fold(kname) not in folded_default:
            reader.warn(fields["default"][1], f"{entry}.default", f"does not mention the keyword {kname}")
    _warn_close_words(reader, entry, lookup, keyword_fields or {})

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
    )
    for lang, text in texts.get("danger_footer", {}).items():
        place = _at(entry, "danger_footer", lang, language)
        followers.append((place, nodes["danger_footer"][lang], lang, text))
    return kset, followers


def _at(entry: str, field: str, language: str, set_language: str) -> str:
    return f"{entry}.{field}" if language == set_language else f"{entry}.{field}.{language}"


def _warn_close_words(reader: _Reader, entry: str, lookup: Mapping[str, WordEntry], fields: Mapping) -> None:
    """Warn where words of two keywords are close enough that one typo of either could be either."""
    words = sorted((w for w in lookup.values() if not w.word.isdigit()), key=lambda w: w.word)
    for i, a in enumerate(words):
        for b in words[i + 1:]:
            close = typo_limit(min(len(a.word), len(b.word))) > 0 and typo_distance(a.word, b.word, 2) <= 2
            if a.keyword != b.keyword and close:
                node = fields[a.keyword][0] if a.keyword in fields else None
                reader.warn(node, f"{entry}.keywords.{a.keyword}",
                            f"{a.word.upper()} ({a.keyword}) and {b.word.upper()} ({b.keyword}) are close: "
                            "a typo between them gets the default reply")


def _read_danger(
    reader: _Reader, key: Node, node: Node, languages: Iterable[str], default_language: str
) -> tuple[list[DangerPhrase], dict[str, str], dict[str, Node]]:
    fields = reader.mapping(node, "danger", required=("phrases", "reply"), key=key)
    if fields is None:
        return [], {}, {}
    phrases: list[DangerPhrase] = []
    seen: dict[tuple[str, bool], int | None] = {}
    if "phrases" in fields:
        items = reader.words_by_language(fields["phrases"][1], "danger.phrases", None)
        if not items and isinstance(fields["phrases"][1], (SequenceNode, MappingNode)):
            reader.refuse(fields["phrases"][1], "danger.phrases", "needs at least one phrase")
        for text, language, pnode, where in items:
            prefix = text.endswith("*")
            words = normalise(text.rstrip("*"))
            if not words or "*" in text.rstrip("*"):
                reader.refuse(pnode, where, f"{text!r} needs letters or digits (and * only at the end)")
                continue
            if (words, prefix) in seen:
                reader.warn(pnode, where, f"{text!r} repeats the phrase on line {seen[(words, prefix)]}")
                continue
            seen[(words, prefix)] = _line(pnode)
            phrases.append(DangerPhrase(text, words, language, prefix))
    replies: dict[str, str] = {}
    rnodes: dict[str, Node] = {}
    if "reply" in fields:
        rnode = fields["reply"][1]
        if isinstance(rnode, MappingNode):
            replies, rnodes = reader.texts(rnode, "danger.reply", None)
            for language in sorted(set(languages) - set(replies)):
                reader.refuse(rnode, "danger.reply", f"no {language!r} text (a set answers in {language!r})")
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
                reader.reply(rnodes[language], f"danger.reply.{language}" if isinstance(rnode, MappingNode)
                             else "danger.reply", text, needs_999=True)
    return phrases, replies, rnodes


def _danger_pattern(phrases: list[DangerPhrase]) -> re.Pattern[str] | None:
    if not phrases:
        return None
    groups = "|".join(f"({re.escape(p.words)}{r'[^ ]*' if p.prefix else ''})" for p in phrases)
    return re.compile(rf"(?:^| )(?:{groups})(?= |$)")


def _read_number(
    reader: _Reader, key_node: ScalarNode, node: Node, default_set: str, sets: Mapping[str, KeywordSet],
) -> NumberConfig | None:
    raw = key_node.value.strip()
    entry = f"numbers.{raw}"
    if _SHORT_CODE.match(raw):
        number, shape = raw, "short_code"
    elif _E164.match(raw) and _valid_phone(raw):
        number, shape = raw, "long_code"
    else:
        hint = ""
        canonical = _canonical_number(_NUMBER_PUNCTUATION.sub("", raw))
        hint = f"; write it as {canonical!r}" if canonical.startswith("+") and canonical != raw else ""
        reader.refuse(key_node, entry, f"{raw!r} is not a short code (3-8 digits) or E.164 number{hint}")
        return None
    fields = reader.mapping(node, entry, optional=("set", "kind", "rate_per_second", "confirmations", "relay",
                                                   "relay_ack"), key=key_node)
    if fields is None:
        return None
    set_name = default_set
    if "set" in fields:
        set_name = reader.text(fields["set"][1], f"{entry}.set") or default_set
        if set_name not in sets:
            reader.refuse(fields["set"][1], f"{entry}.set",
                          f"set {set_name!r} is not defined under sets (have: {', '.join(sets) or 'none'})")
            return None
    kind = shape
    if "kind" in fields:
        value = reader.text(fields["kind"][1], f"{entry}.kind")
        if value is not None and value not in DEFAULT_RATES:
            reader.refuse(fields["kind"][1], f"{entry}.kind", f"{value!r} must be short_code or long_code")
        elif value is not None and value != shape:
            reader.refuse(fields["kind"][1], f"{entry}.kind", f"{value} does not fit {raw} (a {shape})")
    rate = DEFAULT_RATES[kind]
    if "rate_per_second" in fields:
        rnode = fields["rate_per_second"][1]
        if not (isinstance(rnode, ScalarNode) and rnode.tag in (_INT, _FLOAT)):
            reader.refuse(rnode, f"{entry}.rate_per_second", "must be a number")
        else:
            rate = float(yaml.safe_load(rnode.value))
            if not 0 < rate <= 1000:
                reason = f"{rnode.value} must be more than 0 and at most 1000"
                reader.refuse(rnode, f"{entry}.rate_per_second", reason)
    confirmations = ""
    if "confirmations" in fields:
        value = reader.text(fields["confirmations"][1], f"{entry}.confirmations")
        if value is not None and value not in CONFIRMATIONS:
            reader.refuse(fields["confirmations"][1], f"{entry}.confirmations", f"{value!r} must be gateway or twilio")
        elif value is not None:
            confirmations = value
    relay: bool | None = False
    if "relay" in fields:
        rnode = fields["relay"][1]
        if not (isinstance(rnode, ScalarNode) and rnode.tag == _BOOL):
            reader.refuse(rnode, f"{entry}.relay", "must be true or false")
            relay = None  # unknown: relay_ack can be neither required nor refused
        else:
            relay = bool(yaml.safe_load(rnode.value))
    ack: dict[str, str] = {}
    if relay is None:
        pass
    elif "relay_ack" in fields:
        if not relay:
            reader.refuse(fields["relay_ack"][0], f"{entry}.relay_ack", "only for numbers with relay: true")
        else:
            set_language = sets[set_name].language if set_name in sets else "en"
            ack, nodes = reader.texts(fields["relay_ack"][1], f"{entry}.relay_ack", set_language)
            for lang, text in ack.items():
                reader.reply(nodes[lang], _at(entry, "relay_ack", lang, set_language), text, needs_999=True)
    elif relay:
        reader.refuse(key_node, entry, "missing field 'relay_ack' (the text sent back on a relay line)")
    return NumberConfig(number, set_name, kind, rate, bool(relay), _freeze(ack), confirmations=confirmations)


def _number_forms(key: str) -> set[str]:
    if not key.startswith("+"):
        return {key}
    parsed = phonenumbers.parse(key, None)
    national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
    return {key, key[1:], _NUMBER_PUNCTUATION.sub("", national)}


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
        return Problem(source, mark.line + 1 if mark else None, "", f"refused: YAML syntax error: {what}")
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return Problem(source, line, "", f"refused: character U+{exc.character:04X} is not allowed in YAML"
                       if isinstance(exc.character, int) else f"refused: {exc.reason}")
    return Problem(source, None, "", f"refused: YAML error: {exc}")


def parse_book(text: str, source: str = "keywords.yaml") -> KeywordBook:
    """Check and index the keywords YAML `text`; KeywordFileError lists every problem with its line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise KeywordFileError([_syntax_problem(exc, source, text)]) from None
    reader = _Reader(source)
    if root is None:
        reader.refuse(None, "", "the file is empty")
        raise KeywordFileError(reader.problems)
    fields = reader.mapping(root, "", required=("version", "default_set", "danger", "sets"),
                            optional=("numbers",))
    if fields is None:
        raise KeywordFileError(reader.problems)

    version = 0
    if "version" in fields:
        vnode = fields["version"][1]
        if isinstance(vnode, ScalarNode) and vnode.tag == _INT and vnode.value == "1":
            version = 1
        else:
            reader.refuse(vnode, "version", f"{getattr(vnode, 'value', '')!r} is not a known version (use 1)")

    sets: dict[str, KeywordSet] = {}
    followers: dict[str, _Followers] = {}
    if "sets" in fields:
        set_fields = reader.mapping(fields["sets"][1], "sets", any_keys=True)
        if set_fields is not None and not set_fields:
            reader.refuse(fields["sets"][1], "sets", "needs at least one set")
        for name, (key, node) in (set_fields or {}).items():
            read = _read_set(reader, name, key, node)
            if read is not None:
                sets[name], followers[name] = read

    default_set = ""
    if "default_set" in fields:
        default_set = reader.text(fields["default_set"][1], "default_set") or ""
        if default_set and sets and default_set not in sets:
            reader.refuse(fields["default_set"][1], "default_set",
                          f"set {default_set!r} is not defined under sets (have: {', '.join(sets)})")
    default_language = sets[default_set].language if default_set in sets else "en"

    languages = {kset.language for kset in sets.values()}
    phrases: list[DangerPhrase] = []
    danger_reply: dict[str, str] = {}
    if "danger" in fields:
        phrases, danger_reply, _ = _read_danger(reader, *fields["danger"], languages, default_language)
    if danger_reply:
        for name, kset in sets.items():
            for place, node, language, reply in followers[name]:
                preamble = danger_reply.get(language) or danger_reply.get(kset.language, "")
                reader.combined(node, place, preamble, reply, "with the danger preamble this reply")

    numbers: dict[str, NumberConfig] = {}
    forms: dict[str, str] = {}
    if "numbers" in fields:
        listed = reader.mapping(fields["numbers"][1], "numbers", any_keys=True) or {}
        for raw, (key, node) in listed.items():
            config = _read_number(reader, key, node, default_set, sets)
            if config is None:
                continue
            if config.number in numbers:
                reader.refuse(key, f"numbers.{raw}", f"{config.number} is listed twice")
                continue
            numbers[config.number] = config
            for form in _number_forms(config.number):
                forms[form] = config.number

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
        _number_forms=MappingProxyType(forms),
        _danger=_danger_pattern(phrases),
    )


def load_book(path: str | PathLike[str]) -> KeywordBook:
    """Read and check the keywords file at `path` (UTF-8)."""
    source = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        reason = f"refused: cannot read the file: {exc.strerror or exc}"
        raise KeywordFileError([Problem(source, None, "", reason)]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        reason = "refused: not UTF-8 text (save the file as UTF-8)"
        raise KeywordFileError([Problem(source, line, "", reason)]) from None
    return parse_book(text, source)
