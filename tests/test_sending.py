"""From a signed webhook to the stand-in's Messages API, through a real RQ worker."""

from __future__ import annotations

import json

import pytest
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from gateway import create_app, sending
from gateway.sending import ORDER, RETRY_INTERVALS, SEND_RETRY_INTERVALS, URGENT_RETRY_INTERVALS, send_retry
from gateway.texts import optouts
from tests.conftest import PUBLIC_URL, SHORT_CODE, TEXTER, inbound_form, post_signed, release_scheduled


def text(client, body: str, **kwargs) -> None:
    response = post_signed(client, "/sms", inbound_form(body, **kwargs))
    assert response.status_code == 200


def test_reply_leaves_through_the_twilio_client(client, run_jobs, standin):
    text(client, "DVS")
    run_jobs()
    (sent,) = standin.messages
    assert sent["to"] == TEXTER
    assert sent["from"] == SHORT_CODE
    assert "0800 612 6505" in sent["body"]
    assert sent["status_callback"] == PUBLIC_URL + "/sms/status"


@pytest.mark.parametrize(
    "body, expected",
    [
        ("DVS", "0800 612 6505"),
        ("dvs please help", "0800 612 6505"),
        ("  Dvs!! ", "0800 612 6505"),
        ("DSV", "0800 612 6505"),
        ("victim", "0800 612 6505"),
        ("STALKNG", "0808 802 0300"),
        ("stalking", "0808 802 0300"),
        ("crimestoppers", "0800 555 111"),
        ("what is this", "999"),
    ],
)
def test_keyword_typo_and_first_word(client, run_jobs, standin, body, expected):
    text(client, body)
    run_jobs()
    (sent,) = standin.messages
    assert expected in sent["body"]


def test_duplicate_message_sid_is_sent_once(client, run_jobs, standin):
    form = inbound_form("DVS")
    for _ in range(3):
        post_signed(client, "/sms", form)
    run_jobs()
    assert len(standin.messages) == 1


@pytest.mark.parametrize("queue_name", ORDER)
def test_retry_policy_meets_the_floor(queue_name):
    retry = send_retry(queue_name)
    intervals = RETRY_INTERVALS[queue_name]
    assert intervals[0] <= 10  # first retry within 10 s
    assert retry.max + 1 >= 5  # attempts: the first plus its retries
    assert sum(intervals[: retry.max]) >= 300  # spread over five minutes at least
    assert list(retry.intervals) == list(intervals)


def test_relay_and_danger_sends_retry_sooner():
    assert URGENT_RETRY_INTERVALS[0] < SEND_RETRY_INTERVALS[0]


@pytest.mark.parametrize("status, code", [(500, 20500), (503, 20503), (429, 20429)])
def test_transient_error_then_success(client, r, queues, run_jobs, standin, status, code):
    standin.fail_next(1, status=status, code=code)
    text(client, "DVS")
    run_jobs()
    assert standin.messages == []
    scheduled = ScheduledJobRegistry(queue=queues[2])
    assert len(scheduled.get_job_ids()) == 1
    assert release_scheduled(queues) == 1
    run_jobs()
    assert len(standin.messages) == 1
    assert len(standin.requests) == 2


def test_network_error_is_retried(config, r, queues, run_jobs, standin):
    client = create_app({**config, "TWILIO_API_BASE_URL": "http://127.0.0.1:1"}).test_client()
    text(client, "DVS")
    run_jobs()
    assert len(ScheduledJobRegistry(queue=queues[2]).get_job_ids()) == 1
    create_app(config)  # the workers' settings: Twilio is back
    release_scheduled(queues)
    run_jobs()
    assert len(standin.messages) == 1


def test_out_of_attempts_lands_in_failed_registry_with_reason(client, queues, run_jobs, standin):
    standin.fail_next(100, status=500, code=20500)
    text(client, "DVS")
    run_jobs()
    for _ in range(len(SEND_RETRY_INTERVALS)):
        assert release_scheduled(queues) == 1
        run_jobs()
    assert release_scheduled(queues) == 0
    failed = FailedJobRegistry(queue=queues[2])
    (job_id,) = failed.get_job_ids()
    job = queues[2].fetch_job(job_id)
    assert "20500" in job.latest_result().exc_string
    assert len(standin.requests) == len(SEND_RETRY_INTERVALS) + 1


@pytest.mark.parametrize("code", [21610, 21211, 21614, 21408, 21606])
def test_permanent_errors_are_never_retried(client, r, queues, run_jobs, standin, code):
    standin.fail_to(TEXTER, status=400, code=code)
    text(client, "DVS")
    run_jobs()
    assert release_scheduled(queues) == 0
    assert len(standin.requests) == 1
    (job_id,) = FailedJobRegistry(queue=queues[2]).get_job_ids()
    assert str(code) in queues[2].fetch_job(job_id).latest_result().exc_string
    assert optouts.is_opted_out(r, SHORT_CODE, TEXTER) is (code == 21610)


def test_21610_means_no_further_messages(client, r, run_jobs, standin):
    standin.fail_to(TEXTER, status=400, code=21610)
    text(client, "DVS")
    run_jobs()
    standin.clear_faults()
    text(client, "STALKING")
    run_jobs()
    assert len(standin.requests) == 1


def test_stop_on_a_long_code_records_opt_out_and_twilio_confirms(client, r, run_jobs, standin):
    long_code = "+447911000555"  # not in keywords.yaml: a long code, where Twilio answers STOP and START
    text(client, "STOP", to=long_code)
    run_jobs()
    assert optouts.is_opted_out(r, long_code, TEXTER)
    text(client, "DVS", to=long_code)
    run_jobs()
    assert standin.requests == []
    text(client, "start", to=long_code)
    run_jobs()
    assert not optouts.is_opted_out(r, long_code, TEXTER)
    assert standin.requests == []
    text(client, "DVS", to=long_code)
    run_jobs()
    assert len(standin.messages) == 1


@pytest.mark.parametrize("word", ["STOP", "stopall", "Unsubscribe", "CANCEL", "end", "QUIT", "revoke", "OPTOUT"])
def test_every_opt_out_word(client, r, run_jobs, word):
    text(client, word)
    assert optouts.is_opted_out(r, SHORT_CODE, TEXTER)


@pytest.mark.parametrize("body", ["stop texting me about dvs", "STPO", "STOPP", "stop dvs"])
def test_opt_out_only_for_the_single_word(client, r, run_jobs, standin, body):
    text(client, body)
    run_jobs()
    assert not optouts.is_opted_out(r, SHORT_CODE, TEXTER)
    assert len(standin.messages) == 1


def test_short_code_confirmations_come_from_the_gateway(client, r, run_jobs, standin):
    # Twilio does not answer STOP/START on a standalone short code: the gateway does.
    text(client, "STOP")
    run_jobs()
    text(client, "DVS")
    run_jobs()
    text(client, "START")
    run_jobs()
    bodies = [m["body"] for m in standin.messages]
    assert len(bodies) == 2  # the opt-out and opt-in confirmations; nothing in between
    assert "no more texts" in bodies[0] and "back on" in bodies[1]
    assert optouts.is_opted_out(r, SHORT_CODE, TEXTER) is False


@pytest.mark.parametrize("word", ["HELP", "info", "Help."])  # "Help." is no HELP word: the default reply
def test_help_words_answer_with_help_text(client, run_jobs, standin, word):
    text(client, word)
    run_jobs()
    (sent,) = standin.messages
    assert "999" in sent["body"]


def test_development_without_credentials_uses_outbox(r, redis_url, run_jobs, standin):
    client = create_app({"SIGNPOST_ENV": "development", "REDIS_URL": redis_url}).test_client()
    response = client.post("/sms", data=inbound_form("DVS"))
    assert response.status_code == 200
    run_jobs()
    (sent,) = [json.loads(item) for item in r.lrange(sending.OUTBOX, 0, -1)]
    assert sent["to"] == TEXTER
    assert "0800 612 6505" in sent["body"]
    assert standin.requests == []


def test_worker_logs_hold_no_full_number_and_no_body(client, run_jobs, standin, caplog):
    import logging

    standin.fail_to(TEXTER, status=400, code=21211, message=f"The 'To' number {TEXTER} is not a valid phone number.")
    with caplog.at_level(logging.DEBUG):
        text(client, "DVS")
        run_jobs()
    info_and_up = "\n".join(rec.getMessage() for rec in caplog.records if rec.levelno >= logging.INFO)
    everything = "\n".join(rec.getMessage() + (rec.exc_text or "") for rec in caplog.records)
    assert TEXTER not in everything
    assert "Derbyshire Victim Services" not in info_and_up
    assert "21211" in everything


@pytest.mark.slow  # a separate process
def test_real_worker_retries_after_500_within_10_seconds(settings_env, r, standin, worker_process):
    """`python -m workers` runs RQ's scheduler: a 500 is retried by itself, the first retry within 10 s."""
    standin.fail_next(1, status=500, code=20500)
    text(create_app(settings_env).test_client(), "DVS")
    (sent,) = standin.wait_for(1, timeout=20)
    first, second = standin.requests[0], standin.requests[1]
    assert first["http_status"] == 500 and second["http_status"] == 201
    assert second["t"] - first["t"] < 10
    assert sent["to"] == TEXTER


class _Payload:
    """What an attacker who can write to Redis would queue: unpickling it runs code."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_pickled_job_is_never_unpickled_by_a_worker(r, queues, run_jobs, tmp_path):
    """Jobs are JSON: a job written with pickle (RQ's default) fails in our workers without running code."""
    from rq import Queue
    from rq.registry import FailedJobRegistry

    marker = tmp_path / "pwned"
    pickled = Queue(queues[2].name, connection=r)  # RQ's default serializer: pickle
    job = pickled.enqueue("builtins.print", _Payload(str(marker)))
    assert not marker.exists()
    run_jobs()
    assert not marker.exists()  # a worker with RQ's default serializer would have created it
    assert job.id in FailedJobRegistry(queue=queues[2]).get_job_ids() and queues[2].count == 0


def test_every_queue_and_worker_uses_json(r, app):
    from gateway import sending
    from workers.pool import SignpostWorker

    assert all(q.serializer is sending.SERIALIZER for q in app.extensions["signpost"].queues.values())
    assert SignpostWorker([sending.queue("replies", r)], connection=r).serializer is sending.SERIALIZER
