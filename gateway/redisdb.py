"""The Redis connection each process makes from its settings, and the prefix of signpost's own keys."""

from __future__ import annotations

import redis

from gateway.settings import Settings

PREFIX = "signpost:"


def connect(settings: Settings, timeouts: bool = True) -> redis.Redis:
    """A client for REDIS_URL; with `timeouts`, calls give up after REDIS_TIMEOUT (the webhook then answers
    inline). Workers connect without: RQ sets the socket timeout its blocking pops need."""
    if not timeouts:
        return redis.Redis.from_url(settings.redis_url)
    return redis.Redis.from_url(settings.redis_url, socket_timeout=settings.redis_timeout,
                                socket_connect_timeout=settings.redis_timeout)
