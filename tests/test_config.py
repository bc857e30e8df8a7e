"""Settings: production refuses to start without what it needs, with one line naming the variable."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from gateway import config
from tests.conftest import ROOT

BASE = {
    "SIGNPOST_ENV": "production",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "token",
    "SECRET_KEY": "secret",
}


@pytest.mark.parametrize("missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SECRET_KEY"])
def test_production_requires(missing):
    env = dict(BASE)
    del env[missing]
    with pytest.raises(config.ConfigError, match=missing):
        config.load(env)


def test_development_needs_no_credentials():
    settings = config.load({"SIGNPOST_ENV": "development"})
    assert not config.twilio_configured(settings)


def test_defaults():
    settings = config.load(BASE)
    assert settings["KEYWORDS_FILE"] == "keywords.yaml"
    assert settings["RELAY_ESCALATE_AFTER"] == 120
    assert settings["RETENTION_DAYS"] == 30


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("SIGNPOST_ENV", "staging", "SIGNPOST_ENV"),
        ("TWILIO_ACCOUNT_SID", "nope", "TWILIO_ACCOUNT_SID"),
        ("PUBLIC_URL", "signpost.example.org", "PUBLIC_URL"),
        ("TWILIO_API_BASE_URL", "ftp://x", "TWILIO_API_BASE_URL"),
        ("REDIS_URL", "localhost:6379", "REDIS_URL"),
        ("SEND_OPT_CONFIRMATIONS", "true", "confirmations: gateway"),  # replaced by a setting per number
        ("SEND_OPT_CONFIRMATIONS", "false", "keywords.yaml"),
        ("RETENTION_DAYS", "0", "RETENTION_DAYS"),
        ("RELAY_ESCALATE_AFTER", "soon", "RELAY_ESCALATE_AFTER"),
        ("REDIS_TIMEOUT", "fast", "REDIS_TIMEOUT"),
        ("RELAY_FORWARD_TO", "+447911123456,999", "'999'"),
    ],
)
def test_invalid_values_are_named(name, value, words):
    env = dict(BASE, **{name: value})
    with pytest.raises(config.ConfigError, match=words):
        config.load(env)


def test_every_setting_is_in_env_example():
    example = (ROOT / ".env.example").read_text()
    for name in config.NAMES:
        assert f"\n{name}=" in example, name


def test_start_up_fails_with_one_clear_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "SIGNPOST_ENV": "production", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
           "SECRET_KEY": "x"}
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "TWILIO_AUTH_TOKEN is not set" in result.stderr.strip().splitlines()[-1]


def test_worker_refuses_bad_config_with_one_line():
    env = {"PATH": "/usr/bin:/bin", "SIGNPOST_ENV": "production"}
    result = subprocess.run([sys.executable, "-m", "workers", "--burst"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "signpost worker: TWILIO_ACCOUNT_SID is not set; it is required when SIGNPOST_ENV=production"
    ]


@pytest.mark.parametrize("arg", ["0", "-1", "many", "65"])
def test_worker_concurrency_is_checked(arg):
    result = subprocess.run([sys.executable, "-m", "workers", "--concurrency", arg], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--concurrency" in result.stderr


def test_importing_the_app_touches_no_redis(monkeypatch):
    """create_app with an unreachable Redis must still build: Redis is only used per request."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    for name, value in BASE.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KEYWORDS_FILE", str(ROOT / "keywords.yaml"))
    monkeypatch.setenv("RELAY_FORWARD_TO", "+447400000001")
    from gateway import create_app

    assert create_app() is not None


@pytest.mark.parametrize("value, bad", [("+447400000001,+4412", "'+4412'"), ("07400000001x", "'07400000001x'"),
                                        ("+447400000001, hello", "'hello'")])
def test_relay_forward_to_invalid_at_start_up(settings_env, monkeypatch, value, bad):
    monkeypatch.setenv("RELAY_FORWARD_TO", value)
    from gateway import create_app

    with pytest.raises(config.ConfigError, match=re.escape(f"RELAY_FORWARD_TO: {bad}")):
        create_app()


def test_relay_line_without_forward_numbers_is_a_start_up_error(settings_env, monkeypatch):
    monkeypatch.delenv("RELAY_FORWARD_TO")
    from gateway import create_app

    with pytest.raises(config.ConfigError, match="RELAY_FORWARD_TO is not set; .* marks relay line \\+447800002414"):
        create_app()


def test_relay_forward_numbers_normalised(settings_env, monkeypatch):
    monkeypatch.setenv("RELAY_FORWARD_TO", " +44 7400 000001 , +447400000002 ")
    from gateway import create_app

    assert create_app().config["RELAY_FORWARD_TO"] == ("+447400000001", "+447400000002")


def test_behind_a_proxy_the_client_address_comes_from_the_forwarded_header(settings_env, monkeypatch):
    monkeypatch.setenv("PROXY_COUNT", "1")
    from flask import request

    from gateway import create_app

    app = create_app()

    @app.get("/whoami-test")
    def whoami():
        return f"{request.remote_addr} {request.url}"

    answer = app.test_client().get("/whoami-test", headers={"X-Forwarded-For": "203.0.113.9",
                                                             "X-Forwarded-Proto": "https",
                                                             "X-Forwarded-Host": "sms.example.org"})
    assert answer.text == "203.0.113.9 https://sms.example.org/whoami-test"
