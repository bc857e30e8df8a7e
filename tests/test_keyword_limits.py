"""Keyword files staff can break: caps on size, nesting and entry counts, and files the reader cannot read, each
refused with one line naming the file and the reason (never a traceback)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway import create_app
from gateway.keywords import problems as catalogue
from gateway.keywords.problems import KeywordFileError
from gateway.keywords.reader import load_book, parse_book
from tests.conftest import ROOT
from tests.keyword_files import BAD_FILES, BASE, bad_file, line_of, mutate, only_refusal, refusals


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_file_is_refused_in_one_line_naming_it(tmp_path: Path, name: str) -> None:
    path = bad_file(tmp_path, name)
    with pytest.raises(KeywordFileError) as caught:
        load_book(path)
    (line,) = str(caught.value).splitlines()
    assert line.startswith(f"{path}") and BAD_FILES[name][0] in line, line


def test_a_huge_file_is_not_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as handle:
        handle.truncate(200_000_000)  # sparse: 200 MB of NUL bytes on disk in no time
    problem = only_refusal_of(path)
    assert (problem.code, problem.line, dict(problem.args)) == ("too_large", None, {"limit": 1_000_000})


def only_refusal_of(path: Path):
    with pytest.raises(KeywordFileError) as caught:
        load_book(path)
    (problem,) = caught.value.problems
    return problem


def test_text_over_one_megabyte_is_refused() -> None:
    problem = only_refusal(BASE + "# " + "x" * 1_000_000 + "\n")
    assert (problem.code, problem.line, problem.entry) == ("too_large", None, "")
    assert problem.reason == "refused: the file is larger than 1,000,000 bytes (1 MB), the most a keywords file may be"
    # Bytes, not characters: 400,000 three-byte characters are 1.2 MB.
    assert only_refusal(BASE + "# " + "€" * 400_000 + "\n").code == "too_large"


def test_ten_levels_of_nesting_pass_eleven_are_refused() -> None:
    ten = "version: 1\nx: " + "[" * 9 + "]" * 9 + "\n"  # the whole file is one level, each list another
    assert "too_deep" not in {p.code for p in refusals(ten)}
    problem = only_refusal("version: 1\nx: " + "[" * 10 + "]" * 10 + "\n")
    assert (problem.code, problem.line, dict(problem.args)) == ("too_deep", 2, {"limit": 10})
    assert problem.reason == "refused: nested more than 10 levels deep (a keywords file needs at most 7)"


def test_deep_block_nesting_names_its_line() -> None:
    text = "version: 1\n" + "".join(" " * i + f"k{i}:\n" for i in range(12)) + " " * 12 + "v: 1\n"
    problem = only_refusal(text)
    assert (problem.code, problem.line) == ("too_deep", 12)  # the 11th level: k9's value, starting at k10


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_nesting_far_past_pythons_recursion_limit_is_refused(depth: int) -> None:
    for text in ("[" * depth + "]" * depth, "a: " + "{a: " * depth + "1" + "}" * depth):
        assert only_refusal(text).code == "too_deep"


@pytest.mark.parametrize(
    ("text", "line"),
    [(mutate('reply: "Victim Services: call 0800 612 6505."', 'reply: &r "Victim Services: call 0800 612 6505."'),
      "&r"),
     (mutate('    help: "Text DVS or STALKING. In danger, call 999."', "    help: *default",
             mutate("    default: ", "    default: &default ")), "&default"),
     (mutate("        aliases: [STALKER]", "        aliases: *a", mutate("[VICTIM, SUPPORT]", "&a [VICTIM]")),
      "&a")],
    ids=["anchor", "alias_of_a_reply", "alias_of_a_list"],
)
def test_anchors_and_aliases_are_refused(text: str, line: str) -> None:
    problem = only_refusal(text)
    assert (problem.code, problem.line, problem.entry) == ("yaml_alias", line_of(text, line), "")
    assert "anchors and aliases (&name, *name) are not allowed" in problem.reason


def test_an_alias_bomb_is_refused_at_its_first_anchor() -> None:
    text = BAD_FILES["alias_bomb"][1].decode()
    assert (only_refusal(text).code, only_refusal(text).line) == ("yaml_alias", 1)


def codes(text: str) -> set[str]:
    """The codes `text` is refused with (none when it is accepted)."""
    try:
        parse_book(text)
    except KeywordFileError as exc:
        return {p.code for p in exc.problems}
    return set()


def with_keywords(count: int, aliases: int = 0) -> str:
    """BASE with `count` more keywords of `aliases` aliases each."""
    # Digit-only words: the close-words check leaves them out, so even the old quadratic check reads this fast.
    lines = []
    for i in range(count):
        listed = ", ".join(str(1_000_000 + i * aliases + a) for a in range(aliases))
        lines.append(f'      "{10_000 + i}": {{reply: "Call 0800 612 6505.", aliases: [{listed}]}}\n')
    return mutate("    keywords:\n", "    keywords:\n" + "".join(lines))


COUNTS = [
    # (text, marker of the line, entry, what, count, limit); BASE has 2 keywords, 5 words, 4 phrases, 2 numbers
    (with_keywords(4_999), "keywords:", "sets.main.keywords", "keywords", 5_001, 5_000),
    (with_keywords(2_000, 9), "keywords:", "sets.main.keywords", "keywords and aliases", 20_005, 20_000),
    (mutate("kill*]", "kill*, " + ", ".join(f"phrase{i}" for i in range(497)) + "]"), "phrases:",
     "danger.phrases", "danger phrases", 501, 500),
    (mutate("numbers:\n", "numbers:\n" + "".join(f'  "{70_000 + i}": {{}}\n' for i in range(49))), "numbers:",
     "numbers", "numbers", 51, 50),
    (BASE + "".join(f"  set{i}:\n    keywords: {{}}\n    default: 999\n    help: 999\n" for i in range(20)),
     "sets:", "sets", "sets", 21, 20),
]


@pytest.mark.parametrize(("text", "marker", "entry", "what", "count", "limit"), COUNTS,
                         ids=[case[3].replace(" ", "_") for case in COUNTS])
def test_entry_counts_are_capped(text: str, marker: str, entry: str, what: str, count: int, limit: int) -> None:
    problem = only_refusal(text)
    assert (problem.code, problem.entry, problem.line) == ("too_many", entry, line_of(text, marker))
    assert dict(problem.args) == {"what": what, "count": count, "limit": limit}
    assert problem.reason == f"refused: {count:,} {what} (at most {limit:,})"


def test_entry_counts_at_their_caps_pass() -> None:
    assert codes(with_keywords(4_998)) == set()  # 5,000 keywords
    assert codes(with_keywords(1_000, 14)) == set()  # 15,005 words
    assert codes(mutate("kill*]", "kill*, " + ", ".join(f"phrase{i}" for i in range(496)) + "]")) == set()
    assert codes(mutate("numbers:\n", "numbers:\n" + "".join(f'  "{70_000 + i}": {{}}\n' for i in range(48)))) == set()
    assert codes(BASE + "".join(f"  set{i}:\n    keywords: {{}}\n    default: 999\n    help: 999\n"
                                for i in range(19))) == set()


@pytest.mark.parametrize(
    ("old", "new", "marker", "entry"),
    [("      DVS:\n", "      " + "D" * 41 + ":\n", "D" * 41, "sets.main.keywords." + "D" * 41),
     ("[VICTIM, SUPPORT]", "[VICTIM, " + "Support" * 6 + "]", "Support" * 6, "sets.main.keywords.DVS.aliases[1]")],
    ids=["keyword", "alias"],
)
def test_words_longer_than_texts_are_matched_are_refused(old: str, new: str, marker: str, entry: str) -> None:
    text = mutate(old, new)
    problem = only_refusal(text)
    assert (problem.code, problem.entry, problem.line) == ("word_too_long", entry, line_of(text, marker))
    assert problem.reason == f"refused: {marker!r} is longer than 40 letters: no text is matched to a word that long"
    assert codes(mutate(old, new.replace(marker, marker[:40]))) == set()


def test_the_new_codes_are_refusals() -> None:
    assert {"too_large", "too_deep", "yaml_alias", "too_many", "word_too_long"} <= set(catalogue.REFUSALS)


# --- KEYWORDS_FILE at start-up: the app starts, says why in one line, and is not ready ------------------------


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_keywords_file_at_start_up_is_one_line_and_not_ready(config, tmp_path, caplog, name):
    path = bad_file(tmp_path, name)
    app = create_app({**config, "KEYWORDS_FILE": str(path)})
    (said,) = [rec.getMessage() for rec in caplog.records if "KEYWORDS_FILE" in rec.getMessage()]
    (line,) = said.splitlines()
    assert str(path) in line and BAD_FILES[name][0] in line, line
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 503 and "keywords not loaded" in ready.json["problems"]


@pytest.mark.slow  # a separate process
@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_keywords_file_does_not_stop_the_app_starting(settings_env, tmp_path, name):
    path = bad_file(tmp_path, name)
    env = dict(os.environ, KEYWORDS_FILE=str(path))
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    (line,) = [json.loads(line)["msg"] for line in result.stderr.splitlines() if "KEYWORDS_FILE" in line]
    assert "\n" not in line and str(path) in line and BAD_FILES[name][0] in line, line
