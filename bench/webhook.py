"""Signed-webhook requests/s of /sms under gunicorn, against a bare Flask endpoint, in one run.

    python bench/webhook.py [--seconds 10] [--redis-url redis://127.0.0.1:6379/14]

Both apps run under deploy/gunicorn.conf.py with the same worker count, one after the other, on the same
signed requests (each a new MessageSid, so the gateway does its full work). Last line: ratio=<gateway/bare>.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import TEXTS, percentile, run_load, signed_request  # noqa: E402

ACCOUNT_SID = "AC" + "b" * 32
TOKEN = "bench-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(target: str, port: int, env: dict[str, str], workers: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "deploy" / "gunicorn.conf.py"),
           "--bind", f"127.0.0.1:{port}", "--workers", str(workers), target]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"gunicorn {target} did not start; see {log}")


def measure(target: str, env: dict[str, str], args: argparse.Namespace, log: Path) -> dict:
    port = free_port()
    if target == "wsgi:app":
        env = dict(env, PUBLIC_URL=f"http://127.0.0.1:{port}")
    proc = start_gunicorn(target, port, env, args.workers, log)
    try:
        warm = [signed_request("127.0.0.1", port, TOKEN, ACCOUNT_SID, TEXTS[i % len(TEXTS)])[1] for i in range(200)]
        run_load("127.0.0.1", port, warm, 5)
        requests = [signed_request("127.0.0.1", port, TOKEN, ACCOUNT_SID, TEXTS[i % len(TEXTS)])[1]
                    for i in range(args.requests)]
        return run_load("127.0.0.1", port, requests, args.seconds, threads=args.threads)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=20000, help="most requests sent per app")
    parser.add_argument("--threads", type=int, default=4, help="client threads per client process (2 processes)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() * 2, help="gunicorn workers for both apps")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()

    r = redis.Redis.from_url(args.redis_url)
    r.flushdb()
    env = dict(os.environ, SIGNPOST_ENV="production", REDIS_URL=args.redis_url, TWILIO_ACCOUNT_SID=ACCOUNT_SID,
               TWILIO_AUTH_TOKEN=TOKEN, SECRET_KEY="bench-secret", KEYWORDS_FILE=str(ROOT / "keywords.yaml"),
               LOG_LEVEL="INFO", RELAY_FORWARD_TO="+447400000001")
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    try:
        bare = measure("bench.bare:app", env, args, out / "bare.log")
        gateway = measure("wsgi:app", env, args, out / "gateway.log")
        queued = sum(r.llen(f"rq:queue:{name}") for name in ("relay", "urgent", "replies"))
    finally:
        r.flushdb()
    for name, result in (("bare", bare), ("gateway", gateway)):
        lat = result["latencies"]
        print(f"{name:8s} requests/s={result['rps']:.0f} ok={result['ok']} errors={result['bad']} "
              f"p50_ms={percentile(lat, 50) * 1000:.1f} p99_ms={percentile(lat, 99) * 1000:.1f}")
    print(f"gateway replies queued={queued} (every ok request queues one reply)")
    print(f"workers={args.workers} seconds={args.seconds} threads={args.threads * 2}")
    print(f"ratio={gateway['rps'] / bare['rps']:.2f}")


if __name__ == "__main__":
    main()
