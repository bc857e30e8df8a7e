"""Liveness and readiness."""

from __future__ import annotations

from rq import Queue, SimpleWorker

from gateway import create_app


def test_healthz(client):
    assert client.get("/healthz").json == {"status": "ok"}


def test_readyz_ok(client, r):
    SimpleWorker([Queue("relay", connection=r)], connection=r).register_birth()  # a live heartbeat
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json["status"] == "ready"


def test_readyz_503_without_redis(config):
    app = create_app({**config, "REDIS_URL": "redis://127.0.0.1:1/0", "REDIS_TIMEOUT": 0.5})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "redis unreachable" in response.json["problems"][0]
