"""Jobs held by a worker that died are put back at the front of their queue, without spending a retry."""

from __future__ import annotations

from rq import Queue, SimpleWorker
from rq.job import JobStatus
from rq.registry import FailedJobRegistry, StartedJobRegistry

from gateway.sending import REPLIES, enqueue_send
from tests.conftest import SHORT_CODE, TEXTER
from workers.pool import recover_orphans


def started_by(r, name: str) -> tuple[Queue, str]:
    queue = Queue(REPLIES, connection=r)
    enqueue_send(queue, "+447500000001", SHORT_CODE, "first", "held")
    enqueue_send(queue, TEXTER, SHORT_CODE, "second", "next")
    worker = SimpleWorker([queue], connection=r, name=name)
    worker.register_birth()
    job, _ = worker.dequeue_job_and_maintain_ttl(1)
    worker.prepare_execution(job)
    worker.prepare_job_execution(job)
    return queue, job.id


def test_a_dead_workers_job_goes_back_to_the_front(r):
    queue, job_id = started_by(r, "deadworker")
    retries = queue.fetch_job(job_id).retries_left
    assert recover_orphans(r, frozenset({"deadworker"})) == [job_id]
    assert queue.get_job_ids() == [job_id, "send-next"]
    job = queue.fetch_job(job_id)
    assert job.get_status() == JobStatus.QUEUED and job.retries_left == retries
    assert StartedJobRegistry(queue=queue).count == 0 and FailedJobRegistry(queue=queue).count == 0


def test_a_live_workers_job_is_left_alone(r):
    queue, job_id = started_by(r, "liveworker")  # registered from this process, which is alive
    assert recover_orphans(r) == []
    assert queue.get_job_ids() == ["send-next"]


def test_a_worker_whose_registration_expired_is_dead(r):
    queue, job_id = started_by(r, "expired")
    r.delete("rq:worker:expired")
    assert recover_orphans(r) == [job_id]


def test_a_job_popped_but_never_started_is_requeued(r):
    from workers.pool import lost_queued, requeue_lost

    queue = Queue(REPLIES, connection=r)
    enqueue_send(queue, TEXTER, SHORT_CODE, "popped", "popped")
    enqueue_send(queue, TEXTER, SHORT_CODE, "waiting", "waiting")
    assert r.lpop(queue.key) == b"send-popped"  # a worker popped it and died before starting it
    suspects = lost_queued(r)
    assert suspects == {"send-popped"}
    assert requeue_lost(r, suspects) == ["send-popped"]
    assert queue.get_job_ids() == ["send-popped", "send-waiting"]
    assert lost_queued(r) == set()
