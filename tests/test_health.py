"""GET /healthz, and GET /readyz: 503 when Redis does not answer, no worker has a live heartbeat or the oldest
relay job waited over 60 s, naming why."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from rq import Queue, SimpleWorker

from gateway import create_app
from gateway.sending import RELAY, REPLIES, enqueue_send, make_queues
from tests.conftest import CONTROL_ROOM, RELAY_LINE, SHORT_CODE, TEXTER


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_ok(client, r):
    SimpleWorker([Queue("relay", connection=r)], connection=r).register_birth()  # a live heartbeat
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ready"


def test_readyz_503_without_redis(config):
    app = create_app({**config, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_TIMEOUT": 0.5})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "redis unreachable" in response.json["problems"][0]


def stamp(seconds_ago: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(time.time() - seconds_ago))


def enqueued_ago(queue: Queue, job_id: str, seconds: float) -> None:
    """Back-date a waiting job, as if it had been queued `seconds` ago."""
    job = queue.fetch_job(job_id)
    job.enqueued_at = datetime.now(UTC) - timedelta(seconds=seconds)
    job.save()


def live_worker(r) -> SimpleWorker:
    worker = SimpleWorker([Queue(name, connection=r) for name in ("relay", "urgent", "replies")], connection=r)
    worker.register_birth()
    return worker


def test_not_ready_without_a_worker(client, r):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert any("no worker has a live heartbeat" in p for p in response.json["problems"])


def test_ready_with_a_live_worker(client, r):
    live_worker(r)
    assert client.get("/readyz").status_code == 200


def test_a_stale_heartbeat_is_not_live(client, r):
    worker = live_worker(r)
    r.hset(worker.key, "last_heartbeat", stamp(600))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "no worker has a live heartbeat" in response.json["problems"][0]


def test_not_ready_when_the_oldest_relay_job_waited_over_60s(client, r):
    live_worker(r)
    qs = make_queues(r)
    enqueue_send(qs[RELAY], CONTROL_ROOM[0], RELAY_LINE, "forward", "old-relay")
    enqueued_ago(qs[RELAY], "send-old-relay", 30)
    assert client.get("/readyz").status_code == 200
    enqueued_ago(qs[RELAY], "send-old-relay", 75)
    response = client.get("/readyz")
    assert response.status_code == 503
    (problem,) = response.json["problems"]
    assert problem.startswith("oldest relay job has waited 7") and problem.endswith("s (limit 60s)")


def test_an_old_routine_backlog_alone_keeps_ready(client, r):
    live_worker(r)
    qs = make_queues(r)
    enqueue_send(qs[REPLIES], TEXTER, SHORT_CODE, "reply", "old-reply")
    enqueued_ago(qs[REPLIES], "send-old-reply", 600)
    assert client.get("/readyz").status_code == 200
