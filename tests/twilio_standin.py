"""Local HTTP server that answers like the Twilio REST Messages API (2010-04-01).

Point the real twilio client at it with ``client.api.base_url = standin.base_url``. Run it in another
process with ``python -m tests.twilio_standin --port 0 --account-sid AC... --auth-token ...``.
"""

from __future__ import annotations

import argparse
import base64
import hmac
import json
import math
import os
import queue
import random
import re
import secrets
import signal
import socket
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

API_VERSION = "2010-04-01"
MAX_BODY = 1600

# Error texts as Twilio words them; used when a fault is scripted without its own message.
ERROR_MESSAGES: dict[int, str] = {
    20003: "Authenticate",
    20004: "Method not allowed",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "Invalid 'To' Phone Number",
    21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21606: "The 'From' phone number provided is not a valid message-capable Twilio phone number.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
    21617: "The concatenated message body exceeds the 1600 character limit.",
    30001: "Queue overflow",
    30003: "Unreachable destination handset",
    30005: "Unknown destination handset",
    30006: "Landline or unreachable carrier",
    30007: "Message filtered",
}

_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")
_MULTI_VALUED = ("MediaUrl", "PersistentAction")
_MESSAGES_RE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages\.json$")
_MESSAGE_RE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/Messages/([^/]+)\.json$")
_ACCOUNT_PREFIX_RE = re.compile(r"^/2010-04-01/Accounts/([^/]+)/")


def num_segments(body: str) -> int:
    """Number of SMS parts Twilio would bill for ``body`` (GSM-7 160/153, UCS-2 70/67)."""
    if all(c in _GSM7_BASIC or c in _GSM7_EXTENDED for c in body):
        units = sum(2 if c in _GSM7_EXTENDED else 1 for c in body)
        single, part = 160, 153
    else:
        units = len(body.encode("utf-16-le")) // 2
        single, part = 70, 67
    if units <= single:
        return 1
    return math.ceil(units / part)


def rfc2822(wall: float) -> str:
    """Format a Unix time the way Twilio does, e.g. ``Thu, 24 Aug 2023 05:01:45 +0000``."""
    return format_datetime(datetime.fromtimestamp(int(wall), UTC))


def error_payload(status: int, code: int, message: str | None = None) -> dict[str, Any]:
    """Twilio-style JSON error body."""
    return {
        "code": code,
        "message": message or ERROR_MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


class _Reply(Exception):
    """Internal: short-circuits request handling with an error answer."""

    def __init__(self, status: int, code: int, message: str | None = None) -> None:
        super().__init__(code)
        self.status, self.code, self.message = status, code, message


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    standin: TwilioStandin

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        super().__init__(*args, **kwargs)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._conns_lock:
            self._conns.add(request)
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._conns_lock:
                self._conns.discard(request)

    def close_connections(self) -> None:
        # Keep-alive connections would otherwise keep being served after stop().
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "twilio-standin"
    sys_version = ""
    # Lets idle keep-alive handler threads end instead of lingering forever.
    timeout = 60
    # Headers and body go out in two writes; with Nagle on, delayed ACKs add ~40 ms to every answer.
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.server.standin._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.standin._handle(self, "POST")

    def do_PUT(self) -> None:
        self.server.standin._handle(self, "PUT")

    def do_DELETE(self) -> None:
        self.server.standin._handle(self, "DELETE")

    def do_PATCH(self) -> None:
        self.server.standin._handle(self, "PATCH")


class TwilioStandin:
    """In-process HTTP server imitating Twilio's Messages API, with recording and scriptable faults."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        callbacks: bool = False,
        callback_delay: float = 0.05,
        callback_workers: int = 4,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.host = host
        self.port = port
        self.callback_delay = callback_delay
        self.default_messaging_service_sid = "MG" + secrets.token_hex(16)
        self._expected_auth = "Basic " + base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._lock = threading.Lock()
        self._message_added = threading.Condition(self._lock)
        self._requests: list[dict[str, Any]] = []
        self._messages: list[dict[str, Any]] = []
        self._by_sid: dict[str, dict[str, Any]] = {}
        self._callbacks: list[dict[str, Any]] = []
        self._fail_next: list[tuple[int, int, str | None]] = []
        self._fail_to: dict[str, tuple[int, int, str | None]] = {}
        self._fault_rate = 0.0
        self._fault_choices: tuple[tuple[int, int], ...] = ((500, 20500), (429, 20429))
        self._rng = random.Random()
        self._latency = 0.0
        self._undeliverable: dict[str, tuple[int, str]] = {}
        self._callback_token: str | None = auth_token if callbacks else None
        self._callback_workers = callback_workers
        self._callback_queue: queue.Queue[tuple[float, dict[str, Any]] | None] = queue.Queue()
        self._workers: list[threading.Thread] = []
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> TwilioStandin:
        """Bind and serve in a background thread."""
        if self._httpd is not None:
            return self
        httpd = _Server((self.host, self.port), _Handler)
        httpd.standin = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="twilio-standin", daemon=True
        )
        self._thread.start()
        if self._callback_token is not None:
            self._start_workers()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and stop callback workers."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        # Pending callbacks are dropped: nothing should reach the app after stop().
        while True:
            try:
                self._callback_queue.get_nowait()
            except queue.Empty:
                break
        for _ in self._workers:
            self._callback_queue.put(None)
        for worker in self._workers:
            worker.join(timeout=5)
        self._workers = []

    def __enter__(self) -> TwilioStandin:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Base URL to give the twilio client, e.g. ``http://127.0.0.1:54321``."""
        host = "127.0.0.1" if self.host in ("", "0.0.0.0") else self.host
        return f"http://{host}:{self.port}"

    def client(self) -> Any:
        """A real ``twilio.rest.Client`` for this account, pointed at the stand-in."""
        from twilio.rest import Client

        client = Client(self.account_sid, self.auth_token)
        client.api.base_url = self.base_url
        return client

    # -- recordings ------------------------------------------------------------------------------------

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Every API request recorded since the last clear, accepted or not."""
        with self._lock:
            return list(self._requests)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Only the accepted (201) message creations."""
        with self._lock:
            return list(self._messages)

    @property
    def callbacks(self) -> list[dict[str, Any]]:
        """Status callback attempts made, with the answer status or the delivery error."""
        with self._lock:
            return list(self._callbacks)

    def wait_for(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until at least ``n`` messages were accepted; return them all."""
        deadline = time.monotonic() + timeout
        with self._message_added:
            while len(self._messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(r["method"], r["to"], r["http_status"], r["code"]) for r in self._requests[-20:]]
                    raise AssertionError(
                        f"expected {n} accepted messages within {timeout}s, got {len(self._messages)}; "
                        f"{len(self._requests)} requests, last ones (method, To, status, code): {seen}"
                    )
                self._message_added.wait(left)
            return list(self._messages)

    def wait_for_callbacks(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Block until at least ``n`` status callback attempts were made; return them all."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.callbacks
            if len(got) >= n:
                return got
            if time.monotonic() >= deadline:
                raise AssertionError(f"expected {n} status callbacks within {timeout}s, got {got}")
            time.sleep(0.01)

    def get_message(self, sid: str) -> dict[str, Any] | None:
        """The resource as a GET would answer it, or None."""
        with self._lock:
            rec = self._by_sid.get(sid)
            return None if rec is None else self._resource(rec)

    def clear(self) -> None:
        """Forget recorded requests, messages and callbacks."""
        with self._lock:
            self._requests.clear()
            self._messages.clear()
            self._by_sid.clear()
            self._callbacks.clear()

    def reset(self) -> None:
        """Clear recordings and every scripted fault, latency and undeliverable number."""
        self.clear()
        self.clear_faults()

    # -- faults ----------------------------------------------------------------------------------------

    def fail_next(
        self, count: int = 1, status: int = 500, code: int = 20500, message: str | None = None
    ) -> None:
        """Answer the next ``count`` create requests with this error."""
        with self._lock:
            self._fail_next.extend([(status, code, message)] * count)

    def fail_to(self, number: str, status: int = 400, code: int = 21610, message: str | None = None) -> None:
        """Answer every send to ``number`` with this error until ``clear_faults()``."""
        with self._lock:
            self._fail_to[number] = (status, code, message)

    def fault_rate(
        self,
        rate: float,
        choices: Iterable[tuple[int, int]] = ((500, 20500), (429, 20429)),
        seed: int | None = None,
    ) -> None:
        """Fail a random fraction ``rate`` of sends with one of the (status, code) ``choices``."""
        choices = tuple((int(s), int(c)) for s, c in choices)
        if not choices:
            raise ValueError("choices must not be empty")
        with self._lock:
            self._fault_rate = float(rate)
            self._fault_choices = choices
            self._rng = random.Random(seed)

    def latency(self, seconds: float) -> None:
        """Wait this long before answering each send."""
        with self._lock:
            self._latency = float(seconds)

    def undeliverable(self, number: str, code: int = 30003, status: str = "undelivered") -> None:
        """Report sends to ``number`` as undelivered (or failed) with ``code`` in status callbacks."""
        if status not in ("undelivered", "failed"):
            raise ValueError("status must be 'undelivered' or 'failed'")
        with self._lock:
            self._undeliverable[number] = (code, status)

    def clear_faults(self) -> None:
        """Drop every scripted fault, the latency and the undeliverable numbers."""
        with self._lock:
            self._fail_next.clear()
            self._fail_to.clear()
            self._fault_rate = 0.0
            self._latency = 0.0
            self._undeliverable.clear()

    def enable_callbacks(self, auth_token: str | None = None) -> None:
        """Send signed status callbacks, signing with ``auth_token`` (default: the account's)."""
        with self._lock:
            self._callback_token = auth_token or self.auth_token
        if self._httpd is not None:
            self._start_workers()

    # -- request handling ------------------------------------------------------------------------------

    def _handle(self, h: _Handler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length > 0 else b""
        split = urllib.parse.urlsplit(h.path)
        path = split.path
        if path.startswith("/_standin/"):
            self._control(h, method, path, split.query, raw)
            return
        content_type = (h.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        form: dict[str, Any] = {}
        if content_type == "application/x-www-form-urlencoded" and raw:
            fields = urllib.parse.parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
            for key, values in fields.items():
                form[key] = values if key in _MULTI_VALUED else values[-1]
        now, wall = time.monotonic(), time.time()
        rec: dict[str, Any] = {
            "t": now,
            "wall": wall,
            "method": method,
            "path": path,
            "to": form.get("To"),
            "from": form.get("From"),
            "body": form.get("Body"),
            "status_callback": form.get("StatusCallback"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "form": form,
            "http_status": None,
            "code": None,
            "sid": None,
        }
        extra_headers: dict[str, str] = {}
        try:
            status, payload = self._route(h, method, path, form, rec)
        except _Reply as err:
            status, payload = err.status, error_payload(err.status, err.code, err.message)
            rec["code"] = err.code
            if err.status == 429:
                extra_headers["Retry-After"] = "1"
            if err.status == 401:
                extra_headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        rec["http_status"] = status
        with self._lock:
            self._requests.append(rec)
            if status == 201:
                self._messages.append(rec)
                self._by_sid[rec["sid"]] = rec
                self._message_added.notify_all()
            if status in (200, 201):
                payload = self._resource(payload)
        if status == 201 and rec["status_callback"] and self._callback_token is not None:
            self._schedule_callbacks(rec)
        self._send_json(h, status, payload, extra_headers)

    def _route(
        self, h: _Handler, method: str, path: str, form: dict[str, Any], rec: dict[str, Any]
    ) -> tuple[int, Any]:
        not_found = _Reply(404, 20404, f"The requested resource {path} was not found")
        account = _ACCOUNT_PREFIX_RE.match(path)
        if account is None:
            raise not_found
        self._check_auth(h)
        if account.group(1) != self.account_sid:
            raise not_found
        if _MESSAGES_RE.match(path):
            if method != "POST":
                raise _Reply(405, 20004)
            return 201, self._create(form, rec)
        fetch = _MESSAGE_RE.match(path)
        if fetch is None:
            raise not_found
        if method != "GET":
            raise _Reply(405, 20004)
        with self._lock:
            found = self._by_sid.get(fetch.group(2))
        if found is None:
            raise not_found
        return 200, found

    def _check_auth(self, h: _Handler) -> None:
        given = h.headers.get("Authorization") or ""
        if not hmac.compare_digest(given.encode(), self._expected_auth.encode()):
            raise _Reply(401, 20003)

    def _create(self, form: dict[str, Any], rec: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            delay = self._latency
        if delay > 0:
            time.sleep(delay)
        with self._lock:
            fault = self._fail_next.pop(0) if self._fail_next else None
            if fault is None and self._fault_rate > 0 and self._rng.random() < self._fault_rate:
                status, code = self._rng.choice(self._fault_choices)
                fault = (status, code, None)
        if fault is not None:
            raise _Reply(*fault)
        to = form.get("To") or ""
        body = form.get("Body") or ""
        media = form.get("MediaUrl") or []
        if not to:
            raise _Reply(400, 21604)
        if not (form.get("From") or form.get("MessagingServiceSid")):
            raise _Reply(400, 21603)
        if not (body or media or form.get("ContentSid")):
            raise _Reply(400, 21602)
        if len(body) > MAX_BODY:
            raise _Reply(400, 21617)
        with self._lock:
            fault = self._fail_to.get(to)
        if fault is not None:
            raise _Reply(*fault)
        rec["sid"] = ("MM" if media else "SM") + secrets.token_hex(16)
        rec["num_segments"] = str(num_segments(body))
        rec["num_media"] = str(len(media))
        rec["date_created"] = rec["date_updated"] = rfc2822(rec["wall"])
        rec["date_sent"] = None
        rec["message_status"] = "queued"
        rec["error_code"] = None
        return rec

    def _resource(self, rec: dict[str, Any]) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{rec['sid']}"
        error_code = rec["error_code"]
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": rec["body"] or "",
            "date_created": rec["date_created"],
            "date_sent": rec["date_sent"],
            "date_updated": rec["date_updated"],
            "direction": "outbound-api",
            "error_code": error_code,
            "error_message": None if error_code is None else ERROR_MESSAGES.get(error_code, "Error"),
            "from": rec["from"],
            "messaging_service_sid": rec["messaging_service_sid"] or self.default_messaging_service_sid,
            "num_media": rec["num_media"],
            "num_segments": rec["num_segments"],
            "price": None,
            "price_unit": None,
            "sid": rec["sid"],
            "status": rec["message_status"],
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": rec["to"],
            "uri": f"{uri}.json",
        }

    @staticmethod
    def _send_json(h: _Handler, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Twilio-Request-Id", "RQ" + secrets.token_hex(16))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(data)

    # -- status callbacks ------------------------------------------------------------------------------

    def _start_workers(self) -> None:
        with self._lock:
            missing = self._callback_workers - len(self._workers)
            for i in range(missing):
                worker = threading.Thread(
                    target=self._callback_worker, name=f"standin-callbacks-{i}", daemon=True
                )
                self._workers.append(worker)
                worker.start()

    def _schedule_callbacks(self, rec: dict[str, Any]) -> None:
        # Delay so the sender has the 201 (and the sid) before the first callback lands.
        self._callback_queue.put((time.monotonic() + self.callback_delay, rec))

    def _callback_worker(self) -> None:
        from twilio.request_validator import RequestValidator

        while True:
            item = self._callback_queue.get()
            if item is None:
                return
            due, rec = item
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            with self._lock:
                token = self._callback_token
                bad = self._undeliverable.get(rec["to"])
            if token is None:
                continue
            validator = RequestValidator(token)
            if bad is None:
                steps: list[tuple[str, int | None]] = [("sent", None), ("delivered", None)]
            elif bad[1] == "failed":
                steps = [("failed", bad[0])]
            else:
                steps = [("sent", None), ("undelivered", bad[0])]
            for message_status, error_code in steps:
                self._post_callback(validator, rec, message_status, error_code)

    def _post_callback(
        self, validator: Any, rec: dict[str, Any], message_status: str, error_code: int | None
    ) -> None:
        with self._lock:
            rec["message_status"] = message_status
            rec["date_updated"] = rfc2822(time.time())
            if message_status == "sent":
                rec["date_sent"] = rec["date_updated"]
            if error_code is not None:
                rec["error_code"] = error_code
        params = {
            "MessageSid": rec["sid"],
            "SmsSid": rec["sid"],
            "MessageStatus": message_status,
            "SmsStatus": message_status,
            "AccountSid": self.account_sid,
            "To": rec["to"],
            "ApiVersion": API_VERSION,
        }
        if rec["from"]:
            params["From"] = rec["from"]
        if rec["messaging_service_sid"]:
            params["MessagingServiceSid"] = rec["messaging_service_sid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        url = rec["status_callback"]
        request = urllib.request.Request(
            url,
            data=urllib.parse.urlencode(params).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": validator.compute_signature(url, params),
                "User-Agent": "TwilioProxy/1.1",
            },
            method="POST",
        )
        entry: dict[str, Any] = {
            "t": time.monotonic(),
            "wall": time.time(),
            "url": url,
            "sid": rec["sid"],
            "status": message_status,
            "params": params,
            "http_status": None,
            "error": None,
        }
        try:
            with self._opener.open(request, timeout=15) as answer:
                answer.read()
                entry["http_status"] = answer.status
        except urllib.error.HTTPError as exc:
            entry["http_status"] = exc.code
            entry["error"] = f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:
            entry["error"] = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self._callbacks.append(entry)

    # -- control surface -------------------------------------------------------------------------------

    def _control(self, h: _Handler, method: str, path: str, query: str, raw: bytes) -> None:
        since = int(urllib.parse.parse_qs(query).get("since", ["0"])[0])
        try:
            if method == "GET" and path == "/_standin/messages":
                payload: Any = [_public(r) for r in self.messages[since:]]
            elif method == "GET" and path == "/_standin/requests":
                payload = [_public(r) for r in self.requests[since:]]
            elif method == "GET" and path == "/_standin/callbacks":
                payload = self.callbacks[since:]
            elif method == "POST" and path == "/_standin/reset":
                self.reset()
                payload = {"ok": True}
            elif method == "POST" and path == "/_standin/faults":
                spec = json.loads(raw or b"{}")
                if not isinstance(spec, dict):
                    raise ValueError("expected a JSON object")
                self._apply_faults(spec)
                payload = {"ok": True}
            else:
                self._send_json(h, 404, {"error": f"no control endpoint {method} {path}"})
                return
        except (ValueError, TypeError, KeyError) as exc:
            self._send_json(h, 400, {"error": f"{type(exc).__name__}: {exc}"})
            return
        self._send_json(h, 200, payload)

    def _apply_faults(self, spec: dict[str, Any]) -> None:
        if spec.get("clear"):
            self.clear_faults()
        if "rate" in spec:
            self.fault_rate(
                spec["rate"], choices=spec.get("choices", ((500, 20500), (429, 20429))), seed=spec.get("seed")
            )
        if "fail_next" in spec:
            self.fail_next(**spec["fail_next"])
        if "fail_to" in spec:
            self.fail_to(**spec["fail_to"])
        if "latency" in spec:
            self.latency(spec["latency"])
        if "undeliverable" in spec:
            self.undeliverable(**spec["undeliverable"])


_PUBLIC_KEYS = (
    "sid",
    "to",
    "from",
    "body",
    "status_callback",
    "messaging_service_sid",
    "t",
    "wall",
    "method",
    "path",
    "http_status",
    "code",
)


def _public(rec: dict[str, Any]) -> dict[str, Any]:
    out = {key: rec[key] for key in _PUBLIC_KEYS}
    out["message_status"] = rec.get("message_status")
    return out


def main(argv: list[str] | None = None) -> int:
    """Serve the stand-in until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m tests.twilio_standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--account-sid", default=os.environ.get("TWILIO_ACCOUNT_SID"))
    parser.add_argument("--auth-token", default=os.environ.get("TWILIO_AUTH_TOKEN"))
    parser.add_argument("--fault-rate", type=float, default=0.0)
    parser.add_argument("--fault-seed", type=int, default=None)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--callbacks", action="store_true")
    parser.add_argument("--callback-delay", type=float, default=0.05)
    args = parser.parse_args(argv)
    if not args.account_sid or not args.auth_token:
        parser.error("--account-sid and --auth-token are required (or TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN)")

    standin = TwilioStandin(
        args.account_sid,
        args.auth_token,
        host=args.host,
        port=args.port,
        callbacks=args.callbacks,
        callback_delay=args.callback_delay,
    )
    if args.fault_rate:
        standin.fault_rate(args.fault_rate, seed=args.fault_seed)
    if args.latency:
        standin.latency(args.latency)

    stopping = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    standin.start()
    print(f"listening {standin.base_url}", flush=True)
    try:
        # Short waits so the signal handler gets to run promptly in the main thread.
        while not stopping.wait(0.2):
            pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
