"""Redis Sentinel with real processes: a primary, a replica and three sentinels; the primary is killed and a
keyword text before and after the failover is each answered exactly once."""

from __future__ import annotations

import shutil
import time
import xml.etree.ElementTree as ET

import pytest
from rq import SimpleWorker
from rq.registry import StartedJobRegistry

from gateway import create_app, redisdb, sending, settings
from tests.conftest import inbound_form, post_signed
from tests.redis_topology import MASTER, Topology

pytestmark = [pytest.mark.slow,  # five redis-server processes
              pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server on PATH")]


@pytest.fixture
def topology(tmp_path):
    with Topology(tmp_path) as topo:
        yield topo


def sentinel_app(config: dict, topo: Topology):
    return create_app({**config, "REDIS_URL": "redis://ignored-host:1/0", "REDIS_SENTINELS": topo.sentinels_setting,
                       "REDIS_SENTINEL_MASTER": MASTER, "REDIS_TIMEOUT": 1})


def answered(app, form: dict, standin) -> int:
    """How many answers the texter got for `form`: inline in the TwiML, or sent by a worker."""
    before = len(standin.messages)
    inline = ET.fromstring(post_signed(app.test_client(), "/sms", form).data).findall("Message")
    sp = app.extensions["signpost"]
    SimpleWorker(list(sp.queues.values()), connection=sp.redis, serializer=sending.SERIALIZER).work(burst=True)
    sent = [m for m in standin.messages[before:] if m["to"] == form["From"]]
    return len(inline) + len(sent)


def test_a_text_before_and_after_a_failover_is_each_answered_once(config, topology, standin):
    app = sentinel_app(config, topology)
    before = inbound_form("DVS", texter="+447911000301")
    assert answered(app, before, standin) == 1
    _, old_port = topology.primary()
    assert redisdb.view()["primary"] == f"127.0.0.1:{old_port}"
    topology.kill_primary()
    topology.wait_for_failover(old_port)
    after = inbound_form("STALKING", texter="+447911000302")
    assert answered(app, after, standin) == 1
    assert answered(app, before, standin) == 0  # Twilio posting the first text again: still one answer
    view = redisdb.view()
    assert view["primary"] != f"127.0.0.1:{old_port}" and view["failovers"] >= 1
    ready = app.test_client().get("/readyz").json
    assert ready["redis"]["primary"] == view["primary"] and ready["redis"]["failovers"] == view["failovers"]


def test_sentinel_settings_go_together(config):
    with pytest.raises(settings.ConfigError, match="REDIS_SENTINEL_MASTER"):
        create_app({**config, "REDIS_SENTINELS": "127.0.0.1:26379"})
    with pytest.raises(settings.ConfigError, match="not host:port"):
        create_app({**config, "REDIS_SENTINELS": "127.0.0.1", "REDIS_SENTINEL_MASTER": MASTER})


def wait_until_idle(sp, timeout: float = 20.0) -> None:
    """Wait until no job is queued or started, and the replica has acknowledged every write so far."""
    deadline = time.monotonic() + timeout
    while any(q.count or StartedJobRegistry(queue=q).count for q in sp.queues.values()):
        assert time.monotonic() < deadline, "jobs still queued or started"
        time.sleep(0.05)
    assert sp.redis.execute_command("WAIT", 1, 2000) == 1


def test_a_worker_process_follows_the_failover(config, topology, standin):
    """`python -m workers` through Sentinel: its lanes and their workers find the new primary by themselves."""
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    app = sentinel_app(config, topology)
    env = {**os.environ, **{k: str(v) for k, v in config.items() if k.isupper() and k != "TESTING"},
           "REDIS_URL": "redis://ignored-host:1/0", "REDIS_SENTINELS": topology.sentinels_setting,
           "REDIS_SENTINEL_MASTER": MASTER}
    worker = subprocess.Popen([sys.executable, "-m", "workers", "--concurrency", "1"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        post_signed(app.test_client(), "/sms", inbound_form("DVS", texter="+447911000311"))
        standin.wait_for(1, timeout=30)
        # Replication is asynchronous: killed before the worker's "finished" reached the replica, the job runs
        # again on the new primary and the first reply goes out twice (at least once, by design; measured in
        # bench/RESULTS.md). This test is about the worker finding the new primary, so it kills only once the
        # first job is finished and the replica holds that.
        wait_until_idle(app.extensions["signpost"])
        _, old_port = topology.primary()
        topology.kill_primary()
        topology.wait_for_failover(old_port)
        response = post_signed(app.test_client(), "/sms", inbound_form("STALKING", texter="+447911000312"))
        inline = ET.fromstring(response.data).findall("Message")
        if not inline:  # queued on the new primary: the worker must send it
            standin.wait_for(2, timeout=60)
    finally:
        worker.terminate()
        worker.wait(20)
    assert sorted(m["to"] for m in standin.messages) + ["+447911000312"] * len(inline) == [
        "+447911000311", "+447911000312"]
