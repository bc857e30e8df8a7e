"""Redis behind a password (an ACL user in REDIS_URL) and TLS (rediss://), with real redis-server processes:
the webhook queues and a worker sends through them, and a wrong password means inline answers, not a 500."""

from __future__ import annotations

import logging
import re
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


SHIPPED_CONF = ROOT / "deploy" / "redis.conf"
SHIPPED_SENTINEL_CONF = ROOT / "deploy" / "sentinel.conf"


def conf_copy(tmp_path: Path, name: str = "redis.conf", shipped: Path = SHIPPED_CONF) -> Path:
    """A copy of a shipped config to start a server on: redis-server rewrites its own file (CONFIG REWRITE, run
    by Sentinel), and the shipped one must stay as it is."""
    copy = tmp_path / name
    shutil.copyfile(shipped, copy)
    return copy


@pytest.fixture
def shipped_redis(tmp_path: Path) -> Iterator[int]:
    """redis-server with deploy/redis.conf as shipped (anonymous clients refused), on a free port."""
    port = free_port()
    proc = start([str(conf_copy(tmp_path)), "--port", str(port), "--bind", "127.0.0.1", "--dir",
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


def conf_value(text: str, pattern: str) -> str:
    found = re.search(pattern, text, re.M)
    assert found, pattern
    return found[1]


def test_the_shipped_configs_replicate_and_fail_over_through_their_acl_users(tmp_path):
    """deploy/redis.conf on a primary and a replica, deploy/sentinel.conf on three sentinels (loopback addresses
    and ports swapped in), each started on its own copy: the replica logs in as `replica`, the sentinels as
    `sentinel`, find the replica and each other, and carry out a failover (SENTINEL FAILOVER) after which the old
    primary follows the new one. The servers rewrite their copies (CONFIG REWRITE); the shipped files are
    unchanged."""
    shipped = {path: path.read_bytes() for path in (SHIPPED_CONF, SHIPPED_SENTINEL_CONF)}
    conf, sentinel_conf = SHIPPED_CONF.read_text(), SHIPPED_SENTINEL_CONF.read_text()
    # The passwords the files give each other agree.
    replica_pw = conf_value(conf, r"^user replica on >(\S+)")
    sentinel_pw = conf_value(conf, r"^user sentinel on >(\S+)")
    assert conf_value(conf, r"^masteruser (\S+)") == "replica"
    assert conf_value(conf, r"^masterauth (\S+)") == replica_pw
    assert conf_value(sentinel_conf, r"^sentinel auth-user signpost (\S+)") == "sentinel"
    assert conf_value(sentinel_conf, r"^sentinel auth-pass signpost (\S+)") == sentinel_pw
    assert re.search(r"^sentinel monitor signpost \S+ 6379 2$", sentinel_conf, re.M)  # quorum 2

    procs: list[subprocess.Popen] = []
    ports = {"a": free_port(), "b": free_port()}
    sentinel_ports = [free_port() for _ in range(3)]

    def client(port: int) -> redis.Redis:
        return redis.Redis(port=port, username=SHIPPED_USER, password=SHIPPED_PASSWORD, socket_timeout=2)

    def wait(what: str, check, timeout: float = 40.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert time.monotonic() < deadline, f"timed out: {what}"
            time.sleep(0.1)

    def role(port: int) -> dict:
        return client(port).info("replication")

    try:
        for name, port in ports.items():
            directory = tmp_path / name
            directory.mkdir()
            args = [str(conf_copy(directory)), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory),
                    "--daemonize", "no", "--logfile", str(directory / "redis.log")]
            if name == "b":
                args += ["--replicaof", "127.0.0.1", str(ports["a"])]
            procs.append(start(args, client(port)))
        wait("the replica's link", lambda: role(ports["b"]).get("master_link_status") == "up")

        for i, port in enumerate(sentinel_ports):
            directory = tmp_path / f"sentinel-{i}"
            directory.mkdir()
            text = sentinel_conf
            for pattern, value in ((r"^port .*", f"port {port}"), (r"^bind .*", "bind 127.0.0.1"),
                                   (r"^dir .*", f"dir {directory}"),
                                   (r"^sentinel monitor signpost \S+ 6379",
                                    f"sentinel monitor signpost 127.0.0.1 {ports['a']}")):
                text, n = re.subn(pattern, value, text, flags=re.M)
                assert n == 1, pattern
            copy = directory / "sentinel.conf"
            copy.write_text(text + f"logfile {directory / 'sentinel.log'}\n")
            procs.append(subprocess.Popen(["redis-server", str(copy), "--sentinel"], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
        sentinels = [redis.Redis(port=port, socket_timeout=2) for port in sentinel_ports]

        def settled() -> bool:
            try:
                states = [s.sentinel_master("signpost") for s in sentinels]
            except redis.RedisError:
                return False
            return all(st["num-slaves"] == 1 and st["num-other-sentinels"] == 2 and st["quorum"] == 2
                       and not st["is_sdown"] for st in states)

        wait("sentinels seeing the replica and each other", settled)
        sentinels[0].execute_command("SENTINEL", "FAILOVER", "signpost")
        wait("the replica promoted", lambda: role(ports["b"])["role"] == "master")
        wait("the old primary following the new one", lambda: role(ports["a"]).get("master_link_status") == "up"
             and role(ports["a"])["master_port"] == ports["b"])
        wait("every sentinel naming the new primary", lambda: all(
            int(s.sentinel_get_master_addr_by_name("signpost")[1]) == ports["b"] for s in sentinels))
        assert "replicaof" in (tmp_path / "a" / "redis.conf").read_text()  # the copy was rewritten
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:  # a replica writing its first AOF after a sync refuses SIGTERM
                proc.kill()
                proc.wait(10)
    assert {path: path.read_bytes() for path in shipped} == shipped
