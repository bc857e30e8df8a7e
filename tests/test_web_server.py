"""The shipped web process (gunicorn with deploy/gunicorn.conf.py, as the Procfile starts it) under hostile clients."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
import redis
from rq import Queue

from gateway.sending import ORDER
from tests.conftest import PUBLIC_URL, ROOT, inbound_form, sign

HOST = "127.0.0.1"
pytestmark = pytest.mark.slow  # starts gunicorn


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@pytest.fixture
def web(settings_env: dict, r: redis.Redis, tmp_path: Path) -> Iterator[int]:
    """The Procfile's web command on a free port (production settings, the scratch Redis); yields the port."""
    port = free_port()
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    log = tmp_path / "gunicorn.log"
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "--config", str(ROOT / "deploy" / "gunicorn.conf.py"),
                             "--bind", f"{HOST}:{port}", "wsgi:app"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))
    try:
        deadline = time.monotonic() + 30
        while True:  # until a worker has imported the app and answers
            try:
                if exchange(port, f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode(), 1)[0].startswith(
                        b"HTTP/1.1 200"):
                    break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(30)


def signed_post(port: int, form: dict[str, str], path: str = "/sms") -> bytes:
    """A raw form POST signed as Twilio signs it for PUBLIC_URL + path."""
    body = urlencode(form).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"X-Twilio-Signature: {sign(PUBLIC_URL + path, form)}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n")
    return head.encode() + body


def exchange(port: int, raw: bytes, timeout: float) -> tuple[bytes, float]:
    """Send `raw` on a new connection; the answer's head (up to the blank line) and the seconds it took."""
    started = time.monotonic()
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(raw)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer.split(b"\r\n\r\n")[0], time.monotonic() - started


class Holders:
    """Connections that send one header line a second and never finish, and connections that send nothing."""

    def __init__(self, port: int, slow: int, idle: int) -> None:
        self.port = port
        self.stop = threading.Event()
        self.opened = 0
        self.threads = [threading.Thread(target=self._dribble, daemon=True) for _ in range(slow)]
        self.threads += [threading.Thread(target=self._idle, daemon=True) for _ in range(idle)]

    def __enter__(self) -> Holders:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(5)

    def _connect(self) -> socket.socket | None:
        try:
            s = socket.create_connection((HOST, self.port), timeout=5)
        except OSError:
            return None
        self.opened += 1
        return s

    def _dribble(self) -> None:
        while not self.stop.is_set():
            s = self._connect()
            if s is None:
                continue
            with s:
                try:
                    s.sendall(f"POST /sms HTTP/1.1\r\nHost: {HOST}\r\n".encode())
                    s.settimeout(1.0)
                    line = 0
                    while not self.stop.is_set():
                        try:
                            s.recv(4096)
                            break  # answered or dropped: start again
                        except TimeoutError:
                            pass
                        s.sendall(f"X-Slow-{line}: aaaaaaaaaaaaaaaaaaaa\r\n".encode())
                        line += 1
                except OSError:
                    pass

    def _idle(self) -> None:
        while not self.stop.is_set():
            s = self._connect()
            if s is None:
                continue
            with s:
                s.settimeout(0.5)
                while not self.stop.is_set():
                    try:
                        if not s.recv(4096):
                            break
                    except TimeoutError:
                        continue
                    except OSError:
                        break


def test_signed_webhooks_answer_within_two_seconds_while_slow_and_idle_clients_hold_connections(web, r):
    assert exchange(web, signed_post(web, inbound_form("hello")), 10)[0].startswith(b"HTTP/1.1 200")
    r.flushdb()
    with Holders(web, slow=12, idle=12) as holders:
        time.sleep(2.5)  # every slow client has sent its request line and a header or two
        times = []
        for _ in range(10):
            head, took = exchange(web, signed_post(web, inbound_form("DVS")), timeout=5)
            assert head.startswith(b"HTTP/1.1 200"), head
            times.append(took)
            time.sleep(0.3)
        assert holders.opened >= 24
    assert max(times) < 2, times
    assert sum(Queue(name, connection=r).count for name in ORDER) == 10


def push(port: int, head: bytes, chunk: bytes) -> tuple[bytes, float, float | None]:
    """Send `head`, then `chunk` over and over; (the answer's head, seconds to it, seconds from it until the
    server closed the connection, or None if it was still reading 3 s later)."""
    with socket.create_connection((HOST, port), timeout=5) as s:
        s.sendall(head)
        started, answer = time.monotonic(), b""
        s.setblocking(False)
        while b"\r\n\r\n" not in answer and time.monotonic() - started < 5:
            try:
                s.send(chunk)
            except BlockingIOError:
                time.sleep(0.001)
            except OSError:
                pass
            try:
                answer += s.recv(65536)
            except BlockingIOError:
                pass
        answered = time.monotonic()
        while time.monotonic() - answered < 3:
            try:
                s.send(chunk)
            except BlockingIOError:
                time.sleep(0.001)
            except OSError:
                return answer.split(b"\r\n\r\n")[0], answered - started, time.monotonic() - answered
    return answer.split(b"\r\n\r\n")[0], answered - started, None


def test_an_oversized_body_is_refused_at_once_and_the_rest_never_read(web, r):
    head = (f"POST /sms HTTP/1.1\r\nHost: {HOST}:{web}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"X-Twilio-Signature: {sign(PUBLIC_URL + '/sms', {})}\r\nContent-Length: {1024 ** 3}\r\n\r\n")
    answer, took, closed_after = push(web, head.encode(), b"a" * 0x4000)
    assert answer.startswith(b"HTTP/1.1 413") and took < 1
    assert b"strict-transport-security: max-age=31536000; includesubdomains" in answer.lower()
    # The server stops reading once it has refused the body: going on sending soon fails.
    assert closed_after is not None and closed_after < 2


def test_an_endless_chunked_body_is_cut_off_and_the_connection_closed(web, r):
    head = (f"POST /sms HTTP/1.1\r\nHost: {HOST}:{web}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
    answer, took, closed_after = push(web, head.encode(), b"4000\r\n" + b"a" * 0x4000 + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 413") and took < 1
    assert closed_after is not None and closed_after < 2
    assert sum(Queue(name, connection=r).count for name in ORDER) == 0
