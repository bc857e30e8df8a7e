"""Readiness rules beyond "Redis answers": someone must be sending, and relay work must not be stuck."""

from __future__ import annotations

import redis

from gateway import metrics
from gateway.queues import RELAY

RELAY_MAX_AGE = 60.0  # seconds the oldest waiting relay job may be before the service is not ready
HEARTBEAT_MAX_AGE = 130.0  # an idle worker beats every ~15 s; a busy one before each job (job timeout + 60)


def problems(r: redis.Redis) -> list[str]:
    """What makes the service not ready, worded for the on-call engineer; empty when ready."""
    out = []
    try:
        if metrics.live_workers(r, HEARTBEAT_MAX_AGE) == 0:
            out.append("no worker has a live heartbeat: replies are queued but nothing sends them")
        age = metrics.queue_stats(r)[RELAY]["oldest_age"]
        if age > RELAY_MAX_AGE:
            out.append(f"oldest relay job has waited {age:.0f}s (limit {RELAY_MAX_AGE:.0f}s)")
    except redis.RedisError as exc:
        out.append(f"redis unreachable: {type(exc).__name__}")
    return out
