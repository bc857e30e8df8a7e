"""Sign-in throttling that attackers cannot turn against staff: OWASP's device cookies.

https://owasp.org/www-community/Slow_Down_Online_Guessing_Attacks_with_Device_Cookies

A browser that signed in as a user before holds that user's device cookie, `login,nonce,signature` with the
signature HMAC-SHA256(SECRET_KEY, "login,nonce"), renewed (new nonce) on every sign-in. A sign-in with a valid
device cookie is counted against that cookie only: MAX_FAILURES failures within WINDOW lock that cookie for
LOCK_SECONDS, and failures anywhere else never lock it out. Every other client is untrusted: MAX_FAILURES
failures within WINDOW lock out untrusted clients for that account, and, separately, untrusted clients from
that address (IPv6 by its /64), each for LOCK_SECONDS. Admins lift an account's locks (untrusted clients and
every device cookie of it); address locks end on their own.

Redis keys (under PREFIX), each expiring by itself:
  login-fail:user:<name>, login-lock:user:<name>          untrusted clients for an account
  login-fail:addr:<addr>, login-lock:addr:<addr>          untrusted clients from an address
  login-fail:device:<name>:<nonce>, login-lock:device:... one device cookie
  login-devices:<name>                                    nonces with failures, so that unlock can find them
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass

import redis

from gateway.console import users
from gateway.redisdb import PREFIX

MAX_FAILURES = 5
WINDOW = 15 * 60
LOCK_SECONDS = 15 * 60
DEVICE_COOKIE_DAYS = 180
DEVICE_COOKIE_PREFIX = "signpost_device_"


@dataclass(frozen=True)
class Lock:
    """Why a sign-in is refused and for how long."""

    kind: str  # "device", "user" (untrusted clients for the account) or "addr"
    seconds: int


def _fail_key(kind: str, value: str) -> str:
    return f"{PREFIX}login-fail:{kind}:{value}"


def _lock_key(kind: str, value: str) -> str:
    return f"{PREFIX}login-lock:{kind}:{value}"


def _devices_key(name: str) -> str:
    return f"{PREFIX}login-devices:{name}"


def address_bucket(addr: str) -> str:
    """The address as throttled: IPv4 as is, IPv6 by its /64 (one host gets a whole /64)."""
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return addr[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


# --- device cookies --------------------------------------------------------------------------------------------

def device_cookie_name(name: str) -> str:
    """One device cookie per user, so a browser shared by two staff trusts each separately."""
    return DEVICE_COOKIE_PREFIX + name


def _signature(secret: str | bytes, login: str, nonce: str) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, f"{login},{nonce}".encode(), hashlib.sha256).hexdigest()


def issue_device_cookie(secret: str | bytes, name: str) -> str:
    """A new device cookie value for the user: login,nonce,signature."""
    nonce = secrets.token_urlsafe(18)
    return f"{name},{nonce},{_signature(secret, name, nonce)}"


def device_nonce(secret: str | bytes, name: str, value: str | None) -> str | None:
    """The nonce of a valid device cookie of user `name`, else None (absent, forged, another user's)."""
    if not value or len(value) > 256:
        return None
    parts = value.split(",")
    if len(parts) != 3:
        return None
    login, nonce, signature = parts
    if login != name or not nonce or not hmac.compare_digest(signature, _signature(secret, login, nonce)):
        return None
    return nonce


# --- locks -----------------------------------------------------------------------------------------------------

def _buckets(name: str, addr: str, nonce: str | None) -> list[tuple[str, str]]:
    if nonce is not None:
        return [("device", f"{name}:{nonce}")]
    return [("addr", address_bucket(addr)), ("user", name)]


def locked(r: redis.Redis, name: str, addr: str, nonce: str | None) -> Lock | None:
    """The lock that refuses this sign-in, if any: a trusted browser (valid device cookie `nonce`) is refused only
    when its own cookie is locked; others when the account's untrusted clients or their address are."""
    buckets = _buckets(name, addr, nonce)
    with r.pipeline(transaction=False) as p:
        for kind, value in buckets:
            p.ttl(_lock_key(kind, value))
        ttls = p.execute()
    for (kind, _), ttl in zip(buckets, ttls, strict=True):
        if ttl and ttl > 0:
            return Lock(kind, ttl)
    return None


def record_failure(r: redis.Redis, name: str, addr: str, nonce: str | None) -> Lock | None:
    """Count a failed sign-in against the device cookie, or against the account's untrusted clients and the
    address; the lock this failure started, if it started one."""
    buckets = _buckets(name, addr, nonce)
    with r.pipeline(transaction=False) as p:
        for kind, value in buckets:
            p.incr(_fail_key(kind, value))
            p.expire(_fail_key(kind, value), WINDOW, nx=True)
        if nonce is not None:
            p.sadd(_devices_key(name), nonce)
            p.expire(_devices_key(name), max(WINDOW, LOCK_SECONDS))
        counts = p.execute()[: 2 * len(buckets): 2]
    started = None
    with r.pipeline(transaction=False) as p:
        for (kind, value), count in zip(buckets, counts, strict=True):
            if count >= MAX_FAILURES:
                p.set(_lock_key(kind, value), "1", ex=LOCK_SECONDS)
                p.delete(_fail_key(kind, value))
                # Reported in bucket order: an address lock first, as an admin's unlock cannot lift it.
                started = started or Lock(kind, LOCK_SECONDS)
        p.execute()
    return started


def succeeded(r: redis.Redis, name: str, nonce: str | None) -> None:
    """A right password: the failures counted for this device cookie, or for the account's untrusted clients,
    start over (an address's failures do not: they may be someone else's)."""
    r.delete(_fail_key("device", f"{name}:{nonce}") if nonce is not None else _fail_key("user", name))


def account_locks(r: redis.Redis, name: str) -> dict[str, int]:
    """What is locked for the account: {"untrusted": seconds left, "devices": how many device cookies}."""
    name = users.normalise_name(name)
    nonces = [n.decode() for n in r.smembers(_devices_key(name))]
    with r.pipeline(transaction=False) as p:
        p.ttl(_lock_key("user", name))
        for nonce in nonces:
            p.exists(_lock_key("device", f"{name}:{nonce}"))
        untrusted, *devices = p.execute()
    return {"untrusted": max(0, untrusted), "devices": sum(devices)}


def unlock(r: redis.Redis, name: str) -> None:
    """Lift every lock of the account (untrusted clients and each device cookie) and forget its failures."""
    name = users.normalise_name(name)
    keys = [_lock_key("user", name), _fail_key("user", name), _devices_key(name)]
    for raw in r.smembers(_devices_key(name)):
        nonce = raw.decode()
        keys += [_lock_key("device", f"{name}:{nonce}"), _fail_key("device", f"{name}:{nonce}")]
    r.delete(*keys)
