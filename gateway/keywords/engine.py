"""The keyword engine: the text of one inbound SMS in, one decision out. No I/O, no Flask, no Redis.

How a text is read (all data comes from the KeywordBook built from keywords.yaml):

a. Opt-out, opt-in and help words follow the carrier's rule, not the generous folding of keywords: they
   count only when the whole message, trimmed, is the word in any case ("stop" yes; "Stop.", "STOP PLEASE",
   "ＳＴＯＰ" no), because that is when Twilio blocks the number (see `carrier_word`). When Twilio's
   Advanced Opt-Out is on, its `OptOutType` (STOP, START, HELP) is the truth, whatever the body.
   STOP STOPALL UNSUBSCRIBE CANCEL END QUIT REVOKE OPTOUT -> optout; START YES UNSTOP -> optin;
   HELP INFO -> help (the set's help text). The reply to them is sent by the gateway where the number's
   `confirmations` is `gateway` (short codes by default: Twilio does not answer there); elsewhere Twilio
   confirms STOP and START itself, and the gateway still answers HELP, with its 999 line. Opt-out and
   START/UNSTOP work on relay lines too (relay=True), but there HELP, INFO and YES are relayed like any
   other text: on the emergency text line "help" is a person asking for help, and "yes" may answer the
   control room.
b. Texts to a relay line are not keyword-matched or danger-checked: kind "relay", no reply here.
c. Danger phrases match anywhere in the text, on word boundaries, after folding (case, accents, apostrophes).
d. The first word picks the keyword: exact keyword, then alias, then (only if the first word matched nothing)
   the first two words run together ("CRIME STOPPERS"), then close typos (Damerau distance 1 for 3-6
   letters, up to 2 for 7+). Opt-out/opt-in/help words are never typo targets, words under 3 letters and
   digit-only words are never typo-matched, and a typo equally close to two keywords matches neither.
e. The reply: danger preamble + blank line + keyword reply; or the danger preamble (+ the set's
   danger_footer) when no keyword matched; or the keyword reply; or the set's default reply.
f. Languages. A set may offer several (`languages` in the file). A first word that is one of a language's
   words picks it: alone it gets the help reply in that language (kind "help", keyword the word texted);
   followed by a keyword, that keyword's reply in it. A keyword alias listed under an offered language picks
   that language too (typos of it do not). The pick is returned in `language_chosen` for the caller to
   remember; the caller passes a remembered pick back as `language`. Every reply is in the picked or
   remembered language where the file has a text in it, else in the set's language; the help and default
   replies list the set's other languages, each in its own words.
g. A keyword with opening hours answers, at the moment `at` (the caller's clock, never the engine's), with its
   reply while the service is open and its closed reply, {opens} filled with the next opening, while it is
   closed. Without `at` every keyword answers with its reply, as if no hours were set.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from gateway.keywords import hours
from gateway.keywords.book import Keyword, KeywordBook, KeywordSet, WordEntry
from gateway.keywords.text import MAX_WORD, MIN_TYPO_LENGTH, carrier_word, normalise, typo_distance, typo_limit

log = logging.getLogger("signpost.engine")

Kind = Literal["keyword", "default", "optout", "optin", "help", "relay"]
Match = Literal["exact", "alias", "typo"]

# Twilio's `OptOutType` webhook field, sent when Advanced Opt-Out is on, also for localized and custom words
# (https://help.twilio.com/hc/en-us/articles/31560110671259-How-to-Track-Opt-Out-Opt-In-and-Help-Messages-Using-the-OptOutType-Parameter).
_OPTOUT_TYPE_KIND: dict[str, Kind] = {"STOP": "optout", "START": "optin", "HELP": "help"}
# On a relay line these reach the control room instead: there they are a person talking, not a command.
RELAYED_ON_RELAY_LINES = frozenset({"help", "info", "yes"})


@dataclass(frozen=True)
class Decision:
    """What to do with one inbound text. `reply` is the exact text to send (None: send nothing now)."""

    kind: Kind
    reply: str | None
    keyword: str | None = None  # canonical keyword; for optout/optin/help the word texted, e.g. "STOP"
    language: str | None = None
    match: Match | None = None
    danger: bool = False
    danger_phrase: str | None = None
    relay: bool = False
    opt_change: Literal["optout", "optin"] | None = None  # the texter's opt-out state to record
    despite_optout: bool = False  # send `reply` even to a texter who opted out (answers to STOP/START/HELP)
    language_chosen: str | None = None  # the language this text picked, for the caller to remember
    open: bool | None = None  # the keyword's service at that moment; None: no opening hours apply
    opens: datetime | None = None  # when closed: its next opening (None if none in sight)


def _typo(kset: KeywordSet, word: str) -> WordEntry | None | Literal[False]:
    """The entry a typo of `word` means; None if nothing is close; False if two keywords are equally close."""
    n = len(word)
    if n < MIN_TYPO_LENGTH or n > MAX_WORD or word.isdigit():
        return None
    best = MAX_WORD
    found: list[WordEntry] = []
    letters = frozenset(word)
    for length in range(n - 2, n + 3):
        for entry in kset.typo_targets.get(length, ()):
            limit = typo_limit(min(n, length))
            # Each letter missing from the other word costs at least one edit.
            if len(letters - entry.letters) > limit or len(entry.letters - letters) > limit:
                continue
            distance = typo_distance(word, entry.word, limit)
            if distance > limit or distance > best:
                continue
            if distance < best:
                best, found = distance, []
            found.append(entry)
    if not found:
        return None
    if len({entry.keyword for entry in found}) > 1:
        return False
    # Same keyword reached in several languages: the set's own language wins.
    return next((e for e in found if e.language == kset.language), found[0])


def _keyword(kset: KeywordSet, words: str) -> tuple[WordEntry, Match] | None:
    head, _, rest = words.partition(" ")
    if not head:
        return None
    joined = head + rest.partition(" ")[0] if rest else ""
    for word in (head, joined):
        if word and len(word) <= MAX_WORD and (entry := kset.lookup.get(word)) is not None:
            return entry, entry.match
    for word in (head, joined):
        if not word:
            continue
        entry = _typo(kset, word)
        if entry is False:  # ambiguous: better the default reply than the wrong service
            return None
        if entry is not None:
            return entry, "typo"
    return None


def decide(
    book: KeywordBook, text: str, to: str, optout_type: str | None = None, *, at: datetime | None = None,
    language: str | None = None,
) -> Decision:
    """Decide the reply to `text` received on our number `to` at the moment `at` (aware; naive is London time)
    (`optout_type`: Twilio's field; `language`: the texter's remembered pick, None for the set's language);
    never raises."""
    try:
        return _decide(book, text, to, optout_type, language, at)
    except Exception:
        # A texter who may be in danger must still get an answer (or reach the control room).
        log.exception("keyword engine failed; answering with the default reply")
        return _fallback(book, to)


def _fallback(book: KeywordBook, to: str) -> Decision:
    try:
        if book.is_relay(to):
            return Decision("relay", None, relay=True)
    except Exception:
        log.exception("relay line check failed")
    kset = book.sets[book.default_set]
    return Decision("default", kset.with_languages(kset.pick(kset.default), kset.language), language=kset.language)


def _language_word(kset: KeywordSet, words: str) -> tuple[str, str, str] | None:
    """(language, the word, the words after it) when the first word picks one of the set's languages."""
    if not kset.offers_languages:
        return None
    head, _, rest = words.partition(" ")
    code = kset.language_words.get(head)
    return (code, head, rest) if code is not None else None


def _opening(keyword: Keyword, language: str, at: datetime | None) -> tuple[str, bool | None, datetime | None]:
    """The keyword's reply in `language` at `at`, whether its service is open then, and when it opens next."""
    if keyword.hours is None or keyword.closed_replies is None or at is None:
        return keyword.replies[language], None, None
    if at.tzinfo is None:
        at = at.replace(tzinfo=hours.LONDON)
    try:
        if keyword.hours.is_open(at):
            return keyword.replies[language], True, None
        opens = keyword.hours.next_opening(at)
        closed = keyword.closed_replies.get(language) or next(iter(keyword.closed_replies.values()))
        return hours.fill(closed, opens, at, language), False, opens
    except Exception:
        # The service's own reply, as before opening hours, is better than the default reply.
        log.exception("opening hours of %s failed; answering with its reply", keyword.name)
        return keyword.replies[language], None, None


def _decide(book: KeywordBook, text: str, to: str, optout_type: str | None, remembered: str | None,
            at: datetime | None) -> Decision:
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    number = book.number_config(to)
    kset = book.sets[number.set]
    remembered = kset.offered(remembered) if isinstance(remembered, str) else None

    told = _OPTOUT_TYPE_KIND.get((optout_type or "").strip().upper())
    kind = told or carrier_word(text)
    word = optout_type.strip().upper() if told else text.strip().upper()
    if number.relay and (kind == "help" or (kind is not None and text.strip().lower() in RELAYED_ON_RELAY_LINES)):
        # A person talking to the control room; an opt-in Twilio applied to their "yes" is still recorded.
        return Decision("relay", None, relay=True, opt_change="optin" if kind == "optin" else None)
    if kind is not None:
        gateway = number.confirmations == "gateway"
        texts = {"help": kset.help, "optout": kset.optout_reply, "optin": kset.optin_reply}[kind]
        language = kset.resolve(texts, remembered) if texts else kset.language
        reply = texts[language] if texts and (gateway or kind == "help") else None
        if kind == "help" and reply is not None:
            reply = kset.with_languages(reply, language)
        return Decision(kind, reply, keyword=word, language=language, relay=number.relay,
                        opt_change=None if kind == "help" else kind, despite_optout=gateway)

    if number.relay:
        return Decision("relay", None, relay=True)

    words = normalise(text)
    phrase = book.find_danger(words)
    picked = _language_word(kset, words)
    chosen = picked[0] if picked else None
    found = _keyword(kset, picked[2] if picked else words)
    if found is not None:
        entry, how = found
        keyword = kset.keywords[entry.keyword]
        if chosen is None and entry.listed and how != "typo":
            chosen = kset.offered(entry.language)
        language = kset.resolve(keyword.replies, chosen or (entry.language if entry.listed else remembered))
        reply, is_open, opens = _opening(keyword, language, at)
        if phrase is not None:
            reply = book.danger_preamble(language, kset.language) + "\n\n" + reply
        return Decision("keyword", reply, keyword=keyword.name, language=language, match=how,
                        danger=phrase is not None, danger_phrase=phrase.text if phrase else None,
                        language_chosen=chosen, open=is_open, opens=opens)
    wanted = chosen or remembered
    if phrase is not None:
        language = kset.resolve(book.danger_reply, wanted or phrase.language)
        reply = book.danger_preamble(language, kset.language)
        if kset.danger_footer:
            reply += "\n\n" + kset.pick(kset.danger_footer, wanted or language)
        return Decision("default", reply, language=language, danger=True, danger_phrase=phrase.text,
                        language_chosen=chosen)
    if picked is not None:
        language = kset.resolve(kset.help, chosen)
        return Decision("help", kset.with_languages(kset.help[language], language), keyword=picked[1].upper(),
                        language=language, language_chosen=chosen)
    language = kset.resolve(kset.default, remembered)
    return Decision("default", kset.with_languages(kset.default[language], language), language=language)
