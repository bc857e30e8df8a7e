"""What the app keeps in `app.extensions['signpost']`: the Redis client, the queues and the live keywords."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import current_app
from rq import Queue

from gateway.keywordbook import KeywordBook


@dataclass
class Signpost:
    """Per-app handles made by the factory."""

    redis: redis.Redis
    queues: dict[str, Queue]
    book: KeywordBook


def signpost() -> Signpost:
    """The current app's handles."""
    return current_app.extensions["signpost"]
