"""Signed-webhook requests/s of /sms under gunicorn: the gateway against the plain Flask + RQ app and a bare endpoint.

    python bench/webhook.py [--seconds 10] [--rounds 3] [--redis-url redis://127.0.0.1:6379/14]

Three apps, each under `gunicorn --config deploy/gunicorn.conf.py <app>` (the same command line, worker count
and bind; only the app differs): bare (bench.bare:app, a constant answer), naive (bench.naive:app, Twilio's
quickstart plus RQ's README) and gateway (wsgi:app). Every round runs bare, naive, gateway in turn for the same
--seconds on the same port with the very same signed requests (a distinct MessageSid each, a new connection each,
as Twilio sends them); the Redis database is flushed before each app so every app does its full work on every
request. Per app: the median requests/s over the rounds, and ok, errors, p50 and p99 over all rounds; for naive
and gateway, the jobs RQ's queues gained (Queue.count) must equal the ok requests.

The load generator runs on the same machine and shares its CPU with gunicorn and Redis. Each round's line says
how many cores other processes took meanwhile (other_processes_cores, from /proc): well above 0 means noisy figures.

Last line: vs_naive=<gateway rps / naive rps> vs_bare=<gateway rps / bare rps> p99_ms=<gateway p99 latency>.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

import redis
from rq import Queue

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import TEXTS, percentile, run_load, signed_request  # noqa: E402

ACCOUNT_SID = "AC" + "b" * 32
TOKEN = "bench-token"
APPS = {"bare": "bench.bare:app", "naive": "bench.naive:app", "gateway": "wsgi:app"}
QUEUES = ("relay", "urgent", "replies")
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def worker_pids(master: int) -> list[int]:
    """The gunicorn master's worker processes (Linux)."""
    return [int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()]


def start_gunicorn(target: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`gunicorn --config deploy/gunicorn.conf.py <target>` bound through GUNICORN_BIND, once it accepts."""
    cmd = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "deploy" / "gunicorn.conf.py"), target]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=dict(env, GUNICORN_BIND=f"{HOST}:{port}"),
                            stdout=subprocess.DEVNULL, stderr=log.open("w"))
    for _ in range(200):
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"gunicorn {target} did not start; see {log}")


def app_env(redis_url: str, port: int, metrics_dir: str, workers: int | None = None) -> dict[str, str]:
    """The environment every app gets: the gateway's production settings, the URL the requests are signed for."""
    env = dict(os.environ, SIGNPOST_ENV="production", REDIS_URL=redis_url, TWILIO_ACCOUNT_SID=ACCOUNT_SID,
               TWILIO_AUTH_TOKEN=TOKEN, SECRET_KEY="bench-secret", KEYWORDS_FILE=str(ROOT / "keywords.yaml"),
               LOG_LEVEL="INFO", RELAY_FORWARD_TO="+447400000001", PUBLIC_URL=f"http://{HOST}:{port}",
               PROMETHEUS_MULTIPROC_DIR=metrics_dir)
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    return env


def queued(r: redis.Redis) -> int:
    """Jobs waiting in the gateway's queues (the naive app uses "replies")."""
    return sum(Queue(name, connection=r).count for name in QUEUES)


def cpu_seconds(redis_pid: int) -> tuple[float, float]:
    """Busy CPU seconds of the whole machine (steal included), and of this process, its reaped children and Redis."""
    tick = os.sysconf("SC_CLK_TCK")
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    t = os.times()
    stat = Path(f"/proc/{redis_pid}/stat")  # absent when Redis runs elsewhere
    redis_ticks = sum(map(int, stat.read_text().rsplit(")", 1)[1].split()[11:13])) if stat.exists() else 0
    ours = t.user + t.system + t.children_user + t.children_system + redis_ticks / tick
    return (user + nice + system + irq + softirq + steal) / tick, ours


def measure(target: str, port: int, env: dict[str, str], r: redis.Redis, warm: list[bytes], requests: list[bytes],
            args: argparse.Namespace, log: Path) -> dict:
    """One app's run on a flushed database: warm up, then fire `requests` for --seconds."""
    r.flushdb()
    redis_pid = r.info("server")["process_id"]
    busy, ours = cpu_seconds(redis_pid)
    started = time.monotonic()
    proc = start_gunicorn(target, port, env, log)
    try:
        run_load(HOST, port, warm, 5)
        before = queued(r)
        result = run_load(HOST, port, requests, args.seconds, threads=args.threads)
        result["queued"] = queued(r) - before
        result["workers"] = len(worker_pids(proc.pid))
        result["exhausted"] = result["ok"] + result["bad"] >= len(requests)
    finally:
        proc.terminate()
        proc.wait(15)  # reaped, so its CPU and its workers' count as ours in cpu_seconds
        r.flushdb()
    busy_after, ours_after = cpu_seconds(redis_pid)
    # Cores that other processes (a test run, say) took meanwhile: a sign the figures are noisy.
    result["others_cores"] = ((busy_after - busy) - (ours_after - ours)) / (time.monotonic() - started)
    return result


def claim_db(redis_url: str) -> tuple[redis.Redis, str]:
    """Claim the database as tests claim theirs (tests/conftest.py), so a test run never picks and flushes it."""
    url = urlparse(redis_url)
    locks = redis.Redis.from_url(url._replace(path="/0").geturl())
    lock = f"signpost:test-db-lock:{url.path.strip('/') or 0}"
    if not locks.set(lock, f"bench-{os.getpid()}", nx=True, ex=3600):
        raise SystemExit(f"{redis_url} is claimed by a test run ({lock}); pass another --redis-url")
    return locks, lock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per app per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of bare, naive, gateway; median rps is kept")
    parser.add_argument("--requests", type=int, default=80000, help="signed requests made (must outlast --seconds)")
    parser.add_argument("--threads", type=int, default=4, help="client threads per client process (2 processes)")
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY for all apps (default: the config's own)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()

    port = free_port()
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    # One metrics directory for every start (the config empties it each time), so none is left behind in /tmp.
    metrics_dir = tempfile.TemporaryDirectory(prefix="signpost-bench-metrics-")
    env = app_env(args.redis_url, port, metrics_dir.name, args.workers)

    def signed(n: int) -> list[bytes]:
        return [signed_request(HOST, port, TOKEN, ACCOUNT_SID, TEXTS[i % len(TEXTS)])[1] for i in range(n)]

    warm, requests = signed(200), signed(args.requests)
    results: dict[str, list[dict]] = {name: [] for name in APPS}
    r = redis.Redis.from_url(args.redis_url)
    locks, lock = claim_db(args.redis_url)
    try:
        for round_ in range(1, args.rounds + 1):
            for name, target in APPS.items():
                result = measure(target, port, env, r, warm, requests, args, out / f"{name}.log")
                results[name].append(result)
                print(f"round {round_} {name:8s} requests/s={result['rps']:.0f} "
                      f"other_processes_cores={result['others_cores']:.2f}", flush=True)
    finally:
        locks.delete(lock)
        metrics_dir.cleanup()

    rps: dict[str, float] = {}
    p99: dict[str, float] = {}
    problems = []
    for name, runs in results.items():
        rps[name] = statistics.median(run["rps"] for run in runs)
        lat = sorted(x for run in runs for x in run["latencies"])
        p99[name] = percentile(lat, 99) * 1000
        ok, bad, jobs = (sum(run[k] for run in runs) for k in ("ok", "bad", "queued"))
        line = (f"{name:8s} requests/s={rps[name]:.0f} ok={ok} errors={bad} p50_ms={percentile(lat, 50) * 1000:.1f} "
                f"p99_ms={p99[name]:.1f}")
        if name != "bare":
            line += f" queued={jobs}"
            if jobs != ok:
                problems.append(f"{name}: {ok} ok requests but {jobs} jobs queued")
        if any(run["exhausted"] for run in runs):
            problems.append(f"{name} ran out of requests before --seconds ended: raise --requests")
        print(line)
    workers = {run["workers"] for runs in results.values() for run in runs}
    each = ",".join(f"{g['rps'] / n['rps']:.2f}" for g, n in zip(results["gateway"], results["naive"], strict=True))
    print(f"workers={','.join(map(str, sorted(workers)))} rounds={args.rounds} seconds={args.seconds} "
          f"client_threads={args.threads * 2} requests={args.requests} vs_naive_each_round={each}")
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    print(f"vs_naive={rps['gateway'] / rps['naive']:.2f} vs_bare={rps['gateway'] / rps['bare']:.2f} "
          f"p99_ms={p99['gateway']:.1f}")
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
