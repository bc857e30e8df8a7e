"""Keywords file parse time: generated files with 500, 1,000, 2,000 and 4,000 keywords, each with aliases.

    python bench/keywords.py [--sizes 500,1000,2000,4000] [--aliases 2] [--brute]

Writes bench/out/keywords-<N>k.yaml for each size and times `load_book` on it (the best of --repeat runs):
the YAML, every reply check and the close-words check, as `keywords check` and a published version's
re-parse in a web request pay it. Words are random consonant-vowel strings, about 1 in 50 one letter away from
another, so the close-words warnings are exercised. --brute also times the same files with the old all-pairs check
(kept below for comparison) and says whether both give the same warnings.
Last line: keywords=2000 parse_s=<x>   (2,000 keywords, or the largest size run when 2,000 is not)
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.keywords import rules  # noqa: E402
from gateway.keywords.book import WordEntry  # noqa: E402
from gateway.keywords.problems import Finding  # noqa: E402
from gateway.keywords.reader import load_book  # noqa: E402
from gateway.keywords.text import typo_distance, typo_limit  # noqa: E402

OUT = ROOT / "bench" / "out"
CONSONANTS, VOWELS = "bcdfghjklmnprstvwz", "aeiouy"


def brute_close_words(lookup: Mapping[str, WordEntry]) -> list[Finding]:
    """The close-words check before it was indexed: every pair of words compared (quadratic)."""
    found: list[Finding] = []
    words = sorted((w for w in lookup.values() if not w.word.isdigit()), key=lambda w: w.word)
    for i, a in enumerate(words):
        for b in words[i + 1:]:
            close = typo_limit(min(len(a.word), len(b.word))) > 0 and typo_distance(a.word, b.word, 2) <= 2
            if a.keyword != b.keyword and close:
                found.append(Finding("close_words", {"word": a.word, "keyword": a.keyword,
                                                     "other_word": b.word, "other_keyword": b.keyword}))
    return found


def words(count: int, rng: random.Random) -> list[str]:
    """`count` distinct pronounceable pseudo-words of 5 to 12 letters; about 1 in 50 is one typo from another."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < count:
        if out and rng.random() < 0.02:  # a near miss of an earlier word: a close-words warning
            base = rng.choice(out)
            at = rng.randrange(len(base))
            word = base[:at] + rng.choice(VOWELS if base[at] in VOWELS else CONSONANTS) + base[at + 1:]
        else:
            length = rng.randint(5, 12)
            word = "".join(rng.choice(VOWELS if i % 2 else CONSONANTS) for i in range(length))
        if word not in seen:
            seen.add(word)
            out.append(word)
    return out


def keywords_yaml(keywords: int, aliases: int, seed: int = 10) -> str:
    """A valid keywords file with `keywords` keywords of `aliases` aliases each, all in one set."""
    rng = random.Random(seed)
    pool = words(keywords * (1 + aliases), rng)
    lines = [
        "version: 1",
        "default_set: main",
        "numbers:",
        '  "82228": {set: main, kind: short_code, rate_per_second: 30}',
        "danger:",
        '  phrases: [help me, "he\'s outside", knife, kill*]',
        '  reply: "In danger? Call 999. Deaf: text 07800 002414 or use 999bsl.co.uk."',
        "sets:",
        "  main:",
        "    language: en",
        "    keywords:",
    ]
    for i in range(keywords):
        word, others = pool[i * (1 + aliases)], pool[i * (1 + aliases) + 1:(i + 1) * (1 + aliases)]
        lines += [f"      {word.upper()}:",
                  f"        aliases: [{', '.join(w.upper() for w in others)}]",
                  f'        reply: "{word.title()} service: call 0800 612 6505 or visit example.org/{word}. '
                  'If you are in danger, call 999."']
    lines += ['    default: "Text a service name. If you are in danger, call 999."',
              '    help: "Text a service name for support details. In danger, call 999."']
    return "\n".join(lines) + "\n"


def best_time(path: Path, repeat: int) -> tuple[float, int]:
    """Fastest of `repeat` loads of `path`, and its number of close-words warnings."""
    best, close = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        book = load_book(path)
        best = min(best, time.perf_counter() - start)
        close = sum(w.code == "close_words" for w in book.warnings)
    return best, close


def with_check(check: Callable[[Mapping[str, WordEntry]], list[Finding]], path: Path, repeat: int
               ) -> tuple[float, int, list[str]]:
    """best_time with `check` as the close-words check, and the warnings it gave."""
    kept = rules.close_words
    rules.close_words = check
    try:
        seconds, close = best_time(path, repeat)
        return seconds, close, [str(w) for w in load_book(path).warnings]
    finally:
        rules.close_words = kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="500,1000,2000,4000", help="keyword counts, comma-separated")
    parser.add_argument("--aliases", type=int, default=2, help="aliases per keyword")
    parser.add_argument("--repeat", type=int, default=3, help="loads per file; the fastest counts")
    parser.add_argument("--brute", action="store_true", help="also time the old all-pairs check (slow)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    OUT.mkdir(parents=True, exist_ok=True)
    figures: dict[int, float] = {}
    for n in sizes:
        path = OUT / f"keywords-{n // 1000}k.yaml" if n % 1000 == 0 else OUT / f"keywords-{n}.yaml"
        path.write_text(keywords_yaml(n, args.aliases), encoding="utf-8")
        size_kb = path.stat().st_size / 1024
        seconds, close, warnings = with_check(rules.close_words, path, args.repeat)
        figures[n] = seconds
        line = (f"keywords={n} words={n * (1 + args.aliases)} file_kb={size_kb:.0f} close_warnings={close} "
                f"parse_s={seconds:.3f}")
        if args.brute:
            old_seconds, _, old_warnings = with_check(brute_close_words, path, 1)
            line += f" brute_parse_s={old_seconds:.3f} same_warnings={old_warnings == warnings}"
        print(line, flush=True)
    last = 2000 if 2000 in figures else max(figures)
    print(f"keywords={last} parse_s={figures[last]:.3f}")


if __name__ == "__main__":
    main()
