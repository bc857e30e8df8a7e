"""Relay jobs: repeat unacknowledged cases to the control room, and never let a failed forward go silent."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import redis
from rq import get_current_job
from rq.job import Job

from gateway import sending, settings
from gateway.keywords import versions
from gateway.phone import classify
from gateway.relay import cases, line
from gateway.reports import counters

log = logging.getLogger("signpost.workers.relay")

def texter_text(r: redis.Redis, relay_line: str, which: str, case_id: str) -> str:
    """line.texter_text with the worker's live book of `r`."""
    return line.texter_text(lambda: versions.live_book(r, settings.current().keywords_file).get(),
                            relay_line, which, case_id, log)


def escalate(case_id: str, round: int) -> str:
    """Repeat an unacknowledged case's forward; from round RELAY_ESCALATE_TIERS_AFTER+1 alert tier two too."""
    s = settings.current()
    r = get_current_job().connection
    case = cases.get(r, case_id)
    if case is None or case.state != cases.NEW:
        return "stopped"
    q = sending.queue(sending.RELAY, r)
    waited = int(time.time() - case.opened_at)
    text = "\n".join(case.inbound_texts())
    label = f"UNACKNOWLEDGED {waited}s, reminder {round}"
    bodies = line.forward_bodies(case.id, case.texter, case.opened_at, text, label)
    numbers = s.relay_forward_to
    tier2 = round > s.relay_escalate_tiers_after and s.relay_escalate_to
    if tier2:
        numbers = numbers + tuple(n for n in s.relay_escalate_to if n not in numbers)
    # The round that reaches the second tier, whether or not one is configured.
    tell_texter = round == s.relay_escalate_tiers_after + 1 and classify(case.texter).answerable
    with r.pipeline(transaction=False) as p:
        line.forward(q, numbers, case.line, case.id, bodies, f"esc-{case.id}-{round}", pipeline=p)
        if tell_texter:
            line.enqueue_relay_send(q, case.texter, case.line, texter_text(r, case.line, "unread", case.id),
                                    f"unread-{case.id}-texter", case.id, pipeline=p)
        p.execute()
    fields: dict[str, Any] = {"repeats": round}
    reported = ["cases:realerted"] if round == 1 else []
    if tier2 and case.tier2_alerted_at is None:
        fields["tier2_alerted_at"] = time.time()
        reported.append("cases:tier2")
    counters.count(r, reported, at=case.opened_at)  # on the day the case opened, as the reports count cases
    cases.mark(r, case.id, **fields)
    cases.add_note(r, case.id, f"reminder {round} sent" + (" (second tier alerted)" if tier2 else "")
                   + ("; texter told it is not read yet" if tell_texter else ""))
    q.enqueue_in(timedelta(seconds=s.relay_escalate_after), line.ESCALATE_JOB, case_id=case.id,
                 round=round + 1, job_id=f"escalate-{case.id}-{round + 1}")
    log.warning("relay case=%s unacknowledged after %ss: reminder %s%s", case.id, waited, round,
                " with second tier" if tier2 else "")
    return "tier2" if tier2 else "repeated"


def forward_failed(job: Job, connection: redis.Redis, exc_type: Any, exc: Any, tb: Any) -> None:
    """RQ failure callback of a forward: on its final failure alert tier two and tell the texter to call 999."""
    if job.retries_left:
        return  # RQ will try this send again
    case_id = (job.meta or {}).get("case")
    case = cases.get(connection, case_id) if case_id else None
    if case is None:
        return
    # One warning per case, however many forward parts fail.
    if not connection.set(cases.forward_failed_key(case.id), "1", nx=True, ex=7 * 24 * 3600):
        return
    s = settings.current()
    q = sending.queue(sending.RELAY, connection)
    alert = (f"RELAY FAILURE: case {case.id} from {case.texter} could not be forwarded to the control room "
             f"({exc_type.__name__ if exc_type else 'error'}). Contact the texter now.\n"
             + "\n".join(case.inbound_texts())[:1000])
    with connection.pipeline(transaction=False) as p:
        for k, number in enumerate(s.relay_escalate_to):
            line.enqueue_relay_send(q, number, case.line, alert, f"fail-{case.id}-n{k}",
                                    case.id, pipeline=p)
        if classify(case.texter).answerable:
            warning = texter_text(connection, case.line, "failed", case.id)
            line.enqueue_relay_send(q, case.texter, case.line, warning, f"fail-{case.id}-texter", case.id,
                                    pipeline=p)
        p.execute()
    cases.mark(connection, case.id, forward_failed_at=time.time())
    cases.add_note(connection, case.id, "forward failed after retries: second tier alerted, texter told")
    log.error("relay case=%s forward failed after all retries: tier two alerted, texter told", case.id)
