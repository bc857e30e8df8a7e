"""Relay cases in Redis: a texter's thread with the control room, from new to acknowledged to closed."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import redis

from gateway.redisdb import PREFIX, ids_where, index_members
from gateway.reports import counters

# No 0/O or 1/I: ids are read aloud and typed on phones.
ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
# 32**6 (about a billion) ids: at the commands' limit of MISSES_PER_DAY wrong ids a sender a day, guessing one of
# a hundred open cases within a 30-day retention succeeds with odds under 1 in 30,000 (gateway/relay/commands.py).
ID_LENGTH = 6
NEW, ACKNOWLEDGED, CLOSED = "new", "acknowledged", "closed"
OPEN_INDEX = PREFIX + "cases:open"
ALL_INDEX = PREFIX + "cases:all"


def case_key(case_id: str) -> str:
    """Hash holding one case."""
    return f"{PREFIX}case:{case_id}"


def messages_key(case_id: str) -> str:
    """List of one case's messages, oldest first."""
    return f"{PREFIX}case:{case_id}:messages"


def forward_failed_key(case_id: str) -> str:
    """Marks a case whose forward failed after every retry (one warning per case)."""
    return f"{PREFIX}case:{case_id}:forward-failed"


def open_key(line: str, texter: str) -> str:
    """The id of the texter's open case on a relay line (follow-up texts thread into it)."""
    return f"{PREFIX}case-open:{line}:{texter}"


def normalise_id(raw: str) -> str:
    """Case ids as typed: case and surrounding spaces ignored."""
    return raw.strip().upper()


@dataclass
class Case:
    """One relay case as stored."""

    id: str
    texter: str
    line: str
    state: str
    opened_at: float
    updated_at: float
    acknowledged_at: float | None = None
    acknowledged_by: str | None = None
    closed_at: float | None = None
    closed_by: str | None = None
    repeats: int = 0
    tier2_alerted_at: float | None = None
    forward_failed_at: float | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        """New or acknowledged."""
        return self.state != CLOSED

    def inbound_texts(self) -> list[str]:
        """The texter's own messages, oldest first."""
        return [m["text"] for m in self.messages if m["direction"] == "in"]


_FLOATS = ("opened_at", "updated_at", "acknowledged_at", "closed_at", "tier2_alerted_at", "forward_failed_at")


def _decode(raw: dict[bytes, bytes], messages: list[bytes]) -> Case:
    data = {k.decode(): v.decode() for k, v in raw.items()}
    kwargs: dict[str, Any] = {name: data.get(name) for name in ("id", "texter", "line", "state",
                                                                  "acknowledged_by", "closed_by")}
    for name in _FLOATS:
        kwargs[name] = float(data[name]) if data.get(name) else None
    kwargs["repeats"] = int(data.get("repeats", 0))
    kwargs["messages"] = [json.loads(m) for m in messages]
    return Case(**kwargs)


def get(r: redis.Redis, case_id: str) -> Case | None:
    """The case with its messages, or None."""
    case_id = normalise_id(case_id)
    with r.pipeline(transaction=False) as p:
        p.hgetall(case_key(case_id))
        p.lrange(messages_key(case_id), 0, -1)
        raw, messages = p.execute()
    return _decode(raw, messages) if raw else None


def _message(direction: str, text: str, by: str | None, at: float, ref: str | None = None) -> str:
    return json.dumps({"direction": direction, "text": text, "by": by, "at": at, "ref": ref})


def record_inbound(r: redis.Redis, line: str, texter: str, text: str, ref: str,
                   now: float | None = None) -> tuple[str, bool]:
    """Thread a texter's message into their open case, or open one; returns (case id, opened now)."""
    now = time.time() if now is None else now
    key = open_key(line, texter)
    while True:
        candidate = "".join(secrets.choice(ALPHABET) for _ in range(ID_LENGTH))
        try:
            with r.pipeline() as p:
                p.watch(key, case_key(candidate))
                existing = p.get(key)
                if existing is None and p.exists(case_key(candidate)):
                    continue
                case_id = existing.decode() if existing else candidate
                p.multi()
                if existing is None:
                    p.hset(case_key(case_id), mapping={
                        "id": case_id, "texter": texter, "line": line, "state": NEW,
                        "opened_at": now, "updated_at": now, "repeats": 0,
                    })
                    p.set(key, case_id)
                    p.zadd(OPEN_INDEX, {case_id: now})
                    p.zadd(ALL_INDEX, {case_id: now})
                else:
                    p.hset(case_key(case_id), "updated_at", now)
                p.rpush(messages_key(case_id), _message("in", text, texter, now, ref))
                p.execute()
                return case_id, existing is None
        except redis.WatchError:
            continue  # another text from the same person landed first; thread into its case


def add_outbound(r: redis.Redis, case_id: str, text: str, by: str, now: float | None = None) -> None:
    """Record a control-room reply sent to the texter."""
    now = time.time() if now is None else now
    with r.pipeline(transaction=False) as p:
        p.rpush(messages_key(case_id), _message("out", text, by, now))
        p.hset(case_key(case_id), "updated_at", now)
        p.execute()


def add_note(r: redis.Redis, case_id: str, text: str, now: float | None = None) -> None:
    """Record a system event (acknowledged, escalated, forward failed) in the thread."""
    now = time.time() if now is None else now
    r.rpush(messages_key(case_id), _message("note", text, None, now))


def acknowledge(r: redis.Redis, case_id: str, by: str, now: float | None = None) -> Case | None:
    """Mark a new case acknowledged (stops re-alerts); idempotent. None if there is no open case."""
    return acknowledge_first(r, case_id, by, now)[0]


def acknowledge_first(r: redis.Redis, case_id: str, by: str,
                      now: float | None = None) -> tuple[Case | None, bool]:
    """Like `acknowledge`, and whether this call is the one that acknowledged it (False: it already was, or
    there is no open case). Of two acknowledgements at once, exactly one is first."""
    now = time.time() if now is None else now
    case_id = normalise_id(case_id)
    while True:
        try:
            with r.pipeline() as p:
                p.watch(case_key(case_id))
                case = get(r, case_id)
                if case is None or not case.is_open:
                    return None, False
                if case.state != NEW:
                    return case, False
                p.multi()
                p.hset(case_key(case.id), mapping={"state": ACKNOWLEDGED, "acknowledged_at": now,
                                                   "acknowledged_by": by, "updated_at": now})
                p.rpush(messages_key(case.id), _message("note", "acknowledged", by, now))
                counters.count(p, counters.ack_fields(now - case.opened_at), at=case.opened_at)
                p.execute()
        except redis.WatchError:
            continue  # the case changed meanwhile (acknowledged, closed, a reminder marked); look again
        case.state, case.acknowledged_at, case.acknowledged_by = ACKNOWLEDGED, now, by
        return case, True


def close(r: redis.Redis, case_id: str, by: str, retention_days: int, now: float | None = None) -> Case | None:
    """Close an open case; it is kept for `retention_days` and then expires. None if not open."""
    now = time.time() if now is None else now
    case = get(r, case_id)
    if case is None or not case.is_open:
        return None
    ttl = retention_days * 24 * 3600
    with r.pipeline() as p:
        p.hset(case_key(case.id), mapping={"state": CLOSED, "closed_at": now, "closed_by": by, "updated_at": now})
        p.rpush(messages_key(case.id), _message("note", "closed", by, now))
        p.delete(open_key(case.line, case.texter))
        p.zrem(OPEN_INDEX, case.id)
        p.expire(case_key(case.id), ttl)
        p.expire(messages_key(case.id), ttl)
        p.execute()
    case.state = CLOSED
    purge_expired(r)
    return case


def mark(r: redis.Redis, case_id: str, **fields: Any) -> None:
    """Set bookkeeping fields (repeats, tier2_alerted_at, forward_failed_at)."""
    r.hset(case_key(case_id), mapping=fields)


def open_cases(r: redis.Redis) -> list[Case]:
    """Open cases, newest first."""
    ids = [i.decode() for i in r.zrevrange(OPEN_INDEX, 0, -1)]
    cases = (get(r, case_id) for case_id in ids)
    return [case for case in cases if case is not None]


def purge_expired(r: redis.Redis) -> int:
    """Drop index entries whose case has expired; returns how many."""
    ids = r.zrange(ALL_INDEX, 0, -1)
    with r.pipeline(transaction=False) as p:
        for case_id in ids:
            p.exists(case_key(case_id.decode()))
        found = p.execute()
    gone = [case_id for case_id, exists in zip(ids, found, strict=True) if not exists]
    if gone:
        r.zrem(ALL_INDEX, *gone)
    return len(gone)


def for_texter(r: redis.Redis, texter: str) -> list[Case]:
    """Every case, open or closed, whose texter is `texter`, oldest first."""
    ids = ids_where(r, index_members(r, ALL_INDEX, OPEN_INDEX), case_key, "texter", texter)
    found = [case for case in (get(r, case_id) for case_id in ids) if case is not None]
    return sorted(found, key=lambda case: case.opened_at)


def delete_closed(r: redis.Redis, case_id: str) -> bool:
    """Delete a closed case now (its hash, messages and index entries); False if it is open or gone."""
    while True:
        try:
            with r.pipeline() as p:
                p.watch(case_key(case_id))
                if p.hget(case_key(case_id), "state") != CLOSED.encode():
                    return False
                p.multi()
                p.delete(case_key(case_id), messages_key(case_id), forward_failed_key(case_id))
                p.zrem(ALL_INDEX, case_id)
                p.zrem(OPEN_INDEX, case_id)
                p.execute()
                return True
        except redis.WatchError:
            continue  # a note or mark landed on it meanwhile; look again
