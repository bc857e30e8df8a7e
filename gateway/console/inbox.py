"""The relay inbox for control-room operators: open cases, the thread, acknowledge, reply, close.

Actions call gateway.relay exactly as the SMS commands do (ACK, R, CLOSE), attributed to console:<name>.
"""

from __future__ import annotations

import time

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from gateway.console import audit, bp
from gateway.console.auth import client_addr, fragment_of, role_required, who
from gateway.phone import mask
from gateway.relay import cases, commands
from gateway.runtime import signpost

REFRESH_SECONDS = 5


def age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d"


def escalation(case: cases.Case) -> str:
    if case.state == cases.NEW:
        state = "NOT ACKNOWLEDGED"
        if case.repeats:
            state += f": reminder {case.repeats} sent"
        if case.tier2_alerted_at:
            state += ", second tier alerted"
        return state
    if case.state == cases.ACKNOWLEDGED:
        return f"acknowledged by {display_by(case.acknowledged_by)}"
    return "closed"


def display_by(by: str | None) -> str:
    if not by:
        return "-"
    return mask(by) if by.startswith("+") else by


def _context() -> dict:
    return {"now": time.time(), "age": age, "escalation": escalation, "mask": mask, "display_by": display_by,
            "refresh": REFRESH_SECONDS}


def unacknowledged(open_cases: list[cases.Case]) -> list[cases.Case]:
    """The cases nobody has acknowledged yet, oldest first."""
    return sorted((c for c in open_cases if c.state == cases.NEW), key=lambda c: c.opened_at)


@bp.get("/inbox")
@role_required("operator")
def inbox() -> ResponseReturnValue:
    found = cases.open_cases(signpost().redis)
    return render_template("inbox.html", cases=found, unacked=unacknowledged(found), **_context())


@bp.get("/inbox/rows")
@role_required("operator")
@fragment_of("console.inbox")
def inbox_rows() -> ResponseReturnValue:
    return render_template("_inbox_rows.html", cases=cases.open_cases(signpost().redis), **_context())


def _case_or_404(case_id: str) -> cases.Case:
    case = cases.get(signpost().redis, case_id)
    if case is None:
        abort(404)
    return case


@bp.get("/cases/<case_id>")
@role_required("operator")
def case(case_id: str) -> ResponseReturnValue:
    return render_template("case.html", case=_case_or_404(case_id), **_context())


@bp.get("/cases/<case_id>/thread")
@role_required("operator")
@fragment_of("console.case")
def case_thread(case_id: str) -> ResponseReturnValue:
    return render_template("_thread.html", case=_case_or_404(case_id), **_context())


@bp.post("/cases/<case_id>/<any(ack, reply, close):action>")
@role_required("operator")
def case_action(case_id: str, action: str) -> ResponseReturnValue:
    sp = signpost()
    found = _case_or_404(case_id)
    if action == "ack":
        done = commands.acknowledge(sp.redis, sp.queues, lambda: sp.book, found.id, who())
        message = "Acknowledged: reminders stopped." if done else "Not acknowledged: the case is closed."
    elif action == "reply":
        text = request.form.get("text", "").strip()
        if not text:
            flash("Type a reply first.", "error")
            return redirect(url_for("console.case", case_id=found.id))
        done = commands.reply(sp.redis, sp.queues, found.id, text[:1600], who())
        message = "Reply queued to the texter from the relay line." if done else "Not sent: the case is closed."
    else:
        done = commands.close(sp.redis, sp.settings, found.id, who())
        message = "Case closed." if done else "The case was already closed."
    audit.record(sp.redis, current_user.name, f"case-{action}", f"case {found.id}" + ("" if done else " refused"),
                 client_addr())
    flash(message, "info" if done else "error")
    if action == "close" and done:
        return redirect(url_for("console.inbox"))
    return redirect(url_for("console.case", case_id=found.id))
