"""Admin pages: users (create, disable, enable, unlock) and the audit log."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from gateway.console import audit, bp, lockout, users
from gateway.console.auth import client_addr, role_required
from gateway.runtime import signpost


def _users_page(status: int = 200, form: object = None) -> ResponseReturnValue:
    r = signpost().redis
    listed = users.all_users(r)
    locks = {u.name: lockout.account_locks(r, u.name) for u in listed}
    return render_template("users.html", users=listed, locks=locks, roles=users.ROLES,
                           min_password=users.MIN_PASSWORD, form=form), status


@bp.get("/users")
@role_required("admin")
def users_page() -> ResponseReturnValue:
    return _users_page()


@bp.post("/users")
@role_required("admin")
def users_create() -> ResponseReturnValue:
    r = signpost().redis
    try:
        user = users.create(r, request.form.get("name", ""), request.form.get("role", ""),
                            request.form.get("password", ""))
    except users.UserError as exc:
        flash(f"Not created: {exc}", "error")
        return _users_page(400, request.form)
    audit.record(r, current_user.name, "user-created", f"{user.name} role={user.role}", client_addr())
    flash(f"Created {user.name} ({user.role}).", "info")
    return redirect(url_for("console.users_page"))


@bp.post("/users/<name>/<any(disable, enable):action>")
@role_required("admin")
def users_toggle(name: str, action: str) -> ResponseReturnValue:
    r = signpost().redis
    name = users.normalise_name(name)
    if name == current_user.name and action == "disable":
        flash("You cannot disable yourself.", "error")
        return redirect(url_for("console.users_page"))
    user = users.set_disabled(r, name, action == "disable")
    if user is None:
        flash(f"No user {name}.", "error")
    else:
        audit.record(r, current_user.name, f"user-{action}d", user.name, client_addr())
        flash(f"{user.name} {action}d.", "info")
    return redirect(url_for("console.users_page"))


@bp.post("/users/<name>/unlock")
@role_required("admin")
def users_unlock(name: str) -> ResponseReturnValue:
    """Lift the account's sign-in locks: untrusted browsers and each locked device cookie."""
    r = signpost().redis
    user = users.get(r, name)
    if user is None:
        flash(f"No user {users.normalise_name(name)}.", "error")
    else:
        lockout.unlock(r, user.name)
        audit.record(r, current_user.name, "user-unlocked", user.name, client_addr())
        flash(f"{user.name} unlocked: sign-in works again from any browser.", "info")
    return redirect(url_for("console.users_page"))


@bp.get("/audit")
@role_required("admin")
def audit_page() -> ResponseReturnValue:
    return render_template("audit.html", entries=audit.recent(signpost().redis, 300),
                           keep_days=audit.keep_seconds() // 86400)
