"""A small HTTP load generator for signed Twilio webhooks (new connection per request, like Twilio)."""

from __future__ import annotations

import multiprocessing as mp
import socket
import threading
import time
import uuid
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

TEXTS = ("DVS", "dvs please", "STALKING", "stalkng", "CRIMESTOPPERS", "hello", "DSV", "victim", "deaf", "help me")


def inbound_form(sid: str, account_sid: str, texter: str, to: str, body: str) -> dict[str, str]:
    """The fields Twilio posts for an inbound SMS."""
    return {"MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "AccountSid": account_sid,
            "From": texter, "To": to, "Body": body, "NumMedia": "0", "NumSegments": "1",
            "SmsStatus": "received", "ApiVersion": "2010-04-01"}


def raw_post(host: str, port: int, token: str, form: dict[str, str], path: str = "/sms") -> bytes:
    """One raw HTTP/1.1 form POST, signed as Twilio signs it for http://host:port/path."""
    signature = RequestValidator(token).compute_signature(f"http://{host}:{port}{path}", form)
    payload = urlencode(form).encode()
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            f"X-Twilio-Signature: {signature}\r\nContent-Length: {len(payload)}\r\nConnection: close\r\n\r\n")
    return head.encode() + payload


def signed_request(host: str, port: int, token: str, account_sid: str, body: str, to: str = "82228",
                   texter: str = "+447911000123", path: str = "/sms") -> tuple[str, bytes]:
    """One raw request for a new inbound SMS (a fresh MessageSid); returns (sid, bytes)."""
    sid = "SM" + uuid.uuid4().hex
    return sid, raw_post(host, port, token, inbound_form(sid, account_sid, texter, to, body), path)


def exchange(host: str, port: int, raw: bytes, timeout: float = 15.0) -> tuple[int, bytes]:
    """Send one raw request on a new connection; (HTTP status, whole answer), or (0, b"") on a connection error."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(raw)
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        answer = b"".join(chunks)
        return (int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0), answer
    except (OSError, ValueError, IndexError):
        return 0, b""


def send_raw(host: str, port: int, raw: bytes, timeout: float = 15.0) -> int:
    """Send one raw request on a new connection; the HTTP status, or 0 on a connection error."""
    return exchange(host, port, raw, timeout)[0]


def _worker(host: str, port: int, requests: list[bytes], threads: int, deadline: float, out: mp.Queue) -> None:
    lock = threading.Lock()
    counts = {"ok": 0, "bad": 0, "latencies": []}
    position = [0]

    def loop() -> None:
        while time.monotonic() < deadline:
            with lock:
                i = position[0]
                position[0] += 1
            if i >= len(requests):
                return
            started = time.perf_counter()
            status = send_raw(host, port, requests[i])
            elapsed = time.perf_counter() - started
            with lock:
                counts["ok" if status == 200 else "bad"] += 1
                counts["latencies"].append(elapsed)

    pool = [threading.Thread(target=loop) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    out.put(counts)


def run_load(host: str, port: int, requests: list[bytes], seconds: float, processes: int = 2,
             threads: int = 4) -> dict:
    """Fire `requests` for up to `seconds` from several processes; returns ok, bad, elapsed, rps, latencies."""
    share = [requests[i::processes] for i in range(processes)]
    out: mp.Queue = mp.Queue()
    started = time.monotonic()
    deadline = started + seconds
    procs = [mp.Process(target=_worker, args=(host, port, part, threads, deadline, out)) for part in share]
    for p in procs:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    elapsed = time.monotonic() - started
    ok = sum(r["ok"] for r in results)
    latencies = sorted(x for r in results for x in r["latencies"])
    return {"ok": ok, "bad": sum(r["bad"] for r in results), "elapsed": elapsed, "rps": ok / elapsed,
            "latencies": latencies}


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100) of sorted values."""
    if not values:
        return 0.0
    return values[min(len(values) - 1, int(len(values) * p / 100))]
