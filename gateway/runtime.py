"""What the app keeps in `app.extensions['signpost']`: settings, the Redis client, the queues, the live keywords."""

from __future__ import annotations

import redis
from flask import current_app
from rq import Queue

from gateway.keywords.book import KeywordBook
from gateway.keywords.versions import LiveBook
from gateway.settings import Settings


class Signpost:
    """Per-app handles made by the factory; `book` is the live published version (see keywords/versions.py)."""

    def __init__(self, settings: Settings, redis: redis.Redis, queues: dict[str, Queue],
                 book: KeywordBook | None) -> None:
        self.settings = settings
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
