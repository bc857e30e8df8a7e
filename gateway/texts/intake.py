"""The one place an inbound text changes state: dedupe by MessageSid, opt-out state, jobs, the message log.

Two Redis round trips for a keyword, default, help, opt-out or opt-in text: one pipeline reads whether the
MessageSid is new (`SET NX`: Twilio may post a text twice, the texter gets one answer) and the texter's
opt-out state; one more pipeline then stores the jobs (RQ's `Queue.enqueue_many` on that pipeline), the
opt-out change, the language the text picked (`gateway.texts.languages`) and the message-log entry. (Where
the set offers languages, the webhook first reads the texter's pick: one more round trip.) Relay texts open or
thread a case (`gateway.relay.line`). If anything fails after the MessageSid was marked, the mark is taken back
and the error escapes: the webhook then answers inline, and a retry from Twilio is handled afresh.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from dataclasses import dataclass

import redis
from rq import Queue

from gateway import sending
from gateway.keywords.book import KeywordBook
from gateway.keywords.engine import Decision
from gateway.phone import mask
from gateway.redisdb import PREFIX
from gateway.relay import cases, commands, line
from gateway.reports import counters
from gateway.settings import Settings
from gateway.texts import languages, msglog, optouts
from gateway.texts.inbound import Inbound, Outcome, plan

log = logging.getLogger("signpost.intake")

SEEN_TTL = 2 * 24 * 3600  # Twilio retries within minutes; two days is ample and self-cleaning.


def seen_key(message_sid: str) -> str:
    """Key that marks an inbound MessageSid as already taken."""
    return f"{PREFIX}seen:{message_sid}"


@dataclass(frozen=True)
class Context:
    """Everything the intake needs besides the text and its decision."""

    r: redis.Redis
    queues: dict[str, Queue]
    settings: Settings
    book: KeywordBook


def take(ctx: Context, msg: Inbound, decision: Decision) -> Outcome:
    """Carry out the decision for a text, once per MessageSid."""
    seen = seen_key(msg.message_sid)
    # The mark holds a token of this attempt: if the client sends the command again after losing Redis's
    # answer (a failover), finding its own token means "first", not "a duplicate": a text is never dropped.
    token = uuid.uuid4().hex
    with ctx.r.pipeline(transaction=False) as p:
        p.set(seen, token, nx=True, ex=SEEN_TTL, get=True)
        p.hexists(optouts.optout_key(msg.ours), msg.texter or msg.sender.raw)
        earlier, opted_out = p.execute()
    if earlier is not None and earlier.decode() != token:
        return Outcome("duplicate")
    try:
        if decision.kind == "relay" or (decision.relay and _has_open_case(ctx, msg)):
            outcome = _relay(ctx, msg, decision)
            msglog.record_inbound(ctx.r, ctx.settings, msg.message_sid, msg.sender.shown, msg.ours, len(msg.body),
                                  decision.kind, decision.keyword, outcome.action)
            if not outcome.action.startswith(("ack-", "r-", "close-", "usage", "throttled")):  # not a command
                counters.count(ctx.r, counters.inbound_fields(decision.kind, decision.keyword, decision.danger))
            return outcome
        return _store(ctx, msg, decision, bool(opted_out))
    except Exception:
        # Not handled: Twilio's retry (or the inline fallback) must answer it, so it is not marked seen.
        with contextlib.suppress(redis.RedisError):
            ctx.r.delete(seen)
        raise


def _store(ctx: Context, msg: Inbound, decision: Decision, opted_out: bool) -> Outcome:
    done = plan(ctx.settings, msg, decision, opted_out)
    # One round trip. Not a MULTI: a reply lost after Redis applied it costs a repeat either way (the webhook
    # then answers inline), and the text's writes depend on nothing read here.
    with ctx.r.pipeline(transaction=False) as p:
        for send in done.sends:
            sending.enqueue_send(ctx.queues[send.queue], send.to, msg.ours, send.body, send.ref, pipeline=p)
        _opt_change(p, msg, decision)
        fields = counters.inbound_fields(decision.kind, decision.keyword, decision.danger)
        if decision.language_chosen and msg.texter:
            languages.remember(p, ctx.settings, msg.texter, decision.language_chosen)
            fields.append(f"lang:{decision.language_chosen}")
        counters.count(p, fields)
        msglog.add(p, ctx.settings, msg.message_sid, msglog.inbound_fields(
            ctx.settings, msg.message_sid, msg.sender.shown, msg.ours, len(msg.body), decision.kind,
            decision.keyword, done.action))
        p.execute()
    return Outcome(done.action, done.sends[0].queue if done.sends else None)


def _opt_change(p: redis.client.Pipeline, msg: Inbound, decision: Decision) -> None:
    if msg.texter is None or decision.opt_change is None:
        return
    counters.count(p, [decision.opt_change])
    if decision.opt_change == "optout":
        optouts.record_optout(p, msg.ours, msg.texter, reason="texted " + (decision.keyword or "STOP"))
    else:
        optouts.clear_optout(p, msg.ours, msg.texter)


def _has_open_case(ctx: Context, msg: Inbound) -> bool:
    """On a relay line a one-word text ("end", "stop") may be an answer to the control room."""
    return bool(ctx.r.exists(cases.open_key(msg.ours, msg.sender.shown)))


def _relay(ctx: Context, msg: Inbound, decision: Decision) -> Outcome:
    """A text to a relay line: a control-room command, or a texter's message for the control room."""
    if msg.texter is not None and msg.texter in ctx.settings.control_room:
        return Outcome(commands.handle_command(ctx.r, ctx.queues, ctx.settings, msg.ours, msg.texter, msg.body,
                                               msg.message_sid, lambda: ctx.book), sending.RELAY)
    if commands.COMMAND.match(msg.body):
        # A command word from a number outside the control room is a texter's message like any other.
        log.warning("relay command from a number not in the control room lists: treated as a case message "
                    "from=%s", mask(msg.sender.shown))
    if decision.opt_change is not None and msg.texter is not None:
        with ctx.r.pipeline(transaction=False) as p:
            _opt_change(p, msg, decision)
            p.execute()
    ack = ctx.book.relay_ack(msg.ours) if msg.texter else None
    _, new = line.handle_texter(ctx.r, ctx.queues, ctx.settings, msg.ours, msg.sender.shown, msg.body,
                                 msg.message_sid, ack)
    return Outcome("case-opened" if new else "case-threaded", sending.RELAY)
