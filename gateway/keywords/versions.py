"""Published keyword versions in Redis, the shared draft, and the live book every process serves.

A version is the full YAML text of a keywords file, exactly as `keywords check` reads it, with its author,
time, message and a diff against the version before. Versions are immutable and numbered 1, 2, 3...;
`signpost:kw:live` names the one in service. Restoring an old version publishes its text again as a new
version, so the history only ever grows. Redis must persist (AOF) for versions to survive a restart of Redis.

Why whole YAML texts rather than a structure: the file format is the source of truth for `keywords check`,
`simulate`, export and import, so a version is checked by exactly the same parser and can be diffed line by
line by people. The console's forms edit a parsed copy and dump it back with PyYAML (key order kept); the
comments in the body of the file are lost on such an edit, which is acceptable because the leading comment
block (the format guide for staff) is carried over to every dumped version.

`keywords.yaml` (KEYWORDS_FILE) is the bootstrap: it is served until a version is published in Redis.
"""

from __future__ import annotations

import difflib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
import yaml

from gateway.keywords.book import KeywordBook
from gateway.keywords.reader import parse_book
from gateway.redisdb import PREFIX

log = logging.getLogger("signpost.versions")

LIVE = PREFIX + "kw:live"
SEQ = PREFIX + "kw:seq"
INDEX = PREFIX + "kw:versions"
DRAFT = PREFIX + "kw:draft"
DRAFT_EDITORS = PREFIX + "kw:draft:editors"  # everyone who changed the draft since the last publish
CHECK_EVERY = 1.0  # seconds between checks of the live version id: a publish is served within ~1 s


def version_key(number: int | str) -> str:
    """Hash holding one published version."""
    return f"{PREFIX}kw:version:{number}"


@dataclass(frozen=True)
class Version:
    """One published version."""

    number: int
    text: str
    author: str
    at: float
    message: str
    diff: str
    restored_from: int | None = None
    approved_by: str = ""  # the second person, when publishing needed approval


def _decode(raw: dict[bytes, bytes]) -> Version:
    data = {k.decode(): v.decode() for k, v in raw.items()}
    return Version(
        number=int(data["number"]), text=data["text"], author=data.get("author", ""),
        at=float(data.get("at", 0)), message=data.get("message", ""), diff=data.get("diff", ""),
        restored_from=int(data["restored_from"]) if data.get("restored_from") else None,
        approved_by=data.get("approved_by", ""),
    )


def diff(before: str, after: str, before_name: str = "before", after_name: str = "after") -> str:
    """A unified diff between two YAML texts."""
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        before_name, after_name, n=2))


def live_number(r: redis.Redis) -> int | None:
    """The number of the version in service, or None when nothing has been published (bootstrap file)."""
    raw = r.get(LIVE)
    return int(raw) if raw else None


def get(r: redis.Redis, number: int | str) -> Version | None:
    """One version, or None."""
    raw = r.hgetall(version_key(number))
    return _decode(raw) if raw else None


def history(r: redis.Redis, limit: int = 200) -> list[Version]:
    """Published versions, newest first (without their texts' diffs trimmed)."""
    numbers = [int(n) for n in r.zrevrange(INDEX, 0, limit - 1)]
    with r.pipeline(transaction=False) as p:
        for n in numbers:
            p.hgetall(version_key(n))
        raws = p.execute()
    return [_decode(raw) for raw in raws if raw]


def live_text(r: redis.Redis, bootstrap: str) -> tuple[int | None, str]:
    """(number, YAML text) of the version in service; (None, bootstrap) before the first publish."""
    number = live_number(r)
    if number is None:
        return None, bootstrap
    version = get(r, number)
    return (number, version.text) if version else (None, bootstrap)


def new_version(r: redis.Redis, number: int, text: str, author: str, message: str, bootstrap: str = "",
                restored_from: int | None = None, approved_by: str = "") -> Version:
    """Version `number` of `text`, its diff taken against the live text (not stored yet)."""
    _, previous = live_text(r, bootstrap)
    before = f"version {number - 1}" if number > 1 else "keywords.yaml"
    return Version(number, text, author, time.time(), message.strip() or "(no message)",
                   diff(previous, text, before, f"version {number}"), restored_from, approved_by)


def store(p: redis.client.Pipeline, version: Version) -> None:
    """Queue the writes that store `version` and make it live on a pipeline."""
    fields: dict[str, Any] = {"number": version.number, "text": version.text, "author": version.author,
                              "at": version.at, "message": version.message, "diff": version.diff}
    if version.restored_from is not None:
        fields["restored_from"] = version.restored_from
    if version.approved_by:
        fields["approved_by"] = version.approved_by
    p.hset(version_key(version.number), mapping=fields)
    p.zadd(INDEX, {str(version.number): version.number})
    p.set(LIVE, version.number)


def publish(r: redis.Redis, text: str, author: str, message: str, bootstrap: str = "",
            restored_from: int | None = None, source: str = "new version") -> Version:
    """Check `text` and make it the live version; KeywordFileError (nothing stored) if it is refused."""
    parse_book(text, source)
    number = int(r.incr(SEQ))
    version = new_version(r, number, text, author, message, bootstrap, restored_from)
    with r.pipeline() as p:
        store(p, version)
        p.execute()
    log.info("keywords version %s published by %s", number, author)
    return version


def restore(r: redis.Redis, number: int, author: str, bootstrap: str = "") -> Version | None:
    """Publish the text of an earlier version again, as a new version; None if there is no such version."""
    old = get(r, number)
    if old is None:
        return None
    return publish(r, old.text, author, f"restored version {number}", bootstrap, restored_from=number)


# --- the draft: edits collect here and can be tried in the sandbox before publishing -----------------------

@dataclass(frozen=True)
class Draft:
    """The shared draft: a full YAML text, the live version it started from, who last changed it, everyone
    who changed it, and where it stands on the way to approval (see approval.py)."""

    text: str
    base: int | None
    by: str
    at: float
    editors: frozenset[str] = frozenset()
    message: str = ""  # what changed, as given on submission (or by a restore or an import)
    restored_from: int | None = None
    submitted_by: str = ""
    submitted_at: float = 0.0
    submitted_digest: str = ""  # of the text submitted: approval is of exactly that text
    returned_by: str = ""
    returned_at: float = 0.0
    comment: str = ""  # why it was sent back

    @property
    def submitted(self) -> bool:
        """Waiting for a second person's approval."""
        return bool(self.submitted_by)


SUBMISSION = ("submitted_by", "submitted_at", "submitted_digest")
RETURN = ("returned_by", "returned_at", "comment")


def get_draft(r: redis.Redis) -> Draft | None:
    """The current draft, or None (also works on a pipeline watching the draft, before MULTI)."""
    raw = r.hgetall(DRAFT)
    if not raw:
        return None
    data = {k.decode(): v.decode() for k, v in raw.items()}
    # The last editor counts even for a draft saved before editors were kept.
    editors = frozenset(e.decode() for e in r.smembers(DRAFT_EDITORS)) | ({data["by"]} if data.get("by") else set())
    return Draft(data["text"], int(data["base"]) if data.get("base") else None, data.get("by", ""),
                 float(data.get("at", 0)), editors, data.get("message", ""),
                 int(data["restored_from"]) if data.get("restored_from") else None,
                 data.get("submitted_by", ""), float(data.get("submitted_at") or 0), data.get("submitted_digest", ""),
                 data.get("returned_by", ""), float(data.get("returned_at") or 0), data.get("comment", ""))


def save_draft(r: redis.Redis, text: str, base: int | None, by: str, *, message: str = "",
               restored_from: int | None = None) -> Draft | None:
    """Replace the draft with `text` (already checked by the caller); `by` joins its editors and any
    submission for approval is withdrawn (what was submitted is no longer what is there)."""
    fields: dict[str, Any] = {"text": text, "base": "" if base is None else base, "by": by, "at": time.time(),
                              "restored_from": "" if restored_from is None else restored_from}
    if message:
        fields["message"] = message
    with r.pipeline() as p:
        p.hset(DRAFT, mapping=fields)
        p.hdel(DRAFT, *SUBMISSION)
        p.sadd(DRAFT_EDITORS, by)
        p.execute()
    return get_draft(r)


def discard_draft(r: redis.Redis) -> None:
    """Drop the draft and its editors."""
    r.delete(DRAFT, DRAFT_EDITORS)


# --- YAML round trip for the console's forms -----------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    # Long replies as folded blocks, as a person would write them; short ones plain or quoted.
    style = ">" if len(value) > 60 and "\n" not in value and value == value.strip() else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def header(text: str) -> str:
    """The leading comment block of a keywords file (the format guide for staff)."""
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith("#") or not line.strip():
            lines.append(line)
        else:
            break
    return "".join(lines)


def load_structure(text: str) -> dict[str, Any]:
    """The YAML text as plain dicts and lists, in file order."""
    data = yaml.safe_load(text)
    return data if isinstance(data, dict) else {}


def dump_structure(data: dict[str, Any], like: str) -> str:
    """YAML text for `data`, key order kept, with the leading comment block of `like` in front."""
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
    head = header(like)
    return (head.rstrip("\n") + "\n\n" if head.strip() else "") + body


# --- the live book: what every web and worker process answers with ------------------------------------------

class LiveBook:
    """The book in service, re-read when the published version changes (checked at most once a second).

    One GET per second per process; if Redis is down or a stored version cannot be read, the last good book
    keeps being served and the webhook never fails because of this.
    """

    def __init__(self, connection: Callable[[], redis.Redis] | redis.Redis, bootstrap: KeywordBook | None,
                 every: float = CHECK_EVERY) -> None:
        self._connection = connection
        self.bootstrap = bootstrap
        self.book = bootstrap
        self.number: int | None = None
        self.every = every
        self._checked = 0.0
        self._lock = threading.Lock()
        if bootstrap is not None:
            log.info("keywords: %s loaded as the bootstrap; a version published in Redis replaces it",
                     bootstrap.source)

    def _redis(self) -> redis.Redis:
        return self._connection() if callable(self._connection) else self._connection

    @property
    def bootstrap_text(self) -> str:
        """The bootstrap file's text ('' when it was refused at start-up)."""
        return self.bootstrap.source_text if self.bootstrap is not None else ""

    def get(self) -> KeywordBook | None:
        """The live book; checks the version key when the last check is over `every` seconds old."""
        now = time.monotonic()
        if now - self._checked < self.every:
            return self.book
        with self._lock:
            if now - self._checked < self.every:
                return self.book
            self._checked = now
            try:
                self._refresh()
            except (redis.RedisError, ValueError) as exc:
                log.warning("keywords: cannot check the live version (%s); serving version %s",
                            type(exc).__name__, self.number or "bootstrap")
        return self.book

    def _refresh(self) -> None:
        r = self._redis()
        number = live_number(r)
        if number == self.number:
            return
        if number is None:
            # Versions vanished (Redis flushed): keep serving what we have rather than go back silently.
            if self.number is not None:
                log.warning("keywords: no live version in Redis any more; still serving version %s", self.number)
            return
        version = get(r, number)
        if version is None:
            raise ValueError(f"version {number} missing")
        self.book = parse_book(version.text, f"version {number}")
        self.number = number
        log.info("keywords: serving version %s from Redis (published by %s)", number, version.author)

    def expire(self) -> None:
        """Check the live version on the next access (this process just published)."""
        self._checked = 0.0

    def describe(self) -> str:
        """'version N' or the bootstrap file name."""
        if self.number:
            return f"version {self.number}"
        return self.bootstrap.source if self.bootstrap is not None else "no keywords loaded"


_worker_books: dict[str, LiveBook] = {}
_worker_lock = threading.Lock()


def live_book(r: redis.Redis, bootstrap_path: str | None = None) -> LiveBook:
    """The live book for worker code, one per Redis URL per process, with the same one-second check."""
    key = repr(r.connection_pool.connection_kwargs.get("db")) + repr(r.connection_pool.connection_kwargs)
    with _worker_lock:
        live = _worker_books.get(key)
        if live is None:
            from gateway import load_bootstrap, settings

            path = bootstrap_path or settings.current().keywords_file
            live = LiveBook(r, load_bootstrap(path))
            _worker_books[key] = live
    live.get()
    return live
