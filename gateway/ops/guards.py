"""HTTP guards for every request: body size limits per route (413 before anything reads the body), HSTS.

Limits use Flask's own mechanism: MAX_CONTENT_LENGTH is the app-wide ceiling (the console's), and each
request's `max_content_length` is set to its route's limit before any view, decorator or form parser runs.
A Content-Length over the limit is refused without reading a byte; a chunked body (no Content-Length) is
read here through werkzeug's limited stream, stopped one byte past the limit and refused with a 413, before
the signature check or the CSRF check parses the form.
"""

from __future__ import annotations

from flask import Flask, Response, abort, request

# Twilio's webhooks are a few KB (a 1,600-character body, percent-encoded as UCS-2, is under 20 KB).
WEBHOOK_MAX_BYTES = 64 * 1024
# Console forms and JSON: a whole keywords file may go through a console form.
CONSOLE_MAX_BYTES = 2 * 1024 * 1024
WEBHOOK_ENDPOINTS = frozenset({"webhook.receive_sms", "webhook.receive_status"})
HSTS = "max-age=31536000; includeSubDomains"


def body_limit() -> int:
    """The most bytes the current request's route accepts."""
    return WEBHOOK_MAX_BYTES if request.endpoint in WEBHOOK_ENDPOINTS else CONSOLE_MAX_BYTES


def limit_body() -> None:
    """Refuse (413) a body over its route's limit, before any view or form parser reads it."""
    limit = body_limit()
    request.max_content_length = limit
    length = request.content_length
    if length is not None:
        if length > limit:
            abort(413)
    elif "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        # Read now (kept for the view). werkzeug's limited stream stops quietly at max_content_length, which
        # would hand the view a truncated form: read one byte past the limit to tell a body that is too long.
        request.max_content_length = limit + 1
        if len(request.get_data()) > limit:
            abort(413)


def strict_transport(response: Response) -> Response:
    """Tell browsers to use https only for this host (production)."""
    response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def init_app(app: Flask, production: bool) -> None:
    """Install the limits (every request) and, in production, HSTS on every response."""
    app.config["MAX_CONTENT_LENGTH"] = CONSOLE_MAX_BYTES
    app.before_request(limit_body)
    if production:
        app.after_request(strict_transport)
