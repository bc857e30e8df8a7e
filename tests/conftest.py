"""Shared fixtures: a real Redis on a scratch database, the Twilio stand-in, signed webhooks, real workers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import redis
from argon2 import PasswordHasher, profiles
from rq import Queue, SimpleWorker, Worker
from rq.registry import ScheduledJobRegistry
from twilio.request_validator import RequestValidator

from gateway import create_app, sending, settings
from gateway.console import users
from gateway.sending import ORDER
from tests.twilio_standin import TwilioStandin

ROOT = Path(__file__).resolve().parents[1]
# argon2's cheapest profile: a sign-in in a test costs microseconds, not the production profile's ~50 ms.
users.HASHER = PasswordHasher.from_parameters(profiles.CHEAPEST)
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_URL = "https://signpost.example.org"
TEXTER = "+447911000123"  # a valid UK mobile: Ofcom's drama numbers cannot be answered
SHORT_CODE = "82228"
RELAY_LINE = "+447800002414"
CONTROL_ROOM = ("+447400000001", "+447400000002")
SUPERVISOR = "+447400000009"


def scratch_redis_url() -> str:
    """The Redis server tests use: TEST_REDIS_URL, else the local server; its database number is a preference."""
    return os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A scratch database of its own for this test run, so runs side by side never flush each other's data.

    Databases are claimed with a lock key in database 0 (never flushed by tests), preferred one first.
    """
    base = urlparse(scratch_redis_url())
    preferred = int(base.path.lstrip("/") or 15)
    server = base._replace(path="").geturl()
    locks = redis.Redis.from_url(server + "/0")
    token = f"{os.getpid()}-{uuid.uuid4().hex}"
    for db in [preferred, *range(15, 0, -1)]:
        if locks.set(f"signpost:test-db-lock:{db}", token, nx=True, ex=3600):
            break
    else:
        pytest.fail(f"no free scratch database on {server}")
    yield f"{server}/{db}"
    if locks.get(f"signpost:test-db-lock:{db}") == token.encode():
        locks.delete(f"signpost:test-db-lock:{db}")
    locks.close()


@pytest.fixture
def r(redis_url: str) -> Iterator[redis.Redis]:
    """A real Redis connection on the scratch database, flushed around each test."""
    connection = redis.Redis.from_url(redis_url)
    try:
        connection.ping()
    except redis.ConnectionError:
        pytest.fail(f"tests need a real Redis at {redis_url} (set TEST_REDIS_URL)")
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


@pytest.fixture
def standin() -> Iterator[TwilioStandin]:
    """The local stand-in of Twilio's Messages API."""
    with TwilioStandin(ACCOUNT_SID, AUTH_TOKEN) as server:
        yield server


@pytest.fixture
def config(r: redis.Redis, redis_url: str, standin: TwilioStandin) -> dict[str, Any]:
    """The app's settings as `create_app` takes them in tests: production, a scratch Redis, the stand-in."""
    return {
        "TESTING": True,
        "SIGNPOST_ENV": "production",
        "REDIS_URL": redis_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_API_BASE_URL": standin.base_url,
        "KEYWORDS_FILE": str(ROOT / "keywords.yaml"),
        "PUBLIC_URL": PUBLIC_URL,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "LOG_LEVEL": "INFO",
        "RELAY_FORWARD_TO": ",".join(CONTROL_ROOM),
        "RELAY_ESCALATE_TO": SUPERVISOR,
    }


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch, config: dict[str, Any]) -> dict[str, Any]:
    """The same settings in the environment, for the processes a test starts (`python -m workers`, `flask`)."""
    for name in settings.NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in config.items():
        if name in settings.NAMES:
            monkeypatch.setenv(name, str(value))
    return config


@pytest.fixture
def app(config: dict[str, Any]):
    return create_app(config)


@pytest.fixture
def client(app):
    return app.test_client()


def sign(url: str, params: dict[str, Any], token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature for a form POST, computed by twilio's own RequestValidator."""
    return RequestValidator(token).compute_signature(url, params)


def inbound_form(body: str, sid: str | None = None, texter: str = TEXTER, to: str = SHORT_CODE) -> dict[str, str]:
    """The fields Twilio posts for an inbound SMS."""
    sid = sid or "SM" + uuid.uuid4().hex
    return {
        "ToCountry": "GB", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "",
        "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "",
        "Body": body, "FromCountry": "GB", "To": to, "ToZip": "", "NumSegments": "1",
        "MessageSid": sid, "AccountSid": ACCOUNT_SID, "From": texter, "ApiVersion": "2010-04-01",
    }


def post_signed(client, path: str, form: dict[str, str], public_url: str = PUBLIC_URL, **kwargs):
    """POST a form to the app, signed exactly as Twilio signs it for `public_url + path`."""
    headers = {"X-Twilio-Signature": sign(public_url + path, form)}
    headers.update(kwargs.pop("headers", {}))
    return client.post(path, data=form, headers=headers, base_url=_base(public_url), **kwargs)


def _base(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


@pytest.fixture
def queues(r: redis.Redis) -> list[Queue]:
    return list(sending.make_queues(r).values())


def release_scheduled(queues: list[Queue]) -> int:
    """Move every scheduled retry onto its queue now, as if its backoff had elapsed."""
    moved = 0
    for queue in queues:
        registry = ScheduledJobRegistry(queue=queue)
        for job_id in registry.get_job_ids():
            job = queue.fetch_job(job_id)
            registry.remove(job_id)
            if job is not None:
                queue.enqueue_job(job)
                moved += 1
    return moved


@pytest.fixture
def run_jobs(app, r: redis.Redis, queues: list[Queue]):
    """Run every queued job now in this process, the way rq's own tests do, with the app's settings
    (or those of an app the test builds later: the last one built is the process's)."""

    def run() -> bool:
        return SimpleWorker(queues, connection=r, serializer=sending.SERIALIZER).work(burst=True)

    return run


@pytest.fixture
def worker_process(settings_env: dict, r: redis.Redis) -> Iterator[subprocess.Popen]:
    """A real `python -m workers` process (one worker per queue, RQ's scheduler on), registered and idle."""
    worker = subprocess.Popen([sys.executable, "-m", "workers", "--concurrency", "1"], cwd=ROOT,
                              env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while Worker.count(connection=r) < len(ORDER) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert Worker.count(connection=r) == len(ORDER), "the worker process did not start its lanes"
        yield worker
    finally:
        worker.terminate()
        worker.wait(15)
