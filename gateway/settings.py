"""Settings: read once per process from the environment (or a dict, in tests), and shared by web, workers and CLI.

Every setting is read here and nowhere else; each is listed with its meaning in `.env.example`. `load` parses
and checks them into one frozen `Settings`; `create_app` and `python -m workers` install it as the process's
settings, and job code reads `current()`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from gateway import phone

PRODUCTION = "production"
DEVELOPMENT = "development"


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Every setting, parsed. Field names are the environment variables' names in lower case."""

    signpost_env: str = PRODUCTION
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_timeout: float = 2.0
    redis_sentinels: tuple[tuple[str, int], ...] = ()
    redis_sentinel_master: str = ""
    twilio_account_sid: str = ""
    twilio_auth_token: str = ""
    twilio_api_base_url: str = ""
    keywords_file: str = "keywords.yaml"
    public_url: str = ""
    proxy_count: int = 0
    secret_key: str = ""
    log_level: str = "INFO"
    relay_forward_to: tuple[str, ...] = ()
    relay_escalate_to: tuple[str, ...] = ()
    relay_escalate_after: int = 120
    relay_escalate_tiers_after: int = 2
    alert_to: tuple[str, ...] = ()
    retention_days: int = 30
    prometheus_multiproc_dir: str = ""
    publish_requires_approval: bool = False

    @property
    def production(self) -> bool:
        """SIGNPOST_ENV=production."""
        return self.signpost_env == PRODUCTION

    @property
    def twilio_configured(self) -> bool:
        """True when outbound messages go to Twilio (or its stand-in) rather than the development outbox."""
        return bool(self.twilio_account_sid and self.twilio_auth_token)

    @property
    def retention_seconds(self) -> int:
        """RETENTION_DAYS in seconds."""
        return self.retention_days * 24 * 3600

    @property
    def control_room(self) -> frozenset[str]:
        """Numbers allowed to ACK, reply to and close relay cases by SMS."""
        return frozenset(self.relay_forward_to) | frozenset(self.relay_escalate_to)

    @property
    def status_callback(self) -> str | None:
        """Where Twilio posts delivery status: PUBLIC_URL/sms/status, or None without a PUBLIC_URL."""
        return self.public_url.rstrip("/") + "/sms/status" if self.public_url else None


def _str(name: str, raw: str) -> str:
    return raw.strip()


def _float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None


def _int(minimum: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
        if value < minimum:
            raise ConfigError(f"{name}: must be at least {minimum}, got {value}")
        return value

    return parse


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def _numbers(name: str, raw: str) -> tuple[str, ...]:
    """Parse a comma-separated list of E.164 numbers, naming the bad entry."""
    out = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        number = phone.e164(entry, region=None)
        if number is None:
            raise ConfigError(f"{name}: {entry!r} is not a valid E.164 phone number")
        out.append(number)
    return tuple(out)


def _sentinels(name: str, raw: str) -> tuple[tuple[str, int], ...]:
    """Parse a comma-separated list of host:port, naming the bad entry."""
    out = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        host, _, port = entry.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{name}: {entry!r} is not host:port")
        out.append((host.strip("[]"), int(port)))
    return tuple(out)


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "REDIS_SENTINELS": _sentinels,
    "REDIS_TIMEOUT": _float,
    "PROXY_COUNT": _int(0),
    "RELAY_FORWARD_TO": _numbers,
    "RELAY_ESCALATE_TO": _numbers,
    "ALERT_TO": _numbers,
    "RELAY_ESCALATE_AFTER": _int(1),
    "RELAY_ESCALATE_TIERS_AFTER": _int(0),
    "RETENTION_DAYS": _int(1),
    "PUBLISH_REQUIRES_APPROVAL": _bool,
}
NAMES = tuple(f.name.upper() for f in fields(Settings))
# Settings that moved: a deployment still setting one is told where it went rather than silently ignored.
_REPLACED = {
    "SEND_OPT_CONFIRMATIONS": "who answers STOP/START/HELP is set per number in the keywords file "
                              "(confirmations: gateway | twilio in keywords.yaml); remove SEND_OPT_CONFIRMATIONS",
}


def load(environ: Mapping[str, str] | None = None, overrides: Mapping[str, Any] | None = None) -> Settings:
    """Read, parse and check every setting: the environment, then `overrides` (names as in the environment).

    An override may be text, parsed like the environment's, or an already parsed value. Names that are not
    signpost settings (Flask's own, such as TESTING) are left out; ConfigError names any bad variable.
    """
    environ = os.environ if environ is None else environ
    for name, where in _REPLACED.items():
        if name in environ or name in (overrides or {}):
            raise ConfigError(f"{name}: {where}")
    values: dict[str, Any] = {}
    for name in NAMES:
        raw = environ.get(name)
        if raw is not None and raw.strip():
            values[name.lower()] = _PARSERS.get(name, _str)(name, raw)
    for name, value in (overrides or {}).items():
        if name not in NAMES:
            continue
        if isinstance(value, str):
            value = _PARSERS.get(name, _str)(name, value) if value.strip() else getattr(Settings, name.lower())
        elif isinstance(value, list):
            value = tuple(value)
        values[name.lower()] = value
    settings = Settings(**values)
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    """Refuse settings the service cannot run safely with; one clear line naming the variable."""
    if settings.signpost_env not in (PRODUCTION, DEVELOPMENT):
        raise ConfigError(f"SIGNPOST_ENV: expected production or development, got {settings.signpost_env!r}")
    if settings.production:
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SECRET_KEY"):
            if not getattr(settings, name.lower()):
                raise ConfigError(f"{name} is not set; it is required when SIGNPOST_ENV=production")
        if not settings.public_url:
            raise ConfigError("PUBLIC_URL is not set; it is required when SIGNPOST_ENV=production "
                              "(the https:// address Twilio calls: webhook signatures are checked against it)")
    sid = settings.twilio_account_sid
    if sid and not (sid.startswith("AC") and len(sid) == 34):
        raise ConfigError("TWILIO_ACCOUNT_SID: expected AC followed by 32 characters")
    for name in ("PUBLIC_URL", "TWILIO_API_BASE_URL"):
        url = getattr(settings, name.lower())
        if url and not url.startswith(("http://", "https://")):
            raise ConfigError(f"{name}: expected an http:// or https:// URL, got {url!r}")
    if not settings.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("REDIS_URL: expected a redis://, rediss:// or unix:// URL")
    if bool(settings.redis_sentinels) != bool(settings.redis_sentinel_master):
        missing = "REDIS_SENTINEL_MASTER" if settings.redis_sentinels else "REDIS_SENTINELS"
        raise ConfigError(f"{missing} is not set; REDIS_SENTINELS and REDIS_SENTINEL_MASTER go together")


_current: list[Settings] = []


def install(settings: Settings) -> Settings:
    """Make `settings` this process's settings (the app factory and the worker's main do)."""
    _current[:] = [settings]
    return settings


def current() -> Settings:
    """This process's settings: the installed ones, else read from the environment once."""
    if not _current:
        install(load())
    return _current[0]
