"""signpost: SMS keyword gateway and helpline signposting bot."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import redis
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway import config
from gateway.keywordbook import KeywordBook, KeywordFileError, load_book
from gateway.queues import make_queues
from gateway.runtime import Signpost


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the Flask app from the environment (or `test_config`); never touches Redis."""
    app = Flask(__name__)
    settings = config.from_env()
    if test_config:
        settings.update(test_config)
    config.validate(settings)
    app.config.from_mapping(settings)
    if settings["PROXY_COUNT"]:
        # Behind a load balancer: the client address (console lockout) and public URL come from its headers.
        n = settings["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    configure_logging(settings["LOG_LEVEL"], json_lines=settings["SIGNPOST_ENV"] == config.PRODUCTION)

    connection = redis.Redis.from_url(
        settings["REDIS_URL"],
        socket_timeout=settings["REDIS_TIMEOUT"],
        socket_connect_timeout=settings["REDIS_TIMEOUT"],
    )
    book = load_bootstrap(settings["KEYWORDS_FILE"])
    production = settings["SIGNPOST_ENV"] == config.PRODUCTION
    if book and book.relay_numbers and not settings["RELAY_FORWARD_TO"] and production:
        lines = ", ".join(book.relay_numbers)
        raise config.ConfigError(f"RELAY_FORWARD_TO is not set; {settings['KEYWORDS_FILE']} marks relay line {lines}")
    app.extensions["signpost"] = Signpost(redis=connection, queues=make_queues(connection), book=book)

    from gateway import cli, console, health, logs, metrics, webhook

    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    logs.init_app(app)
    cli.register(app)
    console.init_app(app)

    if not settings["TWILIO_AUTH_TOKEN"]:
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
        logging.getLogger("signpost").error("keywords: %s refused, not served:\n%s", path, exc)
        return None


def configure_logging(level: str, json_lines: bool = False) -> None:
    """Send signpost's own log lines to stderr once per process: JSON lines in production, else plain text."""
    from gateway import logs

    logger = logging.getLogger("signpost")
    logger.setLevel(level.upper())
    if not logger.handlers:
        logger.addHandler(logs.handler(json_lines))
