"""Queue names, in the order workers take them: relay work first, then danger replies, then the rest."""

from __future__ import annotations

import redis
from rq import Queue, Retry

RELAY = "relay"
URGENT = "urgent"
REPLIES = "replies"
ORDER = (RELAY, URGENT, REPLIES)

SEND_JOB = "workers.sending.send_sms"

# First retry within 10 s; six attempts after the first, spread over about nine minutes.
SEND_RETRY_INTERVALS = (5, 15, 30, 60, 120, 300)


def send_retry() -> Retry:
    """Retry policy for outbound sends: network errors, 5xx and 429 are retried with backoff."""
    return Retry(max=len(SEND_RETRY_INTERVALS), interval=list(SEND_RETRY_INTERVALS))


def make_queues(connection: redis.Redis) -> dict[str, Queue]:
    """One RQ queue per name, on the given connection."""
    return {name: Queue(name, connection=connection) for name in ORDER}
