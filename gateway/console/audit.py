"""The audit log: every sign-in, failure, lock, edit, publish, restore and case action, newest first."""

from __future__ import annotations

import json
import time
from typing import Any

import redis

from gateway.redisdb import PREFIX

KEY = PREFIX + "audit"
KEEP = 10000


def record(r: redis.Redis, who: str, action: str, detail: str = "", addr: str | None = None) -> None:
    """Add one entry (capped list: the oldest entries drop off after KEEP)."""
    entry = json.dumps({"at": time.time(), "who": who, "action": action, "detail": detail, "addr": addr})
    with r.pipeline(transaction=False) as p:
        p.lpush(KEY, entry)
        p.ltrim(KEY, 0, KEEP - 1)
        p.execute()


def recent(r: redis.Redis, count: int = 200, action: str | None = None) -> list[dict[str, Any]]:
    """The newest entries, optionally of one action only."""
    entries = [json.loads(raw) for raw in r.lrange(KEY, 0, (KEEP if action else count) - 1)]
    if action:
        entries = [e for e in entries if e["action"] == action][:count]
    return entries
