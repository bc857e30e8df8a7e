"""Signed-webhook requests/s of /sms under gunicorn: the gateway against the plain Flask + RQ app and a bare endpoint.

    python bench/webhook.py [--seconds 3] [--rounds 10] [--max-others 0.25] [--redis-url redis://127.0.0.1:6379/14]

Three apps, each under `gunicorn --config deploy/gunicorn.conf.py <app>` (the same command line, worker count
and settings; only the app and the port in GUNICORN_BIND differ): bare (bench.bare:app, a constant answer), naive
(bench.naive:app, Twilio's quickstart plus RQ's README) and gateway (wsgi:app). All three start once and stay up;
each round then loads bare, naive and gateway in turn for --seconds each, with the same signed requests (a new
MessageSid each, a new connection each, as Twilio sends them; all signed for one PUBLIC_URL). Each round has requests
of its own, so naive and gateway never see a MessageSid twice and do their full work on every request (their Redis
keys do not overlap); bare, which stores nothing, gets its round's requests three times over. Short interleaved
rounds keep slow spells of the machine from landing on one app only.

The load generator runs on the same machine and shares its CPU with gunicorn and Redis. Each app's line in a round
says how many cores other processes took meanwhile (other_processes_cores, from /proc); a round where that passes
--max-others for any app is discarded and run again (--rounds discards at most), so a test run elsewhere on the
machine does not decide the figures. Per app: the median requests/s over the kept rounds, and ok, errors, p50 and
p99 over them; for naive and gateway, the jobs RQ's queues gained (Queue.count) must equal the ok requests.

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


def app_env(redis_url: str, public_url: str, metrics_dir: str, workers: int | None = None) -> dict[str, str]:
    """The environment every app gets: the gateway's production settings, the URL the requests are signed for."""
    env = dict(os.environ, SIGNPOST_ENV="production", REDIS_URL=redis_url, TWILIO_ACCOUNT_SID=ACCOUNT_SID,
               TWILIO_AUTH_TOKEN=TOKEN, SECRET_KEY="bench-secret", KEYWORDS_FILE=str(ROOT / "keywords.yaml"),
               LOG_LEVEL="INFO", RELAY_FORWARD_TO="+447400000001", PUBLIC_URL=public_url,
               PROMETHEUS_MULTIPROC_DIR=metrics_dir)
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    return env


def queued(r: redis.Redis) -> int:
    """Jobs waiting in the gateway's queues (the naive app uses "replies")."""
    return sum(Queue(name, connection=r).count for name in QUEUES)  # counts need no serializer


def process_cpu(pid: int) -> float:
    """User plus system CPU seconds of one process, 0 when it is not on this machine (Linux /proc)."""
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return 0.0
    return sum(map(int, stat.read_text().rsplit(")", 1)[1].split()[11:13])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> tuple[float, float]:
    """Busy CPU seconds of the whole machine (steal included), and of `pids`, this process and its reaped children."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    t = os.times()
    ours = t.user + t.system + t.children_user + t.children_system + sum(process_cpu(pid) for pid in pids)
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK"), ours


def claim_db(redis_url: str) -> tuple[redis.Redis, str]:
    """Claim the database as tests claim theirs (tests/conftest.py), so a test run never picks and flushes it."""
    url = urlparse(redis_url)
    locks = redis.Redis.from_url(url._replace(path="/0").geturl())
    lock = f"signpost:test-db-lock:{url.path.strip('/') or 0}"
    if not locks.set(lock, f"bench-{os.getpid()}", nx=True, ex=3600):
        raise SystemExit(f"{redis_url} is claimed by a test run ({lock}); pass another --redis-url")
    return locks, lock


def load(name: str, port: int, requests: list[bytes], r: redis.Redis, watched: list[int],
         args: argparse.Namespace) -> dict:
    """One app's share of a round: --seconds of `requests`, with the jobs queued and other processes' CPU."""
    busy, ours = cpu_seconds(watched)
    started = time.monotonic()
    before = queued(r)
    result = run_load(HOST, port, requests, args.seconds, threads=args.threads)
    result["queued"] = queued(r) - before
    result["exhausted"] = result["ok"] + result["bad"] >= len(requests)
    busy_after, ours_after = cpu_seconds(watched)
    # Cores that other processes (a test run, say) took meanwhile: a sign the figures are noisy.
    result["others_cores"] = ((busy_after - busy) - (ours_after - ours)) / (time.monotonic() - started)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="measured seconds per app per round")
    parser.add_argument("--rounds", type=int, default=10, help="rounds of bare, naive, gateway; median rps is kept")
    parser.add_argument("--requests", type=int, default=10000, help="signed requests a round (must outlast --seconds)")
    parser.add_argument("--max-others", type=float, default=0.25,
                        help="discard a round where other processes took more cores than this (0 keeps all)")
    parser.add_argument("--threads", type=int, default=4, help="client threads per client process (2 processes)")
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY for all apps (default: the config's own)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()

    ports = {name: free_port() for name in APPS}
    public_url = f"http://{HOST}:{ports['gateway']}"
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    # One metrics directory for all (the gateway alone writes to it), removed at the end rather than left in /tmp.
    metrics_dir = tempfile.TemporaryDirectory(prefix="signpost-bench-metrics-")
    env = app_env(args.redis_url, public_url, metrics_dir.name, args.workers)

    def signed(n: int) -> list[bytes]:
        return [signed_request(HOST, ports["gateway"], TOKEN, ACCOUNT_SID, TEXTS[i % len(TEXTS)])[1] for i in range(n)]

    r = redis.Redis.from_url(args.redis_url)
    locks, lock = claim_db(args.redis_url)
    procs: dict[str, subprocess.Popen] = {}
    results: dict[str, list[dict]] = {name: [] for name in APPS}
    try:
        r.flushdb()
        for name, target in APPS.items():
            procs[name] = start_gunicorn(target, ports[name], env, out / f"{name}.log")
            run_load(HOST, ports[name], signed(200), 5)
        workers = {name: worker_pids(proc.pid) for name, proc in procs.items()}
        watched = [r.info("server")["process_id"], *(p.pid for p in procs.values()), *sum(workers.values(), [])]
        discarded = 0
        while len(results["gateway"]) < args.rounds and discarded < args.rounds:
            requests = signed(args.requests)
            round_ = {name: load(name, ports[name], requests * 3 if name == "bare" else requests, r, watched, args)
                      for name in APPS}
            disturbed = args.max_others and max(res["others_cores"] for res in round_.values()) > args.max_others
            discarded += bool(disturbed)
            for name, result in round_.items():
                if not disturbed:
                    results[name].append(result)
                print(f"round {len(results[name]) if not disturbed else '-'} {name:8s} "
                      f"requests/s={result['rps']:.0f} other_processes_cores={result['others_cores']:.2f}"
                      f"{' (discarded)' if disturbed else ''}", flush=True)
        if not results["gateway"]:
            raise SystemExit(f"every round was disturbed by other processes (over {args.max_others} cores)")
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            proc.wait(15)
        r.flushdb()
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
    each = ",".join(f"{g['rps'] / n['rps']:.2f}" for g, n in zip(results["gateway"], results["naive"], strict=True))
    print(f"workers={','.join(str(len(pids)) for pids in workers.values())} rounds={len(results['gateway'])} "
          f"discarded={discarded} seconds={args.seconds} client_threads={args.threads * 2} "
          f"vs_naive_each_round={each}")
    if len(results["gateway"]) < args.rounds:
        problems.append(f"only {len(results['gateway'])} of {args.rounds} rounds were not disturbed by other processes")
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    print(f"vs_naive={rps['gateway'] / rps['naive']:.2f} vs_bare={rps['gateway'] / rps['bare']:.2f} "
          f"p99_ms={p99['gateway']:.1f}")
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
