"""The message log: recent inbound and outbound texts for the console, kept RETENTION_DAYS.

Each entry is a Redis hash (expiring after RETENTION_DAYS) indexed by time in a sorted set trimmed by time
on every write. Numbers are stored masked for display plus an HMAC of the full number (keyed by SECRET_KEY)
so staff can filter by a number they type without the log holding it. No message body is stored, only its
length. It is the one record of delivery status (from the status callbacks). Entry writes are one pipelined
call and never break a reply: Redis errors are logged and swallowed, except for a status, which Twilio then
posts again.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from typing import Any

import redis

from gateway.phone import mask
from gateway.redisdb import PREFIX, ids_where, index_members
from gateway.reports import counters
from gateway.settings import Settings

log = logging.getLogger("signpost.msglog")

INDEX = PREFIX + "msglog"
SCAN_LIMIT = 5000  # newest entries looked at per page view
TRIM_EVERY = 60.0
FINAL_STATUSES = frozenset({"delivered", "undelivered", "failed"})
_next_trim = [0.0]


def entry_key(entry_id: str) -> str:
    return f"{PREFIX}msglog:e:{entry_id}"


def number_digest(settings: Settings, number: str) -> str:
    """A keyed digest of an E.164 number: equal numbers match, the number cannot be read back."""
    key = settings.secret_key.encode()
    return hmac.new(key, number.encode(), hashlib.sha256).hexdigest()[:32]


def add(p: redis.client.Pipeline, settings: Settings, entry_id: str, fields: dict[str, Any],
        index: bool = True) -> None:
    """Queue the writes of one entry on pipeline `p` (the caller executes it)."""
    ttl = settings.retention_seconds
    now = time.time()
    p.hset(entry_key(entry_id), mapping={k: str(v) for k, v in fields.items() if v is not None})
    p.expire(entry_key(entry_id), ttl)
    if index:
        p.zadd(INDEX, {entry_id: fields.get("at", now)})
        if now >= _next_trim[0]:  # the index is trimmed to retention about once a minute per process
            _next_trim[0] = now + TRIM_EVERY
            p.zremrangebyscore(INDEX, "-inf", now - ttl)


def _write(r: redis.Redis, settings: Settings, entry_id: str, fields: dict[str, Any],
           index: bool = True) -> None:
    try:
        with r.pipeline(transaction=False) as p:
            add(p, settings, entry_id, fields, index)
            p.execute()
    except redis.RedisError as exc:
        log.warning("message log not written (%s)", type(exc).__name__)


def inbound_fields(settings: Settings, sid: str, texter: str, ours: str, chars: int, kind: str,
                   keyword: str | None, action: str) -> dict[str, Any]:
    """The entry for an inbound text: masked number and its digest, never the body."""
    return {
        "id": sid, "direction": "in", "at": time.time(), "number": mask(texter),
        "nh": number_digest(settings, texter), "ours": ours, "chars": chars, "kind": kind,
        "keyword": keyword or "", "status": action,
    }


def record_inbound(r: redis.Redis, settings: Settings, sid: str, texter: str, ours: str, chars: int,
                   kind: str, keyword: str | None, action: str) -> None:
    """An inbound text and what was done with it."""
    _write(r, settings, sid, inbound_fields(settings, sid, texter, ours, chars, kind, keyword, action))


def record_outbound(r: redis.Redis, settings: Settings, sid: str, to: str, from_: str, chars: int,
                    ref: str, status: str | None) -> None:
    """An outbound text accepted by Twilio (or the development outbox); its status follows by callback."""
    _write(r, settings, sid if sid != "outbox" else f"outbox-{ref}", {
        "id": sid, "direction": "out", "at": time.time(), "number": mask(to),
        "nh": number_digest(settings, to), "ours": from_, "chars": chars, "ref": ref, "status": status or "",
    })


def record_status(r: redis.Redis, settings: Settings, sid: str, status: str, error_code: str | None) -> None:
    """A delivery status callback: updates the outbound entry (a stray one expires on its own). Raises
    RedisError, so the callback can ask Twilio to try again: this entry is the one record of the status."""
    with r.pipeline(transaction=False) as p:
        add(p, settings, sid, {"status": status, "error_code": error_code, "status_at": time.time()}, index=False)
        if status in FINAL_STATUSES:  # the reports count how each message ended
            counters.count(p, [f"status:{status}"] + ([f"err:{error_code}"] if error_code else []))
        p.execute()


def recent(r: redis.Redis, settings: Settings, number_hash: str | None = None,
           status: str | None = None, limit: int = 200) -> list[dict[str, str]]:
    """Newest entries within retention, optionally only for one number digest and/or one status."""
    cutoff = time.time() - settings.retention_seconds
    r.zremrangebyscore(INDEX, "-inf", cutoff)
    ids = r.zrevrangebyscore(INDEX, "+inf", cutoff, start=0, num=SCAN_LIMIT)
    out: list[dict[str, str]] = []
    for start in range(0, len(ids), 200):
        with r.pipeline(transaction=False) as p:
            for entry_id in ids[start:start + 200]:
                p.hgetall(entry_key(entry_id.decode()))
            raws = p.execute()
        for raw in raws:
            if not raw:
                continue
            entry = {k.decode(): v.decode() for k, v in raw.items()}
            if number_hash and entry.get("nh") != number_hash:
                continue
            if status and entry.get("status") != status:
                continue
            out.append(entry)
            if len(out) >= limit:
                return out
    return out


def for_number(r: redis.Redis, settings: Settings, number: str) -> dict[str, dict[str, str]]:
    """Every indexed entry, inbound or outbound, whose number is `number` (E.164), by entry id, oldest first."""
    matched = ids_where(r, index_members(r, INDEX), entry_key, "nh", number_digest(settings, number))
    with r.pipeline(transaction=False) as p:
        for entry_id in matched:
            p.hgetall(entry_key(entry_id))
        raws = p.execute()
    found = {entry_id: {k.decode(): v.decode() for k, v in raw.items()}
             for entry_id, raw in zip(matched, raws, strict=True) if raw}
    return dict(sorted(found.items(), key=lambda item: float(item[1].get("at") or 0)))


def delete(r: redis.Redis, entry_ids: list[str]) -> int:
    """Delete entries and their index entries now; returns how many entries there were."""
    if not entry_ids:
        return 0
    with r.pipeline(transaction=False) as p:
        p.delete(*(entry_key(entry_id) for entry_id in entry_ids))
        p.zrem(INDEX, *entry_ids)
        deleted, _ = p.execute()
    return int(deleted)
