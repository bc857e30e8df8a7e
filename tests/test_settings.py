"""Settings: read once per process; production refuses to start without what it needs, one line naming it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from gateway import settings
from tests.conftest import ROOT

BASE = {
    "SIGNPOST_ENV": "production",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "token",
    "SECRET_KEY": "secret",
    "PUBLIC_URL": "https://sms.example.org",
}


@pytest.mark.parametrize("missing", ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SECRET_KEY", "PUBLIC_URL"])
def test_production_requires(missing):
    env = dict(BASE)
    del env[missing]
    with pytest.raises(settings.ConfigError, match=missing):
        settings.load(env)


def test_development_needs_no_credentials():
    assert not settings.load({"SIGNPOST_ENV": "development"}).twilio_configured


def test_defaults():
    s = settings.load(BASE)
    assert (s.keywords_file, s.relay_escalate_after, s.retention_days, s.alert_to) == ("keywords.yaml", 120, 30, ())
    assert s.production and s.twilio_configured and s.status_callback == "https://sms.example.org/sms/status"


@pytest.mark.parametrize("raw, expected", [("true", True), ("TRUE", True), ("1", True), ("yes", True),
                                           ("false", False), ("0", False), ("no", False), ("", False)])
def test_publish_requires_approval_is_a_yes_or_no(raw, expected):
    assert settings.load(dict(BASE, PUBLISH_REQUIRES_APPROVAL=raw)).publish_requires_approval is expected
    assert settings.load(BASE).publish_requires_approval is False


def test_overrides_win_over_the_environment_and_take_parsed_values():
    s = settings.load(dict(BASE, RETENTION_DAYS="7", ALERT_TO="+447400000001"),
                      {"RETENTION_DAYS": 3, "ALERT_TO": ["+447400000002"], "TESTING": True})
    assert (s.retention_days, s.alert_to) == (3, ("+447400000002",))
    assert s.retention_seconds == 3 * 86400


def test_settings_are_frozen():
    with pytest.raises(AttributeError):
        settings.load(BASE).secret_key = "other"  # type: ignore[misc]


def test_the_process_reads_its_settings_once(monkeypatch):
    installed = settings.install(settings.load(BASE))
    monkeypatch.setenv("RETENTION_DAYS", "9")
    assert settings.current() is installed  # jobs do not re-read the environment


def test_the_app_and_its_jobs_share_one_settings_object(config):
    from gateway import create_app

    app = create_app(config)
    assert app.extensions["signpost"].settings is settings.current()
    assert app.config["TESTING"] is True and "REDIS_URL" not in app.config  # one store for each setting


def test_an_app_built_from_a_dict_ignores_the_environment(monkeypatch, config):
    from gateway import create_app

    monkeypatch.setenv("ALERT_TO", "+447400000005")
    assert create_app(config).extensions["signpost"].settings.alert_to == ()


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
        ("PUBLISH_REQUIRES_APPROVAL", "maybe", "PUBLISH_REQUIRES_APPROVAL: expected true or false"),
    ],
)
def test_invalid_values_are_named(name, value, words):
    env = dict(BASE, **{name: value})
    with pytest.raises(settings.ConfigError, match=words):
        settings.load(env)


def test_every_setting_is_in_env_example():
    example = (ROOT / ".env.example").read_text()
    for name in settings.NAMES:
        assert f"\n{name}=" in example, name


@pytest.mark.slow  # a separate process
def test_start_up_fails_with_one_clear_line(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "SIGNPOST_ENV": "production", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
           "SECRET_KEY": "x"}
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "TWILIO_AUTH_TOKEN is not set" in result.stderr.strip().splitlines()[-1]


@pytest.mark.slow  # a separate process
def test_worker_refuses_bad_config_with_one_line():
    env = {"PATH": "/usr/bin:/bin", "SIGNPOST_ENV": "production"}
    result = subprocess.run([sys.executable, "-m", "workers", "--burst"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "signpost worker: TWILIO_ACCOUNT_SID is not set; it is required when SIGNPOST_ENV=production"
    ]


@pytest.mark.slow  # a separate process
@pytest.mark.parametrize("arg", ["0", "-1", "many", "65"])
def test_worker_concurrency_is_checked(arg):
    result = subprocess.run([sys.executable, "-m", "workers", "--concurrency", arg], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--concurrency" in result.stderr


def test_importing_the_app_touches_no_redis(monkeypatch):
    """create_app from the environment with an unreachable Redis still builds: Redis is only used per request."""
    for name in settings.NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in dict(BASE, REDIS_URL="redis://127.0.0.1:1/0", KEYWORDS_FILE=str(ROOT / "keywords.yaml"),
                            RELAY_FORWARD_TO="+447400000001").items():
        monkeypatch.setenv(name, value)
    from gateway import create_app

    assert create_app().extensions["signpost"].settings.relay_forward_to == ("+447400000001",)


@pytest.mark.parametrize("value, bad", [("+447400000001,+4412", "'+4412'"), ("07400000001x", "'07400000001x'"),
                                        ("+447400000001, hello", "'hello'")])
def test_relay_forward_to_invalid_at_start_up(config, value, bad):
    from gateway import create_app

    with pytest.raises(settings.ConfigError, match=re.escape(f"RELAY_FORWARD_TO: {bad}")):
        create_app({**config, "RELAY_FORWARD_TO": value})


def test_relay_line_without_forward_numbers_is_a_start_up_error(config):
    from gateway import create_app

    with pytest.raises(settings.ConfigError, match="RELAY_FORWARD_TO is not set; .* marks relay line \\+447800002414"):
        create_app({**config, "RELAY_FORWARD_TO": ""})


def test_relay_forward_numbers_normalised(config):
    from gateway import create_app

    app = create_app({**config, "RELAY_FORWARD_TO": " +44 7400 000001 , +447400000002 "})
    assert app.extensions["signpost"].settings.relay_forward_to == ("+447400000001", "+447400000002")


def test_behind_a_proxy_the_client_address_comes_from_the_forwarded_header(config):
    from flask import request

    from gateway import create_app

    app = create_app({**config, "PROXY_COUNT": "1"})

    @app.get("/whoami-test")
    def whoami():
        return f"{request.remote_addr} {request.url}"

    answer = app.test_client().get("/whoami-test", headers={"X-Forwarded-For": "203.0.113.9",
                                                             "X-Forwarded-Proto": "https",
                                                             "X-Forwarded-Host": "sms.example.org"})
    assert answer.text == "203.0.113.9 https://sms.example.org/whoami-test"
