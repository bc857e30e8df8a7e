"""Console users in Redis: name, role, argon2 password hash, disabled flag."""

from __future__ import annotations

import re
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
    return f"{PREFIX}user:{name}"


@dataclass
class User(UserMixin):
    """A console user as stored (never with the password hash)."""

    name: str
    role: str
    disabled: bool
    created_at: float

    def get_id(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return not self.disabled

    def can(self, *roles: str) -> bool:
        """Admins can do everything; others what their role allows."""
        return self.role == "admin" or self.role in roles


def normalise_name(name: str) -> str:
    return name.strip().lower()


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
    with r.pipeline(transaction=False) as p:
        p.hset(user_key(name), mapping={"role": role, "hash": HASHER.hash(password), "disabled": "0",
                                        "created_at": now})
        p.sadd(INDEX, name)
        p.execute()
    return User(name, role, False, now)


def get(r: redis.Redis, name: str) -> User | None:
    raw = r.hgetall(user_key(normalise_name(name)))
    if not raw or b"role" not in raw:
        return None
    data = {k.decode(): v.decode() for k, v in raw.items()}
    return User(data["name"], data["role"], data.get("disabled") == "1", float(data.get("created_at", 0)))


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
    if HASHER.check_needs_rehash(stored.decode()):
        r.hset(user_key(name), "hash", HASHER.hash(password))
    return user


def set_disabled(r: redis.Redis, name: str, disabled: bool) -> User | None:
    user = get(r, name)
    if user is None:
        return None
    r.hset(user_key(user.name), "disabled", "1" if disabled else "0")
    user.disabled = disabled
    return user


def set_password(r: redis.Redis, name: str, password: str) -> None:
    check_password_rules(password)
    if get(r, name) is None:
        raise UserError(f"no user {name}")
    r.hset(user_key(normalise_name(name)), "hash", HASHER.hash(password))


def all_users(r: redis.Redis) -> list[User]:
    names = sorted(n.decode() for n in r.smembers(INDEX))
    return [u for u in (get(r, n) for n in names) if u is not None]
