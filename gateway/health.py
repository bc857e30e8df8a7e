"""Liveness and readiness probes."""

from __future__ import annotations

import redis
from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from gateway import readiness
from gateway.runtime import signpost

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process is up."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> ResponseReturnValue:
    """Ready when Redis answers, keywords are loaded, a worker is alive and relay work is not stuck (else 503)."""
    sp = signpost()
    problems = []
    try:
        sp.redis.ping()
    except redis.RedisError as exc:
        problems.append(f"redis unreachable: {type(exc).__name__}")
    else:
        problems += readiness.problems(sp.redis)
    if sp.book is None:
        problems.append("keywords not loaded")
    if problems:
        return jsonify(status="unavailable", problems=problems), 503
    return jsonify(status="ready"), 200
