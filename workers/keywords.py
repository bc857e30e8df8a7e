"""Keyword jobs: workers read the live published keywords through `gateway.versions.live_book`."""

from __future__ import annotations

import hashlib

import redis
from rq import get_current_job

from gateway import config, engine, versions


def _connection() -> redis.Redis:
    job = get_current_job()
    return job.connection if job is not None else redis.Redis.from_url(config.load()["REDIS_URL"])


def live_version() -> dict:
    """What this worker process serves: the version number (None: bootstrap file) and a digest of its text."""
    live = versions.live_book(_connection())
    book = live.book
    return {"version": live.number, "sha256": hashlib.sha256(book.source_text.encode()).hexdigest(),
            "relay_lines": list(book.relay_numbers)}


def reply_for(text: str, to: str) -> str | None:
    """The reply this worker process would give to `text` sent to `to` (for checks and tests)."""
    return engine.decide(versions.live_book(_connection()).book, text, to).reply
