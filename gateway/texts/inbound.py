"""One inbound text and what it calls for: the sends to queue, the opt-out state to record, the log line.

Pure: no Redis and no Flask. `gateway.texts.intake` carries out what `plan` says; when Redis is down the
webhook answers with `inline_messages` instead.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gateway import sending
from gateway.keywords.book import KeywordBook
from gateway.keywords.engine import Decision
from gateway.phone import Sender, mask
from gateway.relay.line import clock, forward_bodies, staff_bodies
from gateway.settings import Settings

OPTED_OUT_NOTE = "texter opted out (STOP): no reply sent to them"
UNANSWERABLE_NOTE = "sender cannot receive SMS: no reply sent"


@dataclass(frozen=True)
class Inbound:
    """One inbound text, its fields already checked."""

    message_sid: str
    sender: Sender
    ours: str  # the number texted, as Twilio gave it
    body: str
    optout_type: str | None = None  # Twilio's OptOutType (Advanced Opt-Out): STOP, START or HELP

    @property
    def texter(self) -> str | None:
        """The sender's E.164 number, or None when no SMS can be sent back to them."""
        return self.sender.e164


@dataclass(frozen=True)
class Send:
    """One SMS to queue: to the texter, or to staff."""

    queue: str
    to: str
    body: str
    ref: str
    to_texter: bool = False


@dataclass(frozen=True)
class Plan:
    """What a text that is not relay work calls for."""

    action: str  # for the message log and the log line: queued, opted-out, unanswerable, optout-recorded, ...
    sends: list[Send] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    """What the gateway did with a text, for the log line."""

    action: str  # queued, duplicate, opted-out, unanswerable, optout-recorded, case-opened, ack-done, ...
    queue: str | None = None


def queue_for(decision: Decision) -> str:
    """Urgency order: relay work first, then danger replies, then everything else."""
    if decision.relay:
        return sending.RELAY
    return sending.URGENT if decision.danger else sending.REPLIES


def danger_alert(msg: Inbound, decision: Decision, at: float, note: str = "") -> list[str]:
    """The staff alert for a text with a danger phrase: the sender in full (staff need it), number texted, text."""
    head = f"DANGER words ({decision.danger_phrase}) from {msg.sender.shown} to {msg.ours} at {clock(at)}"
    return staff_bodies(head + (f" - {note}" if note else ""), msg.body)


def plan(settings: Settings, msg: Inbound, decision: Decision, opted_out: bool,
         now: float | None = None) -> Plan:
    """The sends for a keyword, default, help, opt-out or opt-in text, given the texter's opt-out state.

    Staff alerts go to staff, never to the texter: neither an opt-out nor a sender we cannot answer stops them.
    """
    now = time.time() if now is None else now
    sends: list[Send] = []
    if decision.reply and msg.texter and (decision.despite_optout or not opted_out):
        sends.append(Send(queue_for(decision), msg.texter, decision.reply, f"reply-{msg.message_sid}", True))
    note = UNANSWERABLE_NOTE if not msg.texter else OPTED_OUT_NOTE if opted_out and not sends else ""
    if decision.opt_change is not None and msg.texter:
        action = f"{decision.opt_change}-recorded"
    else:
        action = "unanswerable" if not msg.texter else "opted-out" if note else "queued"
    if decision.danger:
        for k, number in enumerate(settings.alert_to):
            for i, body in enumerate(danger_alert(msg, decision, now, note)):
                sends.append(Send(sending.URGENT, number, body, f"alert-{msg.message_sid}-n{k}-{i}"))
    return Plan(action, sends)


def inline_messages(settings: Settings, book: KeywordBook, msg: Inbound,
                    decision: Decision) -> list[tuple[str | None, str]]:
    """What to answer straight in the TwiML when Redis is down: (to, body) pairs, to=None for the texter."""
    now = time.time()
    if decision.kind == "relay":
        if msg.texter in settings.control_room:
            return [(None, "Case commands are unavailable right now (system degraded); try again shortly.")]
        # No case can be recorded: Twilio itself delivers the forward to every control-room number.
        bodies = forward_bodies("UNLOGGED", msg.sender.shown, now, msg.body,
                                      "emergency text (system degraded)")
        numbers = settings.relay_forward_to + settings.relay_escalate_to
        ack = [(None, book.relay_ack(msg.ours))] if msg.texter else []
        return ack + [(n, b) for n in numbers for b in bodies]
    # The opt-out state cannot be read: answer as for a texter who has not opted out.
    p = plan(settings, msg, decision, opted_out=False, now=now)
    return [(None if send.to_texter else send.to, send.body) for send in p.sends]


def describe(msg: Inbound) -> str:
    """Log fields for one inbound text, with the number masked and no body."""
    return f"sid={msg.message_sid} from={mask(msg.sender.shown)} to={msg.ours} chars={len(msg.body)}"
