"""Log lines: one JSON object a line in production, plain text in development.

Every line written while a request is handled carries its request id (the caller's X-Request-Id, else a new
one, echoed back in the response) and the MessageSid of the text being handled. Phone numbers are masked by
the code that logs them (`gateway.phone.mask`); the JSON formatter also scrubs any number-like run in every
message and exception text (Twilio's errors name the recipient), and message bodies are never logged. Flask's
own log (an unhandled exception in a view) goes through the same handler.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid

from flask import Flask, Response, request

from gateway.phone import scrub

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("signpost_request_id", default=None)
MESSAGE_SID: contextvars.ContextVar[str | None] = contextvars.ContextVar("signpost_message_sid", default=None)
_REQUEST_ID_OK = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, msg, request_id, message_sid, and extras."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),  # the code masks numbers it logs; this catches the rest
        }
        request_id, sid = REQUEST_ID.get(), MESSAGE_SID.get()
        if request_id:
            data["request_id"] = request_id
        if sid:
            data["message_sid"] = sid
        for name, value in vars(record).items():
            if name not in _STANDARD and not name.startswith("_"):
                data[name] = value if isinstance(value, (int, float, bool)) or value is None else scrub(str(value))
        if record.exc_info:
            data["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


class ContextFilter(logging.Filter):
    """Adds request_id and message_sid to records for the plain-text format."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        record.message_sid = MESSAGE_SID.get() or "-"
        return True


PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def handler(json_lines: bool) -> logging.Handler:
    """A stderr handler in the production (JSON) or development (plain) format."""
    out = logging.StreamHandler()
    if json_lines:
        out.setFormatter(JsonFormatter())
    else:
        out.addFilter(ContextFilter())
        out.setFormatter(logging.Formatter(PLAIN_FORMAT))
    return out


def bind_message_sid(sid: str) -> None:
    """Put the MessageSid of the text being handled (already checked) on the request's log lines."""
    MESSAGE_SID.set(sid)


def init_app(app: Flask) -> None:
    """Bind a request id to every log line of a request (the webhook binds the MessageSid once checked)."""

    @app.before_request
    def _bind() -> None:
        # No form parsing here: a body is read only by the view that needs it, after its checks.
        given = request.headers.get("X-Request-Id", "")
        REQUEST_ID.set(given if _REQUEST_ID_OK.match(given) else uuid.uuid4().hex)

    @app.after_request
    def _echo(response: Response) -> Response:
        request_id = REQUEST_ID.get()
        if request_id:
            response.headers["X-Request-Id"] = request_id
        return response

    @app.teardown_request
    def _unbind(exc: BaseException | None = None) -> None:
        REQUEST_ID.set(None)
        MESSAGE_SID.set(None)
