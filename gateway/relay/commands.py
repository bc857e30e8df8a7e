"""Control-room commands on a relay line (`ACK <id>`, `R <id> <text>`, `CLOSE <id>`), and the same actions
from the staff console's relay inbox."""

from __future__ import annotations

import logging
import re
import time

import redis
from rq import Queue

from gateway import sending
from gateway.phone import classify, mask
from gateway.relay import cases
from gateway.relay.line import enqueue_relay_send
from gateway.settings import Settings

log = logging.getLogger("signpost.relay")

COMMAND = re.compile(r"^\s*(ACK|R|CLOSE)\s+([A-Za-z0-9]{3,8})\b\s*(.*)$", re.IGNORECASE | re.DOTALL)


def _who(by: str) -> str:
    return mask(by) if by.startswith("+") else by


def acknowledge(r: redis.Redis, case_id: str, by: str) -> cases.Case | None:
    """Acknowledge a case: re-alerts stop. Same for `ACK <id>` by SMS and the console button."""
    case = cases.acknowledge(r, case_id, by)
    if case is not None:
        log.info("relay case=%s acknowledged by=%s", case.id, _who(by))
    return case


def reply(r: redis.Redis, qs: dict[str, Queue], case_id: str, text: str, by: str) -> cases.Case | None:
    """Send `text` to the case's texter from the relay line and record it; also acknowledges the case."""
    case = cases.get(r, case_id)
    if case is None or not case.is_open or not text.strip() or not classify(case.texter).answerable:
        return None
    cases.acknowledge(r, case.id, by)
    cases.add_outbound(r, case.id, text, by)
    ref = f"reply-{case.id}-{time.time_ns()}"
    enqueue_relay_send(qs[sending.RELAY], case.texter, case.line, text, ref, case.id)
    log.info("relay case=%s reply queued by=%s", case.id, _who(by))
    return case


def close(r: redis.Redis, settings: Settings, case_id: str, by: str) -> cases.Case | None:
    """Close a case; its record is kept for RETENTION_DAYS."""
    case = cases.close(r, case_id, by, settings.retention_days)
    if case is not None:
        log.info("relay case=%s closed by=%s", case.id, _who(by))
    return case


def handle_command(r: redis.Redis, qs: dict[str, Queue], settings: Settings, line: str, sender: str,
                   text: str, message_sid: str) -> str:
    """Run `ACK|R|CLOSE <id> [text]` from a control-room number and confirm it to them; returns the outcome."""
    match = COMMAND.match(text)
    if match is None:
        outcome, answer = "usage", "Not understood. Use: ACK <id>, R <id> <message>, CLOSE <id>."
    else:
        verb, case_id, rest = match.group(1).upper(), cases.normalise_id(match.group(2)), match.group(3).strip()
        if verb == "R":
            done = reply(r, qs, case_id, rest, sender) if rest else None
            answer = f"Sent to case {case_id}." if done else f"Not sent: no open case {case_id} or empty message."
        else:
            done = acknowledge(r, case_id, sender) if verb == "ACK" else close(r, settings, case_id, sender)
            answer = f"Case {case_id} {'acknowledged' if verb == 'ACK' else 'closed'}." if done else (
                f"No open case {case_id}.")
        outcome = f"{verb.lower()}-{'done' if done else 'refused'}"
    enqueue_relay_send(qs[sending.RELAY], sender, line, answer, f"cmd-{message_sid}")
    return outcome
