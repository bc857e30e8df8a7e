"""Fault benchmark: the burst (default 3,000 texts) under each fault, on a fresh stack each time.

    python bench/faults.py [--texts 3000] [--only worker-kill,redis-restart,...]

Faults (Redis runs with deploy/redis.conf unless said otherwise):
  worker-kill          one worker process gets SIGKILL mid-burst; the pool restarts it and puts the job it
                       held back at the front of its queue (workers/pool.py)
  redis-restart        Redis is shut down mid-burst and started again 3 s later; meanwhile the webhook answers
                       inline in TwiML
  redis-kill-everysec  Redis gets SIGKILL mid-burst with appendfsync everysec, restarted 1 s later
  redis-kill-always    the same with appendfsync always (the shipped deploy/redis.conf)
  twilio-errors        the stand-in answers 500 or 429 to 20% of sends; RQ retries with backoff
One line per fault: fault=<name> texts=<N> lost=<n> duplicates=<n> relay_max_wait_s=<x> sends_per_s=<x> ...
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.burst import report, run_burst  # noqa: E402
from bench.stack import Stack  # noqa: E402

CONF = ROOT / "deploy" / "redis.conf"


def when(progress, n: int, fraction: float) -> None:
    while progress.value < n * fraction:
        time.sleep(0.01)


def kill_worker(n: int):
    def act(stack: Stack, progress) -> None:
        when(progress, n, 0.5)
        children = stack.worker_children()
        os.kill(children[0], signal.SIGKILL)
        print(f"  killed worker process {children[0]} with SIGKILL at text {progress.value}", flush=True)
    return act


def restart_redis(n: int, sig: int, down_s: float):
    def act(stack: Stack, progress) -> None:
        when(progress, n, 0.5)
        at = progress.value
        if sig == signal.SIGTERM:
            try:
                stack.redis().shutdown()  # graceful: the AOF is flushed
            except Exception:  # noqa: BLE001 - the connection closes as Redis exits
                pass
        else:
            stack.procs["redis"].send_signal(sig)
        stack.procs.pop("redis").wait(15)
        time.sleep(down_s)
        stack.start_redis()
        print(f"  redis stopped ({signal.Signals(sig).name}) at text {at}, back after {down_s:g}s "
              f"at text {progress.value}", flush=True)
    return act


def faults(n: int) -> dict:
    return {
        "worker-kill": (dict(redis_conf=CONF), kill_worker(n)),
        "redis-restart": (dict(redis_conf=CONF), restart_redis(n, signal.SIGTERM, 3.0)),
        "redis-kill-everysec": (dict(redis_conf=CONF, appendfsync="everysec"), restart_redis(n, signal.SIGKILL, 1.0)),
        "redis-kill-always": (dict(redis_conf=CONF, appendfsync="always"), restart_redis(n, signal.SIGKILL, 1.0)),
        "twilio-errors": (dict(redis_conf=CONF, fault_rate=0.2), None),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--only", default="", help="comma-separated fault names")
    args = parser.parse_args()
    chosen = faults(args.texts)
    if args.only:
        chosen = {k: v for k, v in chosen.items() if k in args.only.split(",")}
    lines = []
    for name, (options, act) in chosen.items():
        print(f"fault {name}", flush=True)
        with Stack(rate=args.rate, concurrency=args.concurrency, name=f"fault-{name}", **options) as stack:
            res = run_burst(stack, args.texts, during=act, idle_timeout=150)
        line = f"fault={name} " + report(res) + f" time_to_last_reply_s={res['to_last_reply_s']:.1f}"
        print(line, flush=True)
        lines.append(line)
    print("summary")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
