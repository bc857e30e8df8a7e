"""Tests for the Twilio stand-in server, driven through the real twilio client."""

from __future__ import annotations

import base64
import json
import queue
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.twilio_standin import TwilioStandin, num_segments

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f" * 32
OTHER_SID = "AC" + "fedcba9876543210" * 2
SENDER = "+447911000000"
RECIPIENT = "+447911000123"
REPO = Path(__file__).resolve().parents[1]
SPEC = Path(__file__).resolve().parents[2] / "shared" / "twilio" / "twilio_api_v2010.json"
SID_RE = re.compile(r"^SM[0-9a-f]{32}$")
# urllib would otherwise honour *_proxy variables for these loopback calls.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture
def standin() -> Iterator[TwilioStandin]:
    with TwilioStandin(ACCOUNT_SID, AUTH_TOKEN) as server:
        yield server


@pytest.fixture
def client(standin: TwilioStandin) -> Client:
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    client.api.base_url = standin.base_url
    return client


class StandinHttpClient(TwilioHttpClient):
    """Sends every api.twilio.com request to a local base URL instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.local_base_url = base_url

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        url = url.replace("https://api.twilio.com", self.local_base_url, 1)
        return super().request(method, url, *args, **kwargs)


def raw_post(
    url: str, fields: dict[str, str], auth: tuple[str, str] | None = (ACCOUNT_SID, AUTH_TOKEN)
) -> tuple[int, dict[str, str], Any]:
    """POST a form with urllib; return (status, headers, decoded JSON)."""
    request = urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(), method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with OPENER.open(request, timeout=10) as answer:
            return answer.status, dict(answer.headers), json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


def messages_url(standin: TwilioStandin, account_sid: str = ACCOUNT_SID) -> str:
    return f"{standin.base_url}/2010-04-01/Accounts/{account_sid}/Messages.json"


def send(client: Client, **kwargs: Any) -> Any:
    fields: dict[str, Any] = {"to": RECIPIENT, "from_": SENDER, "body": "hello"}
    fields.update(kwargs)
    return client.messages.create(**fields)


def test_create_returns_message_instance(client: Client, standin: TwilioStandin) -> None:
    message = send(client, body="JOIN choir")
    assert SID_RE.match(message.sid)
    assert message.status == "queued"
    assert message.to == RECIPIENT
    assert message.from_ == SENDER
    assert message.body == "JOIN choir"
    assert message.direction == "outbound-api"
    assert message.api_version == "2010-04-01"
    assert message.account_sid == ACCOUNT_SID
    assert message.num_segments == "1"
    assert message.date_created is not None and message.date_created.tzinfo is not None
    [recorded] = standin.messages
    assert recorded["sid"] == message.sid
    assert recorded["to"] == RECIPIENT and recorded["body"] == "JOIN choir"
    assert recorded["http_status"] == 201 and recorded["code"] is None


def test_response_matches_spec_schema(standin: TwilioStandin) -> None:
    if not SPEC.exists():
        pytest.skip(f"{SPEC} not available")
    spec = json.loads(SPEC.read_text())
    schema = spec["components"]["schemas"]["api.v2010.account.message"]
    status, _, payload = raw_post(
        messages_url(standin),
        {"To": RECIPIENT, "From": SENDER, "Body": "hi", "StatusCallback": "http://x/cb"},
    )
    assert status == 201
    assert set(payload) == set(schema["properties"])
    for name, prop in schema["properties"].items():
        value = payload[name]
        if value is None:
            assert prop.get("nullable") or "$ref" in prop, name
            continue
        kind = prop.get("type", "string")
        expected = {"string": str, "integer": int, "object": dict}[kind]
        assert isinstance(value, expected), (name, value)
        if "pattern" in prop:
            assert re.match(prop["pattern"], value), (name, value)
        if prop.get("format") == "date-time-rfc-2822":
            assert re.match(r"^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$", value), value
            parsedate_to_datetime(value)
    assert payload["status"] == "queued"
    assert payload["direction"] == "outbound-api"
    assert payload["uri"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{payload['sid']}.json"
    assert payload["subresource_uris"] == {
        "media": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{payload['sid']}/Media.json"
    }


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("hi", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("{" * 80, 1),
        ("{" * 81, 2),
        ("Café ñ ü", 1),
        ("‘" * 70, 1),
        ("‘" * 71, 2),
        ("😀" * 35, 1),
        ("a" * 1600, 11),
    ],
)
def test_num_segments(client: Client, body: str, segments: int) -> None:
    assert num_segments(body) == segments
    assert send(client, body=body).num_segments == str(segments)


def test_messaging_service_and_media_sends(client: Client, standin: TwilioStandin) -> None:
    service = "MG" + "a" * 32
    by_service = client.messages.create(to=RECIPIENT, messaging_service_sid=service, body="hi")
    assert by_service.messaging_service_sid == service
    assert by_service.from_ is None
    media = client.messages.create(to=RECIPIENT, from_=SENDER, media_url=["https://example.com/a.png"])
    assert media.sid.startswith("MM") and media.num_media == "1"
    assert standin.messages[1]["form"]["MediaUrl"] == ["https://example.com/a.png"]


@pytest.mark.parametrize(
    ("sid", "token"),
    [(ACCOUNT_SID, "wrong-token"), (OTHER_SID, AUTH_TOKEN)],
    ids=["bad-token", "unknown-account"],
)
def test_bad_auth_is_401(standin: TwilioStandin, sid: str, token: str) -> None:
    client = Client(sid, token)
    client.api.base_url = standin.base_url
    with pytest.raises(TwilioRestException) as info:
        send(client)
    assert (info.value.status, info.value.code) == (401, 20003)
    assert standin.requests[-1]["http_status"] == 401
    assert standin.messages == []


def test_missing_auth_is_401(standin: TwilioStandin) -> None:
    status, headers, payload = raw_post(messages_url(standin), {"To": RECIPIENT}, auth=None)
    assert status == 401
    assert payload == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }


def test_other_account_in_path_is_404(client: Client) -> None:
    with pytest.raises(TwilioRestException) as info:
        client.api.v2010.accounts(OTHER_SID).messages.create(to=RECIPIENT, from_=SENDER, body="x")
    assert (info.value.status, info.value.code) == (404, 20404)


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"to": ""}, 21604),
        ({"from_": None}, 21603),
        ({"body": None}, 21602),
        ({"body": "x" * 1601}, 21617),
    ],
    ids=["no-to", "no-from", "no-body", "body-too-long"],
)
def test_validation_errors(client: Client, standin: TwilioStandin, fields: dict[str, Any], code: int) -> None:
    with pytest.raises(TwilioRestException) as info:
        send(client, **fields)
    assert (info.value.status, info.value.code) == (400, code)
    [recorded] = standin.requests
    assert (recorded["http_status"], recorded["code"], recorded["sid"]) == (400, code, None)
    assert standin.messages == []


def test_missing_to_message_text(standin: TwilioStandin) -> None:
    status, _, payload = raw_post(messages_url(standin), {"From": SENDER, "Body": "hi"})
    assert status == 400
    assert payload["message"] == "A 'To' phone number is required."
    assert payload["more_info"] == "https://www.twilio.com/docs/errors/21604"


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (503, 20503), (429, 20429)])
def test_fail_next_then_success(client: Client, standin: TwilioStandin, status: int, code: int) -> None:
    standin.fail_next(count=2, status=status, code=code)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as info:
            send(client)
        assert (info.value.status, info.value.code) == (status, code)
    assert SID_RE.match(send(client).sid)
    assert [r["http_status"] for r in standin.requests] == [status, status, 201]
    assert len(standin.messages) == 1


def test_fail_to_blocks_one_number_until_cleared(client: Client, standin: TwilioStandin) -> None:
    standin.fail_to(RECIPIENT)
    for _ in range(2):
        with pytest.raises(TwilioRestException) as info:
            send(client)
        assert info.value.code == 21610
        assert info.value.status == 400
    assert send(client, to="+447911000999").status == "queued"
    standin.clear_faults()
    assert send(client).status == "queued"


def test_429_has_retry_after(client: Client, standin: TwilioStandin) -> None:
    standin.fault_rate(1.0, choices=((429, 20429),))
    with pytest.raises(TwilioRestException) as info:
        send(client)
    assert (info.value.status, info.value.code) == (429, 20429)
    status, headers, payload = raw_post(messages_url(standin), {"To": RECIPIENT, "From": SENDER, "Body": "x"})
    assert status == 429 and payload["code"] == 20429
    assert headers["Retry-After"] == "1"


def test_fault_rate_is_seeded_and_mixed(client: Client, standin: TwilioStandin) -> None:
    def run() -> list[int]:
        standin.clear()
        standin.fault_rate(0.5, seed=7)
        outcomes = []
        for _ in range(40):
            try:
                send(client)
                outcomes.append(201)
            except TwilioRestException as err:
                assert (err.status, err.code) in ((500, 20500), (429, 20429))
                outcomes.append(err.status)
        return outcomes

    first = run()
    assert run() == first
    assert {201, 500, 429} <= set(first)
    assert len(standin.messages) == first.count(201)


def test_latency_delays_sends(client: Client, standin: TwilioStandin) -> None:
    standin.latency(0.3)
    started = time.monotonic()
    send(client)
    assert time.monotonic() - started >= 0.3


def test_wait_for(client: Client, standin: TwilioStandin) -> None:
    def later() -> None:
        time.sleep(0.1)
        for n in range(3):
            send(client, body=f"m{n}")

    threading.Thread(target=later).start()
    got = standin.wait_for(3, timeout=5)
    assert [m["body"] for m in got] == ["m0", "m1", "m2"]
    with pytest.raises(AssertionError, match="expected 5 accepted messages"):
        standin.wait_for(5, timeout=0.2)
    standin.clear()
    assert standin.requests == [] and standin.messages == []


def test_fetch_message(client: Client, standin: TwilioStandin) -> None:
    sent = send(client)
    fetched = client.messages(sent.sid).fetch()
    assert (fetched.sid, fetched.to, fetched.body, fetched.status) == (sent.sid, RECIPIENT, "hello", "queued")
    with pytest.raises(TwilioRestException) as info:
        client.messages("SM" + "0" * 32).fetch()
    assert (info.value.status, info.value.code) == (404, 20404)


def test_concurrent_clients(standin: TwilioStandin) -> None:
    def worker(n: int) -> list[str]:
        client = standin.client()
        return [send(client, body=f"{n}-{i}").sid for i in range(25)]

    with ThreadPoolExecutor(8) as pool:
        sids = [sid for batch in pool.map(worker, range(8)) for sid in batch]
    assert len(set(sids)) == 200
    assert len(standin.wait_for(200)) == 200


def test_custom_http_client(standin: TwilioStandin) -> None:
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=StandinHttpClient(standin.base_url))
    assert send(client).status == "queued"
    assert len(standin.messages) == 1


def test_stop_refuses_connections() -> None:
    with TwilioStandin(ACCOUNT_SID, AUTH_TOKEN) as server:
        port = server.port
        assert send(server.client()).status == "queued"
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


class _Receiver:
    """Tiny HTTP server collecting form POSTs (path, headers, fields)."""

    def __init__(self) -> None:
        self.received: queue.Queue[tuple[str, dict[str, str], dict[str, str]]] = queue.Queue()
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                fields = dict(urllib.parse.parse_qsl(raw.decode()))
                received.put((self.path, dict(self.headers), fields))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def take(self, n: int, timeout: float = 5.0) -> list[tuple[str, dict[str, str], dict[str, str]]]:
        return [self.received.get(timeout=timeout) for _ in range(n)]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    rec = _Receiver()
    yield rec
    rec.close()


@pytest.mark.parametrize(
    ("undeliverable", "statuses", "error_code"),
    [
        (None, ["sent", "delivered"], None),
        ("undelivered", ["sent", "undelivered"], "30003"),
        ("failed", ["failed"], "30003"),
    ],
)
def test_status_callbacks_are_signed(
    receiver: _Receiver, undeliverable: str | None, statuses: list[str], error_code: str | None
) -> None:
    with TwilioStandin(ACCOUNT_SID, AUTH_TOKEN, callbacks=True) as standin:
        if undeliverable:
            standin.undeliverable(RECIPIENT, code=30003, status=undeliverable)
        callback_url = f"{receiver.url}/twilio/status?tag=1&src=sms"
        message = send(standin.client(), status_callback=callback_url)
        got = receiver.take(len(statuses))
        validator = RequestValidator(AUTH_TOKEN)
        assert [fields["MessageStatus"] for _, _, fields in got] == statuses
        for path, headers, fields in got:
            assert path == "/twilio/status?tag=1&src=sms"
            assert validator.validate(callback_url, fields, headers["X-Twilio-Signature"])
            assert not RequestValidator("other").validate(callback_url, fields, headers["X-Twilio-Signature"])
            assert fields["MessageSid"] == message.sid
            assert fields["AccountSid"] == ACCOUNT_SID
            assert (fields["From"], fields["To"], fields["ApiVersion"]) == (SENDER, RECIPIENT, "2010-04-01")
        assert got[-1][2].get("ErrorCode") == error_code
        standin.wait_for_callbacks(len(statuses))
        assert [c["http_status"] for c in standin.callbacks] == [204] * len(statuses)
        fetched = standin.client().messages(message.sid).fetch()
        assert fetched.status == statuses[-1]
        assert fetched.error_code == (int(error_code) if error_code else None)


def test_callbacks_off_by_default_and_enable_later(receiver: _Receiver, standin: TwilioStandin) -> None:
    send(standin.client(), status_callback=f"{receiver.url}/cb")
    time.sleep(0.3)
    assert receiver.received.empty()
    standin.enable_callbacks("another-token")
    send(standin.client(), status_callback=f"{receiver.url}/cb")
    _, headers, fields = receiver.take(2)[0]
    assert RequestValidator("another-token").validate(
        f"{receiver.url}/cb", fields, headers["X-Twilio-Signature"]
    )


def test_callback_delivery_errors_are_recorded() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_url = f"http://127.0.0.1:{sock.getsockname()[1]}/cb"
    with TwilioStandin(ACCOUNT_SID, AUTH_TOKEN, callbacks=True) as standin:
        send(standin.client(), status_callback=dead_url)
        attempts = standin.wait_for_callbacks(2)
    assert all(a["http_status"] is None and a["error"] for a in attempts)


def _control(base_url: str, path: str, payload: Any = None) -> Any:
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(base_url + path, data=data, method="GET" if data is None else "POST")
    with OPENER.open(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_control_endpoints_in_process(client: Client, standin: TwilioStandin) -> None:
    _control(standin.base_url, "/_standin/faults", {"fail_to": {"number": RECIPIENT}, "latency": 0.0})
    with pytest.raises(TwilioRestException):
        send(client)
    send(client, to="+447911000777")
    requests_seen = _control(standin.base_url, "/_standin/requests")
    assert [(r["to"], r["http_status"], r["code"]) for r in requests_seen] == [
        (RECIPIENT, 400, 21610),
        ("+447911000777", 201, None),
    ]
    assert [m["to"] for m in _control(standin.base_url, "/_standin/messages")] == ["+447911000777"]
    assert _control(standin.base_url, "/_standin/messages?since=1") == []
    _control(standin.base_url, "/_standin/reset", {})
    assert _control(standin.base_url, "/_standin/requests") == []
    assert send(client).status == "queued"


@pytest.mark.slow  # a separate process
def test_cli_serves_and_lists_messages() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.twilio_standin",
            "--port",
            "0",
            "--account-sid",
            ACCOUNT_SID,
            "--auth-token",
            AUTH_TOKEN,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout = proc.stdout
        assert stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
        line = lines.get(timeout=15)
        match = re.fullmatch(r"listening (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        base_url = match.group(1)
        client = Client(ACCOUNT_SID, AUTH_TOKEN)
        client.api.base_url = base_url
        sent = send(client, body="from cli", status_callback="http://127.0.0.1:9/cb")
        [listed] = _control(base_url, "/_standin/messages")
        assert listed["sid"] == sent.sid
        assert (listed["to"], listed["from"], listed["body"]) == (RECIPIENT, SENDER, "from cli")
        assert listed["status_callback"] == "http://127.0.0.1:9/cb"
        assert isinstance(listed["t"], float) and isinstance(listed["wall"], float)
        _control(base_url, "/_standin/faults", {"fail_next": {"count": 1, "status": 500, "code": 20500}})
        with pytest.raises(TwilioRestException) as info:
            send(client)
        assert info.value.code == 20500
        _control(base_url, "/_standin/faults", {"rate": 1.0, "choices": [[429, 20429]]})
        with pytest.raises(TwilioRestException) as info:
            send(client)
        assert info.value.code == 20429
        _control(base_url, "/_standin/reset", {})
        assert _control(base_url, "/_standin/messages") == []
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
