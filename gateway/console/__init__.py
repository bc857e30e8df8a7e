"""The staff console at /console: keyword editor, drafts and versions, sandbox phone, relay inbox, message log.

Server-rendered pages; Flask-Login sessions with argon2 password hashes; Flask-WTF CSRF on every POST of
the blueprint (the Twilio webhooks are signed instead and are not touched); roles checked on every view.
"""

from __future__ import annotations

import logging
import secrets

from flask import Blueprint, Flask, Request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static", static_url_path="/static")
login_manager = LoginManager()
csrf = CSRFProtect()
log = logging.getLogger("signpost.console")


class ConsoleSessions(SecureCookieSessionInterface):
    """Cookie sessions for the console only: Twilio's webhooks carry no cookie, and opening a session for each
    text (a signing serializer built per request, a Vary: Cookie on the answer) buys them nothing."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.path.startswith(bp.url_prefix or "/console"):
            return None  # Flask gives the request a read-only null session
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    """Attach the console, its session and CSRF settings, and its CLI commands to the app."""
    production = app.extensions["signpost"].settings.production
    if not app.config.get("SECRET_KEY"):
        # Development only (production refuses to start without it): sessions last until a restart.
        app.config["SECRET_KEY"] = secrets.token_hex(32)
        log.warning("SECRET_KEY is not set: console sessions end when the app restarts")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=production,
        PERMANENT_SESSION_LIFETIME=12 * 3600,
        WTF_CSRF_CHECK_DEFAULT=False,  # checked in the blueprint's before_request, so /sms stays CSRF-free
        WTF_CSRF_TIME_LIMIT=12 * 3600,
    )
    app.session_interface = ConsoleSessions()
    login_manager.init_app(app)
    login_manager.login_view = "console.login"
    login_manager.login_message = "Please sign in."
    login_manager.session_protection = "strong"
    csrf.init_app(app)

    from gateway.console import (  # noqa: F401  (modules register their views on bp)
        admin,
        auth,
        editor,
        inbox,
        messages,
        reports,
        review,
        sandbox,
        versions_views,
    )
    from gateway.console.cli import register

    app.register_blueprint(bp)
    register(app)
