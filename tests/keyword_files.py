"""keywords.yaml texts for the book, reader and rules tests: a small valid book, edits of it, and its refusals."""

from __future__ import annotations

import os
from pathlib import Path

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


# Two languages a texter can pick: English (the set's) and Polish. STALKING has no Polish reply: it falls back.
POLISH = mutate(
    """    language: en
    keywords:
      DVS:
        aliases: [VICTIM, SUPPORT]
        reply: "Victim Services: call 0800 612 6505."
""",
    """    language: en
    languages:
      en: {name: English, offer: "English: text ENGLISH"}
      pl:
        name: Polski
        words: [POLISH]
        offer: "Po polsku: wyslij POLSKI"
    keywords:
      DVS:
        aliases:
          en: [VICTIM, SUPPORT]
          pl: [OFIARA, WSPARCIE]
        reply:
          en: "Victim Services: call 0800 612 6505."
          pl: "Pomoc dla ofiar: zadzwon 0800 612 6505."
""",
    mutate(
        """    default: "Text DVS or STALKING. If you are in danger, call 999."
    help: "Text DVS or STALKING. In danger, call 999."
""",
        """    default:
      en: "Text DVS or STALKING. If you are in danger, call 999."
      pl: "Wyslij DVS lub STALKING. W niebezpieczenstwie dzwon 999."
    help:
      en: "Text DVS or STALKING. In danger, call 999."
      pl: "Wyslij DVS lub STALKING. W razie zagrozenia dzwon 999."
""",
        mutate(
            """  reply: "In danger? Call 999. Deaf: text 07800 002414 or use 999bsl.co.uk."
""",
            """  reply:
    en: "In danger? Call 999. Deaf: text 07800 002414 or use 999bsl.co.uk."
    pl: "W niebezpieczenstwie? Dzwon 999."
""",
        ),
    ),
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


# Files staff can break the reader with: name -> (the reason its one line gives, the bytes; None: made below).
BAD_FILES: dict[str, tuple[str, bytes | None]] = {
    "latin1": ("not UTF-8", b"version: 1\n# caf\xe9\n"),
    "nul": ("U+0000", b"version: 1\ndefault_set: main\x00\n"),
    "directory": ("Is a directory", None),
    "missing": ("No such file or directory", None),
    "unreadable": ("Permission denied", BASE.encode()),
    "deep_list": ("nested more than 10 levels", b"[" * 10_000 + b"]" * 10_000 + b"\n"),
    "deep_mapping": ("nested more than 10 levels", b"a: " + b"{a: " * 10_000 + b"1" + b"}" * 10_000 + b"\n"),
    "alias_bomb": ("anchors and aliases", (
        b"a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + b"".join(b"%s: &%s [%s]\n" % (bytes([c]), bytes([c]), b", ".join([b"*" + bytes([c - 1])] * 9))
                   for c in range(ord("b"), ord("j")))
    )),
    "huge": ("larger than 1,000,000 bytes", BASE.encode() + (b"# " + b"x" * 98 + b"\n") * 20_000),
}


def bad_file(tmp_path: Path, name: str) -> Path:
    """Write the bad keywords file `name` of BAD_FILES under tmp_path; skips what root cannot be refused."""
    path = tmp_path / f"{name}.yaml"
    data = BAD_FILES[name][1]
    if name == "directory":
        path.mkdir()
    elif data is not None:
        path.write_bytes(data)
    if name == "unreadable":
        if os.geteuid() == 0:
            pytest.skip("root reads files whatever their mode")
        path.chmod(0)
    return path


# STALKING with the National Stalking Helpline's published hours: weekdays 9:30am-4pm, Wednesday from 1pm.
HOURS = mutate(
    """        reply: "Stalking Helpline: 0808 802 0300."
""",
    """        reply: "Stalking Helpline: 0808 802 0300."
        hours:
          monday: 09:30-16:00
          tuesday: 09:30-16:00
          wednesday: 13:00-16:00
          thursday: 09:30-16:00
          friday: 09:30-16:00
        closed_reply: "Stalking Helpline: 0808 802 0300, opens {opens}. In danger, call 999."
""",
)


def with_opening_hours(text: str) -> str:
    """The shipped keywords.yaml with its commented-out opening hours switched on, as its comment tells staff."""
    lines = text.split("\n")
    start = lines.index("        # hours:")
    end = start
    while end < len(lines) and lines[end].startswith("        # "):
        end += 1
    assert end - start > 5, "the commented opening hours example is missing"
    return "\n".join(lines[:start] + ["        " + line[10:] for line in lines[start:end]] + lines[end:])
