"""The send job: one SMS out through the twilio client (or the development outbox)."""

from __future__ import annotations

import logging
import time

import redis
from rq import get_current_job
from twilio.base.exceptions import TwilioRestException

from gateway import config, metrics, msglog, store
from gateway.privacy import mask, scrub
from workers import pacing
from workers.twilio_client import twilio_client

log = logging.getLogger("signpost.workers")

OPTED_OUT = 21610
# Retrying cannot help: a bad or unreachable recipient, or a sender that cannot send there.
PERMANENT = frozenset({OPTED_OUT, 21211, 21614, 21408, 21606, 21617, 21602, 21603, 21604})


class SendError(Exception):
    """Twilio refused a send; retried by RQ. The text holds no phone number."""

    def __init__(self, status: int, code: int | None, ref: str, reason: str) -> None:
        super().__init__(f"twilio HTTP {status} error {code} for {ref}: {scrub(reason)}")
        self.status = status
        self.code = code


class PermanentSendError(SendError):
    """Twilio refused the message for a reason retrying cannot fix; never retried."""


def _connection() -> redis.Redis:
    job = get_current_job()
    if job is not None:
        return job.connection
    return redis.Redis.from_url(config.load()["REDIS_URL"])


def _stop_retrying() -> None:
    # RQ decides to retry from the job's retries_left; zero makes this failure final.
    job = get_current_job()
    if job is not None:
        job.retries_left = 0


def send_sms(to: str, from_: str, body: str, ref: str) -> str:
    """Send one SMS; returns the Message SID ('outbox' in development). Transient errors escape to be retried."""
    settings = config.load()
    r = _connection()
    if not config.twilio_configured(settings):
        store.push_outbox(r, {"to": to, "from": from_, "body": body, "ref": ref, "at": time.time()})
        msglog.record_outbound(r, settings, "outbox", to, from_, len(body), ref, "outbox")
        print(f"[outbox] to={mask(to)} from={from_} ref={ref}\n{body}\n", flush=True)
        return "outbox"

    client = twilio_client(
        settings["TWILIO_ACCOUNT_SID"], settings["TWILIO_AUTH_TOKEN"], settings["TWILIO_API_BASE_URL"]
    )
    extra = {}
    if settings["PUBLIC_URL"]:
        extra["status_callback"] = settings["PUBLIC_URL"].rstrip("/") + "/sms/status"
    job = get_current_job()
    # Never more than the sender's cap per second, across all workers (workers/pacing.py).
    pacing.pace(r, settings["KEYWORDS_FILE"], from_, job.origin if job is not None else None)
    try:
        message = client.messages.create(to=to, from_=from_, body=body, **extra)
    except TwilioRestException as exc:
        if exc.code in PERMANENT:
            metrics.count_send(r, "refused", exc.code)
            if exc.code == OPTED_OUT:
                store.record_optout(r, from_, to, reason="twilio 21610")
            _stop_retrying()
            log.warning("send refused ref=%s to=%s code=%s: not retried", ref, mask(to), exc.code)
            raise PermanentSendError(exc.status, exc.code, ref, exc.msg) from None
        metrics.count_send(r, "failed" if job is not None and not job.retries_left else "retry", exc.code)
        log.warning("send failed ref=%s to=%s status=%s code=%s: will retry", ref, mask(to), exc.status, exc.code)
        # Re-raised without the original: its text and URL name the recipient.
        raise SendError(exc.status, exc.code, ref, exc.msg) from None
    except Exception:
        metrics.count_send(r, "failed" if job is not None and not job.retries_left else "retry", "network")
        raise
    metrics.count_send(r, "sent")
    ttl = settings["RETENTION_DAYS"] * 24 * 3600
    store.record_status(r, message.sid, {"status": message.status, "ref": ref, "at": time.time()}, ttl)
    msglog.record_outbound(r, settings, message.sid, to, from_, len(body), ref, message.status)
    log.info("sent ref=%s sid=%s to=%s segments=%s", ref, message.sid, mask(to), message.num_segments)
    return message.sid
