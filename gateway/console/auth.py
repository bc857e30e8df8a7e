"""Sign-in, sign-out, login throttling, role checks and CSRF for the console."""

from __future__ import annotations

import functools
import hmac
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, NoReturn
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required, login_user, logout_user

from gateway.console import audit, bp, csrf, lockout, login_manager, users
from gateway.runtime import signpost

LOCKED_MESSAGES = {
    "device": "Too many failed sign-ins for this account in this browser: it is locked for {minutes} minutes here. "
              "An admin can unlock the account sooner.",
    "user": "Too many failed sign-ins for this account: it is locked for {minutes} minutes in browsers it has not "
            "signed in with before. A browser you have signed in with before can still sign in, and an admin can "
            "unlock the account sooner.",
    "addr": "Too many failed sign-ins from this network address: sign-in from it is locked for {minutes} minutes, "
            "except in a browser you have signed in with before.",
}
LOCK_DETAILS = {"device": "this browser's device cookie", "user": "untrusted browsers for the account",
                "addr": "untrusted browsers from the address"}


def client_addr() -> str:
    """The client's address as the console records and throttles it."""
    return request.remote_addr or "unknown"


@login_manager.user_loader
def load_user(user_id: str) -> users.User | None:
    """The session's user while the session's epoch is still the user's (sign-out, disable and a new password
    change it) and the user is enabled."""
    name, epoch = users.split_id(user_id)
    user = users.get(signpost().redis, name)
    if user is None or user.disabled or not epoch or not hmac.compare_digest(user.epoch.encode(), epoch.encode()):
        return None
    return user


@bp.before_request
def check_csrf() -> None:
    """Every POST to the console carries the session's CSRF token (form field or X-CSRFToken header)."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


@bp.after_request
def no_store(response):
    """Console pages hold case texts and numbers: never cached, never framed."""
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
    )
    return response


@bp.app_context_processor
def roles() -> dict[str, Any]:
    def can(*names: str) -> bool:
        return bool(current_user.is_authenticated and current_user.can(*names))

    return {"can": can}


def role_required(*roles: str) -> Callable:
    """Signed in and holding one of `roles` (admins hold every role); else sign-in page or 403."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            if not current_user.can(*roles):
                audit.record(signpost().redis, current_user.name, "forbidden", request.path, client_addr())
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def fragment_of(page: str) -> Callable:
    """Mark a view as a part of `page` (an endpoint with the same arguments) that the page fetches to refresh."""

    def decorate(view: Callable) -> Callable:
        # functools.wraps copies it onto role_required's and login_required's wrappers.
        view.fragment_of = page  # type: ignore[attr-defined]
        return view

    return decorate


def is_fetch() -> bool:
    """A request made by the console's own script (console.js sends X-Requested-With: fetch)."""
    return request.headers.get("X-Requested-With", "").lower() in ("fetch", "xmlhttprequest")


def _page_path() -> str:
    """Where sign-in should return to: the page itself, never a fragment of it."""
    view = current_app.view_functions.get(request.endpoint or "")
    page = getattr(view, "fragment_of", None)
    if page:
        return url_for(page, **(request.view_args or {}))
    query = request.query_string.decode("latin-1")
    return request.path + (f"?{query}" if query else "")


@login_manager.unauthorized_handler
def unauthorized() -> ResponseReturnValue:
    """Not signed in: pages go to the sign-in page; the page script's fetches get a 401 it can explain."""
    login = url_for("console.login", next=_page_path())
    if is_fetch():
        # Not a redirect: fetch would follow it and put the sign-in form where the fragment goes.
        return jsonify(signed_out=True, login=login), 401
    message, category = login_manager.login_message, login_manager.login_message_category
    # Once is enough: a client that never follows the redirect must not pile copies into its session cookie.
    if (category, message) not in [tuple(f) for f in session.get("_flashes", [])]:
        flash(message, category)
    return redirect(login)


def json_object() -> dict[str, Any]:
    """The request's body as a JSON object; anything else ends the request with a 400 saying why."""

    def refuse(reason: str) -> NoReturn:
        abort(make_response(jsonify(error=reason), 400))

    if not request.is_json:
        refuse("the body must be JSON, sent with Content-Type: application/json")
    try:
        payload = json.loads(request.get_data())
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser goes
        refuse("the body is not valid JSON")
    if not isinstance(payload, dict):
        refuse(f"the body must be a JSON object, not {type(payload).__name__}")
    return payload


def who() -> str:
    """How console actions are attributed: console:<name>."""
    return f"console:{current_user.name}"


def _safe_next(target: str | None) -> str | None:
    """`target` if it is a path inside the console on this site, else None (no open redirects)."""
    if not target or "\\" in target or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not (parts.path == "/console" or parts.path.startswith("/console/")):
        return None
    return target


def _refused(name: str, lock: lockout.Lock) -> ResponseReturnValue:
    flash(LOCKED_MESSAGES[lock.kind].format(minutes=math.ceil(lock.seconds / 60)), "error")
    return render_template("login.html", name=name, next=request.form.get("next", "")), 429


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Sign in. Throttled the OWASP device-cookie way (gateway/console/lockout.py): a browser that signed in as
    this user before is locked out only by its own failures."""
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    r = signpost().redis
    name = users.normalise_name(request.form.get("name", ""))[:64]
    password = request.form.get("password", "")
    addr = client_addr()
    secret = current_app.config["SECRET_KEY"]
    nonce = (lockout.device_nonce(secret, name, request.cookies.get(lockout.device_cookie_name(name)))
             if users.NAME.match(name) else None)
    lock = lockout.locked(r, name, addr, nonce)
    if lock:
        audit.refused(r, name, "login-refused-locked", addr, LOCK_DETAILS[lock.kind])
        return _refused(name, lock)
    user = users.authenticate(r, name, password) if name and password else None
    if user is None:
        audit.refused(r, name, "login-failed", addr, "trusted browser" if nonce else "")
        lock = lockout.record_failure(r, name, addr, nonce)
        if lock:
            audit.refused(r, name, "login-locked", addr,
                          f"{LOCK_DETAILS[lock.kind]}: {lockout.MAX_FAILURES} failures, "
                          f"{lockout.LOCK_SECONDS // 60} minutes")
            return _refused(name, lock)
        flash("Wrong name or password.", "error")
        return render_template("login.html", name=name, next=request.form.get("next", "")), 401
    session.clear()  # a fresh session on every sign-in
    login_user(user)
    lockout.succeeded(r, user.name, nonce)
    audit.record(r, user.name, "login", user.role, addr)
    response = redirect(_safe_next(request.form.get("next")) or url_for("console.home"))
    # A new device cookie (new nonce) on every sign-in: this browser is trusted for this user from now on.
    response.set_cookie(lockout.device_cookie_name(user.name), lockout.issue_device_cookie(secret, user.name),
                        max_age=lockout.DEVICE_COOKIE_DAYS * 86400, path=url_for("console.login"),
                        secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Strict")
    return response


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """Sign out everywhere: every session of this user ends (the device cookie stays: the browser is trusted)."""
    r = signpost().redis
    audit.record(r, current_user.name, "logout", "", client_addr())
    users.end_sessions(r, current_user.name)
    logout_user()
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("console.login"))


@bp.get("/")
@login_required
def home() -> ResponseReturnValue:
    if current_user.can("editor"):
        return redirect(url_for("console.keywords"))
    return redirect(url_for("console.inbox"))


@bp.app_template_filter("when")
def when(at: float | str | None) -> str:
    """A stored time as staff read it (UTC, named)."""
    if not at:
        return "-"
    return datetime.fromtimestamp(float(at), UTC).strftime("%d/%m/%Y %H:%M:%S UTC")
