"""Publishing the draft (when no approval is needed), version history, restore and download."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from gateway.console import audit, bp
from gateway.console.auth import client_addr, role_required, who
from gateway.console.editor import approval_required, bootstrap_text
from gateway.keywords import versions
from gateway.keywords.problems import KeywordFileError
from gateway.runtime import signpost


@bp.post("/draft/publish")
@role_required("editor")
def publish() -> ResponseReturnValue:
    sp = signpost()
    r = sp.redis
    current = versions.get_draft(r)
    message = request.form.get("message", "").strip()
    if current is None:
        flash("There is no draft to publish.", "error")
        return redirect(url_for("console.draft"))
    if approval_required():
        flash("Publishing needs a second person's approval: submit the draft for approval.", "error")
        return redirect(url_for("console.draft"))
    if not message:
        flash("Say what changed (the message is kept with the version).", "error")
        return redirect(url_for("console.draft"))
    live = versions.live_number(r)
    if current.base != live:
        flash(f"Version {live} was published after this draft was started: discard the draft and redo "
              "the edits on the new version.", "error")
        return redirect(url_for("console.draft"))
    try:
        version = versions.publish(r, current.text, who(), message, bootstrap_text(), source="draft")
    except KeywordFileError as exc:  # cannot happen for a checked draft, but never publish unchecked text
        flash(f"Refused: {exc}", "error")
        return redirect(url_for("console.draft"))
    versions.discard_draft(r)
    sp.live.expire()
    audit.record(r, current_user.name, "published", f"version {version.number}: {version.message}", client_addr())
    flash(f"Published version {version.number}. Every process serves it within 2 seconds.", "info")
    return redirect(url_for("console.version", number=version.number))


@bp.post("/draft/discard")
@role_required("editor")
def discard() -> ResponseReturnValue:
    r = signpost().redis
    versions.discard_draft(r)
    audit.record(r, current_user.name, "draft-discarded", "", client_addr())
    flash("Draft discarded.", "info")
    return redirect(url_for("console.keywords"))


@bp.get("/versions")
@role_required("editor")
def versions_page() -> ResponseReturnValue:
    r = signpost().redis
    return render_template("versions.html", history=versions.history(r), live=versions.live_number(r),
                           required=approval_required())


@bp.get("/versions/<int:number>")
@role_required("editor")
def version(number: int) -> ResponseReturnValue:
    r = signpost().redis
    found = versions.get(r, number)
    if found is None:
        abort(404)
    return render_template("version.html", version=found, live=versions.live_number(r))


@bp.get("/versions/<int:number>.yaml")
@role_required("editor")
def version_yaml(number: int) -> ResponseReturnValue:
    found = versions.get(signpost().redis, number)
    if found is None:
        abort(404)
    return Response(found.text, mimetype="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=keywords-v{number}.yaml"})


@bp.post("/versions/<int:number>/restore")
@role_required("editor")
def restore(number: int) -> ResponseReturnValue:
    sp = signpost()
    if approval_required():
        return _restore_to_draft(number)
    restored = versions.restore(sp.redis, number, who(), bootstrap_text())
    if restored is None:
        abort(404)
    sp.live.expire()
    audit.record(sp.redis, current_user.name, "restored", f"version {number} as version {restored.number}",
                 client_addr())
    flash(f"Version {number} restored: it is now live as version {restored.number}.", "info")
    return redirect(url_for("console.version", number=restored.number))


def _restore_to_draft(number: int) -> ResponseReturnValue:
    """With approval required a restore is a draft like any other change: someone else approves it."""
    r = signpost().redis
    old = versions.get(r, number)
    if old is None:
        abort(404)
    if versions.get_draft(r) is not None:
        flash("There is a draft already: publish or discard it before restoring an old version.", "error")
        return redirect(url_for("console.draft"))
    versions.save_draft(r, old.text, versions.live_number(r), who(), message=f"restored version {number}",
                        restored_from=number)
    audit.record(r, current_user.name, "restore-drafted", f"version {number} as the draft", client_addr())
    flash(f"Version {number} is now the draft: submit it, and it goes live when another editor approves it.",
          "info")
    return redirect(url_for("console.draft"))
