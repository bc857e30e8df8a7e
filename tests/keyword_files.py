"""keywords.yaml texts for the book, reader and rules tests: a small valid book, edits of it, and its refusals."""

from __future__ import annotations

import pytest

from gateway.keywords.problems import KeywordFileError, Problem
from gateway.keywords.reader import parse_book

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


def mutate(old: str, new: str, text: str = BASE) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


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
