"""Redis keys and the small pieces of state shared by the web app and the workers."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

PREFIX = "signpost:"
SEEN_TTL = 2 * 24 * 3600  # Twilio retries within minutes; two days is ample and self-cleaning.
OUTBOX = PREFIX + "outbox"
OUTBOX_KEEP = 1000


def seen_key(message_sid: str) -> str:
    """Key that marks an inbound MessageSid as already handled."""
    return f"{PREFIX}seen:{message_sid}"


def optout_key(our_number: str) -> str:
    """Hash of texters who opted out of messages from one of our numbers."""
    return f"{PREFIX}optout:{our_number}"


def status_key(message_sid: str) -> str:
    """Hash of the latest delivery status of one outbound message."""
    return f"{PREFIX}status:{message_sid}"


def record_optout(r: redis.Redis | redis.client.Pipeline, our_number: str, texter: str, reason: str) -> None:
    """Record that `texter` opted out of messages from `our_number`."""
    r.hset(optout_key(our_number), texter, json.dumps({"at": time.time(), "reason": reason}))


def clear_optout(r: redis.Redis | redis.client.Pipeline, our_number: str, texter: str) -> None:
    """Record that `texter` opted back in to messages from `our_number`."""
    r.hdel(optout_key(our_number), texter)


def is_opted_out(r: redis.Redis, our_number: str, texter: str) -> bool:
    """True if `texter` must get no message from `our_number`."""
    return bool(r.hexists(optout_key(our_number), texter))


def record_status(r: redis.Redis, message_sid: str, fields: dict[str, Any], ttl: int) -> None:
    """Store the latest status fields of an outbound message."""
    key = status_key(message_sid)
    with r.pipeline(transaction=False) as p:
        p.hset(key, mapping={k: str(v) for k, v in fields.items() if v is not None})
        p.expire(key, ttl)
        p.execute()


def push_outbox(r: redis.Redis, message: dict[str, Any]) -> None:
    """Keep a development-mode outbound message in the local outbox."""
    with r.pipeline(transaction=False) as p:
        p.lpush(OUTBOX, json.dumps(message))
        p.ltrim(OUTBOX, 0, OUTBOX_KEEP - 1)
        p.execute()


def read_outbox(r: redis.Redis, count: int = 50) -> list[dict[str, Any]]:
    """The most recent development-mode outbound messages, newest first."""
    return [json.loads(item) for item in r.lrange(OUTBOX, 0, count - 1)]
