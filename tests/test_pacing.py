"""Paced delivery: the shared per-sender cap across worker processes, and urgency order under a backlog."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gateway.sending import RELAY, REPLIES, URGENT, enqueue_send, make_queues
from tests.conftest import CONTROL_ROOM, RELAY_LINE, ROOT, SHORT_CODE
from workers import pacing


def keywords_at(tmp_path: Path, short_code_rate: float) -> str:
    """keywords.yaml with 82228 set to `short_code_rate` messages per second."""
    text = (ROOT / "keywords.yaml").read_text()
    text, n = re.subn(r'("82228":\n(?:    .*\n)*?    rate_per_second: )\d+', rf"\g<1>{short_code_rate:g}", text)
    assert n == 1
    path = tmp_path / "keywords.yaml"
    path.write_text(text)
    return str(path)


def start_workers(count: int = 1, concurrency: int = 1) -> list[subprocess.Popen]:
    """Real `python -m workers` processes with the test's environment."""
    return [subprocess.Popen([sys.executable, "-m", "workers", "--concurrency", str(concurrency)],
                             cwd=ROOT, env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(count)]


def stop(procs: list[subprocess.Popen], timeout: float = 30) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The most arrivals in any half-open window of `window` seconds."""
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


def test_max_in_window():
    assert max_in_window([0, 0.5, 0.99, 1.0, 1.5]) == 3
    assert max_in_window([0, 1, 2]) == 1


@pytest.mark.slow  # a separate process
def test_two_worker_processes_never_exceed_the_cap(settings_env, monkeypatch, tmp_path, r, standin):
    rate = 5
    monkeypatch.setenv("KEYWORDS_FILE", keywords_at(tmp_path, rate))
    qs = make_queues(r)
    n = 22
    with r.pipeline(transaction=False) as p:
        for i in range(n):
            enqueue_send(qs[REPLIES], f"+4475000000{i:02d}", SHORT_CODE, f"reply {i}", f"cap-{i}", pipeline=p)
        p.execute()
    procs = start_workers(count=2)
    try:
        sent = standin.wait_for(n, timeout=30)
    finally:
        stop(procs)
    times = [m["t"] for m in sent if m["from"] == SHORT_CODE]
    assert len(times) == n
    assert max_in_window(times) <= rate
    # Paced, not starved: n sends at 5/s take about (n - 1) / 5 s.
    assert (n - 1) / rate * 0.9 <= max(times) - min(times) <= (n - 1) / rate * 1.5
    # Both processes took part: rq records on each job the worker that ran it.
    assert len({qs[REPLIES].fetch_job(f"send-cap-{i}").worker_name for i in range(n)}) == 2


@pytest.mark.slow  # a separate process
def test_urgent_and_relay_overtake_a_routine_backlog(settings_env, monkeypatch, tmp_path, r, standin):
    rate = 10
    monkeypatch.setenv("KEYWORDS_FILE", keywords_at(tmp_path, rate))
    qs = make_queues(r)
    backlog = 30
    with r.pipeline(transaction=False) as p:
        for i in range(backlog):
            enqueue_send(qs[REPLIES], f"+4475000001{i:02d}", SHORT_CODE, "routine", f"routine-{i}", pipeline=p)
        p.execute()
    procs = start_workers(count=1, concurrency=2)
    try:
        standin.wait_for(8, timeout=20)  # the backlog is being paced out
        enqueued_at = time.monotonic()
        enqueue_send(qs[URGENT], "+447500000200", SHORT_CODE, "danger reply", "danger-1")
        enqueue_send(qs[RELAY], CONTROL_ROOM[0], RELAY_LINE, "relay forward", "fwd-1")
        sent = standin.wait_for(backlog + 2, timeout=30)
    finally:
        stop(procs)
    order = [m["body"] for m in sent]
    times = {m["body"]: m["t"] for m in sent if m["body"] != "routine"}
    # Both arrive well inside a second, ahead of most of the routine backlog still waiting.
    assert times["relay forward"] - enqueued_at < 1.0
    assert times["danger reply"] - enqueued_at < 1.0
    assert order.index("relay forward") < len(order) - 10
    assert order.index("danger reply") < len(order) - 10
    assert max_in_window([m["t"] for m in sent if m["from"] == SHORT_CODE]) <= rate


def test_routine_reservations_leave_urgent_sends_a_short_wait(r):
    limiter = pacing.Limiter(r)
    waits = []
    for _ in range(20):
        reserved, wait = limiter.reserve("82228", 10, pacing.ROUTINE_HORIZON)
        waits.append(wait)
        if not reserved:
            break
    # Routine sends stop reserving once the next slot is more than the routine horizon away...
    assert not reserved and waits[-1] > pacing.ROUTINE_HORIZON
    assert len(waits) <= pacing.ROUTINE_HORIZON * 10 * 1.1 + 2
    # ...so an urgent send for the same sender gets a slot within that horizon plus one interval.
    reserved, wait = limiter.reserve("82228", 10, pacing.URGENT_HORIZON)
    assert reserved and wait <= pacing.ROUTINE_HORIZON + 0.11
    # Another sender has its own bucket.
    assert limiter.reserve(RELAY_LINE, 10, pacing.ROUTINE_HORIZON) == (True, 0.0)


def test_wait_turn_sleeps_instead_of_spinning(r):
    limiter = pacing.Limiter(r)
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    started = time.monotonic()
    for _ in range(6):
        limiter.wait_turn("82228", 8, priority=False, sleep=sleep)
    assert time.monotonic() - started >= 5 / 8 * 0.9
    assert len(sleeps) <= 12  # a handful of sleeps, no busy loop
    with pytest.raises(pacing.PaceTimeout):
        # A slot far in the future and no time to wait: the job is handed back to RQ to retry.
        for _ in range(50):
            limiter.wait_turn("slow", 0.01, priority=False, sleep=lambda s: None, max_wait=0.5)


def test_caps_follow_the_published_keywords(r):
    """A new cap published from the console paces the workers without a restart."""
    from gateway.keywords import versions
    from tests.conftest import ROOT

    path = str(ROOT / "keywords.yaml")
    versions.live_book(r, path).expire()
    assert pacing.rate_for(r, path, "82228") == 30
    text = (ROOT / "keywords.yaml").read_text().replace("rate_per_second: 30", "rate_per_second: 5", 1)
    versions.publish(r, text, "test", "slower short code", bootstrap=(ROOT / "keywords.yaml").read_text())
    versions.live_book(r, path).expire()
    assert pacing.rate_for(r, path, "82228") == 5
