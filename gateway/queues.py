"""Queue names, in the order workers take them: relay work first, then danger replies, then the rest."""

from __future__ import annotations

from typing import Any

import redis
from rq import Callback, Queue, Retry

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


def enqueue_send(
    queue: Queue, to: str, from_: str, body: str, ref: str, *, pipeline: redis.client.Pipeline | None = None,
    meta: dict[str, Any] | None = None, on_failure: Callback | None = None,
) -> None:
    """Queue one outbound SMS; `ref` names the job, and the description carries no number and no text."""
    queue.enqueue(
        SEND_JOB,
        to=to,
        from_=from_,
        body=body,
        ref=ref,
        job_id=f"send-{ref}",
        description=f"send {ref}",
        retry=send_retry(),
        job_timeout=60,
        result_ttl=24 * 3600,
        failure_ttl=30 * 24 * 3600,
        meta=meta,
        on_failure=on_failure,
        pipeline=pipeline,
    )
