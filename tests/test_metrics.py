"""GET /metrics: names, labels (never a texter's number or a message), and the figures read from Redis."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from gateway.sending import REPLIES, enqueue_send, make_queues
from tests.conftest import CONTROL_ROOM, RELAY_LINE, SHORT_CODE, TEXTER, inbound_form, post_signed

OTHER_TEXTER = "+447911000456"
BODIES = {"DVS": TEXTER, "what is this": TEXTER, "he is outside my house": OTHER_TEXTER, "STOP": "+447911000789"}


def scrape(client) -> dict[str, list]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples, name, **labels) -> float:
    found = [s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items())]
    return sum(found)


def test_metric_names_and_labels(client, r, run_jobs, standin):
    before = scrape(client)
    for body, texter in BODIES.items():
        assert post_signed(client, "/sms", inbound_form(body, texter=texter)).status_code == 200
    assert post_signed(client, "/sms", inbound_form("I need help", texter="+447911000321",
                                                    to=RELAY_LINE)).status_code == 200
    assert post_signed(client, "/sms", inbound_form("DVS", to="+447911000999")).status_code == 200
    after = scrape(client)

    def delta(**labels):
        return (value(after, "signpost_inbound_texts_total", **labels)
                - value(before, "signpost_inbound_texts_total", **labels))

    assert delta(number=SHORT_CODE, decision="keyword") == 1
    assert delta(number=SHORT_CODE, decision="default") == 1
    assert delta(number=SHORT_CODE, decision="danger") == 1
    assert delta(number=SHORT_CODE, decision="opt-out") == 1
    assert delta(number=RELAY_LINE, decision="relay") == 1
    assert delta(number="other", decision="keyword") == 1  # a To that is not ours is not a label value
    assert (value(after, "signpost_webhook_duration_seconds_count")
            - value(before, "signpost_webhook_duration_seconds_count")) == 6

    # Queue depth and age, open relay cases, before any worker ran.
    assert value(after, "signpost_queue_depth", queue="replies") == 4  # DVS, default, STOP confirmation, other number
    assert value(after, "signpost_queue_depth", queue="urgent") == 1  # the danger reply
    assert value(after, "signpost_queue_depth", queue="relay") >= 3  # ack + two forwards
    assert 0 < value(after, "signpost_queue_oldest_job_age_seconds", queue="replies") < 5  # queued just now
    assert value(after, "signpost_relay_open_cases") == 1
    assert 0 < value(after, "signpost_relay_oldest_unacknowledged_age_seconds") < 5  # opened just now
    assert value(after, "signpost_redis_up") == 1

    standin.fail_next(1, status=500, code=20500)
    run_jobs()
    done = scrape(client)
    assert value(done, "signpost_queue_depth", queue="replies") == 0
    assert value(done, "signpost_sends_total", outcome="retry", code="20500") == 1
    assert value(done, "signpost_send_retries_total") == 1
    assert value(done, "signpost_sends_total", outcome="sent") == len(standin.messages)
    assert value(done, "signpost_queue_scheduled_jobs", queue="relay") == 2  # the retry, and the escalation

    # No phone number (other than our own published receiving numbers) and no text in any label. Counters in
    # this process also hold other tests' texts (to their own keyword files' numbers): only what changed here.
    ours = {SHORT_CODE, RELAY_LINE, "other"}
    people = {TEXTER, OTHER_TEXTER, "+447911000789", "+447911000321", *CONTROL_ROOM}
    earlier = {(s.name, tuple(sorted(s.labels.items()))): s.value for samples in before.values() for s in samples}
    for samples in done.values():
        for sample in samples:
            if earlier.get((sample.name, tuple(sorted(sample.labels.items())))) == sample.value:
                continue
            for label, text in sample.labels.items():
                assert not any(p in text or p.lstrip("+") in text for p in people), (sample.name, label)
                assert not any(word.lower() in text.lower() for word in ("outside", "need help", "what is"))
                if re.search(r"\d{7,}", text):
                    assert label == "number" and text in ours, (sample.name, label, text)


def test_oldest_job_age_per_queue(client, r):
    qs = make_queues(r)
    enqueue_send(qs[REPLIES], TEXTER, SHORT_CODE, "hello", "age-1")
    job = qs[REPLIES].fetch_job("send-age-1")
    job.enqueued_at = datetime.now(UTC) - timedelta(seconds=42)
    job.save()
    samples = scrape(client)
    assert 41 <= value(samples, "signpost_queue_oldest_job_age_seconds", queue="replies") <= 50
    assert value(samples, "signpost_queue_oldest_job_age_seconds", queue="relay") == 0


def test_metrics_page_survives_redis_down(config):
    from gateway import create_app

    app = create_app({**config, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_TIMEOUT": 0.5})
    samples = scrape(app.test_client())
    assert value(samples, "signpost_redis_up") == 0
    assert "signpost_webhook_duration_seconds_count" in samples


def test_webhook_answers_by_path_and_status(client, config, monkeypatch):
    from gateway import create_app
    from gateway.keywords import engine
    from tests.conftest import PUBLIC_URL

    def answers(samples, path, status):
        return value(samples, "signpost_webhook_responses_total", path=path, status=status)

    before = scrape(client)
    # Shown at zero before any 5xx, so that the first one is an increase Prometheus can alert on.
    assert any(s.labels == {"path": "/sms", "status": "500"} for s in before["signpost_webhook_responses_total"])
    assert post_signed(client, "/sms", inbound_form("DVS")).status_code == 200
    forged = client.post("/sms", data=inbound_form("DVS"), headers={"X-Twilio-Signature": "bad"},
                         base_url=PUBLIC_URL)
    assert forged.status_code == 403
    # A crash while answering (Flask's own 500, as in production where exceptions are not propagated).
    crashing = create_app({**config, "TESTING": False})

    def crash(*args, **kwargs):
        raise RuntimeError("keyword engine broke")

    monkeypatch.setattr(engine, "decide", crash)
    assert post_signed(crashing.test_client(), "/sms", inbound_form("DVS")).status_code == 500
    # Redis down: a status callback is a 503 so that Twilio tries it again.
    no_redis = create_app({**config, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_TIMEOUT": 0.5})
    status = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered", "AccountSid": config["TWILIO_ACCOUNT_SID"]}
    assert post_signed(no_redis.test_client(), "/sms/status", status).status_code == 503
    after = scrape(client)
    for path, status_code, count in (("/sms", "200", 1), ("/sms", "403", 1), ("/sms", "500", 1),
                                     ("/sms/status", "503", 1), ("/sms/status", "204", 0)):
        assert answers(after, path, status_code) - answers(before, path, status_code) == count, (path, status_code)


def test_sends_per_sender_and_caps(client, run_jobs, standin):
    before = scrape(client)
    assert value(before, "signpost_sender_cap_per_second", number=SHORT_CODE) == 30  # keywords.yaml
    assert value(before, "signpost_sender_cap_per_second", number=RELAY_LINE) == 10
    assert post_signed(client, "/sms", inbound_form("DVS")).status_code == 200
    assert post_signed(client, "/sms", inbound_form("I need help", texter=OTHER_TEXTER,
                                                    to=RELAY_LINE)).status_code == 200
    standin.fail_next(1, status=500, code=20500)  # a retried attempt took a slot too
    run_jobs()
    done = scrape(client)
    attempts = {n: sum(1 for m in standin.requests if m.get("from") == n) for n in (SHORT_CODE, RELAY_LINE)}
    assert attempts[SHORT_CODE] == 1 and attempts[RELAY_LINE] >= 3  # ack and two forwards, one failed once
    for number, count in attempts.items():
        assert value(done, "signpost_sender_sends_total", number=number) == count, number
