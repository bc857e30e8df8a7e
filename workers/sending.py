"""The send job: one SMS out through the real twilio client (or the development outbox).

`gateway.sending.enqueue_send` queues it; its queue decides its priority and its retry policy.
"""

from __future__ import annotations

import functools
import logging
import time

from rq import get_current_job
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from gateway import sending, settings
from gateway.ops import metrics
from gateway.phone import mask, scrub
from gateway.reports import counters
from gateway.texts import msglog, optouts
from workers import pacing

log = logging.getLogger("signpost.workers")

HTTP_TIMEOUT = 15.0
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


@functools.lru_cache(maxsize=4)
def twilio_client(account_sid: str, auth_token: str, base_url: str = "") -> Client:
    """One client per credentials in each worker process, so HTTP connections are kept alive between sends."""
    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=HTTP_TIMEOUT))
    if base_url:
        client.api.base_url = base_url.rstrip("/")
    return client


def send_sms(to: str, from_: str, body: str, ref: str) -> str:
    """Send one SMS; returns the Message SID ('outbox' in development). Transient errors escape to be retried."""
    s = settings.current()
    job = get_current_job()
    r = job.connection
    if not s.twilio_configured:
        sending.push_outbox(r, {"to": to, "from": from_, "body": body, "ref": ref, "at": time.time()})
        msglog.record_outbound(r, s, "outbox", to, from_, len(body), ref, "outbox")
        print(f"[outbox] to={mask(to)} from={from_} ref={ref}\n{body}\n", flush=True)
        return "outbox"

    client = twilio_client(s.twilio_account_sid, s.twilio_auth_token, s.twilio_api_base_url)
    extra = {"status_callback": s.status_callback} if s.status_callback else {}
    # Never more than the sender's cap per second, across all workers (workers/pacing.py).
    pacing.pace(r, s.keywords_file, from_, job.origin)
    try:
        message = client.messages.create(to=to, from_=from_, body=body, **extra)
    except TwilioRestException as exc:
        if exc.code in PERMANENT:
            metrics.count_send(r, "refused", exc.code)
            if exc.code == OPTED_OUT:
                optouts.record_optout(r, from_, to, reason="twilio 21610")
                counters.count(r, ["optout"])
            job.retries_left = 0  # RQ retries from retries_left: zero makes this failure final
            log.warning("send refused ref=%s to=%s code=%s: not retried", ref, mask(to), exc.code)
            raise PermanentSendError(exc.status, exc.code, ref, exc.msg) from None
        metrics.count_send(r, "failed" if not job.retries_left else "retry", exc.code)
        log.warning("send failed ref=%s to=%s status=%s code=%s: will retry", ref, mask(to), exc.status, exc.code)
        # Re-raised without the original: its text and URL name the recipient.
        raise SendError(exc.status, exc.code, ref, exc.msg) from None
    except Exception:
        metrics.count_send(r, "failed" if not job.retries_left else "retry", "network")
        raise
    metrics.count_send(r, "sent")
    msglog.record_outbound(r, s, message.sid, to, from_, len(body), ref, message.status)
    log.info("sent ref=%s sid=%s to=%s segments=%s", ref, message.sid, mask(to), message.num_segments)
    return message.sid
