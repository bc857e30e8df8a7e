"""The keyword book: the checked keywords file as frozen data, with the lookups the engine and senders use.

gateway.keywords.reader builds it from keywords.yaml; gateway.keywords.rules says what its replies must satisfy.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType

from gateway import phone
from gateway.keywords.hours import Hours
from gateway.keywords.problems import Problem

Texts = Mapping[str, str]  # language code -> text

DEFAULT_RATES = {"short_code": 30.0, "long_code": 10.0}
# Who answers STOP, START and HELP. Twilio does on long codes, not on standalone short codes
# (https://help.twilio.com/hc/en-us/articles/223181748-Customizing-HELP-STOP-messages-for-SMS-filtering).
CONFIRMATIONS = ("gateway", "twilio")
DEFAULT_CONFIRMATIONS = {"short_code": "gateway", "long_code": "twilio"}
# The texts staff may give a relay line besides relay_ack, by the name the relay code asks for: "unread" is sent
# once when a case is still unread as the second tier is alerted, "failed" when a forward failed after all
# retries, "read" once when the control room acknowledges a case (ACK or the console's button).
# All optional: without them the built-in texts of gateway/relay/line.py are sent.
RELAY_TEXTS = {"unread": "relay_unread", "failed": "relay_failed", "read": "relay_read"}
# The relay texts that may say {id} (the case id).
CASE_ID_TEXTS = ("relay_unread", "relay_read")

SHORT_CODE = re.compile(r"^\d{3,8}$")
_NUMBER_PUNCTUATION = re.compile(r"[\s\-().]")


@dataclass(frozen=True)
class WordEntry:
    """A folded word that selects a keyword, in a language."""

    word: str
    keyword: str
    language: str
    match: str  # "exact" (the keyword itself) or "alias"
    letters: frozenset[str] = frozenset()  # the word's characters, a cheap first test for typos
    listed: bool = False  # an alias listed under its language ({pl: [...]}): texting it picks that language


@dataclass(frozen=True)
class Language:
    """A language a texter can pick in a set: its name and the line offering it, in its own words."""

    code: str
    name: str
    words: tuple[str, ...]  # as written; texting one of them picks the language
    offer: str  # e.g. "Polski: wyslij POLSKI", listed under the help and default replies


@dataclass(frozen=True)
class Keyword:
    """One keyword: its canonical name, replies by language and aliases by language; with opening hours, the
    replies are sent while the service is open and `closed_replies` (same languages) while it is closed."""

    name: str
    replies: Texts
    aliases: Mapping[str, tuple[str, ...]]
    hours: Hours | None = None
    closed_replies: Texts | None = None


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
    languages: Mapping[str, Language] = field(default_factory=lambda: MappingProxyType({}))
    language_words: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # folded -> code

    @property
    def offers_languages(self) -> bool:
        """Whether texters can pick among more than one language here (so their choice is worth recalling)."""
        return len(self.languages) > 1

    def offered(self, language: str | None) -> str | None:
        """`language` if the set offers it among others, else None."""
        return language if self.offers_languages and language in self.languages else None

    def languages_line(self, language: str) -> str:
        """The offers of the set's other languages, one a line, for the help and default replies in `language`."""
        if not self.offers_languages:
            return ""
        return "\n".join(lang.offer for code, lang in self.languages.items() if code != language)

    def with_languages(self, text: str, language: str) -> str:
        """A help or default reply in `language` with the other languages offered under it."""
        line = self.languages_line(language)
        return f"{text}\n{line}" if line else text

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
    relay_unread: Texts | None = None  # may say {id}, the case id
    relay_failed: Texts | None = None
    relay_read: Texts | None = None  # may say {id}, the case id
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
    publish_requires_approval: bool = False  # a second person approves each draft before it is published
    _number_forms: Mapping[str, str] = field(init=False, repr=False)  # spellings of our numbers -> key
    _danger: re.Pattern[str] | None = field(init=False, repr=False)

    def __post_init__(self) -> None:
        forms = {form: key for key in self.numbers for form in _number_forms(key)}
        object.__setattr__(self, "_number_forms", MappingProxyType(forms))
        object.__setattr__(self, "_danger", _danger_pattern(self.danger_phrases))

    def number_config(self, to: str | None) -> NumberConfig:
        """The configuration of our number `to` (any usual spelling); unknown numbers get the default set."""
        raw = to if isinstance(to, str) else ("" if to is None else str(to))
        compact = _NUMBER_PUNCTUATION.sub("", raw)
        key = self._number_forms.get(compact)
        if key is None:
            canonical = _canonical(compact)
            key = self._number_forms.get(canonical)
            if key is None:
                kind = "short_code" if SHORT_CODE.match(canonical) else "long_code"
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

    def relay_text(self, to: str, which: str, language: str | None = None) -> str | None:
        """Relay line `to`'s "unread", "failed" or "read" text ({id} not filled); None when not a relay line or
        not given."""
        if which not in RELAY_TEXTS:
            raise ValueError(f"no relay text {which!r} (have: {', '.join(RELAY_TEXTS)})")
        config = self.number_config(to)
        texts = getattr(config, RELAY_TEXTS[which]) if config.relay else None
        return self.sets[config.set].pick(texts, language) if texts else None

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


def canonical_number(raw: str) -> str:
    """E.164 for a phone number in any usual UK or international spelling; else `raw` without punctuation."""
    return _canonical(_NUMBER_PUNCTUATION.sub("", raw))


@lru_cache(maxsize=4096)
def _canonical(compact: str) -> str:
    if not compact or SHORT_CODE.match(compact) or len(compact) > 20:
        return compact
    candidates = [compact] if compact.startswith(("+", "0")) else ["+" + compact, compact]
    for candidate in candidates:
        number = phone.e164(candidate)
        if number is not None:
            return number
    return compact


def _number_forms(key: str) -> set[str]:
    """The compact spellings a text to our number `key` may arrive with."""
    if not key.startswith("+"):
        return {key}
    return {key, key[1:], phone.national(key)}


def _danger_pattern(phrases: Iterable[DangerPhrase]) -> re.Pattern[str] | None:
    """One regex for every phrase: group i+1 is phrase i, on word boundaries of normalised text."""
    groups = "|".join(f"({re.escape(p.words)}{r'[^ ]*' if p.prefix else ''})" for p in phrases)
    return re.compile(rf"(?:^| )(?:{groups})(?= |$)") if groups else None
