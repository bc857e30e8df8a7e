"""The emergency text relay: texts to a relay line become cases forwarded to the control room.

The webhook calls `handle_texter` and `handle_command`; the staff console calls `acknowledge`,
`reply` and `close`, which are the same actions as texting `ACK <id>`, `R <id> <text>` and `CLOSE <id>`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import redis
from rq import Callback, Queue

from gateway import cases, phone, queues
from gateway.privacy import mask

log = logging.getLogger("signpost.relay")

ESCALATE_JOB = "workers.relay.escalate"
FORWARD_FAILED = "workers.relay.forward_failed"
PART_CHARS = 450  # each forwarded SMS stays around three parts, so a long text is never cut
COMMAND = re.compile(r"^\s*(ACK|R|CLOSE)\s+([A-Za-z0-9]{3,8})\b\s*(.*)$", re.IGNORECASE | re.DOTALL)
UK = timezone(timedelta(0))  # times are shown in UTC with the zone named, never ambiguous


def control_room(settings: Mapping[str, Any]) -> frozenset[str]:
    """Numbers allowed to ACK, reply to and close cases by SMS."""
    return frozenset(settings["RELAY_FORWARD_TO"]) | frozenset(settings["RELAY_ESCALATE_TO"])


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


def enqueue_relay_send(
    q: Queue, to: str, from_: str, body: str, ref: str, case_id: str | None = None,
    pipeline: redis.client.Pipeline | None = None, forward: bool = False,
) -> None:
    """Queue one SMS on the relay queue; forwards call back on final failure so it is never silent."""
    queues.enqueue_send(q, to, from_, body, ref, pipeline=pipeline,
                        meta={"case": case_id, "kind": "forward" if forward else "relay"},
                        on_failure=Callback(FORWARD_FAILED) if forward else None)


def forward(q: Queue, numbers: tuple[str, ...], line: str, case_id: str, bodies: list[str], ref: str,
            pipeline: redis.client.Pipeline | None = None) -> None:
    """Queue `bodies` to every number in `numbers`, each part its own send."""
    for number in numbers:
        for i, body in enumerate(bodies):
            enqueue_relay_send(q, number, line, body, f"{ref}-{number.lstrip('+')}-{i}", case_id,
                               pipeline=pipeline, forward=True)


def handle_texter(r: redis.Redis, qs: dict[str, Queue], settings: Mapping[str, Any], line: str, texter: str,
                  text: str, message_sid: str, ack_text: str | None, now: float | None = None) -> tuple[str, bool]:
    """Open or thread the texter's case, queue their acknowledgement and the forwards; returns (id, new).

    `ack_text` None: the sender cannot receive SMS (`texter` is then as Twilio gave it); the control room
    still gets the text, told that it cannot be answered by SMS.
    """
    now = time.time() if now is None else now
    case_id, new = cases.record_inbound(r, line, texter, text, message_sid, now)
    q = qs[queues.RELAY]
    label = "NEW emergency text" if new else "follow-up"
    with r.pipeline(transaction=False) as p:
        if ack_text is not None:
            ack = f"{ack_text} Ref: {case_id}" if new else f"Received, added to case {case_id}. {ack_text}"
            enqueue_relay_send(q, texter, line, ack, f"ack-{message_sid}", case_id, pipeline=p)
        else:
            label += " (sender cannot receive SMS replies)"
        bodies = forward_bodies(case_id, texter, now, text, label)
        forward(q, settings["RELAY_FORWARD_TO"], line, case_id, bodies, f"fwd-{message_sid}", pipeline=p)
        p.execute()
    if new:
        q.enqueue_in(timedelta(seconds=settings["RELAY_ESCALATE_AFTER"]), ESCALATE_JOB, case_id=case_id,
                     round=1, job_id=f"escalate-{case_id}-1")
    log.info("relay case=%s %s from=%s line=%s", case_id, "opened" if new else "follow-up", mask(texter), line)
    return case_id, new


def acknowledge(r: redis.Redis, qs: dict[str, Queue], settings: Mapping[str, Any], case_id: str,
                by: str) -> cases.Case | None:
    """Acknowledge a case: re-alerts stop. Same for `ACK <id>` by SMS and the console button."""
    case = cases.acknowledge(r, case_id, by)
    if case is not None:
        log.info("relay case=%s acknowledged by=%s", case.id, mask(by) if by.startswith("+") else by)
    return case


def reply(r: redis.Redis, qs: dict[str, Queue], settings: Mapping[str, Any], case_id: str, text: str,
          by: str) -> cases.Case | None:
    """Send `text` to the case's texter from the relay line and record it; also acknowledges the case."""
    case = cases.get(r, case_id)
    if case is None or not case.is_open or not text.strip() or not phone.classify(case.texter).answerable:
        return None
    cases.acknowledge(r, case.id, by)
    cases.add_outbound(r, case.id, text, by)
    ref = f"reply-{case.id}-{time.time_ns()}"
    enqueue_relay_send(qs[queues.RELAY], case.texter, case.line, text, ref, case.id)
    log.info("relay case=%s reply queued by=%s", case.id, mask(by) if by.startswith("+") else by)
    return case


def close(r: redis.Redis, qs: dict[str, Queue], settings: Mapping[str, Any], case_id: str,
          by: str) -> cases.Case | None:
    """Close a case; its record is kept for RETENTION_DAYS."""
    case = cases.close(r, case_id, by, settings["RETENTION_DAYS"])
    if case is not None:
        log.info("relay case=%s closed by=%s", case.id, mask(by) if by.startswith("+") else by)
    return case


ACTIONS = {"ACK": acknowledge, "CLOSE": close}


def handle_command(r: redis.Redis, qs: dict[str, Queue], settings: Mapping[str, Any], line: str, sender: str,
                   text: str, message_sid: str) -> str:
    """Run `ACK|R|CLOSE <id> [text]` from a control-room number and confirm it to them; returns the outcome."""
    match = COMMAND.match(text)
    if match is None:
        outcome, answer = "usage", "Not understood. Use: ACK <id>, R <id> <message>, CLOSE <id>."
    else:
        verb, case_id, rest = match.group(1).upper(), cases.normalise_id(match.group(2)), match.group(3).strip()
        if verb == "R":
            done = reply(r, qs, settings, case_id, rest, sender) if rest else None
            answer = f"Sent to case {case_id}." if done else f"Not sent: no open case {case_id} or empty message."
        else:
            done = ACTIONS[verb](r, qs, settings, case_id, sender)
            answer = f"Case {case_id} {'acknowledged' if verb == 'ACK' else 'closed'}." if done else (
                f"No open case {case_id}.")
        outcome = f"{verb.lower()}-{'done' if done else 'refused'}"
    enqueue_relay_send(qs[queues.RELAY], sender, line, answer, f"cmd-{message_sid}")
    return outcome
