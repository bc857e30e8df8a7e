"""The language each texter picked, kept per number for RETENTION_DAYS like the message log.

Keyed by the message log's keyed digest of the number (msglog.number_digest), so the key never holds the
number; the value is only the language code. Each pick stores it again, restarting the retention period.
"""

from __future__ import annotations

import redis

from gateway.redisdb import PREFIX
from gateway.settings import Settings
from gateway.texts.msglog import number_digest


def language_key(settings: Settings, texter: str) -> str:
    """The key holding the language `texter` (E.164) picked."""
    return f"{PREFIX}lang:{number_digest(settings, texter)}"


def remember(r: redis.Redis | redis.client.Pipeline, settings: Settings, texter: str, language: str) -> None:
    """Store `texter`'s pick for RETENTION_DAYS (on a pipeline: the caller executes it)."""
    r.set(language_key(settings, texter), language, ex=settings.retention_seconds)


def recall(r: redis.Redis, settings: Settings, texter: str) -> str | None:
    """The language `texter` picked, or None."""
    raw = r.get(language_key(settings, texter))
    return raw.decode() if raw else None


def forget(r: redis.Redis, settings: Settings, texter: str, language: str) -> bool:
    """Drop `texter`'s pick if it is still `language`: a pick made since it was read is theirs to keep."""
    key = language_key(settings, texter)
    with r.pipeline() as p:
        try:
            p.watch(key)
            if p.get(key) != language.encode():
                return False
            p.multi()
            p.delete(key)
            return bool(p.execute()[0])
        except redis.WatchError:
            return False
