"""Texts to a relay line: each becomes a case, acknowledged to the texter and forwarded to the control room.

The intake calls `handle_texter`; the relay jobs (workers/relay.py) repeat forwards with `forward`.
Control-room commands and the console's actions are in `gateway.relay.commands`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING

import redis
from rq import Callback, Queue

from gateway import sending
from gateway.keywords.rules import CASE_ID
from gateway.phone import mask
from gateway.relay import cases
from gateway.reports import counters
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.keywords.book import KeywordBook

log = logging.getLogger("signpost.relay")

# The built-in texts to relay texters, sent where the live keywords give the line no relay_failed /
# relay_unread / relay_read (versions published before those fields existed) or cannot be read.
TEXTER_WARNING = ("We could not pass your message to the control room. If you are in danger call 999 now, "
                  "or use 999bsl.co.uk for a BSL video call.")
# Sent once, with the reminder that alerts the second tier: a texter whose message nobody has read must not wait
# for an answer that is not coming. One SMS part (GSM-7, 155 characters with a case id).
TEXTER_UNREAD = ("Case {id}: your message has not been read yet. We are still alerting the control room. If you are "
                 "in danger, use 999bsl.co.uk or text 999 (emergencySMS).")
# Sent once when the control room acknowledges the case (ACK or the console; a reply says so itself).
# One SMS part (GSM-7, 138 characters with a case id).
TEXTER_READ = ("Case {id}: someone in the control room has read your message. Keep this thread open: we will reply "
               "here. If you are in danger, call 999.")
BUILTIN_TEXTS = {"unread": TEXTER_UNREAD, "failed": TEXTER_WARNING, "read": TEXTER_READ}

ESCALATE_JOB = "workers.relay.escalate"
FORWARD_FAILED = "workers.relay.forward_failed"
PART_CHARS = 450  # each forwarded SMS stays around three parts, so a long text is never cut
UK = timezone(timedelta(0))  # times are shown in UTC with the zone named, never ambiguous


def clock(at: float) -> str:
    """A time as staff read it in an SMS."""
    return datetime.fromtimestamp(at, UK).strftime("%H:%M:%S UTC %d/%m/%Y")


def chunks(text: str, size: int = PART_CHARS) -> list[str]:
    """Split text at spaces into pieces of at most `size` characters; nothing is dropped."""
    text = text if text.strip() else "(empty message)"
    pieces: list[str] = []
    while len(text) > size:
        cut = text.rfind(" ", size // 2, size)
        cut = size if cut == -1 else cut
        pieces.append(text[:cut])
        text = text[cut:].lstrip(" ")
    pieces.append(text)
    return pieces


def staff_bodies(head: str, text: str, tail: str = "") -> list[str]:
    """SMS for staff carrying a texter's whole text: `head` on each part, numbered when split, `tail` last."""
    pieces = chunks(text)
    n = len(pieces)
    return [f"{head}{f' ({i}/{n})' if n > 1 else ''}:\n{piece}" + (tail if i == n else "")
            for i, piece in enumerate(pieces, 1)]


def forward_bodies(case_id: str, texter: str, at: float, text: str, label: str) -> list[str]:
    """The SMS a control-room number gets for one texter message, split so nothing is cut."""
    return staff_bodies(f"Case {case_id} {label} from {texter} at {clock(at)}", text,
                        f"\nAck: ACK {case_id}  Reply: R {case_id} <text>")


def texter_text(book: Callable[[], KeywordBook | None], relay_line: str, which: str, case_id: str,
                logger: logging.Logger = log) -> str:
    """The live keywords' relay_unread / relay_failed / relay_read text of `relay_line` ("unread" / "failed" /
    "read"), else the built-in one, with {id} filled; problems logged to `logger`. `book` gives the live book:
    the worker's versions.live_book, the web process's signpost().book."""
    builtin = BUILTIN_TEXTS[which]
    try:
        live = book()
        if live is None:
            logger.error("relay case=%s: no live keywords loaded; sending the built-in %s text", case_id, which)
        text = (live.relay_text(relay_line, which) if live is not None else None) or builtin
    except Exception:
        # The texter is told whatever the keywords' state: this message is about their safety.
        logger.exception("relay case=%s: cannot read the live keywords; sending the built-in %s text", case_id, which)
        text = builtin
    return text.replace(CASE_ID, case_id)


def enqueue_relay_send(
    q: Queue, to: str, from_: str, body: str, ref: str, case_id: str | None = None,
    pipeline: redis.client.Pipeline | None = None, forward: bool = False,
) -> None:
    """Queue one SMS on the relay queue; forwards call back on final failure so it is never silent."""
    sending.enqueue_send(q, to, from_, body, ref, pipeline=pipeline,
                        meta={"case": case_id, "kind": "forward" if forward else "relay"},
                        on_failure=Callback(FORWARD_FAILED) if forward else None)


def forward(q: Queue, numbers: tuple[str, ...], line: str, case_id: str, bodies: list[str], ref: str,
            pipeline: redis.client.Pipeline | None = None) -> None:
    """Queue `bodies` to every number in `numbers`, each part its own send."""
    for k, number in enumerate(numbers):
        for i, body in enumerate(bodies):
            # The ref names the job in RQ, the logs and the message log: a position, never the number.
            enqueue_relay_send(q, number, line, body, f"{ref}-n{k}-{i}", case_id, pipeline=pipeline, forward=True)


def handle_texter(r: redis.Redis, qs: dict[str, Queue], settings: Settings, line: str, texter: str,
                  text: str, message_sid: str, ack_text: str | None, now: float | None = None) -> tuple[str, bool]:
    """Open or thread the texter's case, queue their acknowledgement and the forwards; returns (id, new).

    `ack_text` None: the sender cannot receive SMS (`texter` is then as Twilio gave it); the control room
    still gets the text, told that it cannot be answered by SMS.
    """
    now = time.time() if now is None else now
    case_id, new = cases.record_inbound(r, line, texter, text, message_sid, now)
    q = qs[sending.RELAY]
    label = "NEW emergency text" if new else "follow-up"
    with r.pipeline(transaction=False) as p:
        if ack_text is not None:
            ack = f"{ack_text} Ref: {case_id}" if new else f"Received, added to case {case_id}. {ack_text}"
            enqueue_relay_send(q, texter, line, ack, f"ack-{message_sid}", case_id, pipeline=p)
        else:
            label += " (sender cannot receive SMS replies)"
        if new:
            counters.count(p, ["cases:opened"], at=now)
        bodies = forward_bodies(case_id, texter, now, text, label)
        forward(q, settings.relay_forward_to, line, case_id, bodies, f"fwd-{message_sid}", pipeline=p)
        p.execute()
    if new:
        q.enqueue_in(timedelta(seconds=settings.relay_escalate_after), ESCALATE_JOB, case_id=case_id,
                     round=1, job_id=f"escalate-{case_id}-1")
    log.info("relay case=%s %s from=%s line=%s", case_id, "opened" if new else "follow-up", mask(texter), line)
    return case_id, new
