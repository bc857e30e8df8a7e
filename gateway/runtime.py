"""What the app keeps in `app.extensions['signpost']`: the Redis client, the queues and the live keywords."""

from __future__ import annotations

import redis
from flask import current_app
from rq import Queue

from gateway.keywordbook import KeywordBook
from gateway.versions import LiveBook


class Signpost:
    """Per-app handles made by the factory; `book` is the live published version (see gateway.versions)."""

    def __init__(self, redis: redis.Redis, queues: dict[str, Queue], book: KeywordBook | None) -> None:
        self.redis = redis
        self.queues = queues
        self.live = LiveBook(redis, book)

    @property
    def book(self) -> KeywordBook | None:
        """The keywords in service: re-read within a second of a publish, from any process."""
        return self.live.get()


def signpost() -> Signpost:
    """The current app's handles."""
    return current_app.extensions["signpost"]
