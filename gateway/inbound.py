"""What happens to one inbound text after its decision: dedupe, opt-out state, replies, relay cases, alerts."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import redis
from rq import Queue
from rq.job import Job

from gateway import cases, intake, msglog, queues, relay, store
from gateway.engine import Decision
from gateway.keywordbook import KeywordBook
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
    """What the webhook did with a text, for the log line."""

    action: str  # queued, duplicate, opted-out, optout-recorded, optin-recorded, case-opened, ack-done, ...
    queue: str | None = None
    logged: bool = False  # the message-log entry was written with it


@dataclass(frozen=True)
class Context:
    """Everything a handler needs besides the text and its decision."""

    r: redis.Redis
    queues: dict[str, Queue]
    settings: Mapping[str, Any]
    book: KeywordBook


def queue_for(decision: Decision) -> str:
    """Urgency order: relay work first, then danger replies, then everything else."""
    if decision.relay:
        return queues.RELAY
    return queues.URGENT if decision.danger else queues.REPLIES


def danger_alert(msg: Inbound, decision: Decision, at: float) -> list[str]:
    """The staff alert for a text with a danger phrase: full number (staff need it), number texted, text."""
    head = f"DANGER words ({decision.danger_phrase}) from {msg.texter} to {msg.ours} at {relay.clock(at)}"
    return relay.staff_bodies(head, msg.body)


def reply_jobs(ctx: Context, msg: Inbound, decision: Decision) -> list[tuple[Queue, Job]]:
    """The reply to the texter, and for a danger phrase the staff alerts, as RQ jobs not yet stored."""
    q = ctx.queues[queue_for(decision)]
    jobs = [(q, intake.send_job(q, msg.texter, msg.ours, decision.reply or "", f"reply-{msg.message_sid}"))]
    if decision.danger:
        urgent = ctx.queues[queues.URGENT]
        for number in ctx.settings["ALERT_TO"]:
            for i, body in enumerate(danger_alert(msg, decision, time.time())):
                ref = f"alert-{msg.message_sid}-{number.lstrip('+')}-{i}"
                jobs.append((urgent, intake.send_job(urgent, number, msg.ours, body, ref)))
    return jobs


def _send_reply(ctx: Context, msg: Inbound, decision: Decision) -> Outcome:
    """Keyword, default and help replies: one Redis round trip (dedupe, opt-out, queue, message log)."""
    fields = msglog.inbound_fields(ctx.settings, msg.message_sid, msg.texter, msg.ours, len(msg.body),
                                   decision.kind, decision.keyword, "")
    action = intake.submit(ctx.r, ctx.settings, msg.message_sid, msg.texter, msg.ours,
                           reply_jobs(ctx, msg, decision), fields)
    return Outcome(action, queue_for(decision) if action == "queued" else None, logged=action != "duplicate")


def _confirm(ctx: Context, msg: Inbound, decision: Decision, kind: str) -> str | None:
    """Queue the gateway's own opt-out/opt-in confirmation, for numbers where Twilio's handling is off."""
    if not (ctx.settings["SEND_OPT_CONFIRMATIONS"] and decision.confirmation):
        return None
    queues.enqueue_send(ctx.queues[queues.REPLIES], msg.texter, msg.ours, decision.confirmation,
                        f"{kind}-{msg.message_sid}")
    return queues.REPLIES


def _also_to_case(ctx: Context, msg: Inbound, decision: Decision) -> bool:
    """On a relay line a one-word text ("end", "stop") may be an answer to the control room: thread it in."""
    if not decision.relay:
        return False
    if ctx.r.exists(cases.open_key(msg.ours, msg.texter)):
        _relay(ctx, msg, decision)
        return True
    return False


def _optout(ctx: Context, msg: Inbound, decision: Decision) -> Outcome:
    # The confirmation is queued before the opt-out is recorded: it is the last message they get.
    name = _confirm(ctx, msg, decision, "optout")
    store.record_optout(ctx.r, msg.ours, msg.texter, reason="texted " + (decision.keyword or "STOP"))
    threaded = _also_to_case(ctx, msg, decision)
    return Outcome("optout-recorded" + ("+case" if threaded else ""), name)


def _optin(ctx: Context, msg: Inbound, decision: Decision) -> Outcome:
    store.clear_optout(ctx.r, msg.ours, msg.texter)
    name = _confirm(ctx, msg, decision, "optin")
    threaded = _also_to_case(ctx, msg, decision)
    return Outcome("optin-recorded" + ("+case" if threaded else ""), name)


def _relay(ctx: Context, msg: Inbound, decision: Decision) -> Outcome:
    if msg.texter in relay.control_room(ctx.settings):
        return Outcome(relay.handle_command(ctx.r, ctx.queues, ctx.settings, msg.ours, msg.texter, msg.body,
                                            msg.message_sid), queues.RELAY)
    if relay.COMMAND.match(msg.body):
        # A command word from a number outside the control room is a texter's message like any other.
        log.warning("relay command from a number not in the control room lists: treated as a case message "
                    "from=%s", mask(msg.texter))
    _, new = relay.handle_texter(ctx.r, ctx.queues, ctx.settings, msg.ours, msg.texter, msg.body,
                                 msg.message_sid, ctx.book.relay_ack(msg.ours))
    return Outcome("case-opened" if new else "case-threaded", queues.RELAY)


REPLY_KINDS = frozenset({"keyword", "default", "help"})
HANDLERS: dict[str, Callable[[Context, Inbound, Decision], Outcome]] = {
    "keyword": _send_reply,
    "default": _send_reply,
    "help": _send_reply,
    "optout": _optout,
    "optin": _optin,
    "relay": _relay,
}


def handle(ctx: Context, msg: Inbound, decision: Decision) -> Outcome:
    """Run the handler for the decision's kind, once per MessageSid; opted-out texters get no reply."""
    if decision.kind in REPLY_KINDS:
        # Dedupe, the opt-out check and queueing are one atomic Redis call (gateway/intake.py).
        return HANDLERS[decision.kind](ctx, msg, decision)
    # Opt-out, opt-in and relay texts are handled whatever the texter's opt-out state: a relay text must
    # reach the control room even from someone we may not answer.
    if not ctx.r.set(store.seen_key(msg.message_sid), "1", nx=True, ex=store.SEEN_TTL):
        return Outcome("duplicate")
    try:
        return HANDLERS[decision.kind](ctx, msg, decision)
    except Exception:
        # Not handled: let Twilio's retry (or the inline fallback) answer it rather than mark it seen.
        with contextlib.suppress(redis.RedisError):
            ctx.r.delete(store.seen_key(msg.message_sid))
        raise


def inline_messages(settings: Mapping[str, Any], book: KeywordBook, msg: Inbound,
                    decision: Decision) -> list[tuple[str | None, str]]:
    """What to answer straight in the TwiML when Redis is down: (to, body) pairs, to=None for the texter."""
    now = time.time()
    if decision.kind == "relay":
        if msg.texter in relay.control_room(settings):
            return [(None, "Case commands are unavailable right now (system degraded); try again shortly.")]
        # No case can be recorded: Twilio itself delivers the forward to every control-room number.
        bodies = relay.forward_bodies("UNLOGGED", msg.texter, now, msg.body, "emergency text (system degraded)")
        numbers = settings["RELAY_FORWARD_TO"] + settings["RELAY_ESCALATE_TO"]
        return [(None, book.relay_ack(msg.ours))] + [(n, b) for n in numbers for b in bodies]
    if decision.kind in ("optout", "optin"):
        return []
    out: list[tuple[str | None, str]] = [(None, decision.reply or "")]
    if decision.danger:
        out += [(n, b) for n in settings["ALERT_TO"] for b in danger_alert(msg, decision, now)]
    return out


def describe(msg: Inbound) -> str:
    """Log fields for one inbound text, with the number masked and no body."""
    return f"sid={msg.message_sid} from={mask(msg.texter)} to={msg.ours} chars={len(msg.body)}"
