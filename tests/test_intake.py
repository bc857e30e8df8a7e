"""The intake: once per MessageSid, jobs through RQ's public API, opt-out state and the log entry together."""

from __future__ import annotations

import pytest
import redis

from gateway import phone, sending
from gateway.keywords.engine import Decision
from gateway.keywords.reader import load_book
from gateway.settings import Settings
from gateway.texts import intake, msglog, optouts
from gateway.texts.inbound import Inbound
from tests.conftest import ROOT, SHORT_CODE, TEXTER

SETTINGS = Settings(secret_key="k")
REPLY = Decision("keyword", "the reply", keyword="DVS", match="exact")


def text(sid: str = "SM" + "1" * 32, sender: str = TEXTER) -> Inbound:
    return Inbound(message_sid=sid, sender=phone.classify(sender), ours=SHORT_CODE, body="DVS")


@pytest.fixture
def ctx(r) -> intake.Context:
    return intake.Context(r, sending.make_queues(r), SETTINGS, load_book(ROOT / "keywords.yaml"))


def test_reply_is_an_ordinary_rq_job(ctx, r):
    assert intake.take(ctx, text(), REPLY).action == "queued"
    replies = sending.queue(sending.REPLIES, r)
    (job,) = replies.get_jobs()
    assert job.func_name == sending.SEND_JOB
    assert job.kwargs == {"to": TEXTER, "from_": SHORT_CODE, "body": "the reply", "ref": "reply-SM" + "1" * 32}
    assert job.get_status() == "queued" and job.retries_left == len(sending.SEND_RETRY_INTERVALS)
    (entry,) = msglog.recent(r, SETTINGS)
    assert (entry["status"], entry["keyword"], entry["direction"]) == ("queued", "DVS", "in")
    assert TEXTER not in entry.values()


def test_duplicate_stores_nothing(ctx, r):
    first = intake.take(ctx, text(), REPLY)
    again = intake.take(ctx, text(), REPLY)
    assert (first.action, again.action) == ("queued", "duplicate")
    assert sending.queue(sending.REPLIES, r).count == 1


def test_opted_out_texter_gets_no_job_but_the_text_is_logged(ctx, r):
    optouts.record_optout(r, SHORT_CODE, TEXTER, "test")
    assert intake.take(ctx, text(), REPLY).action == "opted-out"
    assert sending.queue(sending.REPLIES, r).count == 0
    (entry,) = msglog.recent(r, SETTINGS)
    assert entry["status"] == "opted-out" and entry["keyword"] == "DVS"


def test_opt_out_and_its_confirmation_land_together(ctx, r):
    stop = Decision("optout", "no more texts", keyword="STOP", opt_change="optout", despite_optout=True)
    assert intake.take(ctx, text(), stop).action == "optout-recorded"
    assert optouts.is_opted_out(r, SHORT_CODE, TEXTER)
    (job,) = sending.queue(sending.REPLIES, r).get_jobs()
    assert job.kwargs["body"] == "no more texts"


def test_a_failure_after_the_mark_takes_the_mark_back(ctx, r, monkeypatch):
    def broken(*args, **kwargs):
        raise redis.ConnectionError("gone")

    monkeypatch.setattr(sending, "enqueue_send", broken)
    with pytest.raises(redis.ConnectionError):
        intake.take(ctx, text(), REPLY)
    assert not r.exists(intake.seen_key("SM" + "1" * 32))  # Twilio's retry is handled afresh
    assert msglog.recent(r, SETTINGS) == []
    monkeypatch.undo()
    assert intake.take(ctx, text(), REPLY).action == "queued"


def test_a_mark_sent_again_after_a_lost_answer_is_not_a_duplicate(ctx, r, monkeypatch):
    """A failover can lose Redis's answer after the mark was made; the client then sends it again. That must
    read as this text's own mark, not as Twilio posting it twice: a text is never dropped."""
    real = redis.client.Pipeline.execute
    sent_twice = []

    def execute_twice_first_time(self, *args, **kwargs):
        if not sent_twice:
            sent_twice.append(True)
            stack = list(self.command_stack)
            real(self, *args, **kwargs)  # applied, but its answer lost on the way back...
            self.command_stack = stack  # ... so the same commands go again
        return real(self, *args, **kwargs)

    monkeypatch.setattr(redis.client.Pipeline, "execute", execute_twice_first_time)
    assert intake.take(ctx, text(), REPLY).action == "queued"
    monkeypatch.undo()
    assert sending.queue(sending.REPLIES, r).count == 1
    assert intake.take(ctx, text(), REPLY).action == "duplicate"  # Twilio's own retry still is one
