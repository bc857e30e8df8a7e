"""Redis behind a password (an ACL user in REDIS_URL) and TLS (rediss://), with real redis-server processes:
the webhook queues and a worker sends through them, and a wrong password means inline answers, not a 500."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rq import SimpleWorker

from gateway import create_app, sending
from tests.conftest import ROOT, TEXTER, inbound_form, post_signed

pytestmark = [pytest.mark.slow,  # separate redis-server processes
              pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server on PATH")]

SHIPPED_USER = "signpost"
SHIPPED_PASSWORD = "replace-this-with-a-long-random-password"  # deploy/redis.conf's placeholder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(args: list[str], ping: redis.Redis) -> subprocess.Popen:
    proc = subprocess.Popen(["redis-server", *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            ping.ping()
            return proc
        except redis.ConnectionError:
            time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"redis-server did not start: {args}")


@pytest.fixture
def shipped_redis(tmp_path: Path) -> Iterator[int]:
    """redis-server with deploy/redis.conf as shipped (anonymous clients refused), on a free port."""
    port = free_port()
    proc = start([str(ROOT / "deploy" / "redis.conf"), "--port", str(port), "--bind", "127.0.0.1", "--dir",
                  str(tmp_path), "--daemonize", "no"],
                 redis.Redis(port=port, username=SHIPPED_USER, password=SHIPPED_PASSWORD))
    yield port
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """redis-server on a TLS port only, with `requirepass`, its certificate signed by a test CA."""
    if shutil.which("openssl") is None:
        pytest.skip("needs openssl to make the test certificates")
    ca, key, crt = tmp_path / "ca.crt", tmp_path / "server.key", tmp_path / "server.crt"
    run = lambda *a: subprocess.run(a, cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", str(ca), "-days",
        "1", "-subj", "/CN=signpost-test-ca")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", "server.csr", "-subj",
        "/CN=127.0.0.1")
    (tmp_path / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", "server.csr", "-CA", str(ca), "-CAkey", "ca.key", "-CAcreateserial",
        "-out", str(crt), "-days", "1", "-extfile", "ext.cnf")
    port = free_port()
    proc = start(["--port", "0", "--tls-port", str(port), "--tls-cert-file", str(crt), "--tls-key-file", str(key),
                  "--tls-ca-cert-file", str(ca), "--tls-auth-clients", "no", "--requirepass", "tls-test-pw",
                  "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                 redis.Redis.from_url(f"rediss://:tls-test-pw@127.0.0.1:{port}/0?ssl_ca_certs={ca}"))
    yield port, ca
    proc.terminate()
    proc.wait(10)


def text_and_send(config: dict, url: str, standin) -> None:
    """A text through the webhook and a worker, both on `url`: the texter gets the reply."""
    app = create_app({**config, "REDIS_URL": url})
    response = post_signed(app.test_client(), "/sms", inbound_form("DVS"))
    assert response.status_code == 200 and ET.fromstring(response.data).findall("Message") == []  # queued
    sp = app.extensions["signpost"]
    SimpleWorker(list(sp.queues.values()), connection=sp.redis, serializer=sending.SERIALIZER).work(burst=True)
    (sent,) = standin.messages
    assert sent["to"] == TEXTER and "0800 612 6505" in sent["body"]


def test_the_shipped_redis_conf_refuses_anonymous_clients(shipped_redis):
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=shipped_redis).ping()


def test_web_and_worker_through_an_acl_user(config, shipped_redis, standin, caplog):
    url = f"redis://{SHIPPED_USER}:{SHIPPED_PASSWORD}@127.0.0.1:{shipped_redis}/0"
    with caplog.at_level(logging.DEBUG):
        text_and_send(config, url, standin)
    assert SHIPPED_PASSWORD not in caplog.text


def test_a_wrong_password_answers_inline_and_readyz_says_why(config, shipped_redis):
    app = create_app({**config, "REDIS_URL": f"redis://{SHIPPED_USER}:wrong@127.0.0.1:{shipped_redis}/0"})
    client = app.test_client()
    (message,) = ET.fromstring(post_signed(client, "/sms", inbound_form("DVS")).data).findall("Message")
    assert "0800 612 6505" in message.text  # the texter still gets the reply, straight back in the TwiML
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "AuthenticationError" in ready.json["problems"][0]


def test_web_and_worker_over_tls(config, tls_redis, standin):
    port, ca = tls_redis
    text_and_send(config, f"rediss://:tls-test-pw@127.0.0.1:{port}/0?ssl_ca_certs={ca}&ssl_cert_reqs=required",
                  standin)


def test_a_worker_process_through_an_acl_user(config, shipped_redis, standin, monkeypatch):
    """`python -m workers` as the Procfile runs it, on the shipped Redis: the reply leaves."""
    import os
    import sys

    url = f"redis://{SHIPPED_USER}:{SHIPPED_PASSWORD}@127.0.0.1:{shipped_redis}/0"
    app = create_app({**config, "REDIS_URL": url})
    assert post_signed(app.test_client(), "/sms", inbound_form("DVS")).status_code == 200
    env = {**os.environ, **{k: str(v) for k, v in config.items() if k.isupper() and k != "TESTING"}, "REDIS_URL": url}
    worker = subprocess.Popen([sys.executable, "-m", "workers", "--concurrency", "1"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        (sent,) = standin.wait_for(1, timeout=30)
    finally:
        worker.terminate()
        worker.wait(15)
    assert sent["to"] == TEXTER
