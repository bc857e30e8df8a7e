"""Request limits and transport guards: oversized bodies get 413 before the form is read, PUBLIC_URL, HSTS."""

from __future__ import annotations

import io
import time
from typing import IO
from urllib.parse import urlencode

import pytest
import redis
from rq import Queue
from werkzeug.test import EnvironBuilder, run_wsgi_app

from gateway import create_app, settings
from gateway.keywords.reader import MAX_PHRASES
from gateway.sending import ORDER
from tests.conftest import PUBLIC_URL, inbound_form, post_signed, sign
from tests.console.support import REFERER, login, make_user, token

WEBHOOK_LIMIT = 64 * 1024
CONSOLE_LIMIT = 2 * 1024 * 1024
HSTS = "max-age=31536000; includeSubDomains"


def queued(r: redis.Redis) -> int:
    return sum(Queue(name, connection=r).count for name in ORDER)


class Untouchable(io.RawIOBase):
    """A request body that fails the test if anything reads it."""

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        raise AssertionError("the body was read")


class Endless(io.RawIOBase):
    """A chunked body that never ends; counts what was read of it."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        b[:] = b"a" * len(b)
        self.read_bytes += len(b)
        if self.read_bytes > 64 * 1024 * 1024:
            raise AssertionError("read far past any limit")
        return len(b)


def raw_post(app, path: str, body: IO[bytes], content_length: int | None, headers: dict[str, str],
             content_type: str = "application/x-www-form-urlencoded", base_url: str = PUBLIC_URL) -> int:
    """POST `body` as a server hands it to the app: a Content-Length header, or chunked (none) when None."""
    environ = EnvironBuilder(path=path, method="POST", base_url=base_url, headers=headers,
                             content_type=content_type).get_environ()
    environ["wsgi.input"] = body
    environ["wsgi.input_terminated"] = True  # as gunicorn sets it: the server ends the stream
    if content_length is None:
        environ.pop("CONTENT_LENGTH", None)
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        environ["CONTENT_LENGTH"] = str(content_length)
    _, status, _ = run_wsgi_app(app, environ, buffered=True)
    return int(status.split()[0])


def status_form() -> dict[str, str]:
    return {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32}


@pytest.mark.parametrize("path", ["/sms", "/sms/status"])
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_a_content_length_over_the_limit_is_refused_without_reading_the_body(app, r, path, signed):
    headers = {"X-Twilio-Signature": sign(PUBLIC_URL + path, {})} if signed else {}
    started = time.monotonic()
    assert raw_post(app, path, Untouchable(), 16 * 1024 * 1024, headers) == 413
    assert time.monotonic() - started < 1
    assert queued(r) == 0


@pytest.mark.parametrize("path", ["/sms", "/sms/status"])
def test_an_oversized_form_signed_as_twilio_signs_is_refused_and_nothing_queued(client, r, path):
    form = inbound_form("DVS " + "x" * WEBHOOK_LIMIT) if path == "/sms" else {**status_form(), "x": "y" * WEBHOOK_LIMIT}
    response = post_signed(client, path, form)
    assert response.status_code == 413
    assert queued(r) == 0 and not r.keys("*msg*")


@pytest.mark.parametrize("path", ["/sms", "/sms/status"])
@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_a_chunked_body_without_content_length_is_cut_off_at_the_limit(app, r, path, signed):
    body = Endless()
    headers = {"X-Twilio-Signature": sign(PUBLIC_URL + path, {})} if signed else {}
    assert raw_post(app, path, body, None, headers) == 413
    assert body.read_bytes <= WEBHOOK_LIMIT + 64 * 1024
    assert queued(r) == 0


def test_a_chunked_form_under_the_limit_is_read_whole(app, r):
    form = inbound_form("DVS " + "x" * 1600)
    headers = {"X-Twilio-Signature": sign(PUBLIC_URL + "/sms", form)}
    assert raw_post(app, "/sms", io.BytesIO(urlencode(form).encode()), None, headers) == 200
    assert queued(r) == 1


def test_a_normal_twilio_form_with_the_longest_body_still_works(client, r):
    response = post_signed(client, "/sms", inbound_form("DVS " + "é" * 1600))
    assert response.status_code == 200
    assert queued(r) == 1


def test_the_consoles_largest_form_still_works_and_a_bigger_one_is_refused(config, r):
    app = create_app({**config, "PREFERRED_URL_SCHEME": "https"})
    client = app.test_client()
    make_user(r, "editor1", "editor")
    assert login(client, "editor1").status_code == 302
    reply = "If you are in danger, call 999 now. Deaf: text 07800 002414."
    # A long danger list (over the webhook's limit, well under the console's): the most phrases a keyword
    # file may hold (reader.MAX_PHRASES), long ones, about 90 KB.
    tail = "outside the house again tonight and he will not leave however often I ask him to go away now"
    phrases = "\n".join(f"stalker {i:05d} {tail} {tail}" for i in range(MAX_PHRASES))
    assert WEBHOOK_LIMIT < len(phrases) < CONSOLE_LIMIT
    form = {"phrases_": phrases, "reply_": reply, "csrf_token": token(client, "/console/danger")}
    response = client.post("/console/danger", data=form, headers=REFERER)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    form["phrases_"] = "x" * CONSOLE_LIMIT
    assert client.post("/console/danger", data=form, headers=REFERER).status_code == 413


def test_console_json_over_the_limit_is_refused_without_reading_it(config, r):
    app = create_app(config)
    assert raw_post(app, "/console/api/preview", Untouchable(), CONSOLE_LIMIT + 1, {},
                    content_type="application/json", base_url="https://localhost") == 413


# --- PUBLIC_URL and HSTS ---------------------------------------------------------------------------------------

def test_production_without_public_url_refuses_to_start_naming_it(config):
    with pytest.raises(settings.ConfigError, match="^PUBLIC_URL is not set"):
        create_app({**config, "PUBLIC_URL": ""})


def test_development_may_leave_public_url_empty(config):
    s = create_app({**config, "SIGNPOST_ENV": "development", "PUBLIC_URL": ""}).extensions["signpost"].settings
    assert s.public_url == "" and s.status_callback is None


@pytest.mark.parametrize("host", ["https://evil.example.com", "http://signpost.example.org", "https://10.0.0.5"])
def test_a_request_signed_for_the_host_the_client_sent_is_refused(client, r, host):
    """Another deployment sharing the auth token signs for its own URL; only PUBLIC_URL counts here."""
    form = inbound_form("DVS")
    response = post_signed(client, "/sms", form, public_url=host)
    assert response.status_code == 403
    assert queued(r) == 0


def test_behind_a_proxy_a_forwarded_host_does_not_change_the_url_checked(config, r):
    client = create_app({**config, "PROXY_COUNT": "1"}).test_client()
    form = inbound_form("DVS")
    headers = {"X-Twilio-Signature": sign("https://evil.example.com/sms", form),
               "X-Forwarded-Host": "evil.example.com", "X-Forwarded-Proto": "https"}
    assert client.post("/sms", data=form, headers=headers, base_url="http://10.0.0.5:8000").status_code == 403
    headers["X-Twilio-Signature"] = sign(PUBLIC_URL + "/sms", form)
    assert client.post("/sms", data=form, headers=headers, base_url="http://10.0.0.5:8000").status_code == 200


@pytest.mark.parametrize("path", ["/healthz", "/console/login", "/nowhere"])
def test_hsts_on_every_response_in_production(client, r, path):
    assert client.get(path).headers.get("Strict-Transport-Security") == HSTS


def test_hsts_on_webhook_answers_and_refusals(client, r):
    assert post_signed(client, "/sms", inbound_form("DVS")).headers["Strict-Transport-Security"] == HSTS
    refused = client.post("/sms", data=inbound_form("DVS"), base_url=PUBLIC_URL)
    assert refused.status_code == 403 and refused.headers["Strict-Transport-Security"] == HSTS


def test_no_hsts_in_development(config, r):
    client = create_app({**config, "SIGNPOST_ENV": "development"}).test_client()
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
