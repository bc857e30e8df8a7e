"""The audit log: every sign-in, failure, lock, edit, publish, restore and case action, newest first.

Entries are kept by time, never by count: at least MIN_KEEP_DAYS, or RETENTION_DAYS when that is longer.
Refused sign-ins come from anyone, so they are aggregated: one entry per action, account and address per
WINDOW with a count, at most WINDOW_ENTRIES such entries per window (the rest share one), and unknown names
share one entry per address. So no amount of unauthenticated traffic pushes out what staff did.

Redis: a sorted set of entry ids by last time, one hash per entry (expiring with the retention), and for
each open aggregate a key from (window, action, who, address, kind) to its entry id.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import redis
from flask import current_app, has_app_context
from redis.commands.core import Script

from gateway.console import users
from gateway.redisdb import PREFIX

LOG = PREFIX + "audit:log"
SEQ = PREFIX + "audit:seq"
ENTRY = PREFIX + "audit:e:"
OLD_LIST = PREFIX + "audit"  # the capped list kept before: read once into the log, then removed
MIN_KEEP_DAYS = 90
WINDOW = 3600
WINDOW_ENTRIES = 200
UNKNOWN = "(unknown name)"
MANY = "(many addresses)"

# KEYS: log, seq, aggregate key ("" for a plain entry), overflow aggregate key, window counter.
# ARGV: entry prefix, at, cutoff, entry ttl, aggregate ttl, window cap, who, action, detail, addr,
#       overflow who, overflow addr.
_RECORD = """
local prefix, at, cutoff, ttl, agg_ttl, cap = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5]),
    tonumber(ARGV[6])
local who, addr, agg = ARGV[7], ARGV[10], KEYS[3]
if agg ~= '' then
  local id = redis.call('GET', agg)
  if not id and redis.call('EXISTS', KEYS[5]) == 1 and tonumber(redis.call('GET', KEYS[5])) >= cap then
    agg, who, addr = KEYS[4], ARGV[11], ARGV[12]
    id = redis.call('GET', agg)
  end
  if id and redis.call('EXISTS', prefix .. id) == 1 then
    local key = prefix .. id
    redis.call('HINCRBY', key, 'count', 1)
    redis.call('HSET', key, 'last', at)
    redis.call('EXPIRE', key, ttl)
    redis.call('ZADD', KEYS[1], at, id)
    return id
  end
end
local id = redis.call('INCR', KEYS[2])
local key = prefix .. id
redis.call('HSET', key, 'at', at, 'last', at, 'count', 1, 'who', who, 'action', ARGV[8], 'detail', ARGV[9],
           'addr', addr)
redis.call('EXPIRE', key, ttl)
redis.call('ZADD', KEYS[1], at, id)
if agg ~= '' then
  redis.call('SET', agg, id, 'EX', agg_ttl)
  if agg == KEYS[3] then
    redis.call('INCR', KEYS[5])
    redis.call('EXPIRE', KEYS[5], agg_ttl)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. cutoff)
return id
"""
_SCRIPT = Script(None, _RECORD.encode())  # type: ignore[arg-type]  (run with client= each time)


def keep_seconds() -> int:
    """How long entries are kept: RETENTION_DAYS, but never under MIN_KEEP_DAYS."""
    days = MIN_KEEP_DAYS
    if has_app_context() and "signpost" in current_app.extensions:
        days = max(days, current_app.extensions["signpost"].settings.retention_days)
    return days * 86400


def _write(r: redis.Redis, who: str, action: str, detail: str, addr: str | None, now: float | None,
           group: str | None) -> None:
    at = time.time() if now is None else now
    keep = keep_seconds()
    ttl = max(1, int(at + keep - time.time()))
    keys = [LOG, SEQ, "", "", ""]
    if group is not None:
        window = int(at // WINDOW)
        digest = hashlib.sha256(json.dumps([action, who, addr, group]).encode()).hexdigest()[:32]
        keys[2:] = [f"{PREFIX}audit:agg:{window}:{digest}", f"{PREFIX}audit:agg:{window}:{action}:many",
                    f"{PREFIX}audit:agg:{window}:n"]
    args = [ENTRY, repr(at), repr(time.time() - keep), ttl, 2 * WINDOW, WINDOW_ENTRIES,
            who, action, detail, addr or "", "-", MANY]
    _SCRIPT(keys=keys, args=args, client=r)


def record(r: redis.Redis, who: str, action: str, detail: str = "", addr: str | None = None, *,
           now: float | None = None) -> None:
    """Add one entry: something a signed-in user or the CLI did."""
    _write(r, who, action, detail, addr, now, group=None)


def refused(r: redis.Redis, name: str, action: str, addr: str, detail: str = "", *,
            now: float | None = None) -> None:
    """Count a refused sign-in into its window's entry for this action, account, address and detail (unknown
    names share one, keeping the first name tried as an example)."""
    group = detail
    if not name or users.get(r, name) is None:
        if name:
            detail = f"e.g. {name[:64]!r}" + (f"; {detail}" if detail else "")
        name = UNKNOWN
    _write(r, name, action, detail, addr, now, group=group)


def _migrate(r: redis.Redis) -> None:
    """Move entries from the capped list kept before into the log (once, whoever gets there first)."""
    moving = OLD_LIST + ":migrating"
    try:
        r.rename(OLD_LIST, moving)
    except redis.ResponseError:  # no such key: another request moved it
        return
    for raw in reversed(r.lrange(moving, 0, -1)):
        e = json.loads(raw)
        record(r, e.get("who", "-"), e.get("action", "-"), e.get("detail", ""), e.get("addr"),
               now=float(e.get("at", time.time())))
    r.delete(moving)


def _entry(raw: dict[bytes, bytes]) -> dict[str, Any]:
    e = {k.decode(): v.decode() for k, v in raw.items()}
    return {"at": float(e["at"]), "last": float(e.get("last", e["at"])), "count": int(e.get("count", 1)),
            "who": e.get("who", ""), "action": e.get("action", ""), "detail": e.get("detail", ""),
            "addr": e.get("addr") or None}


def recent(r: redis.Redis, count: int = 200, action: str | None = None) -> list[dict[str, Any]]:
    """The newest entries (by their last time), optionally of one action only."""
    if r.type(OLD_LIST) == b"list":
        _migrate(r)
    found: list[dict[str, Any]] = []
    start, batch = 0, max(count, 200)
    while len(found) < count:
        ids = r.zrevrange(LOG, start, start + batch - 1)
        if not ids:
            break
        with r.pipeline(transaction=False) as p:
            for entry_id in ids:
                p.hgetall(ENTRY + entry_id.decode())
            raws = p.execute()
        for raw in raws:
            if raw and b"at" in raw:
                entry = _entry(raw)
                if action is None or entry["action"] == action:
                    found.append(entry)
        start += batch
    return found[:count]
