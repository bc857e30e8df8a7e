"""The Redis connection each process makes from its settings, and the prefix of signpost's own keys.

One Redis address (REDIS_URL), or Redis Sentinel (REDIS_SENTINELS, REDIS_SENTINEL_MASTER) with REDIS_URL's user,
password, TLS and database: redis-py's `Sentinel` finds the primary, and a connection that meets a dead primary
or one just demoted to a replica (READONLY) is dropped, so the next command asks the sentinels again.

A command whose connection failed is sent again (RETRIES times, backoff up to BACKOFF_CAP seconds), which a
failover needs. That is safe for everything signpost writes: the MessageSid mark holds the attempt's own token
(gateway/texts/intake.py), and every other write is idempotent or at worst repeats a send, never loses one.
REDIS_TIMEOUT bounds each attempt, so the webhook still answers (inline) well inside Twilio's 15 s.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import redis
from redis.backoff import ExponentialBackoff
from redis.connection import SSLConnection, parse_url
from redis.retry import Retry
from redis.sentinel import Sentinel

from gateway.settings import Settings

PREFIX = "signpost:"
RETRIES = 3
BACKOFF_CAP = 0.5
SENTINEL_TIMEOUT = 0.5  # each sentinel asked for the primary's address gets this long

log = logging.getLogger("signpost.redis")
_lock = threading.Lock()
_seen = {"primary": "", "failovers": 0}  # this process's view: the primary it last used, changes seen


def _retry() -> Retry:
    return Retry(ExponentialBackoff(cap=BACKOFF_CAP, base=0.05), RETRIES,
                 supported_errors=(redis.ConnectionError, redis.TimeoutError))


class WatchedSentinel(Sentinel):
    """redis-py's Sentinel, noting each change of primary (a failover) in this process's view."""

    def discover_master(self, service_name: str) -> tuple[str, int]:
        host, port = super().discover_master(service_name)
        address = f"{host}:{port}"
        with _lock:
            if _seen["primary"] and _seen["primary"] != address:
                _seen["failovers"] += 1
                log.warning("redis primary changed from %s to %s (failover %s seen by this process)",
                            _seen["primary"], address, _seen["failovers"])
            _seen["primary"] = address
        return host, port


def connect(settings: Settings, timeouts: bool = True) -> redis.Redis:
    """A client for signpost's Redis; with `timeouts`, an attempt gives up after REDIS_TIMEOUT (the webhook then
    answers inline). Workers connect without: RQ sets the socket timeout its blocking pops need."""
    limits: dict[str, Any] = {"socket_timeout": settings.redis_timeout,
                              "socket_connect_timeout": settings.redis_timeout} if timeouts else {}
    if not settings.redis_sentinels:
        client = redis.Redis.from_url(settings.redis_url, retry=_retry(), **limits)
        kwargs = client.connection_pool.connection_kwargs
        with _lock:
            _seen.update(primary=f"{kwargs['host']}:{kwargs.get('port', 6379)}" if "host" in kwargs else "",
                         failovers=0)
        return client
    with _lock:
        _seen.update(primary="", failovers=0)  # a new client: the sentinels name its primary on first use
    options = parse_url(settings.redis_url)
    tls_class = options.pop("connection_class", None) is SSLConnection
    options = {k: v for k, v in options.items() if k not in ("host", "port", "path")}
    tls = {k: v for k, v in options.items() if k.startswith("ssl")}
    if tls_class:
        options["ssl"] = True  # Sentinel's pool then makes TLS connections that still follow the primary
        tls["ssl"] = True
    sentinel = WatchedSentinel(list(settings.redis_sentinels), socket_timeout=SENTINEL_TIMEOUT,
                        sentinel_kwargs={"socket_timeout": SENTINEL_TIMEOUT, "socket_connect_timeout": SENTINEL_TIMEOUT,
                                         **tls})
    return sentinel.master_for(settings.redis_sentinel_master, retry=_retry(), **options, **limits)


def view() -> dict[str, Any]:
    """The Redis primary this process last used ("host:port") and the failovers it has seen."""
    with _lock:
        return dict(_seen)


def index_members(r: redis.Redis, *indexes: str, batch: int = 500) -> list[str]:
    """The members of sorted sets `indexes`, each once, read with ZSCAN (never a blocking whole read)."""
    return list(dict.fromkeys(member.decode() for index in indexes for member, _ in r.zscan_iter(index, count=batch)))


def ids_where(r: redis.Redis, ids: list[str], key: Callable[[str], str], field: str, value: str,
              batch: int = 500) -> list[str]:
    """Those of `ids` whose hash `key(id)` holds `value` in `field`, read `batch` HGETs a round trip."""
    wanted = value.encode()
    found: list[str] = []
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        with r.pipeline(transaction=False) as p:
            for item in chunk:
                p.hget(key(item), field)
            values = p.execute()
        found += [item for item, held in zip(chunk, values, strict=True) if held == wanted]
    return found
