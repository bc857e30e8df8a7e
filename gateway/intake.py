"""One Redis round trip for the common inbound text: dedupe, opt-out check, queue its jobs, log it.

A keyword, default or help reply (with its danger alerts) is the hot path of a burst. RQ builds each job
(`Queue.create_job`, the same hash `Queue.enqueue` writes) in Python; one Lua script then stores the jobs and
pushes them onto their queues only if the MessageSid is new and the texter has not opted out, and writes the
message-log entry, all atomically. Rarer kinds (opt-out, opt-in, relay) go through `gateway.inbound`'s
handlers, which take a few round trips.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import redis
from redis.commands.core import Script
from rq import Queue
from rq.job import Job

from gateway import msglog, queues, store

# KEYS: seen, optout hash, rq:queues set, msglog entry, msglog index, then per job: job key, queue key.
# ARGV: seen ttl, texter, msglog ttl, msglog trim-before, msglog score, msglog id, msglog fields,
#       then per job: job id, job fields. Fields travel as one netstring blob each ("3:key5:value..."):
#       a handful of arguments instead of dozens keeps the webhook's Redis client work small.
_SCRIPT = """
local function fields(blob)
  local out, i, n = {}, 1, #blob
  while i <= n do
    local colon = string.find(blob, ':', i, true)
    local len = tonumber(string.sub(blob, i, colon - 1))
    out[#out + 1] = string.sub(blob, colon + 1, colon + len)
    i = colon + len + 1
  end
  return out
end
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 'duplicate'
end
local outcome = 'queued'
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then
  outcome = 'opted-out'
end
if outcome == 'queued' then
  local k = 6
  for a = 8, #ARGV, 2 do
    redis.call('HSET', KEYS[k], unpack(fields(ARGV[a + 1])))
    redis.call('SADD', KEYS[3], KEYS[k + 1])
    redis.call('RPUSH', KEYS[k + 1], ARGV[a])
    k = k + 2
  end
end
if #ARGV[7] > 0 then
  redis.call('HSET', KEYS[4], 'status', outcome, unpack(fields(ARGV[7])))
  redis.call('EXPIRE', KEYS[4], ARGV[3])
  redis.call('ZADD', KEYS[5], ARGV[5], ARGV[6])
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[4])
end
return outcome
"""


def netstrings(mapping: Mapping[str, Any]) -> bytes:
    """A hash's fields as one blob of netstrings, the way the intake script reads them (None values dropped)."""
    parts: list[bytes] = []
    for name, value in mapping.items():
        if value is None:
            continue
        key = name.encode()
        if isinstance(value, bytes):
            data = value
        elif isinstance(value, str):
            data = value.encode()  # str enums (JobStatus) encode as their value, as redis-py does
        else:
            data = (repr(value) if isinstance(value, float) else str(value)).encode()
        parts += [b"%d:" % len(key), key, b"%d:" % len(data), data]
    return b"".join(parts)


def send_job(queue: Queue, to: str, from_: str, body: str, ref: str) -> Job:
    """The RQ job for one outbound SMS, ready to store (same options as `queues.enqueue_send`)."""
    job = queue.create_job(queues.SEND_JOB, kwargs=queues.send_kwargs(to, from_, body, ref),
                           **queues.send_options(queue.name, ref))
    queue._prepare_for_queue(job)  # origin, enqueued_at, status: what Queue.enqueue sets before saving
    return job


def submit(r: redis.Redis, settings: Mapping[str, Any], message_sid: str, texter: str, ours: str,
           jobs: list[tuple[Queue, Job]], log_fields: dict[str, Any] | None) -> str:
    """Store and queue `jobs` unless the text is a duplicate or the texter opted out; returns the outcome."""
    ttl = int(settings["RETENTION_DAYS"]) * 24 * 3600
    now = time.time()
    log_id = message_sid
    keys = [store.seen_key(message_sid), store.optout_key(ours), Queue.redis_queues_keys,
            msglog.entry_key(log_id), msglog.INDEX]
    log_blob = netstrings({k: v for k, v in (log_fields or {}).items() if k != "status"})
    args: list[Any] = [store.SEEN_TTL, texter, ttl, now - ttl, now, log_id, log_blob]
    for queue, job in jobs:
        keys += [job.key, queue.key]
        args += [job.id, netstrings(job.to_dict())]
    outcome = _script(r)(keys=keys, args=args, client=r)
    return outcome.decode() if isinstance(outcome, bytes) else outcome


_registered: list[Script] = []


def _script(r: redis.Redis) -> Script:
    # One Script object per process (its SHA is computed once); it runs on whichever client is passed.
    if not _registered:
        _registered.append(r.register_script(_SCRIPT))
    return _registered[0]
