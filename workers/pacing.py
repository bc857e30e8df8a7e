"""Paced sending: one shared messages-per-second cap per sender, across every worker process and machine.

Twilio queues whatever a sender is given beyond its cap (30 or 100/s on a short code, 10/s on a UK long
code) in its own per-sender FIFO queue, for up to about four hours. Anything urgent given to Twilio behind
thousands of routine replies waits there, out of our reach. So the workers hand Twilio no more than the cap:
Twilio's queue stays empty and our own RQ queues, which we order (relay > urgent > replies), decide who
goes first.

The limiter is GCRA (a virtual-scheduling token bucket with no burst) held in Redis: one key per sender
holds the theoretical arrival time (TAT) of its next free send slot, in microseconds of the Redis server's
clock (one clock for every machine). `reserve` is one Lua script, atomic in Redis: it takes the next slot
and moves TAT on by one emission interval, or, when that slot is further away than the caller's horizon,
reserves nothing and says how long it is. The worker then sleeps until its slot (never longer than the
horizon, one second at most) and sends. No busy waiting: one Redis call per send in the common case.

Priority inside one sender. Danger replies (urgent) leave from the same short code as routine replies, and
relay forwards from the relay line, which also sends routine acknowledgements. A reservation is a place in
line, so a routine send that reserved a slot far ahead would push every urgent send behind it. Routine
sends (the `replies` queue) therefore only reserve a slot at most ROUTINE_HORIZON (0.25 s) ahead; relay and
urgent sends reserve up to URGENT_HORIZON (1 s) ahead. However deep the routine backlog, the slots already
promised to routine sends run out within 0.25 s, so an urgent or relay send waits at most about that long
for its sender, on top of waiting for a free worker (which takes the relay queue first, then urgent).

When no slot is within the horizon (more workers than the cap keeps busy, e.g. 8 workers on one 10/s long
code), the job waits without a reservation, in short sleeps bounded by how far the slot is, and tries
again; the position is kept because the job stays the one this worker is running (it is not re-queued at
the back). The wait is bounded by workers/rate, a fraction of a second in any configuration we ship; a job
that still has no slot after MAX_WAIT raises `PaceTimeout`, which RQ retries like any transient failure.

Jitter guard: sends are spaced (1 + GUARD)/rate apart rather than 1/rate, so that HTTP latency jitter
between two workers (up to ~10 ms per side) cannot put rate + 1 sends into one 1 s window at Twilio.
At a 100/s cap that paces to 98/s.
"""

from __future__ import annotations

import time

import redis

from gateway.keywords import versions
from gateway.redisdb import PREFIX

ROUTINE_HORIZON = 0.25
URGENT_HORIZON = 1.0
MAX_WAIT = 20.0
GUARD = 0.02
PRIORITY_QUEUES = frozenset({"relay", "urgent"})

# KEYS[1] the sender's TAT key. ARGV[1] emission interval (us), ARGV[2] horizon (us).
# Returns {reserved (1|0), wait (us) until the slot}.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now
if wait > tonumber(ARGV[2]) then
  return {0, wait}
end
redis.call('SET', KEYS[1], string.format('%.0f', tat + interval), 'PX', math.floor((wait + interval) / 1000) + 1000)
return {1, wait}
"""


class PaceTimeout(Exception):
    """No send slot for this sender within MAX_WAIT; RQ retries the job later."""


def key(sender: str) -> str:
    """Redis key holding the sender's next free slot."""
    return f"{PREFIX}pace:{sender}"


class Limiter:
    """The shared per-sender limiter; one per worker process (the Lua script is loaded once)."""

    def __init__(self, r: redis.Redis, guard: float = GUARD) -> None:
        self.r = r
        self.guard = guard
        self._script = r.register_script(_RESERVE)

    def reserve(self, sender: str, rate: float, horizon: float) -> tuple[bool, float]:
        """Take the sender's next slot if it is within `horizon` seconds: (reserved, seconds until the slot)."""
        interval_us = int(1_000_000 * (1 + self.guard) / rate)
        reserved, wait_us = self._script(keys=[key(sender)], args=[interval_us, int(horizon * 1_000_000)],
                                         client=self.r)
        return bool(reserved), int(wait_us) / 1_000_000

    def wait_turn(self, sender: str, rate: float, priority: bool, *, sleep=time.sleep,
                  max_wait: float = MAX_WAIT) -> float:
        """Block until this send may leave (sleeping, never spinning); returns the seconds waited."""
        horizon = URGENT_HORIZON if priority else ROUTINE_HORIZON
        waited = 0.0
        while True:
            reserved, wait = self.reserve(sender, rate, horizon)
            if reserved:
                if wait > 0:
                    sleep(wait)
                return waited + wait
            if waited >= max_wait:
                raise PaceTimeout(f"no send slot within {max_wait:.0f}s")
            # Not ours yet: sleep until the slot would be inside our horizon, in steps of at most 0.5 s.
            pause = min(max(wait - horizon, 0.005), 0.5)
            sleep(pause)
            waited += pause


# Only when no keywords can be loaded at all: the lowest cap we ship (a UK long code), never too fast.
FALLBACK_RATE = 10.0


def rate_for(r: redis.Redis, keywords_file: str, sender: str) -> float:
    """Messages per second allowed from `sender`, from the live published keywords (re-read within a second)."""
    book = versions.live_book(r, keywords_file).get()
    return book.rate_per_second(sender) if book is not None else FALLBACK_RATE


_limiters: dict[int, Limiter] = {}


def limiter_for(r: redis.Redis) -> Limiter:
    """The process-wide Limiter of a Redis connection."""
    found = _limiters.get(id(r))
    if found is None or found.r is not r:
        found = _limiters[id(r)] = Limiter(r)
    return found


def pace(r: redis.Redis, keywords_file: str, sender: str, queue_name: str | None) -> float:
    """Wait for `sender`'s next slot; relay and urgent sends reserve further ahead than routine ones."""
    rate = rate_for(r, keywords_file, sender)
    return limiter_for(r).wait_turn(sender, rate, priority=queue_name in PRIORITY_QUEUES)
