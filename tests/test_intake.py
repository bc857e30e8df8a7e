"""The one-round-trip intake: the jobs it stores are the jobs RQ would store, and its outcomes."""

from __future__ import annotations

import pytest
from rq import Queue

from gateway import intake, msglog, queues, store
from tests.conftest import SHORT_CODE, TEXTER

SETTINGS = {"RETENTION_DAYS": 30, "SECRET_KEY": "k"}


@pytest.fixture
def replies(r) -> Queue:
    return Queue(queues.REPLIES, connection=r)


def test_stored_job_matches_what_queue_enqueue_stores(r, replies):
    queues.enqueue_send(replies, TEXTER, SHORT_CODE, "body ’ text", "by-rq")
    job = intake.send_job(replies, TEXTER, SHORT_CODE, "body ’ text", "by-intake")
    assert intake.submit(r, SETTINGS, "SM" + "1" * 32, TEXTER, SHORT_CODE, [(replies, job)], None) == "queued"
    by_rq, by_intake = r.hgetall("rq:job:send-by-rq"), r.hgetall("rq:job:send-by-intake")
    differ = {"created_at", "enqueued_at", "description", "data"}
    assert set(by_rq) == set(by_intake)
    assert {k: v for k, v in by_rq.items() if k.decode() not in differ} == {
        k: v for k, v in by_intake.items() if k.decode() not in differ}
    fetched = replies.fetch_job("send-by-intake")
    assert fetched.kwargs == {"to": TEXTER, "from_": SHORT_CODE, "body": "body ’ text", "ref": "by-intake"}
    assert fetched.get_status() == "queued" and fetched.retries_left == len(queues.SEND_RETRY_INTERVALS)
    assert replies.job_ids == ["send-by-rq", "send-by-intake"]
    assert r.sismember(Queue.redis_queues_keys, replies.key)


def test_duplicate_stores_nothing(r, replies):
    sid = "SM" + "2" * 32
    first = intake.submit(r, SETTINGS, sid, TEXTER, SHORT_CODE,
                          [(replies, intake.send_job(replies, TEXTER, SHORT_CODE, "a", "one"))], None)
    again = intake.submit(r, SETTINGS, sid, TEXTER, SHORT_CODE,
                          [(replies, intake.send_job(replies, TEXTER, SHORT_CODE, "a", "two"))], None)
    assert (first, again) == ("queued", "duplicate")
    assert replies.job_ids == ["send-one"]


def test_opted_out_texter_gets_no_job_but_the_text_is_logged(r, replies):
    store.record_optout(r, SHORT_CODE, TEXTER, "test")
    sid = "SM" + "3" * 32
    fields = msglog.inbound_fields(SETTINGS, sid, TEXTER, SHORT_CODE, 3, "keyword", "DVS", "")
    outcome = intake.submit(r, SETTINGS, sid, TEXTER, SHORT_CODE,
                            [(replies, intake.send_job(replies, TEXTER, SHORT_CODE, "a", "x"))], fields)
    assert outcome == "opted-out"
    assert replies.count == 0 and not r.exists("rq:job:send-x")
    (entry,) = msglog.recent(r, SETTINGS)
    assert entry["status"] == "opted-out" and entry["keyword"] == "DVS" and TEXTER not in entry.values()


@pytest.mark.parametrize("value, encoded", [(b"\x00\xff", b"\x00\xff"), ("é:", "é:".encode()), (30, b"30"),
                                            (1.5, b"1.5")])
def test_netstrings(value, encoded):
    assert intake.netstrings({"k": value, "gone": None}) == b"1:k" + b"%d:" % len(encoded) + encoded
