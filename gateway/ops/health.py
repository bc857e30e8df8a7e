"""Liveness and readiness probes: the process is up; the service can answer texts and relay work is moving."""

from __future__ import annotations

import redis
from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue

from gateway import redisdb
from gateway.ops import metrics
from gateway.runtime import signpost
from gateway.sending import RELAY

bp = Blueprint("health", __name__)

RELAY_MAX_AGE = 60.0  # seconds the oldest waiting relay job may be before the service is not ready
HEARTBEAT_MAX_AGE = 130.0  # an idle worker beats every ~15 s; a busy one before each job (job timeout + 60)


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
        problems += work_problems(sp.redis)
    if sp.book is None:
        problems.append("keywords not loaded")
    # Which Redis primary this process uses and the failovers it has seen (Sentinel), for the on-call engineer.
    seen = redisdb.view()
    if problems:
        return jsonify(status="unavailable", problems=problems, redis=seen), 503
    return jsonify(status="ready", redis=seen), 200


def work_problems(r: redis.Redis) -> list[str]:
    """What makes the service not ready, worded for the on-call engineer; empty when ready."""
    out = []
    try:
        if metrics.live_workers(r, HEARTBEAT_MAX_AGE) == 0:
            out.append("no worker has a live heartbeat: replies are queued but nothing sends them")
        age = metrics.queue_stats(r)[RELAY]["oldest_age"]
        if age > RELAY_MAX_AGE:
            out.append(f"oldest relay job has waited {age:.0f}s (limit {RELAY_MAX_AGE:.0f}s)")
    except redis.RedisError as exc:
        out.append(f"redis unreachable: {type(exc).__name__}")
    return out
