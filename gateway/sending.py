"""Sending an SMS: the queues, in the order workers take them (relay, then danger replies, then the rest),
the send job's arguments and retry policy in one place, and the development outbox.

`workers.sending.send_sms` is the job; everything that queues a send calls `enqueue_send`.
"""

from __future__ import annotations

import json
from typing import Any

import redis
from rq import Callback, Queue, Retry
from rq.serializers import JSONSerializer

from gateway.redisdb import PREFIX

RELAY = "relay"
URGENT = "urgent"
REPLIES = "replies"
ORDER = (RELAY, URGENT, REPLIES)

SEND_JOB = "workers.sending.send_sms"

# First retry within 10 s; six retries after the first attempt, spread over 315 s (over five minutes).
SEND_RETRY_INTERVALS = (5, 10, 20, 40, 80, 160)
# Relay and danger sends try again sooner: someone may be waiting on them. Still over five minutes in all.
URGENT_RETRY_INTERVALS = (2, 5, 10, 20, 40, 80, 160)
RETRY_INTERVALS = {RELAY: URGENT_RETRY_INTERVALS, URGENT: URGENT_RETRY_INTERVALS, REPLIES: SEND_RETRY_INTERVALS}


def send_retry(queue_name: str = REPLIES) -> Retry:
    """Retry policy for outbound sends on a queue: network errors, 5xx and 429 are retried with backoff."""
    intervals = RETRY_INTERVALS.get(queue_name, SEND_RETRY_INTERVALS)
    return Retry(max=len(intervals), interval=list(intervals))


# Jobs are stored as JSON, never pickled: whoever can write to Redis can then queue a job, not run code in a worker.
SERIALIZER = JSONSerializer


def queue(name: str, connection: redis.Redis) -> Queue:
    """The RQ queue `name` on `connection`, with signpost's serializer."""
    return Queue(name, connection=connection, serializer=SERIALIZER)


def make_queues(connection: redis.Redis) -> dict[str, Queue]:
    """One RQ queue per name, on the given connection."""
    return {name: queue(name, connection) for name in ORDER}


def send_kwargs(to: str, from_: str, body: str, ref: str) -> dict[str, str]:
    """The send job's own arguments."""
    return {"to": to, "from_": from_, "body": body, "ref": ref}


def send_options(queue_name: str, ref: str, meta: dict[str, Any] | None = None,
                 on_failure: Callback | None = None) -> dict[str, Any]:
    """RQ options of a send job: `ref` names it, and the description carries no number and no text."""
    return {
        "job_id": f"send-{ref}",
        "description": f"send {ref}",
        "retry": send_retry(queue_name),
        "timeout": 60,
        "result_ttl": 24 * 3600,
        "failure_ttl": 30 * 24 * 3600,
        "meta": meta,
        "on_failure": on_failure,
    }


def enqueue_send(
    queue: Queue, to: str, from_: str, body: str, ref: str, *, pipeline: redis.client.Pipeline | None = None,
    meta: dict[str, Any] | None = None, on_failure: Callback | None = None,
) -> None:
    """Queue one outbound SMS (inside `pipeline` when given, which the caller executes)."""
    # enqueue_many, unlike enqueue_call, leaves a caller's pipeline as it is (no MULTI forced on it).
    queue.enqueue_many([Queue.prepare_data(SEND_JOB, kwargs=send_kwargs(to, from_, body, ref),
                                           **send_options(queue.name, ref, meta, on_failure))], pipeline=pipeline)


OUTBOX = PREFIX + "outbox"
OUTBOX_KEEP = 1000


def push_outbox(r: redis.Redis, message: dict[str, Any]) -> None:
    """Keep a development-mode outbound message in the local outbox (no Twilio credentials)."""
    with r.pipeline(transaction=False) as p:
        p.lpush(OUTBOX, json.dumps(message))
        p.ltrim(OUTBOX, 0, OUTBOX_KEEP - 1)
        p.execute()

