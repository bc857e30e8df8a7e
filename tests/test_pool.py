"""The workers: one lane per queue, a dead worker's job back at the front of its queue, and RQ's own
maintenance finding a job whose worker died between taking it and starting it."""

from __future__ import annotations

import datetime

import pytest
import rq.intermediate_queue
from rq import Queue, SimpleWorker, Worker
from rq.job import JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry

from gateway import sending
from gateway.sending import REPLIES, SEND_RETRY_INTERVALS, enqueue_send
from tests.conftest import SHORT_CODE, TEXTER
from workers.pool import SignpostWorker, lanes, recover_job_of, requeue_stuck


def started_by(r, name: str) -> tuple[Queue, str]:
    queue = sending.queue(REPLIES, r)
    enqueue_send(queue, "+447500000001", SHORT_CODE, "first", "held")
    enqueue_send(queue, TEXTER, SHORT_CODE, "second", "next")
    worker = SimpleWorker([queue], connection=r, name=name, serializer=sending.SERIALIZER)
    worker.register_birth()
    job, _ = worker.dequeue_job_and_maintain_ttl(1)
    worker.prepare_execution(job)
    worker.prepare_job_execution(job)
    return queue, job.id


def test_a_dead_workers_job_goes_back_to_the_front_without_spending_a_retry(r):
    queue, job_id = started_by(r, "deadworker")
    retries = queue.fetch_job(job_id).retries_left
    assert recover_job_of(queue, "deadworker") == [job_id]
    assert queue.get_job_ids() == [job_id, "send-next"]
    job = queue.fetch_job(job_id)
    assert job.get_status() == JobStatus.QUEUED and job.retries_left == retries
    assert StartedJobRegistry(queue=queue).count == 0 and FailedJobRegistry(queue=queue).count == 0
    assert Worker.count(connection=r) == 0  # the dead worker no longer counts as alive


def test_an_idle_dead_worker_has_nothing_to_recover(r):
    queue = sending.queue(REPLIES, r)
    worker = SimpleWorker([queue], connection=r, name="idle", serializer=sending.SERIALIZER)
    worker.register_birth()
    assert recover_job_of(queue, "idle") == []
    assert recover_job_of(queue, "never-existed") == []


def test_a_started_job_is_recovered_even_when_its_worker_left_no_record(r):
    queue, job_id = started_by(r, "lost-record")
    Worker.find_by_key(Worker.redis_worker_namespace_prefix + "lost-record", connection=r).register_death()
    assert recover_job_of(queue, "lost-record") == [job_id]  # found by the job's own worker_name
    assert recover_job_of(queue, "someone-else") == []


def test_rqs_maintenance_retries_a_job_taken_but_never_started(r, monkeypatch):
    """A one-queue worker takes jobs into RQ's intermediate queue; if it dies before starting the job, RQ's
    maintenance (run every 30 s by our workers) retries it once it has sat there over a minute."""
    queue = sending.queue(REPLIES, r)
    enqueue_send(queue, TEXTER, SHORT_CODE, "taken", "taken")
    worker = SignpostWorker([queue], connection=r, name="taker")
    worker.register_birth()
    job, _ = worker.dequeue_job_and_maintain_ttl(1)  # ... and the worker dies here
    assert queue.count == 0 and queue.intermediate_queue.get_job_ids() == [job.id]
    survivor = SignpostWorker([queue], connection=r, name="survivor")
    survivor.clean_registries()  # first sight of the stuck job
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=2)
    monkeypatch.setattr(rq.intermediate_queue, "now", lambda: later)
    survivor.clean_registries()
    assert queue.intermediate_queue.get_job_ids() == []
    job = queue.fetch_job(job.id)
    assert job.get_status() == JobStatus.SCHEDULED and job.retries_left == len(SEND_RETRY_INTERVALS) - 1
    assert job.id in ScheduledJobRegistry(queue=queue).get_job_ids()


@pytest.mark.parametrize(("concurrency", "sizes"), [(1, (1, 1, 1)), (4, (1, 1, 2)), (8, (2, 2, 4)), (10, (3, 2, 5)),
                                                   (12, (4, 3, 5))])
def test_lanes(concurrency, sizes):
    assert tuple(lanes(concurrency).values()) == sizes
    assert list(lanes(concurrency)) == ["relay", "urgent", "replies"]


def test_workers_take_jobs_from_one_queue_through_rqs_intermediate_queue(r):
    worker = SignpostWorker([sending.queue(REPLIES, r)], connection=r)
    assert (worker.worker_ttl, worker.maintenance_interval) == (30, 30)


def test_the_pool_puts_back_a_job_taken_but_never_started_within_seconds(r):
    queue = sending.queue(REPLIES, r)
    enqueue_send(queue, TEXTER, SHORT_CODE, "taken", "taken")
    enqueue_send(queue, TEXTER, SHORT_CODE, "waiting", "waiting")
    worker = SignpostWorker([queue], connection=r, name="taker")
    worker.register_birth()
    job, _ = worker.dequeue_job_and_maintain_ttl(1)  # ... and the worker dies before starting it
    seen: dict[str, float] = {}
    assert requeue_stuck(queue, seen, now=100.0) == []  # first sight: a live worker may be starting it
    assert requeue_stuck(queue, seen, now=104.0) == []
    assert requeue_stuck(queue, seen, now=105.5) == [job.id]
    assert queue.get_job_ids() == [job.id, "send-waiting"] and queue.intermediate_queue.get_job_ids() == []
    assert queue.fetch_job(job.id).retries_left == len(SEND_RETRY_INTERVALS)  # no retry spent
    assert seen == {}


def test_a_job_being_started_is_left_alone(r):
    queue, job_id = started_by(r, "busy")  # in the started registry: running, not stuck
    seen: dict[str, float] = {}
    assert requeue_stuck(queue, seen, now=0.0) == [] and requeue_stuck(queue, seen, now=60.0) == []
    assert queue.get_job_ids() == ["send-next"]


def test_a_dead_workers_job_is_put_back_once_redis_answers_again(r, monkeypatch):
    """Workers die together when Redis goes away; their jobs go back as soon as it is back."""
    from rq.worker_pool import WorkerData

    from workers import pool

    queue, job_id = started_by(r, "diedwithredis")
    calls = []

    def down(queue, name):
        calls.append(name)
        raise pool.redis.ConnectionError("down")

    p = pool.SignpostPool([REPLIES], connection=r, num_workers=1, worker_class=SignpostWorker)
    p.status = p.Status.STARTED
    monkeypatch.setattr(pool, "recover_job_of", down)
    p.handle_dead_worker(WorkerData(name="diedwithredis", pid=1, process=None))
    assert calls == ["diedwithredis"] and queue.get_job_ids() == ["send-next"]
    monkeypatch.undo()
    p._recover_dead()  # the next tick of the pool's loop, with Redis back
    assert queue.get_job_ids() == [job_id, "send-next"]
