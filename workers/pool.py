"""The worker pool `python -m workers` runs, and recovery of jobs held by a worker that died.

Why SimpleWorker in an rq WorkerPool: rq's default `Worker` forks a work horse for every job (measured
~70 no-op jobs/s on this kind of machine), which alone is below the 100 sends/s a short code allows.
`SimpleWorker` runs the job in its own process (~200 jobs/s each); the pool runs N of them as separate
processes (parallelism across cores, and while one waits on Twilio's HTTP answer or its pacing slot the
others send), restarts any that dies, and runs rq's scheduler for retries. A job cannot bring its worker
down by leaking state because jobs here are plain functions of their arguments. The cost of no fork: a job
that hangs is only stopped by the job timeout (60 s, SIGALRM in the worker process).

Recovery: a worker killed with SIGKILL (or a machine lost) leaves its job in the StartedJobRegistry. rq
only notices after the job's heartbeat TTL and its next maintenance pass (every 10 minutes by default),
and then counts it as a failed attempt. Here the pool recovers such jobs itself, at the front of their queue
and without spending a retry: at once for a pool child that died, and by a scan every RECOVER_EVERY
seconds (and at start) for workers whose registration expired or whose process is gone from this host.
A send that was in flight at the kill may be sent twice; that is the price of never losing one.
"""

from __future__ import annotations

import logging
import os
import socket
import time

import redis
from rq import Queue, SimpleWorker
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry
from rq.worker_pool import WorkerData, WorkerPool
from rq.worker_registration import REDIS_WORKER_KEYS, WORKERS_BY_QUEUE_KEY

from gateway.sending import ORDER

log = logging.getLogger("signpost.workers.pool")

WORKER_TTL = 30  # idle workers beat every 15 s; readiness and recovery see a dead one within ~90 s
RECOVER_EVERY = 15.0


class SignpostWorker(SimpleWorker):
    """A SimpleWorker with a short heartbeat, so a lost worker is seen within a minute and a half."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("worker_ttl", WORKER_TTL)
        super().__init__(*args, **kwargs)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_gone(r: redis.Redis, name: str, host: str | None = None) -> bool:
    """True when worker `name` is certainly not running: no live registration, or its pid is gone here."""
    data = r.hmget(f"rq:worker:{name}", "hostname", "pid")
    hostname, pid = (v.decode() if v else None for v in data)
    if hostname is None and pid is None:
        return True  # registration expired: no heartbeat for worker_ttl + 60 s (or job timeout + 60 s)
    host = socket.gethostname() if host is None else host
    return hostname == host and pid is not None and pid.isdigit() and not _pid_alive(int(pid))


def forget_worker(r: redis.Redis, name: str) -> None:
    """Drop a dead worker's registration (so readiness does not count it as alive)."""
    key = f"rq:worker:{name}"
    with r.pipeline(transaction=False) as p:
        p.delete(key)
        p.srem(REDIS_WORKER_KEYS, key)
        for queue in ORDER:
            p.srem(WORKERS_BY_QUEUE_KEY % queue, key)
        p.execute()


def recover_orphans(r: redis.Redis, dead: frozenset[str] = frozenset()) -> list[str]:
    """Put back at the front of their queue the started jobs whose worker is dead; returns their ids."""
    recovered = []
    verdicts: dict[str, bool] = {}
    for name in ORDER:
        queue = Queue(name, connection=r)
        registry = StartedJobRegistry(queue=queue)
        for entry in r.zrange(registry.key, 0, -1):
            job_id = entry.decode().split(":", 1)[0]
            job = Job.fetch(job_id, connection=r) if r.exists(Job.key_for(job_id)) else None
            if job is None:
                r.zrem(registry.key, entry)
                continue
            worker = job.worker_name or ""
            if worker not in verdicts:
                verdicts[worker] = worker in dead or not worker or worker_gone(r, worker)
            if not verdicts[worker] or job.get_status(refresh=False) != JobStatus.STARTED:
                continue
            # Queued again before it leaves the registry: a crash in between can repeat it, never lose it.
            queue.enqueue_job(job, at_front=True)
            r.zrem(registry.key, entry)
            recovered.append(job_id)
            log.warning("recovered job %s from dead worker %s: queued again at the front of %s", job_id,
                        worker[:8], name)
    return recovered


def lost_queued(r: redis.Redis) -> set[str]:
    """Jobs marked queued that are in no queue: popped by a worker that died (or lost Redis) before it
    recorded the job as started. rq pops with LPOP/BLPOP when a worker serves several queues, so that
    window exists; a Redis shutdown mid-burst hits it. Scans every job hash: run it after trouble only."""
    found = set()
    keys = [k for k in r.scan_iter(match="rq:job:*", count=1000) if k.count(b":") == 2]
    for start in range(0, len(keys), 500):
        batch = keys[start:start + 500]
        with r.pipeline(transaction=False) as p:
            for key in batch:
                p.hmget(key, "status", "origin")
            rows = p.execute()
        queued = [(k.decode()[len("rq:job:"):], origin.decode())
                  for k, (status, origin) in zip(batch, rows, strict=True) if status == b"queued" and origin]
        with r.pipeline(transaction=False) as p:
            for job_id, origin in queued:
                p.lpos(f"rq:queue:{origin}", job_id)
            positions = p.execute()
        found.update(job_id for (job_id, _), pos in zip(queued, positions, strict=True) if pos is None)
    return found


def requeue_lost(r: redis.Redis, suspects: set[str]) -> list[str]:
    """Queue again, at the front, the suspects still queued-but-in-no-queue now (seen twice: not a live pop)."""
    recovered = []
    for job_id in sorted(suspects & lost_queued(r)):
        try:
            job = Job.fetch(job_id, connection=r)
        except Exception:  # noqa: BLE001 - gone meanwhile
            continue
        Queue(job.origin, connection=r).enqueue_job(job, at_front=True)
        recovered.append(job_id)
        log.warning("recovered job %s: it was popped from %s but never started", job_id, job.origin)
    return recovered


class SignpostPool(WorkerPool):
    """rq's WorkerPool, recovering the jobs of a worker that died instead of leaving them to time out."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._recover_at = 0.0
        self._sweeps = 2  # sweeps for popped-but-never-started jobs still to run (two at start)
        self._suspects: set[str] | None = None

    def _recover(self, dead: frozenset[str] = frozenset()) -> None:
        try:
            for name in dead:
                forget_worker(self.connection, name)
            recover_orphans(self.connection, dead)
            if self._sweeps:
                # After a worker death, a Redis outage, or at start: look for popped-but-never-started jobs
                # twice, RECOVER_EVERY apart, and requeue those seen both times.
                if self._suspects is not None:
                    requeue_lost(self.connection, self._suspects)
                    self._sweeps -= 1
                self._suspects = lost_queued(self.connection) if self._sweeps else None
        except redis.RedisError as exc:
            log.error("job recovery skipped: redis unavailable (%s)", type(exc).__name__)
            self._sweeps, self._suspects = 2, None
        if dead:
            self._sweeps = max(self._sweeps, 2)
        self._recover_at = time.monotonic() + RECOVER_EVERY

    def handle_dead_worker(self, worker_data: WorkerData) -> None:
        super().handle_dead_worker(worker_data)
        if self.status != self.Status.STOPPED:
            log.warning("worker process %s died: recovering its jobs", worker_data.pid)
            self._recover(frozenset({worker_data.name}))

    def check_workers(self, respawn: bool = True) -> None:
        super().check_workers(respawn)
        if time.monotonic() >= self._recover_at:
            self._recover()
