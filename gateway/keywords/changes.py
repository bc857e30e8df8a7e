"""Every reply that differs between two keyword books, with each side's SMS encoding and part count.

This is what a second person reviews before approving a draft: the texts people will receive, not YAML.
Aliases, numbers and danger phrases are not replies; the full YAML diff shows those.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from gateway.keywords import sms
from gateway.keywords.book import KeywordBook

SET_TEXTS = (("default", "default reply"), ("help", "help reply"), ("optout_reply", "opt-out confirmation"),
             ("optin_reply", "opt-in confirmation"), ("danger_footer", "danger footer"))
# A relay line's texts to the texter; relay_unread and relay_read as written, with {id} where the case id goes.
RELAY_TEXTS = (("relay_ack", "relay acknowledgement"), ("relay_unread", "relay 'not read yet' text"),
               ("relay_failed", "relay 'could not reach the control room' text"),
               ("relay_read", "relay 'your message has been read' text"))
ALL_SETS = "(every set)"

Key = tuple[str, str, str]  # (set, keyword or fixed text, language)


@dataclass(frozen=True)
class ReplyChange:
    """One reply in one language: added (before is None), removed (after is None) or changed."""

    set: str
    what: str
    language: str
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        """added, removed or changed."""
        return "added" if self.before is None else "removed" if self.after is None else "changed"

    @property
    def before_sms(self) -> sms.SmsInfo | None:
        """Encoding and parts of the reply as it is now."""
        return sms.analyse(self.before) if self.before is not None else None

    @property
    def after_sms(self) -> sms.SmsInfo | None:
        """Encoding and parts of the reply as it will be."""
        return sms.analyse(self.after) if self.after is not None else None


def _texts(texts: Mapping[str, str] | None) -> Iterator[tuple[str, str]]:
    yield from (texts or {}).items()


def replies(book: KeywordBook | None) -> dict[Key, str]:
    """Every reply of `book` by (set, keyword or fixed text, language), in file order."""
    found: dict[Key, str] = {}
    if book is None:
        return found
    for name, kset in book.sets.items():
        for keyword in kset.keywords.values():
            for language, text in _texts(keyword.replies):
                found[(name, keyword.name, language)] = text
            for language, text in _texts(keyword.closed_replies):
                found[(name, f"{keyword.name} while closed", language)] = text
        for field, label in SET_TEXTS:
            for language, text in _texts(getattr(kset, field)):
                found[(name, label, language)] = text
    for language, text in _texts(book.danger_reply):
        found[(ALL_SETS, "danger reply", language)] = text
    for number, config in book.numbers.items():
        for field, label in RELAY_TEXTS:
            for language, text in _texts(getattr(config, field)):
                found[(config.set, f"{label} on {number}", language)] = text
    return found


def reply_changes(old: KeywordBook | None, new: KeywordBook) -> list[ReplyChange]:
    """Replies added, changed or removed from `old` (None: nothing before) to `new`: the new book's order,
    then the removed ones."""
    before, after = replies(old), replies(new)
    rows = [ReplyChange(*key, before.get(key), text) for key, text in after.items() if before.get(key) != text]
    rows += [ReplyChange(*key, text, None) for key, text in before.items() if key not in after]
    return rows
