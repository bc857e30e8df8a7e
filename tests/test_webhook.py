"""POST /sms and /sms/status: signatures, idempotency, degradation, odd input."""

from __future__ import annotations

import json
import logging
import xml.etree.ElementTree as ET

import pytest
import redis

from gateway import create_app, sending
from gateway.sending import REPLIES, URGENT
from gateway.texts import msglog
from tests.conftest import (
    PUBLIC_URL,
    SHORT_CODE,
    TEXTER,
    inbound_form,
    post_signed,
    sign,
)


def messages_in(response) -> list[str]:
    """The <Message> texts of a TwiML answer, parsed as XML."""
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    return [el.text or "" for el in root.iter("Message")]


def queued(r: redis.Redis, name: str = REPLIES) -> list:
    return sending.queue(name, r).get_jobs()


def test_keyword_text_is_queued_and_answered_with_empty_twiml(client, r):
    response = post_signed(client, "/sms", inbound_form("DVS"))
    assert response.status_code == 200
    assert response.mimetype == "text/xml"
    assert messages_in(response) == []
    jobs = queued(r)
    assert len(jobs) == 1
    assert jobs[0].func_name == "workers.sending.send_sms"
    assert jobs[0].kwargs["to"] == TEXTER
    assert jobs[0].kwargs["from_"] == SHORT_CODE
    assert "0800 612 6505" in jobs[0].kwargs["body"]


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no signature at all
        {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
        {"X-Twilio-Signature": ""},
    ],
    ids=["missing", "wrong", "empty"],
)
def test_forged_or_unsigned_webhook_is_refused_and_nothing_queued(app, r, headers, caplog):
    form = inbound_form("DVS")
    with caplog.at_level(logging.WARNING, logger="signpost"):
        response = app.test_client().post("/sms", data=form, headers=headers, base_url=PUBLIC_URL)
    assert response.status_code == 403
    assert queued(r) == []
    assert [rec for rec in caplog.records if "refused webhook" in rec.getMessage()]


def test_signature_over_other_params_is_refused(client, r):
    form = inbound_form("DVS")
    signature = sign(PUBLIC_URL + "/sms", form)
    form["Body"] = "STALKING"  # tampered after signing
    response = client.post("/sms", data=form, headers={"X-Twilio-Signature": signature}, base_url=PUBLIC_URL)
    assert response.status_code == 403
    assert queued(r) == []


def test_signature_for_another_url_is_refused(client, r):
    form = inbound_form("DVS")
    response = post_signed(client, "/sms", form, public_url="https://evil.example.com")
    assert response.status_code == 403
    assert queued(r) == []


def test_signature_checked_against_public_url_behind_a_proxy(client, r):
    """Twilio signs the public URL; the app sees an internal host, and PUBLIC_URL reconciles them."""
    form = inbound_form("DVS")
    headers = {"X-Twilio-Signature": sign(PUBLIC_URL + "/sms", form)}
    response = client.post("/sms", data=form, headers=headers, base_url="http://10.0.0.5:8000")
    assert response.status_code == 200
    assert len(queued(r)) == 1


def test_same_message_sid_twice_gets_one_reply(client, r):
    form = inbound_form("DVS")
    first = post_signed(client, "/sms", form)
    second = post_signed(client, "/sms", form)
    assert first.status_code == second.status_code == 200
    assert messages_in(second) == []
    assert len(queued(r)) == 1


def test_redis_down_answers_inline(config, caplog):
    app = create_app({**config, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_TIMEOUT": 0.5})
    with caplog.at_level(logging.ERROR, logger="signpost"):
        response = post_signed(app.test_client(), "/sms", inbound_form("stalking"))
    assert response.status_code == 200
    texts = messages_in(response)
    assert len(texts) == 1
    assert "0808 802 0300" in texts[0]
    assert any("answering inline" in rec.getMessage() for rec in caplog.records)


def test_redis_down_unmatched_text_still_gets_default_reply(config):
    app = create_app({**config, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_TIMEOUT": 0.5})
    response = post_signed(app.test_client(), "/sms", inbound_form("hello?"))
    (text,) = messages_in(response)
    assert "999" in text


@pytest.mark.parametrize(
    "body",
    [
        "",
        " ",
        "x" * 10_000,
        "DVS" + "🙏" * 500,
        "\u200d\u200f\u202e DVS",
        "\x00\x01\x02",
        "𝔇𝔙𝔖",
        "ＤＶＳ",
        "<Response><Message>injected</Message></Response>",
        "]]>&amp;<!--",
    ],
    ids=["empty", "space", "10k", "emoji", "bidi", "control", "math", "fullwidth", "xml", "cdata"],
)
def test_malformed_text_is_still_answered(client, r, body):
    response = post_signed(client, "/sms", inbound_form(body))
    assert response.status_code == 200
    assert messages_in(response) == []
    jobs = queued(r) + queued(r, URGENT)
    assert len(jobs) == 1
    assert jobs[0].kwargs["body"]


@pytest.mark.parametrize(
    "change",
    [
        {"MessageSid": ""},
        {"MessageSid": "SM123"},
        {"To": ""},
        {"To": "evil<script>"},
    ],
)
def test_unanswerable_form_gets_400_and_a_log_line(client, r, change, caplog):
    form = inbound_form("DVS")
    form.update(change)
    with caplog.at_level(logging.WARNING, logger="signpost"):
        response = post_signed(client, "/sms", form)
    assert response.status_code == 400
    assert queued(r) == []
    assert any("refused inbound text" in rec.getMessage() for rec in caplog.records)


def test_missing_fields_entirely_gets_400(client, r):
    response = post_signed(client, "/sms", {})
    assert response.status_code == 400


def test_logs_mask_numbers_and_hold_no_body(client, r, caplog):
    with caplog.at_level(logging.DEBUG, logger="signpost"):
        post_signed(client, "/sms", inbound_form("dvs my secret words"))
    logged = "\n".join(rec.getMessage() for rec in caplog.records)
    assert TEXTER not in logged
    assert TEXTER[-3:] in logged
    assert "secret words" not in logged


def test_status_callback_is_recorded(client, r):
    sid = "SM" + "a" * 32
    form = {"MessageSid": sid, "MessageStatus": "undelivered", "ErrorCode": "30003",
            "AccountSid": "AC" + "0" * 32, "From": SHORT_CODE, "To": TEXTER, "ApiVersion": "2010-04-01"}
    response = post_signed(client, "/sms/status", form)
    assert response.status_code == 204
    entry = r.hgetall(msglog.entry_key(sid))  # the message log is the one record of delivery status
    assert (entry[b"status"], entry[b"error_code"]) == (b"undelivered", b"30003")
    assert r.keys("signpost:status:*") == []


def test_status_callback_asks_twilio_to_try_again_when_redis_is_down(config):
    app = create_app({**config, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_TIMEOUT": 0.5})
    form = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "delivered", "AccountSid": "AC" + "0" * 32}
    assert post_signed(app.test_client(), "/sms/status", form).status_code == 503


@pytest.mark.parametrize("form", [{}, {"MessageSid": "SM" + "a" * 32, "MessageStatus": "exploded"}])
def test_bad_status_callback_is_400(client, r, form):
    assert post_signed(client, "/sms/status", form).status_code == 400


def test_unsigned_status_callback_is_refused(client, r):
    response = client.post("/sms/status", data={"MessageSid": "SM" + "a" * 32, "MessageStatus": "sent"},
                           base_url=PUBLIC_URL)
    assert response.status_code == 403


def test_unexpected_failure_still_answers_inline_and_never_500(client, r, monkeypatch, caplog):
    from gateway.texts import intake

    def broken(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(intake, "plan", broken)
    with caplog.at_level(logging.ERROR, logger="signpost"):
        response = post_signed(client, "/sms", inbound_form("DVS"))
    assert response.status_code == 200
    (text,) = messages_in(response)
    assert "0800 612 6505" in text
    assert any("answering inline" in rec.getMessage() for rec in caplog.records)
    assert r.keys("signpost:seen:*") == []  # not marked seen: Twilio's retry would be handled afresh


def test_refused_keywords_file_still_answers_and_is_not_ready(config, tmp_path, r):
    bad = tmp_path / "keywords.yaml"
    bad.write_text("version: 1\nnot: valid\n")
    client = create_app({**config, "KEYWORDS_FILE": str(bad)}).test_client()
    (text,) = messages_in(post_signed(client, "/sms", inbound_form("DVS")))
    assert "999" in text
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "keywords not loaded" in ready.json["problems"]


def test_log_lines_of_a_text_carry_its_message_sid_and_request_id(client, r):
    import json

    from gateway.ops import logs

    lines: list[dict] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(logs.JsonFormatter().format(record)))

    keep = Keep()
    logging.getLogger("signpost").addHandler(keep)
    try:
        form = inbound_form("DVS")
        response = post_signed(client, "/sms", form, headers={"X-Request-Id": "req-42"})
        client.post("/sms", data=inbound_form("DVS"), base_url=PUBLIC_URL)  # unsigned: refused
    finally:
        logging.getLogger("signpost").removeHandler(keep)
    assert response.headers["X-Request-Id"] == "req-42"
    (inbound,) = [line for line in lines if line["msg"].startswith("inbound ")]
    assert (inbound["message_sid"], inbound["request_id"]) == (form["MessageSid"], "req-42")
    (refused,) = [line for line in lines if line["msg"].startswith("refused webhook")]
    assert "message_sid" not in refused  # an unsigned body names nothing in the logs


def test_an_unhandled_exception_is_a_scrubbed_json_line(config):
    """Flask's own log of a view's exception goes through signpost's handler: JSON, numbers masked."""
    import io
    import json

    app = create_app({**config, "PROPAGATE_EXCEPTIONS": False})

    @app.get("/boom-test")
    def boom():
        raise RuntimeError("could not reach +447911000123 (07911 000456)")

    handler = logging.getLogger("signpost").handlers[0]
    out = io.StringIO()
    previous = handler.setStream(out)
    try:
        assert app.test_client().get("/boom-test").status_code == 500
    finally:
        handler.setStream(previous)
    (line,) = [json.loads(text) for text in out.getvalue().splitlines() if "boom-test" in text]
    assert line["level"] == "ERROR" and "RuntimeError" in line["exc"]
    assert "+447911000123" not in out.getvalue() and "07911 000456" not in out.getvalue()
    assert "*********123" in line["exc"]


@pytest.mark.parametrize(("text", "masked"), [
    ("to=+447911000123 failed", "to=*********123 failed"),  # a number: digits masked but the last 3
    ("ring 07911 000456 now", "ring ********456 now"),
    ("sid=SM00000000000000000000000000000012 ok", "sid=SM00000000000000000000000000000012 ok"),  # not a number
    ("at 2026-11-27 11:07:15", "at 2026-11-27 11:07:15"),
])
def test_log_messages_are_scrubbed_of_numbers(text, masked):
    from gateway.ops import logs

    record = logging.makeLogRecord({"name": "signpost.x", "levelname": "INFO", "msg": text})
    assert json.loads(logs.JsonFormatter().format(record))["msg"] == masked
