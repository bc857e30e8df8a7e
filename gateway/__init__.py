"""signpost: SMS keyword gateway and helpline signposting bot."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway import redisdb, sending, settings
from gateway.keywords.book import KeywordBook
from gateway.keywords.problems import KeywordFileError
from gateway.keywords.reader import load_book
from gateway.runtime import Signpost


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app from the environment, or (tests) from `test_config` alone; never touches Redis."""
    app = Flask(__name__)
    s = settings.install(settings.load() if test_config is None else settings.load({}, test_config))
    app.config.from_mapping(SECRET_KEY=s.secret_key or None)
    app.config.from_mapping({k: v for k, v in (test_config or {}).items() if k not in settings.NAMES})
    if s.proxy_count:
        # Behind a load balancer: the client address (console lockout) and public URL come from its headers.
        n = s.proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    configure_logging(s.log_level, json_lines=s.production)

    connection = redisdb.connect(s)
    book = load_bootstrap(s.keywords_file)
    if book and book.relay_numbers and not s.relay_forward_to and s.production:
        lines = ", ".join(book.relay_numbers)
        raise settings.ConfigError(f"RELAY_FORWARD_TO is not set; {s.keywords_file} marks relay line {lines}")
    app.extensions["signpost"] = Signpost(s, connection, sending.make_queues(connection), book)

    from gateway import cli, console
    from gateway.ops import guards, health, logs, metrics
    from gateway.texts import cli as texts_cli
    from gateway.texts import webhook

    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    logs.init_app(app)
    guards.init_app(app, s.production)  # before the console's hooks: its CSRF check reads the form
    cli.register(app)
    texts_cli.register(app)
    console.init_app(app)

    if not s.twilio_auth_token:
        logging.getLogger("signpost").warning(
            "development mode without TWILIO_AUTH_TOKEN: webhook signatures are not checked "
            "and replies go to the local outbox"
        )
    return app


def load_bootstrap(path: str) -> KeywordBook | None:
    """The keywords file, or None when it is refused: a version published in Redis is then served instead."""
    try:
        return load_book(path)
    except KeywordFileError as exc:
        # Not fatal: the live version in Redis keeps serving; /readyz says 503 until keywords are loaded.
        logging.getLogger("signpost").error("keywords: KEYWORDS_FILE refused, not served: %s", exc)
        return None


def configure_logging(level: str, json_lines: bool = False) -> None:
    """Send signpost's own log lines to stderr once per process: JSON lines in production, else plain text."""
    from gateway.ops import logs

    logger = logging.getLogger("signpost")
    logger.setLevel(level.upper())
    if not logger.handlers:
        logger.addHandler(logs.handler(json_lines))
    # Flask logs an unhandled exception on its app logger (named after this package): the same handler, so
    # it is a JSON line with numbers scrubbed like every other, not Flask's plain default.
    logging.getLogger(__name__).handlers[:] = logger.handlers
