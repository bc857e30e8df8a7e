"""Opt-out state: who asked, by STOP to one of our numbers, to get no more texts from it."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from gateway.redisdb import PREFIX


def optout_key(our_number: str) -> str:
    """Hash of texters who opted out of messages from one of our numbers."""
    return f"{PREFIX}optout:{our_number}"


def record_optout(r: redis.Redis | redis.client.Pipeline, our_number: str, texter: str, reason: str) -> None:
    """Record that `texter` opted out of messages from `our_number`."""
    r.hset(optout_key(our_number), texter, json.dumps({"at": time.time(), "reason": reason}))


def clear_optout(r: redis.Redis | redis.client.Pipeline, our_number: str, texter: str) -> None:
    """Record that `texter` opted back in to messages from `our_number`."""
    r.hdel(optout_key(our_number), texter)


def is_opted_out(r: redis.Redis, our_number: str, texter: str) -> bool:
    """True if `texter` must get no message from `our_number`."""
    return bool(r.hexists(optout_key(our_number), texter))


def for_texter(r: redis.Redis, texter: str) -> dict[str, dict[str, Any]]:
    """`texter`'s opt-outs, by our number: when and why (SCAN over the opt-out hashes, one per our number)."""
    keys = sorted(set(r.scan_iter(match=optout_key("*"), count=1000)))
    with r.pipeline(transaction=False) as p:
        for key in keys:
            p.hget(key, texter)
        raws = p.execute()
    prefix = len(optout_key(""))
    return {key.decode()[prefix:]: json.loads(raw) for key, raw in zip(keys, raws, strict=True) if raw}
