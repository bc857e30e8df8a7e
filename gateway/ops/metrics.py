"""Prometheus metrics at `GET /metrics`.

Two sources, one page:

* In the web processes (prometheus_client; multiprocess mode under gunicorn when PROMETHEUS_MULTIPROC_DIR
  is set, see deploy/gunicorn.conf.py): inbound texts by receiving number and decision, webhook latency, and
  the webhooks' answers by path and HTTP status. Each sending number's cap (messages per second) comes from
  the keywords in service.
* Read from Redis at scrape time, so every web node shows the same figures for work done on any machine:
  queue depth and oldest job age per queue, scheduled retries and failed jobs per queue, sends by outcome
  and Twilio error code (counted by the send job in a Redis hash), send attempts per sending number, retries,
  live workers, open relay cases and the age of the oldest unacknowledged one.

Labels never hold a texter's number or any message text. The `number` label is one of our own receiving
numbers as written in keywords.yaml (published short codes and lines); a text to any other `To` is
counted as `other`, which also keeps the label set small.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, get_args

import redis
from flask import Blueprint, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from rq import Worker, get_current_job
from rq.registry import FailedJobRegistry, ScheduledJobRegistry

from gateway import redisdb, sending
from gateway.phone import Kind
from gateway.redisdb import PREFIX
from gateway.relay import cases
from gateway.reports import counters
from gateway.sending import ORDER

log = logging.getLogger("signpost.metrics")
bp = Blueprint("metrics", __name__)

SENDS_KEY = PREFIX + "metrics:sends"  # hash "outcome|code" -> count, written by the send job
SENDER_SENDS_KEY = PREFIX + "metrics:sender-sends"  # hash sending number -> send attempts, written by the send job
UNACK_SCAN = 200  # open cases looked at, oldest first, to find the oldest unacknowledged one

# Our own registry: metric objects are created once per process; the page is built per scrape.
LOCAL = CollectorRegistry(auto_describe=True)
INBOUND = Counter("signpost_inbound_texts", "Inbound texts by receiving number and decision",
                  ["number", "decision"], registry=LOCAL)
UNANSWERABLE = Counter("signpost_unanswerable_senders", "Inbound texts from senders that cannot receive SMS, by kind",
                       ["kind"], registry=LOCAL)
for _kind in get_args(Kind):  # at zero from the start, like the 5xx counters below
    if _kind != "phone":
        UNANSWERABLE.labels(_kind)
WEBHOOK_SECONDS = Histogram("signpost_webhook_duration_seconds", "Time to answer POST /sms",
                            buckets=(.002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10), registry=LOCAL)
RESPONSES = Counter("signpost_webhook_responses", "Answers to Twilio's webhooks by path and HTTP status",
                    ["path", "status"], registry=LOCAL)
# Shown at zero from the start, so that the first 5xx is an increase Prometheus can see.
for _path, _statuses in {"/sms": ("200", "400", "403", "500"),
                         "/sms/status": ("204", "400", "403", "500", "503")}.items():
    for _status in _statuses:
        RESPONSES.labels(_path, _status)


def decision_label(decision: Any) -> str:
    """keyword, default, help, opt-out, opt-in, relay or danger (danger wins over the keyword it came with)."""
    if decision.kind == "relay":
        return "relay"
    if decision.danger:
        return "danger"
    return {"optout": "opt-out", "optin": "opt-in"}.get(decision.kind, decision.kind)


def number_label(book: Any, ours: str) -> str:
    """Our receiving number as configured, or 'other' for a number not in the keyword file."""
    config = book.number_config(ours)
    return config.number if config.known else "other"


def observe_inbound(book: Any, ours: str, decision: Any, seconds: float) -> None:
    """Count one answered inbound text and its webhook time. Never raises."""
    try:
        INBOUND.labels(number_label(book, ours), decision_label(decision)).inc()
        WEBHOOK_SECONDS.observe(seconds)
    except Exception:  # metrics must never cost a reply
        log.exception("metrics: could not record an inbound text")


def count_unanswerable(kind: str) -> None:
    """Count one text from a sender we cannot answer (alphanumeric, short_code, local_only, invalid, missing)."""
    try:
        UNANSWERABLE.labels(kind).inc()
    except Exception:  # metrics must never cost a reply
        log.exception("metrics: could not count an unanswerable sender")


def count_response(path: str, status: int) -> None:
    """Count one answer to a Twilio webhook (`path` is the route, never the query). Never raises."""
    try:
        RESPONSES.labels(path, str(status)).inc()
    except Exception:  # metrics must never cost a reply
        log.exception("metrics: could not count a webhook answer")


def job_sender() -> str | None:
    """The number the send job running in this process sends from (its `from_`), or None outside a job."""
    job = get_current_job()
    sender = (job.kwargs or {}).get("from_") if job is not None else None
    return sender if isinstance(sender, str) and sender else None


def count_send(r: redis.Redis, outcome: str, code: int | str | None = None, sender: str | None = None) -> None:
    """Count one send attempt's outcome (sent, retry, failed, refused) with its Twilio error code, and one
    attempt for its sending number (by default the running send job's): each took a slot of that number's cap."""
    daily = [] if outcome == "retry" else [outcome] + ([f"err:{code}"] if code and outcome != "sent" else [])
    sender = sender or job_sender()
    try:
        with r.pipeline(transaction=False) as p:
            p.hincrby(SENDS_KEY, f"{outcome}|{code or ''}", 1)
            if sender:
                p.hincrby(SENDER_SENDS_KEY, sender, 1)
            if daily:
                counters.count(p, daily)  # the reports' figures per day
            p.execute()
    except redis.RedisError:
        pass  # the send itself matters; a lost count does not


def queue_stats(r: redis.Redis, now: float | None = None) -> dict[str, dict[str, float]]:
    """Per queue: depth, oldest waiting job's age (s), scheduled retries, failed jobs (RQ's public API)."""
    now = time.time() if now is None else now
    stats: dict[str, dict[str, float]] = {}
    for name in ORDER:
        queue = sending.queue(name, r)
        head = queue.get_jobs(0, 1)
        oldest = max(0.0, now - head[0].enqueued_at.timestamp()) if head and head[0].enqueued_at else 0.0
        stats[name] = {"depth": queue.count, "oldest_age": oldest,
                       "scheduled": ScheduledJobRegistry(queue=queue).count,
                       "failed": FailedJobRegistry(queue=queue).count}
    return stats


def live_workers(r: redis.Redis, max_age: float = 130.0, now: float | None = None) -> int:
    """RQ workers whose heartbeat is recent (an idle worker beats every ~15 s, a busy one every job)."""
    now = time.time() if now is None else now
    return sum(1 for worker in Worker.all(connection=r)
               if worker.last_heartbeat and now - worker.last_heartbeat.timestamp() <= max_age)


def relay_stats(r: redis.Redis, now: float | None = None) -> tuple[int, float]:
    """(open relay cases, age in seconds of the oldest still unacknowledged one, 0 if none)."""
    now = time.time() if now is None else now
    total = r.zcard(cases.OPEN_INDEX)
    oldest = r.zrange(cases.OPEN_INDEX, 0, UNACK_SCAN - 1, withscores=True)
    if not oldest:
        return total, 0.0
    with r.pipeline(transaction=False) as p:
        for case_id, _ in oldest:
            p.hget(cases.case_key(case_id.decode()), "state")
        states = p.execute()
    for (_, opened_at), state in zip(oldest, states, strict=True):
        if state == cases.NEW.encode():
            return total, max(0.0, now - opened_at)
    return total, 0.0


class RedisCollector:
    """Figures read from Redis at scrape time; nothing is scraped if Redis does not answer."""

    def __init__(self, r: redis.Redis, book: Any = None) -> None:
        self.r = r
        self.book = book

    def sender_label(self, sender: str) -> str:
        """A sending number as written in the keywords (as for the cap), 'other' for one not in them."""
        return number_label(self.book, sender) if self.book is not None else sender

    def collect(self):
        up = GaugeMetricFamily("signpost_redis_up", "1 if Redis answered this scrape")
        try:
            stats = queue_stats(self.r)
            workers = live_workers(self.r)
            open_cases, unack_age = relay_stats(self.r)
            sends = self.r.hgetall(SENDS_KEY)
            by_sender = self.r.hgetall(SENDER_SENDS_KEY)
        except redis.RedisError:
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        families = {
            "depth": GaugeMetricFamily("signpost_queue_depth", "Jobs waiting in each queue", labels=["queue"]),
            "oldest_age": GaugeMetricFamily("signpost_queue_oldest_job_age_seconds",
                                            "Age of the oldest job waiting in each queue", labels=["queue"]),
            "scheduled": GaugeMetricFamily("signpost_queue_scheduled_jobs",
                                           "Jobs waiting for a retry time in each queue", labels=["queue"]),
            "failed": GaugeMetricFamily("signpost_queue_failed_jobs",
                                        "Jobs in each queue's failed registry", labels=["queue"]),
        }
        for name, figures in stats.items():
            for field, family in families.items():
                family.add_metric([name], figures[field])
        yield from families.values()
        send_family = CounterMetricFamily("signpost_sends", "Send attempts by outcome and Twilio error code",
                                          labels=["outcome", "code"])
        retries = 0.0
        for field, count in sorted(sends.items()):
            outcome, _, code = field.decode().partition("|")
            send_family.add_metric([outcome, code], float(count))
            if outcome == "retry":
                retries += float(count)
        yield send_family
        yield CounterMetricFamily("signpost_send_retries", "Send attempts that failed and will be retried",
                                  value=retries)
        per_sender: dict[str, float] = {}
        for sender, count in by_sender.items():
            label = self.sender_label(sender.decode())
            per_sender[label] = per_sender.get(label, 0.0) + float(count)
        sender_family = CounterMetricFamily("signpost_sender_sends",
                                            "Send attempts handed to Twilio per sending number (each takes a slot "
                                            "of the number's cap)", labels=["number"])
        for label, count in sorted(per_sender.items()):
            sender_family.add_metric([label], count)
        yield sender_family
        yield GaugeMetricFamily("signpost_workers_live", "RQ workers with a recent heartbeat", value=workers)
        yield GaugeMetricFamily("signpost_relay_open_cases", "Relay cases not closed", value=open_cases)
        seen = redisdb.view()
        primary = GaugeMetricFamily("signpost_redis_primary", "The Redis primary this web process uses (1)",
                                    labels=["address"])
        primary.add_metric([seen["primary"]], 1)
        yield primary
        yield CounterMetricFamily("signpost_redis_failovers", "Changes of Redis primary this web process has seen",
                                  value=seen["failovers"])
        yield GaugeMetricFamily("signpost_relay_oldest_unacknowledged_age_seconds",
                                "Age of the oldest relay case nobody has acknowledged (0: none)", value=unack_age)


class CapCollector:
    """Each of our numbers' sending cap from the keywords in service (workers/pacing.py paces to it)."""

    def __init__(self, book: Any) -> None:
        self.book = book

    def collect(self):
        family = GaugeMetricFamily("signpost_sender_cap_per_second",
                                   "Messages per second each of our numbers may send (rate_per_second in the "
                                   "keywords; the pacer keeps 2% under it)", labels=["number"])
        for config in (self.book.numbers.values() if self.book is not None else ()):
            family.add_metric([config.number], config.rate_per_second)
        yield family


def multiprocess_dir() -> str:
    """PROMETHEUS_MULTIPROC_DIR as prometheus_client reads it (from the environment, at import)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def render(r: redis.Redis, book: Any = None) -> bytes:
    """The whole /metrics page (`book`: the keywords in service, for the senders' caps and labels)."""
    if multiprocess_dir():
        local = CollectorRegistry()
        MultiProcessCollector(local)
    else:
        local = LOCAL
    shared = CollectorRegistry(auto_describe=False)
    shared.register(RedisCollector(r, book))
    shared.register(CapCollector(book))
    return generate_latest(local) + generate_latest(shared)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text format."""
    from gateway.runtime import signpost

    sp = signpost()
    return Response(render(sp.redis, sp.book), mimetype=CONTENT_TYPE_LATEST.split(";")[0],
                    headers={"Content-Type": CONTENT_TYPE_LATEST})
