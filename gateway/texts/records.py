"""One texter's records, for a subject access or erasure request: what is held tied to a number, and forgetting it.

Held: message-log entries (inbound and outbound, found by the keyed digest of the number; no bodies), the
remembered language, opt-outs per our number, and relay cases whose texter is the number (with their threads,
which hold full texts). Forgetting deletes the message-log entries, the language and the closed cases. It keeps
the opt-outs: deleting one would start texting someone who said STOP. It refuses while the texter has an open
relay case, which the control room is still working. Numbers are E.164 (callers validate them with
gateway.phone).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from gateway.phone import mask
from gateway.relay import cases
from gateway.settings import Settings
from gateway.texts import languages, msglog, optouts

KINDS = ("message log", "language", "opt-outs", "relay cases")
STAFF = "control room"  # shown for whoever in the control room acted: staff are not the texter's to know
# Shown in this order; any other field an entry has follows them.
_ENTRY_FIELDS = ("direction", "number", "ours", "chars", "kind", "keyword", "status", "error_code", "status_at",
                 "ref", "id")
_TIMES = ("at", "status_at", "opened_at", "updated_at", "acknowledged_at", "closed_at", "tier2_alerted_at",
          "forward_failed_at")


class OpenCaseError(Exception):
    """The texter has an open relay case: nothing is forgotten until the control room closes it."""

    def __init__(self, case_ids: list[str]) -> None:
        super().__init__(f"open relay case {', '.join(case_ids)}")
        self.case_ids = case_ids


@dataclass(frozen=True)
class Held:
    """What the service holds tied to one texter's number."""

    number: str
    messages: dict[str, dict[str, str]]  # message-log entries by entry id, oldest first
    language: str | None
    optouts: dict[str, dict[str, Any]]  # by our number: {"at": ..., "reason": ...}
    cases: list[cases.Case]  # oldest first

    @property
    def open_cases(self) -> list[cases.Case]:
        """Cases the control room is still working."""
        return [case for case in self.cases if case.is_open]

    @property
    def closed_cases(self) -> list[cases.Case]:
        """Closed cases (kept RETENTION_DAYS after closing)."""
        return [case for case in self.cases if not case.is_open]

    def nothing_held(self) -> list[str]:
        """The kinds of record that hold nothing for the number."""
        present = (bool(self.messages), self.language is not None, bool(self.optouts), bool(self.cases))
        return [kind for kind, there in zip(KINDS, present, strict=True) if not there]

    def deletable(self) -> bool:
        """Whether forgetting would delete anything."""
        return bool(self.messages or self.language or self.closed_cases)


@dataclass(frozen=True)
class Forgotten:
    """What forgetting a texter deleted, and the opt-outs it kept."""

    messages: int
    language: int
    cases: int
    optouts_kept: int

    def summary(self) -> str:
        """One line with the counts per kind, without the number."""
        return (f"deleted: message-log entries {self.messages}, language {self.language}, "
                f"closed relay cases {self.cases}; kept: opt-outs {self.optouts_kept}")


def held(r: redis.Redis, settings: Settings, number: str) -> Held:
    """Every record tied to `number` (E.164)."""
    return Held(
        number=number,
        messages=msglog.for_number(r, settings, number),
        language=languages.recall(r, settings, number),
        optouts=optouts.for_texter(r, number),
        cases=cases.for_texter(r, number),
    )


def forget(r: redis.Redis, settings: Settings, number: str) -> Forgotten:
    """Delete `number`'s message-log entries, language and closed cases, keeping its opt-outs.

    Raises OpenCaseError, deleting nothing, while the texter has an open relay case. Only records found here
    are deleted: a text arriving meanwhile keeps its entry (and may open a case, which is never deleted).
    """
    found = held(r, settings, number)
    if found.open_cases:
        raise OpenCaseError([case.id for case in found.open_cases])
    deleted = msglog.delete(r, list(found.messages))
    language = found.language is not None and languages.forget(r, settings, number, found.language)
    closed = sum(cases.delete_closed(r, case.id) for case in found.closed_cases)
    return Forgotten(deleted, int(language), closed, len(found.optouts))


def iso(value: float | str | None) -> str | None:
    """A stored Unix time as ISO 8601 in UTC, or None."""
    if value is None or value == "":
        return None
    return datetime.fromtimestamp(float(value), UTC).isoformat(timespec="seconds")


def _times(record: dict[str, Any]) -> dict[str, Any]:
    return {k: iso(v) if k in _TIMES else v for k, v in record.items()}


def _case(case: cases.Case) -> dict[str, Any]:
    """A case as the texter may see it: who in the control room acted is not theirs to know."""
    record = _times(asdict(case))
    for name in ("acknowledged_by", "closed_by"):
        if record.get(name):
            record[name] = STAFF
    record["messages"] = [_times({**m, "by": "texter" if m.get("direction") == "in" else STAFF}
                                 if m.get("by") else m) for m in case.messages]
    return record


def as_json(found: Held) -> dict[str, Any]:
    """Everything held, JSON-ready, times in ISO 8601, staff not named."""
    return {
        "number": found.number,
        "masked": mask(found.number),
        "message_log": [{"entry": entry_id, **_times(entry)} for entry_id, entry in found.messages.items()],
        "language": found.language,
        "optouts": [{"our_number": ours, **_times(value)} for ours, value in found.optouts.items()],
        "relay_cases": [_case(case) for case in found.cases],
        "nothing_held": found.nothing_held(),
    }


def _quoted(text: Any) -> str:
    # Texts come from texters: quoted as JSON, and anything unprintable escaped, so nothing acts on the terminal.
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in json.dumps(text, ensure_ascii=False))


def _entry_line(entry: dict[str, str]) -> str:
    names = [*_ENTRY_FIELDS, *sorted(set(entry) - set(_ENTRY_FIELDS) - {"at", "nh"})]
    parts = [f"{name}={iso(entry[name]) if name in _TIMES else entry[name]}" for name in names if entry.get(name)]
    return f"  {iso(entry.get('at')) or '(no time)'}  " + " ".join(parts)


def _case_lines(case: cases.Case) -> list[str]:
    steps = [f"opened {iso(case.opened_at)}"]
    if case.acknowledged_at is not None:
        steps.append(f"acknowledged {iso(case.acknowledged_at)} by the {STAFF}")
    if case.closed_at is not None:
        steps.append(f"closed {iso(case.closed_at)} by the {STAFF}")
    lines = [f"  Case {case.id} on {case.line}: {case.state.upper() if case.is_open else case.state}",
             f"    {', '.join(steps)}; {case.repeats} reminders"]
    for m in case.messages:
        who = "texter" if m.get("direction") == "in" else STAFF if m.get("by") else "-"
        lines.append(f"    {iso(m.get('at'))}  {m.get('direction', '?'):<4} {who}: {_quoted(m.get('text'))}")
    return lines


def as_text(found: Held) -> list[str]:
    """Everything held, as lines for a person to read."""
    lines = [f"Records held for {found.number} (shown as {mask(found.number)} in the message log)", ""]
    lines.append(f"Message log: {len(found.messages)} entries (the log keeps no message text, only its length)")
    lines += [_entry_line(entry) for entry in found.messages.values()]
    lines.append(f"Language: {found.language or 'none remembered'}")
    lines.append(f"Opt-outs: {len(found.optouts)}" + (" (never forgotten: kept to honour the texter's STOP)"
                                                       if found.optouts else ""))
    lines += [f"  from {ours}: since {iso(value.get('at'))} ({value.get('reason', '')})"
              for ours, value in found.optouts.items()]
    lines.append(f"Relay cases: {len(found.cases)} ({len(found.open_cases)} open, {len(found.closed_cases)} closed)")
    for case in found.cases:
        lines += _case_lines(case)
    nothing = found.nothing_held()
    lines += ["", f"Nothing held in: {', '.join(nothing)}" if nothing else "Every kind of record holds something."]
    return lines
