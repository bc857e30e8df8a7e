"""Console users in Redis: name, role, argon2 password hash, disabled flag, session epoch."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

import redis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_login import UserMixin

from gateway.redisdb import PREFIX

ROLES = ("editor", "operator", "admin")
MIN_PASSWORD = 12
INDEX = PREFIX + "users"
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
HASHER = PasswordHasher()  # tests swap in a cheap profile (tests/conftest.py)
# Verified when the name is unknown, so a wrong name takes as long as a wrong password.
_DUMMY_HASH = HASHER.hash("not-a-real-password-0000")


class UserError(ValueError):
    """A user cannot be created or changed; the message says why."""


def user_key(name: str) -> str:
    """The Redis hash of the user `name` (normalised)."""
    return f"{PREFIX}user:{normalise_name(name)}"


def new_epoch() -> str:
    """A fresh session epoch (random, so that a user made again under an old name revives nothing)."""
    return secrets.token_hex(8)


@dataclass
class User(UserMixin):
    """A console user as stored (never with the password hash)."""

    name: str
    role: str
    disabled: bool
    created_at: float
    epoch: str = ""  # sessions carry it; a new one (sign-out, disable, password change) ends them all

    def get_id(self) -> str:
        """The session's user id: name and epoch, so a session outlives neither a sign-out nor a disable."""
        return f"{self.name}:{self.epoch}"

    @property
    def is_active(self) -> bool:
        return not self.disabled

    def can(self, *roles: str) -> bool:
        """Admins can do everything; others what their role allows."""
        return self.role == "admin" or self.role in roles


def normalise_name(name: str) -> str:
    """Names are case-insensitive: stored, looked up and compared lowercased (ASCII only, so that no Unicode
    look-alike such as the Kelvin sign lowers onto a real name)."""
    name = name.strip()
    return name.lower() if name.isascii() else name


def split_id(user_id: str) -> tuple[str, str]:
    """(name, epoch) from a session's user id."""
    name, _, epoch = user_id.rpartition(":")
    return normalise_name(name), epoch


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"password refused: at least {MIN_PASSWORD} characters")


def create(r: redis.Redis, name: str, role: str, password: str) -> User:
    """Create a user; UserError if the name, role or password is refused or the name is taken."""
    name = normalise_name(name)
    if not NAME.match(name):
        raise UserError("name refused: 2-32 characters, lowercase letters, digits, . _ -")
    if role not in ROLES:
        raise UserError(f"role refused: one of {', '.join(ROLES)}")
    check_password_rules(password)
    now = time.time()
    created = r.hsetnx(user_key(name), "name", name)
    if not created:
        raise UserError(f"user {name} already exists")
    epoch = new_epoch()
    with r.pipeline(transaction=False) as p:
        p.hset(user_key(name), mapping={"role": role, "hash": HASHER.hash(password), "disabled": "0",
                                        "created_at": now, "epoch": epoch})
        p.sadd(INDEX, name)
        p.execute()
    return User(name, role, False, now, epoch)


def get(r: redis.Redis, name: str) -> User | None:
    """The user `name` (any case), or None."""
    raw = r.hgetall(user_key(name))
    if not raw or b"role" not in raw:
        return None
    data = {k.decode(): v.decode() for k, v in raw.items()}
    return User(data["name"], data["role"], data.get("disabled") == "1", float(data.get("created_at", 0)),
                data.get("epoch", ""))


def end_sessions(r: redis.Redis, name: str) -> None:
    """End every session of the user: the epoch their session ids carry no longer matches."""
    if r.exists(user_key(name)):
        r.hset(user_key(name), "epoch", new_epoch())


def authenticate(r: redis.Redis, name: str, password: str) -> User | None:
    """The user if the name and password are right and the user is not disabled; else None."""
    name = normalise_name(name)
    stored = r.hget(user_key(name), "hash")
    try:
        HASHER.verify(stored.decode() if stored else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if stored is None:
        return None
    user = get(r, name)
    if user is None or user.disabled:
        return None
    if not user.epoch:  # stored before sessions carried an epoch
        user.epoch = new_epoch()
        r.hset(user_key(name), "epoch", user.epoch)
    if HASHER.check_needs_rehash(stored.decode()):
        r.hset(user_key(name), "hash", HASHER.hash(password))
    return user


def set_disabled(r: redis.Redis, name: str, disabled: bool) -> User | None:
    """Disable (ending every session) or enable a user; None if there is no such user."""
    user = get(r, name)
    if user is None:
        return None
    fields = {"disabled": "1" if disabled else "0"}
    if disabled:
        fields["epoch"] = user.epoch = new_epoch()
    r.hset(user_key(user.name), mapping=fields)
    user.disabled = disabled
    return user


def set_password(r: redis.Redis, name: str, password: str) -> User:
    """Set a new password and end every session of the user; UserError if refused or no such user."""
    check_password_rules(password)
    user = get(r, name)
    if user is None:
        raise UserError(f"no user {normalise_name(name)}")
    user.epoch = new_epoch()
    r.hset(user_key(user.name), mapping={"hash": HASHER.hash(password), "epoch": user.epoch})
    return user


def all_users(r: redis.Redis) -> list[User]:
    names = sorted(n.decode() for n in r.smembers(INDEX))
    return [u for u in (get(r, n) for n in names) if u is not None]
