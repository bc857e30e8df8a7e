"""Texts off the happy path: opted-out texters in danger, senders we cannot answer, Twilio's opt-out rules,
who confirms STOP/START/HELP, and TwiML that stays well-formed whatever the text holds."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from gateway import create_app, phone, sending
from gateway.keywords.engine import decide
from gateway.keywords.reader import load_book
from gateway.sending import ORDER
from gateway.settings import Settings
from gateway.texts import inbound, msglog, optouts, webhook
from tests.conftest import (
    CONTROL_ROOM,
    RELAY_LINE,
    ROOT,
    SHORT_CODE,
    SUPERVISOR,
    TEXTER,
    inbound_form,
    post_signed,
)

STAFF = "+447400000077"
LONG_CODE = "+447911000555"  # a long code: Twilio answers STOP/START/HELP there by default
GATEWAY_LONG_CODE = "+447911000666"  # a long code set to `confirmations: gateway`
TWILIO_SHORT_CODE = "60777"  # a short code in a Messaging Service with Advanced Opt-Out: `confirmations: twilio`


@pytest.fixture
def keywords_file(tmp_path):
    """keywords.yaml with more numbers: a long code, and per-number overrides of who confirms."""
    text = (ROOT / "keywords.yaml").read_text()
    extra = (
        f'  "{LONG_CODE}":\n    kind: long_code\n\n'
        f'  "{GATEWAY_LONG_CODE}":\n    confirmations: gateway\n\n'
        f'  "{TWILIO_SHORT_CODE}":\n    confirmations: twilio\n\n'
    )
    text = text.replace("numbers:\n", "numbers:\n" + extra, 1)
    path = tmp_path / "keywords.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def alerting(config, keywords_file):
    return create_app({**config, "ALERT_TO": STAFF, "KEYWORDS_FILE": str(keywords_file)}).test_client()


def jobs(r) -> list:
    return [job for name in ORDER for job in sending.queue(name, r).get_jobs()]


def to(standin, number: str) -> list[str]:
    return [m["body"] for m in standin.messages if m["to"] == number]


def twiml_messages(response) -> list[ET.Element]:
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    return root.findall("Message")


# --- danger words always reach staff -------------------------------------------------------------------


def test_danger_from_an_opted_out_texter_still_alerts_staff(alerting, r, run_jobs, standin):
    optouts.record_optout(r, SHORT_CODE, TEXTER, reason="texted STOP")
    response = post_signed(alerting, "/sms", inbound_form("he's outside with a knife"))
    assert response.status_code == 200 and twiml_messages(response) == []
    run_jobs()
    assert to(standin, TEXTER) == []  # they opted out: Twilio would refuse it, and we respect it
    (alert,) = to(standin, STAFF)
    assert TEXTER in alert and "he's outside with a knife" in alert
    assert "opted out" in alert  # staff know our 999 text did not reach them


def test_danger_alert_for_a_texter_who_did_not_opt_out_does_not_say_so(alerting, r, run_jobs, standin):
    post_signed(alerting, "/sms", inbound_form("he's outside with a knife"))
    run_jobs()
    (reply,) = to(standin, TEXTER)
    assert reply.startswith("If you are in danger, call 999")
    (alert,) = to(standin, STAFF)
    assert "opted out" not in alert


def test_opted_out_keyword_text_without_danger_sends_nothing(alerting, r, run_jobs, standin):
    optouts.record_optout(r, SHORT_CODE, TEXTER, reason="texted STOP")
    post_signed(alerting, "/sms", inbound_form("DVS"))
    run_jobs()
    assert standin.messages == []
    (entry,) = msglog.recent(r, Settings())
    assert entry["status"] == "opted-out"


# --- opt-out words as Twilio applies them ---------------------------------------------------------------


@pytest.mark.parametrize("body", ["Stop.", "STOP PLEASE", "ＳＴＯＰ", "stop 🙏", "S\u200bTOP", "STÖP"])
def test_only_twilios_opt_out_words_record_an_opt_out(alerting, r, run_jobs, standin, body):
    post_signed(alerting, "/sms", inbound_form(body))
    run_jobs()
    assert not optouts.is_opted_out(r, SHORT_CODE, TEXTER)
    (reply,) = to(standin, TEXTER)
    assert "999" in reply  # answered like any other text


@pytest.mark.parametrize(("optout_type", "body", "opted_out"),
                         [("STOP", "Arrêt", True), ("STOP", "please stop now", True), ("START", "oui", False)])
def test_optout_type_from_advanced_opt_out_is_recorded(alerting, r, run_jobs, standin, optout_type, body, opted_out):
    if not opted_out:
        optouts.record_optout(r, SHORT_CODE, TEXTER, reason="texted STOP")
    form = inbound_form(body) | {"OptOutType": optout_type}
    assert post_signed(alerting, "/sms", form).status_code == 200
    assert optouts.is_opted_out(r, SHORT_CODE, TEXTER) is opted_out


# --- who answers STOP, START and HELP --------------------------------------------------------------------


def test_short_code_gateway_confirms_stop_and_start_and_answers_help(alerting, r, run_jobs, standin):
    book = load_book(ROOT / "keywords.yaml")
    main = book.sets["main"]
    for body in ("STOP", "DVS", "HELP", "START", "DVS"):
        post_signed(alerting, "/sms", inbound_form(body))
        run_jobs()
    bodies = to(standin, TEXTER)
    # STOP confirmed; DVS while opted out: nothing; HELP answered even so (carriers require it on short codes).
    assert bodies[:3] == [main.optout_reply["en"], main.help["en"], main.optin_reply["en"]]
    assert "0800 612 6505" in bodies[3] and len(bodies) == 4


@pytest.mark.parametrize(("number", "confirms"), [(LONG_CODE, False), (GATEWAY_LONG_CODE, True),
                                                  (TWILIO_SHORT_CODE, False), (SHORT_CODE, True)])
def test_who_confirms_follows_the_number(alerting, r, run_jobs, standin, number, confirms):
    post_signed(alerting, "/sms", inbound_form("STOP", to=number))
    post_signed(alerting, "/sms", inbound_form("START", to=number))
    run_jobs()
    assert len(to(standin, TEXTER)) == (2 if confirms else 0)
    assert not optouts.is_opted_out(r, number, TEXTER)


# --- senders that cannot be answered ---------------------------------------------------------------------


def scrape(client) -> dict[tuple[str, tuple], float]:
    text = client.get("/metrics").get_data(as_text=True)
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.mark.parametrize(
    ("sender", "kind"),
    [("VODAFONE", "alphanumeric"), ("O2 UK", "alphanumeric"), ("60777", "short_code"),
     ("79460958", "local_only"), ("+4477009", "local_only"), ("+3312345", "invalid"), ("", "missing"),
     ("+44" + "1" * 40, "invalid")],
)
def test_unanswerable_sender_gets_200_empty_twiml_and_no_send(alerting, r, run_jobs, standin, sender, kind, caplog):
    before = scrape(alerting).get(("signpost_unanswerable_senders_total", (("kind", kind),)), 0)
    with caplog.at_level("WARNING", logger="signpost"):
        response = post_signed(alerting, "/sms", inbound_form("DVS", texter=sender))
    assert response.status_code == 200
    assert response.mimetype == "text/xml" and twiml_messages(response) == []
    assert jobs(r) == []
    after = scrape(alerting).get(("signpost_unanswerable_senders_total", (("kind", kind),)), 0)
    assert after - before == 1
    assert any("cannot be answered" in rec.getMessage() and kind in rec.getMessage() for rec in caplog.records)


def test_unanswerable_sender_with_danger_words_still_alerts_staff(alerting, r, run_jobs, standin):
    response = post_signed(alerting, "/sms", inbound_form("help me he has a knife", texter="VODAFONE"))
    assert response.status_code == 200 and twiml_messages(response) == []
    run_jobs()
    (alert,) = to(standin, STAFF)
    assert "VODAFONE" in alert and "help me he has a knife" in alert and "cannot" in alert
    assert [m["to"] for m in standin.messages] == [STAFF]


def test_unanswerable_sender_on_the_relay_line_still_reaches_the_control_room(alerting, r, run_jobs, standin):
    post_signed(alerting, "/sms", inbound_form("fire at the station", texter="+4477009", to=RELAY_LINE))
    run_jobs()
    assert {m["to"] for m in standin.messages} == set(CONTROL_ROOM)  # no acknowledgement to the sender
    assert all("+4477009" in m["body"] and "fire at the station" in m["body"] for m in standin.messages)


def test_twilio_retry_of_an_unanswerable_danger_text_alerts_once(alerting, r, run_jobs, standin):
    form = inbound_form("knife", texter="VODAFONE")
    post_signed(alerting, "/sms", form)
    post_signed(alerting, "/sms", form)
    run_jobs()
    assert len(to(standin, STAFF)) == 1


# --- the Redis-down fallback is always well-formed XML ---------------------------------------------------

XML_FORBIDDEN = [chr(c) for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)] + ["\ufffe", "\uffff", "\ud800",
                                                                                "\udfff"]


@pytest.fixture(scope="module")
def book():
    return load_book(ROOT / "keywords.yaml")


FALLBACK_SETTINGS = Settings(relay_forward_to=CONTROL_ROOM, relay_escalate_to=(SUPERVISOR,), alert_to=(STAFF,))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.text(alphabet=st.one_of(st.characters(), st.sampled_from(XML_FORBIDDEN)), max_size=300),
       to=st.sampled_from([SHORT_CODE, RELAY_LINE]),
       sender=st.sampled_from([TEXTER, "VODAFONE", "+4477009\x01"]))
def test_fallback_twiml_is_well_formed_whatever_the_text(book, body, to, sender):
    msg = inbound.Inbound(message_sid="SM" + "0" * 32, sender=phone.classify(sender), ours=to, body=body)
    decision = decide(book, body, to)
    with webhook_app().test_request_context():
        response = webhook.twiml(inbound.inline_messages(FALLBACK_SETTINGS, book, msg, decision))
    root = ET.fromstring(response.get_data())  # raises on anything that is not well-formed XML
    assert root.tag == "Response"
    for message in root.iter("Message"):
        assert not any(ch in (message.text or "") for ch in XML_FORBIDDEN)


_APP = []


def webhook_app():
    if not _APP:
        _APP.append(create_app({"SIGNPOST_ENV": "development", "TWILIO_AUTH_TOKEN": "", "TWILIO_ACCOUNT_SID": "",
                                "REDIS_URL": "redis://127.0.0.1:1/0"}))
    return _APP[0]


@pytest.mark.parametrize("body", ["knife \x00\x01\x08\x0b\x0c\x1f here", "DVS knife \x1b[31m", "help me \ufffe\uffff"])
@pytest.mark.parametrize("to", [SHORT_CODE, RELAY_LINE])
def test_redis_down_answer_with_forbidden_characters_parses(config, body, to):
    app = create_app({**config, "ALERT_TO": STAFF, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_TIMEOUT": 0.5})
    response = post_signed(app.test_client(), "/sms", inbound_form(body, to=to))
    assert response.status_code == 200
    messages = twiml_messages(response)  # well-formed, or this raises
    assert messages and messages[0].get("to") is None  # the texter's answer is there
    staff = [m for m in messages if m.get("to")]
    assert staff and all(TEXTER in m.text for m in staff)  # and the forwards or alerts with the number
