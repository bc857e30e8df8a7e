"""Control-room commands on a relay line (`ACK <id>`, `R <id> <text>`, `CLOSE <id>`), and the same actions
from the staff console's relay inbox."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import redis
from rq import Queue

from gateway import sending
from gateway.phone import classify, mask
from gateway.redisdb import PREFIX
from gateway.relay import cases
from gateway.relay.line import enqueue_relay_send, texter_text
from gateway.settings import Settings

if TYPE_CHECKING:
    from gateway.keywords.book import KeywordBook

log = logging.getLogger("signpost.relay")

MISSES_PER_DAY = 10
MISS_WINDOW = 24 * 3600
COMMAND = re.compile(r"^\s*(ACK|R|CLOSE)\s+([A-Za-z0-9]{3,8})\b\s*(.*)$", re.IGNORECASE | re.DOTALL)


def _who(by: str) -> str:
    return mask(by) if by.startswith("+") else by


def acknowledge(r: redis.Redis, qs: dict[str, Queue], book: Callable[[], KeywordBook | None], case_id: str,
                by: str) -> cases.Case | None:
    """Acknowledge a case: re-alerts stop. Same for `ACK <id>` by SMS and the console button.

    The first acknowledgement tells the texter (when they can receive SMS) that a person has read their
    message: the relay line's relay_read text from `book`, the live keywords. A reply (`reply`) does not: the
    reply itself tells them.
    """
    case, first = cases.acknowledge_first(r, case_id, by)
    if case is None:
        return None
    log.info("relay case=%s acknowledged by=%s", case.id, _who(by))
    if first and classify(case.texter).answerable:
        text = texter_text(book, case.line, "read", case.id)
        # A fixed ref: the one receipt of this case, whatever happens after.
        enqueue_relay_send(qs[sending.RELAY], case.texter, case.line, text, f"read-{case.id}-texter", case.id)
        cases.add_note(r, case.id, "texter told it has been read")
        log.info("relay case=%s texter told it has been read", case.id)
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


def misses_key(sender: str) -> str:
    """Count of case ids a control-room number texted that matched no open case, today."""
    return f"{PREFIX}cmd-misses:{sender}"


def handle_command(r: redis.Redis, qs: dict[str, Queue], settings: Settings, line: str, sender: str,
                   text: str, message_sid: str, book: Callable[[], KeywordBook | None]) -> str:
    """Run `ACK|R|CLOSE <id> [text]` from a control-room number and confirm it to them; returns the outcome.

    A command is authorised by the sender's number (which can be spoofed) and the case id alone, so wrong ids
    are counted per sender: past MISSES_PER_DAY in a day, that number's commands are refused for the day.
    """
    match = COMMAND.match(text)
    misses = int(r.get(misses_key(sender)) or 0) if match is not None else 0
    if match is None:
        outcome, answer = "usage", "Not understood. Use: ACK <id>, R <id> <message>, CLOSE <id>."
    elif misses >= MISSES_PER_DAY:
        outcome, answer = "throttled", (f"Commands from this number are paused for today after {misses} unknown "
                                        "case ids. Use the staff console.")
        log.warning("relay command refused: %s unknown case ids today from=%s", misses, _who(sender))
    else:
        verb, case_id, rest = match.group(1).upper(), cases.normalise_id(match.group(2)), match.group(3).strip()
        if verb == "R":
            done = reply(r, qs, case_id, rest, sender) if rest else None
            answer = f"Sent to case {case_id}." if done else f"Not sent: no open case {case_id} or empty message."
        else:
            done = (acknowledge(r, qs, book, case_id, sender) if verb == "ACK"
                    else close(r, settings, case_id, sender))
            answer = f"Case {case_id} {'acknowledged' if verb == 'ACK' else 'closed'}." if done else (
                f"No open case {case_id}.")
        outcome = f"{verb.lower()}-{'done' if done else 'refused'}"
        if not done and (verb != "R" or rest):
            with r.pipeline(transaction=False) as p:
                p.incr(misses_key(sender))
                p.expire(misses_key(sender), MISS_WINDOW, nx=True)
                p.execute()
    enqueue_relay_send(qs[sending.RELAY], sender, line, answer, f"cmd-{message_sid}")
    return outcome
