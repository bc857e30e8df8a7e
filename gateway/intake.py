"""The one place an inbound text changes state: dedupe by MessageSid, opt-out state, jobs, the message log.

Two Redis round trips for a keyword, default, help, opt-out or opt-in text: one pipeline reads whether the
MessageSid is new (`SET NX`: Twilio may post a text twice, the texter gets one answer) and the texter's
opt-out state; one MULTI/EXEC then stores the jobs (RQ's `Queue.enqueue_call` on that pipeline), the
opt-out change and the message-log entry together. Relay texts open or thread a case (`gateway.relay`).
If anything fails after the MessageSid was marked, the mark is taken back and the error escapes: the
webhook then answers inline, and a retry from Twilio is handled afresh.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis
from rq import Queue

from gateway import cases, msglog, queues, relay, store
from gateway.engine import Decision
from gateway.inbound import Inbound, Outcome, plan
from gateway.keywordbook import KeywordBook
from gateway.privacy import mask

log = logging.getLogger("signpost.intake")


@dataclass(frozen=True)
class Context:
    """Everything the intake needs besides the text and its decision."""

    r: redis.Redis
    queues: dict[str, Queue]
    settings: Mapping[str, Any]
    book: KeywordBook


def take(ctx: Context, msg: Inbound, decision: Decision) -> Outcome:
    """Carry out the decision for a text, once per MessageSid."""
    seen = store.seen_key(msg.message_sid)
    with ctx.r.pipeline(transaction=False) as p:
        p.set(seen, "1", nx=True, ex=store.SEEN_TTL)
        p.hexists(store.optout_key(msg.ours), msg.texter or msg.sender.raw)
        first, opted_out = p.execute()
    if not first:
        return Outcome("duplicate")
    try:
        if decision.kind == "relay" or (decision.relay and _has_open_case(ctx, msg)):
            outcome = _relay(ctx, msg, decision)
            msglog.record_inbound(ctx.r, ctx.settings, msg.message_sid, msg.sender.shown, msg.ours, len(msg.body),
                                  decision.kind, decision.keyword, outcome.action)
            return outcome
        return _store(ctx, msg, decision, bool(opted_out))
    except Exception:
        # Not handled: Twilio's retry (or the inline fallback) must answer it, so it is not marked seen.
        with contextlib.suppress(redis.RedisError):
            ctx.r.delete(seen)
        raise


def _store(ctx: Context, msg: Inbound, decision: Decision, opted_out: bool) -> Outcome:
    done = plan(ctx.settings, msg, decision, opted_out)
    with ctx.r.pipeline() as p:
        p.multi()
        for send in done.sends:
            queues.enqueue_send(ctx.queues[send.queue], send.to, msg.ours, send.body, send.ref, pipeline=p)
        _opt_change(p, msg, decision)
        msglog.add(p, ctx.settings, msg.message_sid, msglog.inbound_fields(
            ctx.settings, msg.message_sid, msg.sender.shown, msg.ours, len(msg.body), decision.kind,
            decision.keyword, done.action))
        p.execute()
    return Outcome(done.action, done.sends[0].queue if done.sends else None)


def _opt_change(p: redis.client.Pipeline, msg: Inbound, decision: Decision) -> None:
    if msg.texter is None or decision.opt_change is None:
        return
    if decision.opt_change == "optout":
        store.record_optout(p, msg.ours, msg.texter, reason="texted " + (decision.keyword or "STOP"))
    else:
        store.clear_optout(p, msg.ours, msg.texter)


def _has_open_case(ctx: Context, msg: Inbound) -> bool:
    """On a relay line a one-word text ("end", "stop") may be an answer to the control room."""
    return bool(ctx.r.exists(cases.open_key(msg.ours, msg.sender.shown)))


def _relay(ctx: Context, msg: Inbound, decision: Decision) -> Outcome:
    """A text to a relay line: a control-room command, or a texter's message for the control room."""
    if msg.texter is not None and msg.texter in relay.control_room(ctx.settings):
        return Outcome(relay.handle_command(ctx.r, ctx.queues, ctx.settings, msg.ours, msg.texter, msg.body,
                                            msg.message_sid), queues.RELAY)
    if relay.COMMAND.match(msg.body):
        # A command word from a number outside the control room is a texter's message like any other.
        log.warning("relay command from a number not in the control room lists: treated as a case message "
                    "from=%s", mask(msg.sender.shown))
    if decision.opt_change is not None and msg.texter is not None:
        with ctx.r.pipeline(transaction=False) as p:
            _opt_change(p, msg, decision)
            p.execute()
    ack = ctx.book.relay_ack(msg.ours) if msg.texter else None
    _, new = relay.handle_texter(ctx.r, ctx.queues, ctx.settings, msg.ours, msg.sender.shown, msg.body,
                                 msg.message_sid, ack)
    return Outcome("case-opened" if new else "case-threaded", queues.RELAY)
