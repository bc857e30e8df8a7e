"""The draft page and two-person approval: submit, withdraw, send back with a comment, approve (publishes).

When approval is required (gateway/keywords/approval.py says when), nobody who edited or submitted the draft
can approve it; the approver sees every changed reply with its encoding and SMS parts, and the YAML diff.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from gateway.console import audit, bp
from gateway.console.auth import client_addr, role_required, who
from gateway.console.editor import approval_required, bootstrap_text
from gateway.keywords import approval, versions
from gateway.keywords.book import KeywordBook
from gateway.keywords.problems import KeywordFileError
from gateway.keywords.reader import parse_book
from gateway.runtime import signpost


def _book(text: str, source: str) -> KeywordBook | None:
    try:
        return parse_book(text, source)
    except KeywordFileError:  # the bootstrap file may have been refused at start-up
        return None


def draft_page(status: int = 200) -> ResponseReturnValue:
    """The draft against the live version: changed replies, YAML diff, and the actions open to this user."""
    r = signpost().redis
    current = versions.get_draft(r)
    live, live_text = versions.live_text(r, bootstrap_text())
    required = approval_required()
    if current is None:
        return render_template("draft.html", draft=None, live=live, required=required), status
    book = parse_book(current.text, "draft")
    changes = versions.diff(live_text, current.text, f"live ({'version ' + str(live) if live else 'keywords.yaml'})",
                            "draft")
    return render_template(
        "draft.html", draft=current, live=live, changes=changes, warnings=book.warnings,
        stale=current.base != live, required=required, digest=approval.digest(current.text),
        replies=approval.reply_changes(_book(live_text, "live"), book),
        author=who() in current.editors or who() == current.submitted_by,
    ), status


@bp.get("/draft")
@role_required("editor")
def draft() -> ResponseReturnValue:
    return draft_page()


def _refused(exc: approval.ApprovalError) -> ResponseReturnValue:
    flash(str(exc), "error")
    if isinstance(exc, approval.OwnDraft):
        audit.record(signpost().redis, current_user.name, "approval-refused", str(exc), client_addr())
        return draft_page(403)
    return redirect(url_for("console.draft"))


def _reviewed() -> str:
    return request.form.get("digest", "")


@bp.post("/draft/submit")
@role_required("editor")
def submit() -> ResponseReturnValue:
    r = signpost().redis
    if not approval_required():
        flash("Publishing needs no approval here: publish the draft directly.", "error")
        return redirect(url_for("console.draft"))
    message = request.form.get("message", "")
    try:
        approval.submit(r, who(), _reviewed(), message)
    except approval.ApprovalError as exc:
        return _refused(exc)
    audit.record(r, current_user.name, "draft-submitted", message.strip(), client_addr())
    flash("Submitted for approval: another editor must approve it before it goes live.", "info")
    return redirect(url_for("console.draft"))


@bp.post("/draft/withdraw")
@role_required("editor")
def withdraw() -> ResponseReturnValue:
    r = signpost().redis
    try:
        approval.withdraw(r, who(), _reviewed())
    except approval.ApprovalError as exc:
        return _refused(exc)
    audit.record(r, current_user.name, "draft-withdrawn", "", client_addr())
    flash("Submission withdrawn: the draft is yours to change.", "info")
    return redirect(url_for("console.draft"))


@bp.post("/draft/send-back")
@role_required("editor")
def send_back() -> ResponseReturnValue:
    r = signpost().redis
    comment = request.form.get("comment", "")
    try:
        returned = approval.send_back(r, who(), _reviewed(), comment)
    except approval.ApprovalError as exc:
        return _refused(exc)
    audit.record(r, current_user.name, "draft-sent-back",
                 f"to {returned.submitted_by} by {who()}: {comment.strip()}", client_addr())
    flash(f"Sent back to {returned.submitted_by} with your comment.", "info")
    return redirect(url_for("console.draft"))


@bp.post("/draft/approve")
@role_required("editor")
def approve() -> ResponseReturnValue:
    sp = signpost()
    try:
        version, draft_ = approval.approve(sp.redis, who(), _reviewed(), bootstrap_text())
    except approval.ApprovalError as exc:
        return _refused(exc)
    sp.live.expire()
    audit.record(sp.redis, current_user.name, "approved",
                 f"version {version.number}: {version.message} (submitted by {draft_.submitted_by}, approved and "
                 f"published by {who()})", client_addr())
    flash(f"Approved: version {version.number} is published. Every process serves it within 2 seconds.", "info")
    return redirect(url_for("console.version", number=version.number))
