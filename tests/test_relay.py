"""The emergency text relay: cases, acknowledgement, forwards, re-alerts, tiers, replies, failures."""

from __future__ import annotations

import logging
import re
import time
import xml.etree.ElementTree as ET
from types import SimpleNamespace

import pytest
from rq import SimpleWorker
from rq.registry import ScheduledJobRegistry

from gateway import create_app, sending
from gateway.keywords import versions
from gateway.keywords.sms import analyse
from gateway.relay import cases
from gateway.relay.line import TEXTER_READ, TEXTER_UNREAD, TEXTER_WARNING
from gateway.sending import URGENT, enqueue_send
from gateway.texts import optouts
from tests.conftest import (
    CONTROL_ROOM,
    RELAY_LINE,
    ROOT,
    SUPERVISOR,
    TEXTER,
    inbound_form,
    post_signed,
    release_scheduled,
)
from workers import relay as relay_worker

OTHER_TEXTER = "+447911000456"


def relay_text(client, body: str, texter: str = TEXTER):
    response = post_signed(client, "/sms", inbound_form(body, texter=texter, to=RELAY_LINE))
    assert response.status_code == 200
    return response


def to(standin, number: str) -> list[dict]:
    return [m for m in standin.messages if m["to"] == number]


def only_case(r) -> cases.Case:
    (case,) = cases.open_cases(r)
    return case


def test_new_case_acknowledged_and_forwarded(client, r, run_jobs, standin):
    relay_text(client, "Man with a knife outside flat 3 Park Road, I cannot speak")
    case = only_case(r)
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{6}", case.id)
    assert case.state == cases.NEW and case.texter == TEXTER and case.line == RELAY_LINE
    run_jobs()
    (ack,) = to(standin, TEXTER)
    assert ack["from"] == RELAY_LINE
    assert "control room" in ack["body"] and "999bsl.co.uk" in ack["body"] and case.id in ack["body"]
    for number in CONTROL_ROOM:
        (forward,) = to(standin, number)
        assert forward["from"] == RELAY_LINE
        assert f"Case {case.id}" in forward["body"]
        assert TEXTER in forward["body"]  # staff need the full number
        assert "Man with a knife outside flat 3 Park Road, I cannot speak" in forward["body"]
        assert re.search(r"\d\d:\d\d:\d\d", forward["body"])
    assert to(standin, SUPERVISOR) == []


def test_long_text_is_split_and_nothing_cut(client, r, run_jobs, standin):
    words = [f"word{i}" for i in range(400)]
    relay_text(client, " ".join(words))
    run_jobs()
    parts = to(standin, CONTROL_ROOM[0])
    assert len(parts) > 1
    assert all(len(p["body"]) <= 600 for p in parts)
    joined = " ".join(p["body"] for p in parts)
    assert all(w in joined for w in words)
    assert f"(1/{len(parts)})" in parts[0]["body"]


def escalation_round(queues_, run_jobs) -> int:
    moved = release_scheduled(queues_)
    run_jobs()
    return moved


def test_realert_until_ack_then_silence(client, r, queues, run_jobs, standin):
    relay_text(client, "need police")
    run_jobs()
    case = only_case(r)
    assert len(to(standin, CONTROL_ROOM[0])) == 1
    # The re-alert is scheduled RELAY_ESCALATE_AFTER (120 s) ahead.
    (job_id,) = ScheduledJobRegistry(queue=queues[0]).get_job_ids()
    assert job_id == f"escalate-{case.id}-1"
    escalation_round(queues, run_jobs)
    reminders = to(standin, CONTROL_ROOM[0])
    assert len(reminders) == 2 and "reminder 1" in reminders[1]["body"]
    assert cases.get(r, case.id).repeats == 1

    post_signed(client, "/sms", inbound_form(f"ack {case.id.lower()}", texter=CONTROL_ROOM[1], to=RELAY_LINE))
    run_jobs()
    assert cases.get(r, case.id).state == cases.ACKNOWLEDGED
    assert "acknowledged" in to(standin, CONTROL_ROOM[1])[-1]["body"]
    before = len(standin.messages)
    escalation_round(queues, run_jobs)  # the pending reminder runs, sees the ACK and stops
    assert len(standin.messages) == before
    assert escalation_round(queues, run_jobs) == 0  # and schedules nothing more


def test_second_tier_after_configured_repeats(client, r, queues, run_jobs, standin):
    relay_text(client, "please come")
    run_jobs()
    for _ in range(2):  # RELAY_ESCALATE_TIERS_AFTER defaults to 2 repeats
        escalation_round(queues, run_jobs)
    assert to(standin, SUPERVISOR) == []
    escalation_round(queues, run_jobs)
    (alert,) = to(standin, SUPERVISOR)
    assert "UNACKNOWLEDGED" in alert["body"] and TEXTER in alert["body"]
    assert len(to(standin, CONTROL_ROOM[0])) == 4
    assert cases.get(r, only_case(r).id).tier2_alerted_at is not None


def test_texter_is_told_once_when_nobody_has_read_their_text(client, r, queues, run_jobs, standin):
    """A text that sits unread must not leave its texter waiting for an answer that is not coming."""
    relay_text(client, "please come")
    run_jobs()
    case = only_case(r)
    for _ in range(2):  # reminders 1 and 2: the control room only
        escalation_round(queues, run_jobs)
    assert len(to(standin, TEXTER)) == 1  # the acknowledgement alone
    escalation_round(queues, run_jobs)  # reminder 3, the one that also alerts the second tier
    ack, unread = to(standin, TEXTER)
    assert unread["from"] == RELAY_LINE
    assert case.id in unread["body"] and "not been read" in unread["body"]
    assert "999bsl.co.uk" in unread["body"] and "text 999" in unread["body"]
    assert analyse(unread["body"]).segments == 1
    assert any("texter told it is not read yet" in m["text"] for m in cases.get(r, case.id).messages)
    escalation_round(queues, run_jobs)
    assert len(to(standin, TEXTER)) == 2  # once per case, however many reminders follow


# --- the texter's texts as staff wrote them (relay_unread, relay_failed in the live keywords) -----------------

BOOT = (ROOT / "keywords.yaml").read_text()
SHIPPED_UNREAD = """    relay_unread: >-
      Case {id}: your message has not been read yet. We are still alerting the control room.
      If you are in danger, use 999bsl.co.uk or text 999 (emergencySMS).
"""
SHIPPED_FAILED = """    relay_failed: >-
      We could not pass your message to the control room. If you are in danger call 999 now,
      or use 999bsl.co.uk for a BSL video call.
"""
STAFF_UNREAD = "Ref {id}: nobody has seen your text yet, we are still trying. In danger? 999bsl.co.uk or text 999."
STAFF_FAILED = "Your text did not reach the control room. In danger call 999 or use 999bsl.co.uk."


def keywords_with(unread: str | None, failed: str | None) -> str:
    """The shipped keywords with the relay line's relay_unread / relay_failed replaced, or left out (None)."""
    assert SHIPPED_UNREAD in BOOT and SHIPPED_FAILED in BOOT
    text = BOOT.replace(SHIPPED_UNREAD, f'    relay_unread: "{unread}"\n' if unread else "")
    return text.replace(SHIPPED_FAILED, f'    relay_failed: "{failed}"\n' if failed else "")


@pytest.fixture
def worker_books(monkeypatch):
    """A fresh live book for the jobs run here, not one another test published into; dropped afterwards."""
    monkeypatch.setattr(versions, "_worker_books", {})


def publish_live(r, text: str) -> None:
    versions.publish(r, text, "test", "relay texts", BOOT)
    versions.live_book(r).expire()


def unread_text(client, r, queues, run_jobs, standin) -> tuple[cases.Case, str]:
    """Open a case and let it go unread until the texter is told; the case and what they were told."""
    relay_text(client, "please come")
    run_jobs()
    case = only_case(r)
    before = len(to(standin, TEXTER))
    for _ in range(3):  # the third reminder alerts the second tier and tells the texter
        escalation_round(queues, run_jobs)
    told = to(standin, TEXTER)[before:]
    assert len(told) == 1, told
    return case, told[0]["body"]


def test_texter_gets_the_live_keywords_unread_text_with_the_case_id(client, r, queues, run_jobs, standin,
                                                                    worker_books):
    publish_live(r, keywords_with(STAFF_UNREAD, STAFF_FAILED))
    case, body = unread_text(client, r, queues, run_jobs, standin)
    assert body == STAFF_UNREAD.replace("{id}", case.id)


def test_texter_gets_the_built_in_unread_text_when_the_live_version_has_none(client, r, queues, run_jobs,
                                                                             standin, worker_books):
    """Versions published before relay_unread existed keep working: the built-in text goes out."""
    publish_live(r, keywords_with(STAFF_UNREAD, None))
    first, body = unread_text(client, r, queues, run_jobs, standin)
    assert body == STAFF_UNREAD.replace("{id}", first.id)
    cases.close(r, first.id, "test", 30)
    publish_live(r, keywords_with(None, None))
    case, body = unread_text(client, r, queues, run_jobs, standin)
    assert case.id != first.id
    assert body == TEXTER_UNREAD.format(id=case.id)


SHIPPED_READ = """    relay_read: >-
      Case {id}: someone in the control room has read your message. Keep this thread open:
      we will reply here. If you are in danger, call 999.
"""
STAFF_READ = "Case {id}: a call handler has read your text and is on it. In danger? Call 999 or use 999bsl.co.uk."


def test_texter_gets_the_live_keywords_read_text_with_the_case_id(client, r, run_jobs, standin):
    """The receipt is sent from the web process (ACK, the console): its live book, published by staff."""
    assert SHIPPED_READ in BOOT
    publish_live(r, BOOT.replace(SHIPPED_READ, f'    relay_read: "{STAFF_READ}"\n'))
    case, receipt = acknowledged_by_sms(client, r, run_jobs, standin)
    assert receipt == STAFF_READ.replace("{id}", case.id)
    # Dropped from the live version: the built-in text.
    cases.close(r, case.id, "test", 30)
    publish_live(r, BOOT.replace(SHIPPED_READ, ""))
    case, receipt = acknowledged_by_sms(client, r, run_jobs, standin)
    assert receipt == TEXTER_READ.format(id=case.id)


def acknowledged_by_sms(client, r, run_jobs, standin) -> tuple[cases.Case, str]:
    """A new case under the live keywords just published, acknowledged by SMS: the case, its texter's last text."""
    client.application.extensions["signpost"].live.expire()
    relay_text(client, "please come")
    run_jobs()
    case = only_case(r)
    ack_by_sms(client, case.id)
    run_jobs()
    return case, to(standin, TEXTER)[-1]["body"]


def test_texter_gets_the_live_keywords_failure_text(client, r, queues, run_jobs, standin, worker_books):
    publish_live(r, keywords_with(STAFF_UNREAD, STAFF_FAILED))
    standin.fail_to(CONTROL_ROOM[0], status=500, code=20500)
    relay_text(client, "please help me")
    run_jobs()
    run_retries_out(queues, run_jobs)
    ack, warning = to(standin, TEXTER)
    assert warning["body"] == STAFF_FAILED
    assert "RELAY FAILURE" in to(standin, SUPERVISOR)[0]["body"]


@pytest.mark.parametrize("broken", ["raises", "no book"])
def test_unreadable_keywords_never_stop_the_texters_texts(client, r, queues, run_jobs, standin, worker_books,
                                                         monkeypatch, caplog, broken):
    """Whatever state the keywords are in, the texter is told, in the built-in words, and it is logged."""
    publish_live(r, keywords_with(STAFF_UNREAD, STAFF_FAILED))

    class NoBook:
        def get(self):
            return None

    def live_book(*args, **kwargs):
        if broken == "raises":
            raise RuntimeError("keywords unreadable")
        return NoBook()

    # Only the relay jobs' view of the keywords breaks: the webhook and the senders' pacing keep theirs.
    monkeypatch.setattr(relay_worker, "versions", SimpleNamespace(live_book=live_book))
    caplog.set_level(logging.INFO, logger="signpost.workers.relay")
    case, body = unread_text(client, r, queues, run_jobs, standin)
    assert body == TEXTER_UNREAD.format(id=case.id)
    standin.fail_to(CONTROL_ROOM[0], status=500, code=20500)
    cases.close(r, case.id, "test", 30)
    relay_text(client, "please help me")
    run_jobs()
    run_retries_out(queues, run_jobs)
    assert to(standin, TEXTER)[-1]["body"] == TEXTER_WARNING
    logged = [rec.getMessage() for rec in caplog.records if rec.name == "signpost.workers.relay"]
    if broken == "raises":
        assert sum("cannot read the live keywords" in line for line in logged) == 2, logged
    else:
        assert sum("no live keywords" in line for line in logged) == 2, logged


def test_a_case_read_in_time_sends_the_texter_no_warning(client, r, queues, run_jobs, standin):
    relay_text(client, "please come")
    run_jobs()
    case = only_case(r)
    escalation_round(queues, run_jobs)
    cases.acknowledge(r, case.id, "console:olly")
    for _ in range(3):
        escalation_round(queues, run_jobs)
    assert len(to(standin, TEXTER)) == 1


def test_follow_up_threads_into_the_open_case(client, r, queues, run_jobs, standin):
    relay_text(client, "first message")
    relay_text(client, "second message")
    case = only_case(r)
    assert case.inbound_texts() == ["first message", "second message"]
    run_jobs()
    forwards = to(standin, CONTROL_ROOM[0])
    assert len(forwards) == 2 and "follow-up" in forwards[1]["body"] and f"Case {case.id}" in forwards[1]["body"]
    acks = to(standin, TEXTER)
    assert len(acks) == 2 and case.id in acks[1]["body"]
    assert len(ScheduledJobRegistry(queue=queues[0]).get_job_ids()) == 1  # one escalation chain per case


def test_control_room_reply_reaches_the_texter(client, r, run_jobs, standin):
    relay_text(client, "are you there")
    case = only_case(r)
    post_signed(client, "/sms", inbound_form(f"R {case.id} Officers are on their way. Stay inside.",
                                             texter=CONTROL_ROOM[0], to=RELAY_LINE))
    run_jobs()
    texts_to_texter = [m["body"] for m in to(standin, TEXTER)]
    assert "Officers are on their way. Stay inside." in texts_to_texter
    assert all(m["from"] == RELAY_LINE for m in to(standin, TEXTER))
    stored = cases.get(r, case.id)
    assert stored.messages[-1]["direction"] == "out"
    assert stored.messages[-1]["text"] == "Officers are on their way. Stay inside."
    assert stored.state == cases.ACKNOWLEDGED  # replying is acknowledging
    assert f"Sent to case {case.id}" in to(standin, CONTROL_ROOM[0])[-1]["body"]


# --- the read receipt: ACK or the console's button tells the texter a person has read their text -------------

def ack_by_sms(client, case_id: str, number: str = CONTROL_ROOM[0]) -> None:
    post_signed(client, "/sms", inbound_form(f"ACK {case_id}", texter=number, to=RELAY_LINE))


def read_receipts(standin, case_id: str) -> list[dict]:
    return [m for m in to(standin, TEXTER) if m["body"] == TEXTER_READ.format(id=case_id)]


def test_ack_by_sms_tells_the_texter_once_that_it_has_been_read(client, r, run_jobs, standin):
    relay_text(client, "he is outside again")
    run_jobs()
    case = only_case(r)
    ack_by_sms(client, case.id)
    run_jobs()
    ack, receipt = to(standin, TEXTER)
    assert receipt["from"] == RELAY_LINE
    assert receipt["body"] == ("Case " + case.id + ": someone in the control room has read your message. Keep this "
                               "thread open: we will reply here. If you are in danger, call 999.")
    facts = analyse(receipt["body"])
    assert (facts.encoding, facts.segments) == ("GSM-7", 1)
    assert [m["text"] for m in cases.get(r, case.id).messages].count("texter told it has been read") == 1
    assert "acknowledged" in to(standin, CONTROL_ROOM[0])[-1]["body"]
    # A second ACK, from the same or another control-room phone, sends the texter nothing more.
    ack_by_sms(client, case.id, CONTROL_ROOM[1])
    ack_by_sms(client, case.id)
    run_jobs()
    assert len(to(standin, TEXTER)) == 2
    assert "acknowledged" in to(standin, CONTROL_ROOM[1])[-1]["body"]
    assert [m["text"] for m in cases.get(r, case.id).messages].count("texter told it has been read") == 1


def test_a_reply_acknowledges_without_a_read_receipt(client, r, run_jobs, standin):
    """R tells the texter itself; only an explicit ACK sends the receipt (here to the other texter)."""
    relay_text(client, "are you there")
    relay_text(client, "please come", texter=OTHER_TEXTER)
    replied = next(c for c in cases.open_cases(r) if c.texter == TEXTER)
    acked = next(c for c in cases.open_cases(r) if c.texter == OTHER_TEXTER)
    post_signed(client, "/sms", inbound_form(f"R {replied.id} Officers are on their way.",
                                             texter=CONTROL_ROOM[0], to=RELAY_LINE))
    ack_by_sms(client, acked.id)
    run_jobs()
    assert cases.get(r, replied.id).state == cases.ACKNOWLEDGED
    assert [m["body"] for m in to(standin, TEXTER)][1:] == ["Officers are on their way."]
    assert [m["body"] for m in to(standin, OTHER_TEXTER)][1:] == [TEXTER_READ.format(id=acked.id)]
    # ACK after the reply: the case was already acknowledged, so still nothing.
    ack_by_sms(client, replied.id)
    run_jobs()
    assert [m["body"] for m in to(standin, TEXTER)][1:] == ["Officers are on their way."]
    assert not any(m["text"] == "texter told it has been read" for m in cases.get(r, replied.id).messages)


def test_a_texter_who_cannot_receive_sms_gets_no_read_receipt(client, r, run_jobs, standin):
    unanswerable = "+4477009"
    post_signed(client, "/sms", inbound_form("fire at the station", texter=unanswerable, to=RELAY_LINE))
    relay_text(client, "please come")
    silent = next(c for c in cases.open_cases(r) if c.texter == unanswerable)
    told = next(c for c in cases.open_cases(r) if c.texter == TEXTER)
    ack_by_sms(client, silent.id)
    ack_by_sms(client, told.id)
    run_jobs()
    assert cases.get(r, silent.id).state == cases.ACKNOWLEDGED
    assert to(standin, unanswerable) == []
    assert not any(m["text"] == "texter told it has been read" for m in cases.get(r, silent.id).messages)
    assert len(read_receipts(standin, told.id)) == 1  # the answerable texter, acknowledged alike, is told


def test_close_and_a_new_text_opens_a_new_case(client, r, run_jobs, standin):
    relay_text(client, "first")
    case = only_case(r)
    post_signed(client, "/sms", inbound_form(f"CLOSE {case.id}", texter=CONTROL_ROOM[0], to=RELAY_LINE))
    run_jobs()
    assert cases.get(r, case.id).state == cases.CLOSED
    assert cases.open_cases(r) == []
    ttl = r.ttl(cases.case_key(case.id))
    assert 29 * 86400 < ttl <= 30 * 86400  # RETENTION_DAYS after closing
    relay_text(client, "again")
    assert only_case(r).id != case.id


@pytest.mark.parametrize("command", ["ACK {id}", "CLOSE {id}", "R {id} hello"])
def test_commands_from_unknown_numbers_are_ignored_and_logged(client, r, run_jobs, standin, command, caplog):
    relay_text(client, "need help", texter=TEXTER)
    case = only_case(r)
    with caplog.at_level(logging.WARNING, logger="signpost"):
        relay_text(client, command.format(id=case.id), texter=OTHER_TEXTER)
    assert cases.get(r, case.id).state == cases.NEW
    assert any("not in the control room" in rec.getMessage() for rec in caplog.records)
    run_jobs()
    assert not any(m["body"] == "hello" for m in to(standin, TEXTER))


@pytest.mark.parametrize(("body", "expected"), [
    ("ACK ZZZZ", "No open case ZZZZ."),
    ("R ZZZZ hi", "Not sent: no open case ZZZZ or empty message."),
    ("CLOSE ZZZZ", "No open case ZZZZ."),
    ("what?", "Not understood. Use: ACK <id>, R <id> <message>, CLOSE <id>."),
])
def test_bad_commands_get_a_clear_answer(client, r, run_jobs, standin, body, expected):
    post_signed(client, "/sms", inbound_form(body, texter=CONTROL_ROOM[0], to=RELAY_LINE))
    run_jobs()
    (answer,) = to(standin, CONTROL_ROOM[0])
    assert answer["body"] == expected
    assert cases.open_cases(r) == []


def test_relay_is_served_before_a_keyword_backlog(client, r, queues, standin):
    backlog = sending.queue(queues[2].name, r)
    with r.pipeline(transaction=False) as p:
        for i in range(1000):
            enqueue_send(backlog, f"+4474000{i:05d}", "82228", "routine reply", f"backlog-{i}", pipeline=p)
        p.execute()
    assert backlog.count == 1000
    relay_text(client, "urgent help")
    SimpleWorker(queues, connection=r, serializer=sending.SERIALIZER).work(burst=True, max_jobs=3)
    first = standin.messages[:3]
    assert {m["to"] for m in first} == {TEXTER, *CONTROL_ROOM}
    assert backlog.count == 1000


def run_retries_out(queues, run_jobs) -> None:
    """Run every retry of the sends failing now, with the escalation reminders kept out of the way."""
    for _ in range(10):
        for job_id in ScheduledJobRegistry(queue=queues[0]).get_job_ids():
            if job_id.startswith("escalate-"):
                ScheduledJobRegistry(queue=queues[0]).remove(job_id)
        if not release_scheduled(queues):
            break
        run_jobs()


def test_forward_failure_is_never_silent(client, r, queues, run_jobs, standin):
    standin.fail_to(CONTROL_ROOM[0], status=500, code=20500)
    relay_text(client, "please help me")
    case = only_case(r)
    run_jobs()
    run_retries_out(queues, run_jobs)
    (alert,) = to(standin, SUPERVISOR)
    assert "RELAY FAILURE" in alert["body"] and case.id in alert["body"] and TEXTER in alert["body"]
    told = [m["body"] for m in to(standin, TEXTER)]
    assert any("999" in body and "999bsl.co.uk" in body and "could not" in body for body in told)
    assert cases.get(r, case.id).forward_failed_at is not None
    assert len(to(standin, CONTROL_ROOM[1])) == 1  # the other control-room number still got it


def test_stop_on_the_relay_line_is_an_opt_out_not_a_case(client, r, run_jobs, standin):
    relay_text(client, "STOP")
    assert cases.open_cases(r) == []
    assert optouts.is_opted_out(r, RELAY_LINE, TEXTER)


def test_help_on_the_relay_line_reaches_the_control_room(client, r, run_jobs, standin):
    relay_text(client, "HELP")
    assert only_case(r).inbound_texts() == ["HELP"]
    run_jobs()
    assert len(to(standin, CONTROL_ROOM[0])) == 1


@pytest.mark.parametrize("word", ["yes", "END", "stop"])
def test_one_word_answers_in_an_open_case_reach_the_control_room(client, r, run_jobs, standin, word):
    relay_text(client, "he is back")
    relay_text(client, word)
    assert only_case(r).inbound_texts() == ["he is back", word]
    run_jobs()
    assert any(word in m["body"] for m in to(standin, CONTROL_ROOM[0])[1:])


def test_opted_out_texter_still_reaches_the_control_room(client, r, run_jobs, standin):
    optouts.record_optout(r, RELAY_LINE, TEXTER, reason="test")
    relay_text(client, "he is here now")
    run_jobs()
    assert only_case(r).inbound_texts() == ["he is here now"]
    assert len(to(standin, CONTROL_ROOM[0])) == 1


def test_redis_down_relay_text_is_forwarded_by_twilio_inline(config):
    app = create_app({**config, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_TIMEOUT": 0.5})
    response = post_signed(app.test_client(), "/sms", inbound_form("help me please", to=RELAY_LINE))
    assert response.status_code == 200
    messages = ET.fromstring(response.data).findall("Message")
    to_texter = [m for m in messages if m.get("to") is None]
    assert len(to_texter) == 1 and "999bsl.co.uk" in to_texter[0].text
    forwarded = {m.get("to") for m in messages if m.get("to")}
    assert forwarded == {*CONTROL_ROOM, SUPERVISOR}
    assert all("help me please" in m.text and TEXTER in m.text for m in messages if m.get("to"))


@pytest.mark.slow  # a separate process
def test_ack_and_forward_leave_within_5_seconds(settings_env, r, standin, worker_process):
    """A real worker process, idle, and the webhook: the texter's ack and the forwards reach Twilio fast."""
    client = create_app(settings_env).test_client()
    started = time.monotonic()
    relay_text(client, "I need the police")
    standin.wait_for(1 + len(CONTROL_ROOM), timeout=5)
    assert time.monotonic() - started < 5
    assert {m["to"] for m in standin.messages} == {TEXTER, *CONTROL_ROOM}


# Danger phrases on keyword numbers


def test_danger_phrase_with_keyword(config, r, queues, run_jobs, standin):
    client = create_app({**config, "ALERT_TO": "+447400000077"}).test_client()
    post_signed(client, "/sms", inbound_form("DVS he's outside my house"))
    assert sending.queue(URGENT, r).count == 2  # the reply and the staff alert, ahead of routine
    run_jobs()
    (reply,) = to(standin, TEXTER)
    assert reply["body"].startswith("If you are in danger, call 999")
    assert "07800 002414" in reply["body"] and "999bsl.co.uk" in reply["body"]
    assert "0800 612 6505" in reply["body"]  # then the DVS reply
    assert reply["body"].index("999bsl.co.uk") < reply["body"].index("0800 612 6505")
    (alert,) = to(standin, "+447400000077")
    assert TEXTER in alert["body"] and "82228" in alert["body"] and "he's outside my house" in alert["body"]


def test_danger_phrase_without_keyword(config, r, run_jobs, standin):
    client = create_app({**config, "ALERT_TO": "+447400000077,+447400000078"}).test_client()
    post_signed(client, "/sms", inbound_form("please help me he has a knife"))
    run_jobs()
    (reply,) = to(standin, TEXTER)
    assert reply["body"].startswith("If you are in danger, call 999")
    assert "999bsl.co.uk" in reply["body"]
    assert len(to(standin, "+447400000077")) == len(to(standin, "+447400000078")) == 1


def test_danger_without_alert_numbers_still_answers(client, r, run_jobs, standin):
    post_signed(client, "/sms", inbound_form("stalking he is following me"))
    run_jobs()
    (reply,) = standin.messages
    assert reply["body"].startswith("If you are in danger, call 999") and "0808 802 0300" in reply["body"]


def test_danger_alert_inline_when_redis_down(config):
    app = create_app({**config, "ALERT_TO": "+447400000077", "REDIS_URL": "redis://127.0.0.1:1/0",
                      "REDIS_TIMEOUT": 0.5})
    response = post_signed(app.test_client(), "/sms", inbound_form("knife"))
    messages = ET.fromstring(response.data).findall("Message")
    assert [m.get("to") for m in messages] == [None, "+447400000077"]


def test_expired_cases_leave_the_index(client, r, run_jobs):
    relay_text(client, "old case")
    case = only_case(r)
    cases.close(r, case.id, "test", retention_days=30)
    r.delete(cases.case_key(case.id), cases.messages_key(case.id))  # as if RETENTION_DAYS had passed
    assert cases.purge_expired(r) == 1
    assert r.zcard(cases.ALL_INDEX) == 0


def test_staff_numbers_are_in_no_job_id_description_log_line_or_message_log(config, r, queues, run_jobs, standin,
                                                                             caplog):
    """Control-room and alert numbers reach Twilio, and nothing else: jobs are named by position, logs mask."""
    from rq.registry import FailedJobRegistry, FinishedJobRegistry

    from gateway.texts import msglog

    staff = (*CONTROL_ROOM, SUPERVISOR, "+447400000077")
    client = create_app({**config, "ALERT_TO": "+447400000077"}).test_client()
    standin.fail_to(CONTROL_ROOM[0], status=500, code=20500)
    with caplog.at_level(logging.DEBUG):
        relay_text(client, "he is at the door")
        post_signed(client, "/sms", inbound_form("knife at my door", texter=OTHER_TEXTER))
        run_jobs()
        for _ in range(10):
            for job_id in ScheduledJobRegistry(queue=queues[0]).get_job_ids():
                if job_id.startswith("escalate-"):
                    ScheduledJobRegistry(queue=queues[0]).remove(job_id)
            if not release_scheduled(queues):
                break
            run_jobs()
    assert to(standin, SUPERVISOR) and to(standin, "+447400000077")  # the staff were reached
    job_ids = [i for q in queues for reg in (FinishedJobRegistry(queue=q), FailedJobRegistry(queue=q))
               for i in reg.get_job_ids()]
    assert any(i.startswith("send-fwd-") for i in job_ids) and any(i.startswith("send-fail-") for i in job_ids)
    jobs = [queues[0].fetch_job(i) or queues[1].fetch_job(i) for i in job_ids]
    refs = [e.get("ref", "") for e in msglog.recent(r, create_app(config).extensions["signpost"].settings)]
    text = "\n".join([*job_ids, *(j.description for j in jobs if j), *(rec.getMessage() for rec in caplog.records),
                      *refs])
    for number in staff:
        assert number not in text and number.lstrip("+") not in text, number


def test_case_ids_are_six_characters_read_aloud_easily(client, r):
    relay_text(client, "first")
    case = only_case(r)
    assert len(case.id) == 6 and set(case.id) <= set(cases.ALPHABET) and not set(case.id) & set("01OI")


def test_wrong_case_ids_from_a_control_room_number_are_throttled(client, r, run_jobs, standin):
    from gateway.relay import commands

    relay_text(client, "he is back")
    case = only_case(r)
    for i in range(commands.MISSES_PER_DAY):
        post_signed(client, "/sms", inbound_form(f"ACK ZZZZ{i:02d}", texter=CONTROL_ROOM[0], to=RELAY_LINE))
    post_signed(client, "/sms", inbound_form(f"ACK {case.id}", texter=CONTROL_ROOM[0], to=RELAY_LINE))
    run_jobs()
    assert cases.get(r, case.id).state == cases.NEW  # a right id after too many wrong ones is refused too
    assert "paused for today" in to(standin, CONTROL_ROOM[0])[-1]["body"]
    post_signed(client, "/sms", inbound_form(f"ACK {case.id}", texter=CONTROL_ROOM[1], to=RELAY_LINE))
    run_jobs()
    assert cases.get(r, case.id).state == cases.ACKNOWLEDGED  # another control-room number is not held up
    assert 0 < r.ttl(commands.misses_key(CONTROL_ROOM[0])) <= commands.MISS_WINDOW  # and the pause ends
