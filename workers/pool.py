"""The workers `python -m workers` runs: one rq WorkerPool of SimpleWorkers per queue (a lane), and recovery of
the job a worker held when it died. RQ's public API only: its own maintenance does the rest.

Why SimpleWorker: rq's default `Worker` forks a work horse for every job (~70 no-op jobs/s on this kind of
machine), below the 100 sends/s a short code allows. A `SimpleWorker` runs the job in its own process
(~200 jobs/s each); a pool runs N of them, restarts any that dies, and runs rq's scheduler for retries.
Jobs here are plain functions of their arguments, so nothing leaks from one job into the next. The cost of
no fork: a job that hangs is only stopped by the job timeout (60 s, SIGALRM in the worker process).

Why one lane per queue. Relay work must never wait behind a backlog of routine replies, and no job may be
lost between leaving its queue and starting. A worker that serves one queue takes jobs with BLMOVE into
RQ's intermediate queue, where RQ's maintenance finds a job whose worker died before starting it; a worker
serving several queues pops with BLPOP and such a job would be lost. So each queue has its own workers:
relay and urgent sends never wait for a worker busy with routine replies, and inside one sender the pacer
(workers/pacing.py) lets relay and urgent sends overtake routine ones.

Recovery. A pool child that dies (SIGKILL, OOM) leaves its job started: the pool puts it back at the front
of its queue at once, without spending a retry. A job taken into the intermediate queue whose worker never
started it (killed in between, or the taking command's answer lost when Redis went down) is put back by the
pool within STUCK_AFTER + SWEEP_EVERY seconds (RQ's own maintenance would wait a minute). A worker lost
with its machine is left to RQ's own maintenance, run every MAINTENANCE_INTERVAL seconds: it retries
abandoned jobs from the started registry. A send that was in flight at the kill may be sent twice; that is
the price of never losing one.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
from rq import Queue, SimpleWorker, Worker
from rq.job import JobStatus
from rq.registry import StartedJobRegistry
from rq.worker_pool import WorkerData, WorkerPool

from gateway import sending
from gateway.sending import ORDER, RELAY, SERIALIZER, URGENT

log = logging.getLogger("signpost.workers.pool")

WORKER_TTL = 30  # idle workers beat every 15 s; readiness sees a dead one within ~90 s
MAINTENANCE_INTERVAL = 30  # RQ's own registry cleaning, every 10 minutes by default
SWEEP_EVERY = 2.0  # the pool's look at its queue's intermediate list
STUCK_AFTER = 5.0  # seconds a job may sit taken but not started before it is put back (a live worker: ms)


class SignpostWorker(SimpleWorker):
    """A SimpleWorker with a short heartbeat and frequent RQ maintenance, so lost work is found in minutes."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["serializer"] = SERIALIZER  # JSON: a job is data, never code (rq's pool passes its own default)
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        kwargs.setdefault("maintenance_interval", MAINTENANCE_INTERVAL)
        super().__init__(*args, **kwargs)


def recover_job_of(queue: Queue, worker_name: str) -> list[str]:
    """Put the jobs a dead worker had started from `queue` back at its front; returns their ids."""
    registry = StartedJobRegistry(queue=queue)
    recovered = []
    for job_id in registry.get_job_ids(cleanup=False):
        job = queue.fetch_job(job_id)
        if job is None or job.worker_name != worker_name or job.get_status() != JobStatus.STARTED:
            continue
        # Queued again before it leaves the started registry: a crash in between can repeat it, never lose it.
        queue.enqueue_job(job, at_front=True)
        registry.remove_executions(job)
        recovered.append(job.id)
        log.warning("recovered job %s from dead worker %s: queued again at the front of %s", job.id,
                    worker_name[:8], queue.name)
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + worker_name, connection=queue.connection)
    if worker is not None:
        worker.register_death()  # readiness stops counting it at once
    return recovered


def requeue_stuck(queue: Queue, first_seen: dict[str, float], now: float, after: float = STUCK_AFTER) -> list[str]:
    """Put back at the front of `queue` the jobs taken into RQ's intermediate queue but never started, once
    seen there for `after` seconds (a live worker starts a job it took within milliseconds). `first_seen`
    carries what earlier sweeps saw; returns the ids put back."""
    started = set(StartedJobRegistry(queue=queue).get_job_ids(cleanup=False))
    waiting = [job_id for job_id in queue.intermediate_queue.get_job_ids() if job_id not in started]
    for job_id in list(first_seen):
        if job_id not in waiting:
            del first_seen[job_id]
    recovered = []
    for job_id in waiting:
        seen = first_seen.setdefault(job_id, now)
        if now - seen < after:
            continue
        job = queue.fetch_job(job_id)
        if job is not None and job.get_status() == JobStatus.QUEUED:
            queue.enqueue_job(job, at_front=True)
            recovered.append(job_id)
            log.warning("recovered job %s: taken from %s but never started", job_id, queue.name)
        queue.intermediate_queue.remove(job_id)
        del first_seen[job_id]
    return recovered


class SignpostPool(WorkerPool):
    """rq's WorkerPool for one queue, recovering the job of a worker that died instead of leaving it to time out,
    and a job taken but never started sooner than RQ's maintenance would (after a minute)."""

    def __init__(self, queues: list[str], *args: Any, **kwargs: Any) -> None:
        super().__init__(queues, *args, **kwargs)
        self._names = list(queues)
        self._first_seen: dict[str, float] = {}
        self._sweep_at = 0.0
        self._dead: set[str] = set()  # workers that died holding a job not yet put back (Redis was down)

    @property
    def queues(self) -> list[Queue]:
        """The lane's queues with signpost's serializer (rq's pool makes them with its default)."""
        return [sending.queue(name, self.connection) for name in self._names]

    def check_workers(self, respawn: bool = True) -> None:
        super().check_workers(respawn)
        self._recover_dead()
        now = time.monotonic()
        if now < self._sweep_at:
            return
        self._sweep_at = now + SWEEP_EVERY
        try:
            for queue in self.queues:
                requeue_stuck(queue, self._first_seen, now)
        except redis.RedisError as exc:
            log.error("stuck-job sweep skipped: redis unavailable (%s)", type(exc).__name__)

    def handle_dead_worker(self, worker_data: WorkerData) -> None:
        super().handle_dead_worker(worker_data)
        if self.status != self.Status.STOPPED:
            log.warning("worker process %s died: recovering its job", worker_data.pid)
            self._dead.add(worker_data.name)
            self._recover_dead()

    def _recover_dead(self) -> None:
        # Workers die together when Redis goes away: their jobs are put back as soon as it answers again.
        for name in list(self._dead):
            try:
                for queue in self.queues:
                    recover_job_of(queue, name)
            except redis.RedisError as exc:
                log.error("recovery of worker %s's job waits: redis unavailable (%s)", name[:8], type(exc).__name__)
                return
            self._dead.discard(name)


def lanes(concurrency: int) -> dict[str, int]:
    """Worker processes per queue for `concurrency` in all: a third for relay, a quarter for urgent (one each
    at least), the rest for routine replies (one at least). Relay gets the most: a burst of relay texts must
    keep its line's cap busy even when every send is slow because the machine is."""
    relay, urgent = max(1, concurrency // 3), max(1, concurrency // 4)
    return {RELAY: relay, URGENT: urgent, "replies": max(1, concurrency - relay - urgent)}


def _run_lane(queue: str, workers: int, connect: Callable[[], redis.Redis], burst: bool, level: str) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the pool installs its own handlers on start
    pool = SignpostPool([queue], connection=connect(), num_workers=workers, worker_class=SignpostWorker,
                        serializer=SERIALIZER)
    pool.start(burst=burst, logging_level=level)


def run(connect: Callable[[], redis.Redis], concurrency: int, burst: bool = False, level: str = "INFO",
        queues: Iterable[str] = ORDER) -> None:
    """Run one pool per queue in its own process until SIGTERM/SIGINT; a lane that dies is started again."""
    sizes = lanes(concurrency)
    ctx = multiprocessing.get_context("fork")  # each lane inherits this process's settings
    running: dict[str, multiprocessing.process.BaseProcess] = {}
    stopping = False

    def start(queue: str) -> None:
        process = ctx.Process(target=_run_lane, args=(queue, sizes[queue], connect, burst, level),
                              name=f"signpost-{queue}", daemon=False)
        process.start()
        running[queue] = process

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for process in running.values():
            if process.is_alive():
                process.terminate()  # SIGTERM: the pool stops its workers after their current job

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for queue in queues:
        start(queue)
    while running:
        for queue, process in list(running.items()):
            process.join(0.5)
            if process.is_alive():
                continue
            del running[queue]
            if not stopping and not burst:
                log.error("the %s lane stopped (exit %s): starting it again", queue, process.exitcode)
                time.sleep(1)
                start(queue)
