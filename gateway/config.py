"""Settings: every setting is read here, from the environment, and nowhere else."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import phonenumbers

PRODUCTION = "production"
DEVELOPMENT = "development"


class ConfigError(Exception):
    """A setting is missing or invalid; the message names the variable."""


def _str(name: str, raw: str) -> str:
    return raw.strip()


def _float(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None


def _int(name: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name}: must be at least {minimum}, got {value}")
    return value


def _numbers(name: str, raw: str) -> tuple[str, ...]:
    """Parse a comma-separated list of E.164 numbers, naming the bad entry."""
    out = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        try:
            parsed = phonenumbers.parse(entry, None)
        except phonenumbers.NumberParseException as exc:
            raise ConfigError(f"{name}: {entry!r} is not an E.164 phone number ({exc})") from None
        if not phonenumbers.is_valid_number(parsed):
            raise ConfigError(f"{name}: {entry!r} is not a valid phone number")
        out.append(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    return tuple(out)


# name -> (parser, default). Defaults are never secrets.
_SETTINGS: dict[str, tuple[Any, Any]] = {
    "SIGNPOST_ENV": (_str, PRODUCTION),
    "REDIS_URL": (_str, "redis://127.0.0.1:6379/0"),
    "TWILIO_ACCOUNT_SID": (_str, ""),
    "TWILIO_AUTH_TOKEN": (_str, ""),
    "TWILIO_API_BASE_URL": (_str, ""),
    "KEYWORDS_FILE": (_str, "keywords.yaml"),
    "PUBLIC_URL": (_str, ""),
    "SECRET_KEY": (_str, ""),
    "LOG_LEVEL": (_str, "INFO"),
    "REDIS_TIMEOUT": (_float, 2.0),
    "RELAY_FORWARD_TO": (_numbers, ()),
    "RELAY_ESCALATE_TO": (_numbers, ()),
    "ALERT_TO": (_numbers, ()),
    "RELAY_ESCALATE_AFTER": (lambda n, v: _int(n, v, 1), 120),
    "RELAY_ESCALATE_TIERS_AFTER": (lambda n, v: _int(n, v, 0), 2),
    "RETENTION_DAYS": (lambda n, v: _int(n, v, 1), 30),
    "PROXY_COUNT": (lambda n, v: _int(n, v, 0), 0),
    "PROMETHEUS_MULTIPROC_DIR": (_str, ""),
}

NAMES = tuple(_SETTINGS)
# Settings that moved: a deployment still setting one is told where it went rather than silently ignored.
_REPLACED = {
    "SEND_OPT_CONFIRMATIONS": "who answers STOP/START/HELP is set per number in the keywords file "
                              "(confirmations: gateway | twilio in keywords.yaml); remove SEND_OPT_CONFIRMATIONS",
}


def from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read every setting from the environment, parsed and defaulted."""
    environ = os.environ if environ is None else environ
    for name, where in _REPLACED.items():
        if name in environ:
            raise ConfigError(f"{name}: {where}")
    settings: dict[str, Any] = {}
    for name, (parser, default) in _SETTINGS.items():
        raw = environ.get(name)
        settings[name] = default if raw is None or not raw.strip() else parser(name, raw)
    return settings


def validate(settings: Mapping[str, Any]) -> None:
    """Refuse settings the service cannot run safely with; one clear line naming the variable."""
    env = settings.get("SIGNPOST_ENV")
    if env not in (PRODUCTION, DEVELOPMENT):
        raise ConfigError(f"SIGNPOST_ENV: expected production or development, got {env!r}")
    if env == PRODUCTION:
        for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SECRET_KEY"):
            if not settings.get(name):
                raise ConfigError(f"{name} is not set; it is required when SIGNPOST_ENV=production")
    sid = settings.get("TWILIO_ACCOUNT_SID") or ""
    if sid and not (sid.startswith("AC") and len(sid) == 34):
        raise ConfigError("TWILIO_ACCOUNT_SID: expected AC followed by 32 characters")
    for name in ("PUBLIC_URL", "TWILIO_API_BASE_URL"):
        url = settings.get(name) or ""
        if url and not url.startswith(("http://", "https://")):
            raise ConfigError(f"{name}: expected an http:// or https:// URL, got {url!r}")
    if not settings.get("REDIS_URL", "").startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("REDIS_URL: expected a redis://, rediss:// or unix:// URL")


def twilio_configured(settings: Mapping[str, Any]) -> bool:
    """True when outbound messages go to Twilio (or its stand-in) rather than the dev outbox."""
    return bool(settings.get("TWILIO_ACCOUNT_SID") and settings.get("TWILIO_AUTH_TOKEN"))


def load(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read and validate settings; raises ConfigError."""
    settings = from_env(environ)
    validate(settings)
    return settings
