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

import redis
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

from gateway.console import audit, bp, csrf, login_manager, users
from gateway.redisdb import PREFIX
from gateway.runtime import signpost

MAX_FAILURES = 5
LOCK_SECONDS = 15 * 60
LOCKED_MESSAGE = ("Too many failed sign-ins for this account or from this address. "
                  "Sign-in is locked for {minutes} minutes; ask an admin if you need help sooner.")


def _fail_key(kind: str, value: str) -> str:
    return f"{PREFIX}login-fail:{kind}:{value}"


def _lock_key(kind: str, value: str) -> str:
    return f"{PREFIX}login-lock:{kind}:{value}"


def locked_for(r: redis.Redis, name: str, addr: str) -> int:
    """Seconds left on a lock of this user name or this address (0: not locked)."""
    with r.pipeline(transaction=False) as p:
        p.ttl(_lock_key("user", name))
        p.ttl(_lock_key("addr", addr))
        ttls = p.execute()
    return max(0, *ttls)


def record_failure(r: redis.Redis, name: str, addr: str) -> bool:
    """Count a failed sign-in for the name and the address; True if either is now locked."""
    with r.pipeline(transaction=False) as p:
        for kind, value in (("user", name), ("addr", addr)):
            p.incr(_fail_key(kind, value))
            p.expire(_fail_key(kind, value), LOCK_SECONDS, nx=True)
        counts = p.execute()[::2]
    locked = False
    with r.pipeline(transaction=False) as p:
        for (kind, value), count in zip((("user", name), ("addr", addr)), counts, strict=True):
            if count >= MAX_FAILURES:
                p.set(_lock_key(kind, value), "1", ex=LOCK_SECONDS)
                p.delete(_fail_key(kind, value))
                locked = True
        p.execute()
    return locked


def clear_failures(r: redis.Redis, name: str) -> None:
    r.delete(_fail_key("user", name))


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


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    r = signpost().redis
    name = users.normalise_name(request.form.get("name", ""))[:64]
    password = request.form.get("password", "")
    addr = client_addr()
    left = locked_for(r, name, addr)
    if left:
        audit.refused(r, name, "login-refused-locked", addr)
        flash(LOCKED_MESSAGE.format(minutes=math.ceil(left / 60)), "error")
        return render_template("login.html", name=name, next=request.form.get("next", "")), 429
    user = users.authenticate(r, name, password) if name and password else None
    if user is None:
        audit.refused(r, name, "login-failed", addr)
        if record_failure(r, name or "-", addr):
            audit.refused(r, name, "login-locked", addr, f"{MAX_FAILURES} failures")
            flash(LOCKED_MESSAGE.format(minutes=LOCK_SECONDS // 60), "error")
            return render_template("login.html", name=name, next=request.form.get("next", "")), 429
        flash("Wrong name or password.", "error")
        return render_template("login.html", name=name, next=request.form.get("next", "")), 401
    session.clear()  # a fresh session on every sign-in
    login_user(user)
    clear_failures(r, name)
    audit.record(r, user.name, "login", user.role, addr)
    return redirect(_safe_next(request.form.get("next")) or url_for("console.home"))


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    """Sign out everywhere: every session of this user ends."""
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
