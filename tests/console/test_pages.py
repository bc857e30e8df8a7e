"""Sandbox phone, relay inbox and message log."""

from __future__ import annotations

import time

from gateway.console import audit
from gateway.relay import cases
from gateway.relay.line import TEXTER_READ
from gateway.settings import Settings
from gateway.texts import msglog
from tests.conftest import (
    RELAY_LINE,
    SHORT_CODE,
    TEXTER,
    inbound_form,
    post_signed,
    release_scheduled,
)
from tests.console.support import post

GOOD = "Derbyshire Victim Services: call 0800 612 6505, any time. If you are in danger, call 999."


def queued_jobs(queues) -> int:
    return sum(q.count for q in queues)


# --- sandbox ---------------------------------------------------------------------------------------------------

def test_sandbox_shows_the_exact_reply_and_sends_nothing(signed_in, r, queues, standin):
    client = signed_in("editor")
    response = post(client, "/console/sandbox", {"to": SHORT_CODE, "text": "dvs please", "source": "live"})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Derbyshire Victim Services can support you as a victim of crime." in page
    assert "keyword DVS (exact)" in page and "part 1/2" in page and "GSM-7" in page
    assert queued_jobs(queues) == 0 and standin.messages == []
    assert r.zcard(msglog.INDEX) == 0  # nothing recorded as traffic


def test_sandbox_answers_from_the_draft(signed_in, r):
    client = signed_in("editor")
    post(client, "/console/sets/main/keywords/DVS", {"name": "DVS", "aliases_en": "VICTIM", "reply_en": GOOD})
    post(client, "/console/sandbox", {"to": SHORT_CODE, "text": "DVS", "source": "draft"})
    post(client, "/console/sandbox", {"to": SHORT_CODE, "text": "DVS", "source": "live"})
    page = client.get("/console/sandbox").get_data(as_text=True)
    assert page.index(GOOD) < page.index("Derbyshire Victim Services can support you")
    assert "· draft" in page and "· live " in page


def test_sandbox_danger_relay_and_stop(signed_in):
    client = signed_in("editor")
    post(client, "/console/sandbox", {"to": SHORT_CODE, "text": "he's outside my house", "source": "live"})
    post(client, "/console/sandbox", {"to": RELAY_LINE, "text": "need police", "source": "live"})
    post(client, "/console/sandbox", {"to": SHORT_CODE, "text": "STOP", "source": "live"})
    page = client.get("/console/sandbox").get_data(as_text=True)
    assert "danger phrase" in page and "If you are in danger, call 999 now" in page
    assert "Relay line" in page and "Ref: XXXX" in page
    assert "No reply." not in page  # a short code: the gateway confirms STOP itself
    assert "STOP: opt-out recorded, confirmed by the gateway" in page and "You will get no more texts" in page
    post(client, "/console/sandbox", {"to": RELAY_LINE, "text": "STOP", "source": "live"})
    page = client.get("/console/sandbox").get_data(as_text=True)
    assert "No reply." in page and "Twilio answers STOP itself here" in page  # a long code
    post(client, "/console/sandbox", {"clear": "1"})
    assert "Ref: XXXX" not in client.get("/console/sandbox").get_data(as_text=True)


# --- relay inbox ---------------------------------------------------------------------------------------------

def open_case(client, body: str, texter: str = TEXTER) -> cases.Case:
    post_signed(client, "/sms", inbound_form(body, texter=texter, to=RELAY_LINE))
    return next(c for c in cases.open_cases(client.application.extensions["signpost"].redis) if c.texter == texter)


def test_inbox_lists_open_cases_newest_first(app, signed_in, r):
    webhook = app.test_client()
    first = open_case(webhook, "first text", texter="+447911000111")
    time.sleep(0.01)
    second = open_case(webhook, "second text", texter="+447911000222")
    operator = signed_in("operator")
    rows = operator.get("/console/inbox/rows").get_data(as_text=True)
    assert rows.index(second.id) < rows.index(first.id)
    assert "NOT ACKNOWLEDGED" in rows and "*********222" in rows and "+447911000222" not in rows
    page = operator.get("/console/inbox").get_data(as_text=True)
    assert 'data-refresh="/console/inbox/rows"' in page and 'data-every="5"' in page


def test_operator_acknowledges_and_realerts_stop(app, signed_in, r, queues, run_jobs, standin):
    webhook = app.test_client()
    case = open_case(webhook, "need police")
    run_jobs()
    operator = signed_in("operator", name="op")
    page = operator.get(f"/console/cases/{case.id}").get_data(as_text=True)
    assert "need police" in page and "Acknowledge" in page
    response = post(operator, f"/console/cases/{case.id}/ack")
    assert response.status_code == 302
    stored = cases.get(r, case.id)
    assert stored.state == cases.ACKNOWLEDGED and stored.acknowledged_by == "console:op"
    before = len(standin.messages)
    assert release_scheduled(queues) == 1  # the pending reminder runs, sees the ACK and stops
    run_jobs()
    # Only the texter's read receipt, queued by the acknowledgement: no reminder.
    assert [m["body"] for m in standin.messages[before:]] == [TEXTER_READ.format(id=case.id)]
    assert release_scheduled(queues) == 0
    assert "acknowledged by console:op" in operator.get(f"/console/cases/{case.id}/thread").get_data(as_text=True)
    assert audit.recent(r)[0]["action"] == "case-ack"


def test_operator_replies_and_closes(app, signed_in, r, run_jobs, standin):
    case = open_case(app.test_client(), "need police")
    run_jobs()
    operator = signed_in("operator", name="op")
    post(operator, f"/console/cases/{case.id}/reply", {"text": "Officers are on the way."})
    run_jobs()
    sent = standin.messages[-1]
    assert sent["to"] == TEXTER and sent["from"] == RELAY_LINE and sent["body"] == "Officers are on the way."
    stored = cases.get(r, case.id)
    assert stored.state == cases.ACKNOWLEDGED and stored.messages[-1]["by"] == "console:op"
    response = post(operator, f"/console/cases/{case.id}/close")
    assert response.headers["Location"].endswith("/console/inbox")
    assert cases.get(r, case.id).state == cases.CLOSED
    assert case.id not in operator.get("/console/inbox/rows").get_data(as_text=True)
    assert not post(operator, f"/console/cases/{case.id}/reply", {"text": "late"}, follow_redirects=True
                    ).get_data(as_text=True).count("Reply queued")


# --- message log -----------------------------------------------------------------------------------------------

def test_message_log_in_out_and_status(app, client, signed_in, r, run_jobs, standin):
    post_signed(client, "/sms", inbound_form("dvs please"))
    post_signed(client, "/sms", inbound_form("stalking", texter="+447911000999"))
    run_jobs()
    sid = next(m["sid"] for m in standin.messages if m["to"] == TEXTER)
    post_signed(client, "/sms/status", {"MessageSid": sid, "MessageStatus": "delivered", "To": TEXTER})
    editor = signed_in("editor")
    page = editor.get("/console/messages").get_data(as_text=True)
    assert "*********123" in page and "*********999" in page
    assert TEXTER not in page and "+447911000999" not in page
    assert "keyword DVS" in page and "delivered" in page
    only = editor.get("/console/messages?number=07911+000123").get_data(as_text=True)
    assert "*********123" in only and "*********999" not in only
    delivered = editor.get("/console/messages?status=delivered").get_data(as_text=True)
    assert delivered.count("<tr>") == 2  # header row + the delivered reply
    bad = editor.get("/console/messages?number=%2B44+1").get_data(as_text=True)
    assert "Not a phone number or sender ID." in bad
    vodafone = editor.get("/console/messages?number=VODAFONE").get_data(as_text=True)
    assert "*********123" not in vodafone and "Not a phone number" not in vodafone


def test_message_log_keeps_nothing_older_than_retention(r):
    settings = Settings(retention_days=1, secret_key="k")
    msglog.record_inbound(r, settings, "SM" + "1" * 32, TEXTER, SHORT_CODE, 3, "keyword", "DVS", "queued")
    r.zadd(msglog.INDEX, {"SM" + "1" * 32: time.time() - 2 * 86400})  # as if written two days ago
    assert msglog.recent(r, settings) == []
    assert 0 < r.ttl(msglog.entry_key("SM" + "1" * 32)) <= 86400
    assert r.zcard(msglog.INDEX) == 0  # old index entries are trimmed when the log is read
    r.zadd(msglog.INDEX, {"SM" + "1" * 32: time.time() - 2 * 86400})
    msglog._next_trim[0] = 0.0  # ... and by the first write a minute after the last trim
    msglog.record_inbound(r, settings, "SM" + "2" * 32, TEXTER, SHORT_CODE, 3, "keyword", "DVS", "queued")
    assert r.zcard(msglog.INDEX) == 1
    entry = msglog.recent(r, settings)[0]
    assert entry["number"].endswith("*123") and set(entry["number"][:-3]) == {"*"} and TEXTER not in str(entry)


def test_message_log_failure_never_breaks_a_reply(app, client, r, run_jobs, standin, monkeypatch):
    import redis as redis_module

    def broken(*args, **kwargs):
        raise redis_module.ConnectionError("down")

    monkeypatch.setattr(msglog, "entry_key", broken)
    # A relay text's log entry is a separate write after the case is opened: its failure is only logged.
    relay = post_signed(client, "/sms", inbound_form("he is outside", to="+447800002414"))
    assert relay.status_code == 200
    run_jobs()
    assert standin.messages and "control room" in standin.messages[0]["body"]
    # A keyword reply's log entry goes in the same atomic Redis call as its job: if that call cannot be
    # made, the texter is answered inline instead.
    keyword = post_signed(client, "/sms", inbound_form("dvs"))
    assert keyword.status_code == 200 and b"Victim Services" in keyword.data
