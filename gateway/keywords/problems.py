"""Refusals and warnings about a keywords file: a stable code, the values it names, and the English built from
them in one place (MESSAGES), so the console can place a problem by code and arguments, not by its wording."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple


def _owner(keyword: str, match: str) -> str:
    if match == "language":
        return f"the language {keyword}"
    return f"keyword {keyword}" if match == "exact" else f"an alias of {keyword}"


def _describe(ch: str, fix: str | None) -> str:
    name = unicodedata.name(ch, "unnamed character")
    shown = ch if ch.isprintable() and not ch.isspace() else ""
    hint = f" -> use {fix!r}" if fix is not None else ""
    return f"{shown} (U+{ord(ch):04X} {name}{hint})".strip()


# Each code's English, called with the problem's args as keywords. A refused file shows "refused: " first.
REFUSALS: dict[str, Callable[..., str]] = {
    # the file
    "unreadable_file": lambda error: f"cannot read the file: {error}",
    "not_utf8": lambda: "not UTF-8 text (save the file as UTF-8)",
    "yaml_syntax": lambda detail: f"YAML syntax error: {detail}",
    "yaml_character": lambda character: f"character U+{character:04X} is not allowed in YAML",
    "yaml_unreadable": lambda detail: detail,
    "yaml_error": lambda detail: f"YAML error: {detail}",
    "empty_file": lambda: "the file is empty",
    "too_large": lambda limit:
        f"the file is larger than {limit:,} bytes ({limit / 1e6:g} MB), the most a keywords file may be",
    "too_deep": lambda limit: f"nested more than {limit} levels deep (a keywords file needs at most 7)",
    "yaml_alias": lambda: "YAML anchors and aliases (&name, *name) are not allowed: write each entry out in full",
    "too_many": lambda what, count, limit: f"{count:,} {what} (at most {limit:,})",
    "unknown_version": lambda value: f"{value!r} is not a known version (use 1)",
    # shapes and values
    "not_a_mapping": lambda: "must be a mapping (name: value lines)",
    "bad_field_name": lambda: "field names must be plain text",
    "duplicate_field": lambda field, line: f"duplicate field (first on line {line})",
    "unknown_field": lambda field, expected: f"unknown field {field!r} (expected one of: {', '.join(expected)})",
    "missing_field": lambda field, what="": f"missing field {field!r}" + (f" ({what})" if what else ""),
    "not_text": lambda: "must be text",
    "empty": lambda: "is empty",
    "not_a_list": lambda: "must be a list, like [VICTIM, SUPPORT]",
    "not_a_number": lambda: "must be a number",
    "not_a_bool": lambda: "must be true or false",
    "not_a_choice": lambda value, choices: f"{value!r} must be {' or '.join(choices)}",
    "out_of_range": lambda value, above, at_most: f"{value} must be more than {above} and at most {at_most}",
    "needs_one": lambda what: f"needs at least one {what}",
    "not_a_language": lambda value: f"{value!r} is not a language code (like en or cy)",
    "no_fallback_text": lambda language: f"no {language!r} text (the set's language, the fallback)",
    "no_language_text": lambda language: f"no {language!r} text (a set answers in {language!r})",
    "no_set_language": lambda language:
        f"no entry for {language!r}, the set's language: texters who picked another need it to pick it back",
    "unknown_set": lambda name, have: f"set {name!r} is not defined under sets (have: {', '.join(have) or 'none'})",
    # keywords, aliases and danger phrases
    "not_one_word": lambda word: f"{word!r} must be a single word of letters and digits",
    "reserved_word": lambda word: f"{word!r} is reserved for opt-out, opt-in and help texts "
                                  "(STOP, START, HELP and the like)",
    "word_taken": lambda word, keyword, match, line, claimant, claimant_match="exact":
        f"{word!r} is already used by {_owner(keyword, match)} (line {line})",
    "word_too_long": lambda word, limit:
        f"{word!r} is longer than {limit} letters: no text is matched to a word that long",
    "bad_phrase": lambda phrase: f"{phrase!r} needs letters or digits (and * only at the end)",
    # our numbers
    "bad_receiving_number": lambda number, suggestion=None:
        f"{number!r} is not a short code (3-8 digits) or E.164 number"
        + (f"; write it as {suggestion!r}" if suggestion else ""),
    "kind_mismatch": lambda kind, number, shape: f"{kind} does not fit {number} (a {shape})",
    "relay_only": lambda: "only for numbers with relay: true",
    "unknown_relay_placeholder": lambda placeholder, allowed:
        f"{placeholder} is not known and would be sent as written: "
        + (f"the only placeholder here is {allowed[0]}, the case id" if allowed else "this text takes none"),
    "listed_twice": lambda number: f"{number} is listed twice",
    # replies (gateway.keywords.rules)
    "too_many_segments": lambda segments, limit: f"{segments} SMS parts (max {limit})",
    "too_long_with_danger": lambda segments, limit:
        f"with the danger preamble this reply is {segments} SMS parts (max {limit})",
    "too_long_with_languages": lambda segments, limit:
        f"with the other languages listed under it this reply is {segments} SMS parts (max {limit})",
    "bad_phone_number": lambda number: f"phone number {number!r} is not a valid UK number",
    "needs_999": lambda: "must tell people in danger to call 999",
    # opening hours (gateway.keywords.hours)
    "bad_hours": lambda detail: detail,
    "never_open": lambda: "open on no day of the week: give the hours of at least one day, or remove hours",
    "closed_without_hours": lambda: "a closed_reply needs hours: the opening hours outside which it is sent",
    "needs_opens": lambda: "must say when the service opens next: put {opens} where the time goes, "
                           "as in 'It opens {opens}.'",
    "opens_only_when_closed": lambda: "{opens} only works in a closed_reply: here it would be sent as it is",
    "unknown_placeholder": lambda placeholder: f"{placeholder} is not known: the only placeholder is {{opens}}",
    "closed_languages": lambda language, has: f"reply and closed_reply must be in the same languages: "
                                              f"only the {has} has {language!r}",
}

WARNINGS: dict[str, Callable[..., str]] = {
    "many_segments": lambda segments, keep: f"{segments} SMS parts (keep replies to {keep} or fewer)",
    "ucs2": lambda chars, fixes: "sent as UCS-2 (67 characters per SMS part, not 153) because of: "
                                 + ", ".join(_describe(ch, fixes.get(ch)) for ch in chars),
    "unmentioned_keyword": lambda keyword: f"does not mention the keyword {keyword}",
    "close_words": lambda word, keyword, other_word, other_keyword:
        f"{word.upper()} ({keyword}) and {other_word.upper()} ({other_keyword}) are close: "
        "a typo between them gets the default reply",
    "alias_without_reply": lambda language, fallback:
        f"aliases in {language!r} but no {language!r} reply: they get the {fallback!r} reply",
    "repeated_phrase": lambda phrase, line: f"{phrase!r} repeats the phrase on line {line}",
    "many_segments_with_languages": lambda segments, keep:
        f"with the other languages listed under it this reply is {segments} SMS parts (keep replies to {keep} "
        "or fewer)",
    "offer_without_word": lambda words: f"does not name a word that picks the language ({', '.join(words)})",
}


class Finding(NamedTuple):
    """A problem not yet placed in the file: what the reply rules return."""

    code: str
    args: Mapping[str, Any]


@dataclass(frozen=True)
class Problem:
    """One refusal or warning about the keywords file, pointing at a line and an entry."""

    source: str
    line: int | None
    entry: str  # dotted path in the file, e.g. "sets.main.keywords.DVS.aliases[1]"; "" for the whole file
    code: str  # a key of REFUSALS or WARNINGS
    args: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.code not in REFUSALS and self.code not in WARNINGS:
            raise ValueError(f"unknown problem code {self.code!r}")
        object.__setattr__(self, "args", MappingProxyType(dict(self.args)))

    @property
    def refused(self) -> bool:
        """Whether this problem refuses the file (else it is a warning)."""
        return self.code in REFUSALS

    @property
    def message(self) -> str:
        """The English, without the "refused: " prefix."""
        return (REFUSALS if self.refused else WARNINGS)[self.code](**self.args)

    @property
    def reason(self) -> str:
        """The English as `keywords check` prints it."""
        return f"refused: {self.message}" if self.refused else self.message

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.entry}: {self.reason}" if self.entry else f"{where}: {self.reason}"


class KeywordFileError(ValueError):
    """The keywords file was refused; `problems` lists every reason, one line each in str()."""

    def __init__(self, problems: Iterable[Problem], warnings: Iterable[Problem] = ()) -> None:
        self.problems = list(problems)
        self.warnings = list(warnings)
        super().__init__("\n".join(str(p) for p in self.problems))
