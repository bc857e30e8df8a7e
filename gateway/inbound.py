"""What happens to one inbound text after its decision: dedupe, opt-out state, and the queued reply."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
from rq import Queue

from gateway import queues, store
from gateway.engine import Decision
from gateway.privacy import mask

log = logging.getLogger("signpost.inbound")


@dataclass(frozen=True)
class Inbound:
    """One inbound text, its fields already checked."""

    message_sid: str
    texter: str  # E.164
    ours: str  # the number texted, as Twilio gave it
    body: str


@dataclass(frozen=True)
class Outcome:
    """What the webhook did with a text, for the log line and the response."""

    action: str  # queued, duplicate, opted-out, optout-recorded, optin-recorded, nothing
    queue: str | None = None


def queue_for(decision: Decision) -> str:
    """Urgency order: relay work first, then danger replies, then everything else."""
    if decision.relay:
        return queues.RELAY
    return queues.URGENT if decision.danger else queues.REPLIES


def enqueue_send(
    queue: Queue, to: str, from_: str, body: str, ref: str, pipeline: redis.client.Pipeline | None = None
) -> None:
    """Queue one outbound SMS; `ref` names the job so a reply can be traced to its inbound text."""
    queue.enqueue(
        queues.SEND_JOB,
        to=to,
        from_=from_,
        body=body,
        ref=ref,
        job_id=f"send-{ref}",
        retry=queues.send_retry(),
        job_timeout=60,
        result_ttl=24 * 3600,
        failure_ttl=30 * 24 * 3600,
        pipeline=pipeline,
    )


def _send_reply(r: redis.Redis, qs: dict[str, Queue], msg: Inbound, decision: Decision, **_: Any) -> Outcome:
    name = queue_for(decision)
    with r.pipeline(transaction=False) as p:
        enqueue_send(qs[name], msg.texter, msg.ours, decision.reply or "", f"reply-{msg.message_sid}", p)
        p.execute()
    return Outcome("queued", name)


def _confirm(r: redis.Redis, qs: dict[str, Queue], msg: Inbound, decision: Decision, kind: str) -> str | None:
    """Queue the gateway's own opt-out/opt-in confirmation, for numbers where Twilio's handling is off."""
    if not decision.confirmation:
        return None
    with r.pipeline(transaction=False) as p:
        enqueue_send(qs[queues.REPLIES], msg.texter, msg.ours, decision.confirmation, f"{kind}-{msg.message_sid}", p)
        p.execute()
    return queues.REPLIES


def _optout(
    r: redis.Redis, qs: dict[str, Queue], msg: Inbound, decision: Decision, confirm: bool, **_: Any
) -> Outcome:
    # The confirmation is queued before the opt-out is recorded: it is the last message they get.
    name = _confirm(r, qs, msg, decision, "optout") if confirm else None
    store.record_optout(r, msg.ours, msg.texter, reason="texted " + (decision.keyword or "STOP"))
    return Outcome("optout-recorded", name)


def _optin(
    r: redis.Redis, qs: dict[str, Queue], msg: Inbound, decision: Decision, confirm: bool, **_: Any
) -> Outcome:
    store.clear_optout(r, msg.ours, msg.texter)
    name = _confirm(r, qs, msg, decision, "optin") if confirm else None
    return Outcome("optin-recorded", name)


HANDLERS: dict[str, Callable[..., Outcome]] = {
    "keyword": _send_reply,
    "default": _send_reply,
    "help": _send_reply,
    "optout": _optout,
    "optin": _optin,
}


def handle(
    r: redis.Redis, qs: dict[str, Queue], msg: Inbound, decision: Decision, *, confirm: bool,
    handlers: dict[str, Callable[..., Outcome]] | None = None,
) -> Outcome:
    """Dedupe by MessageSid, respect opt-outs, then run the handler for the decision's kind."""
    with r.pipeline(transaction=False) as p:
        p.set(store.seen_key(msg.message_sid), "1", nx=True, ex=store.SEEN_TTL)
        p.hexists(store.optout_key(msg.ours), msg.texter)
        first, opted_out = p.execute()
    if not first:
        return Outcome("duplicate")
    if opted_out and decision.kind not in ("optin", "optout"):
        return Outcome("opted-out")
    try:
        return (handlers or HANDLERS)[decision.kind](r, qs, msg, decision, confirm=confirm)
    except Exception:
        # Not handled: let Twilio's retry (or the inline fallback) answer it rather than mark it seen.
        with contextlib.suppress(redis.RedisError):
            r.delete(store.seen_key(msg.message_sid))
        raise


def describe(msg: Inbound) -> str:
    """Log fields for one inbound text, with the number masked and no body."""
    return f"sid={msg.message_sid} from={mask(msg.texter)} to={msg.ours} chars={len(msg.body)}"
