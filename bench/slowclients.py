"""Signed-webhook latency while slow and idle clients hold connections to the web process.

    python bench/slowclients.py [--slow 8] [--idle 0] [--seconds 20] [--rate 10] [--config deploy/gunicorn.conf.py]
                                [--worker-class CLASS] [--threads N] [--redis-url redis://127.0.0.1:6379/14]

The web app starts as the Procfile starts it (`gunicorn --config deploy/gunicorn.conf.py --bind ... wsgi:app`,
with production settings as in bench/webhook.py). --worker-class and --threads go to gunicorn through
GUNICORN_CMD_ARGS (over the config file's own) to compare worker classes without editing the config; --config
runs another config file (for example the previous one, from `git show`).

Meanwhile a separate process holds --slow connections that send a request line and then one header line a second,
never finishing the headers, and --idle connections that open and send nothing; each reconnects as soon as the
server drops it. After a 3 s head start, signed webhooks (a new MessageSid and a new connection each, as Twilio
sends them) are fired at --rate a second for --seconds, open loop (a stalled answer does not hold back the next
request), each given Twilio's 15 s. Every ok answer must have queued its job (a request Twilio gave up on may
have queued one too, answered too late).

Last line: slow_clients=<slow + idle> signed_p99_ms=<x> signed_max_ms=<y> ok=<a> errors=<b>.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import TEXTS, percentile, send_raw, signed_request  # noqa: E402
from bench.webhook import ACCOUNT_SID, HOST, TOKEN, app_env, claim_db, free_port, queued  # noqa: E402

TWILIO_TIMEOUT = 15.0


def start_web(config: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    """The Procfile's web command on `port`, once it accepts connections."""
    cmd = [sys.executable, "-m", "gunicorn", "--config", config, "--bind", f"{HOST}:{port}", "wsgi:app"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log.open("w"))
    for _ in range(400):
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return proc
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"gunicorn did not start; see {log}")


async def _dribble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int, stop_at: float) -> bool:
    """Send a request line, then a header line a second, never ending the headers; True if the server dropped it."""
    try:
        writer.write(f"POST /sms HTTP/1.1\r\nHost: {HOST}:{port}\r\n".encode())
        line = 0
        while time.monotonic() < stop_at:
            await writer.drain()
            try:
                await asyncio.wait_for(reader.read(4096), timeout=1.0)
                return True  # the server answered (400, 408) or closed: start again
            except TimeoutError:
                pass
            writer.write(f"X-Slow-{line}: {'a' * 20}\r\n".encode())
            line += 1
    except OSError:
        return True
    return False


async def _idle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, port: int, stop_at: float) -> bool:
    """Send nothing; True if the server dropped the connection before `stop_at`."""
    try:
        await asyncio.wait_for(reader.read(4096), timeout=max(0.0, stop_at - time.monotonic()))
        return True
    except (TimeoutError, OSError):
        return False


async def _client(behave: Callable[..., Awaitable[bool]], port: int, stop_at: float, counts: dict[str, int]) -> None:
    """One client behaving as `behave` says until `stop_at`, reconnecting whenever the server drops it."""
    while time.monotonic() < stop_at:
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        counts["connections"] += 1
        try:
            dropped = await behave(reader, writer, port, stop_at)  # not `+= await`: it would add to a stale count
            counts["dropped"] += dropped
        finally:
            writer.close()


def hold_connections(port: int, slow: int, idle: int, stop_at: float, out: mp.Queue) -> None:
    """Run the slow and idle clients until `stop_at` (in a process of its own); report how often they were dropped."""
    counts = {"connections": 0, "dropped": 0}

    async def main() -> None:
        await asyncio.gather(*(_client(_dribble, port, stop_at, counts) for _ in range(slow)),
                             *(_client(_idle, port, stop_at, counts) for _ in range(idle)))

    asyncio.run(main())
    out.put(counts)


def fire(port: int, rate: float, seconds: float) -> list[tuple[int, float]]:
    """Signed webhooks at `rate` a second for `seconds`, open loop; (status, seconds) for each."""
    n = int(rate * seconds)
    requests = [signed_request(HOST, port, TOKEN, ACCOUNT_SID, TEXTS[i % len(TEXTS)])[1] for i in range(n)]
    results: list[tuple[int, float]] = []
    lock = threading.Lock()

    def one(raw: bytes) -> None:
        started = time.perf_counter()
        status = send_raw(HOST, port, raw, timeout=TWILIO_TIMEOUT)
        elapsed = time.perf_counter() - started
        with lock:
            results.append((status, elapsed))

    # Enough threads that requests stuck for Twilio's whole 15 s never hold back the schedule.
    with ThreadPoolExecutor(max_workers=int(rate * TWILIO_TIMEOUT) + 8) as pool:
        t0 = time.monotonic()
        for i, raw in enumerate(requests):
            delay = t0 + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            pool.submit(one, raw)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow", type=int, default=8, help="connections sending one header line a second")
    parser.add_argument("--idle", type=int, default=0, help="connections that open and send nothing")
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of signed webhooks")
    parser.add_argument("--rate", type=float, default=10.0, help="signed webhooks a second")
    parser.add_argument("--config", default=str(ROOT / "deploy" / "gunicorn.conf.py"), help="gunicorn config file")
    parser.add_argument("--worker-class", help="gunicorn worker class, over the config's")
    parser.add_argument("--threads", type=int, help="gunicorn threads per worker, over the config's")
    parser.add_argument("--workers", type=int, help="WEB_CONCURRENCY (default: the config's own)")
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"))
    args = parser.parse_args()

    port = free_port()
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(exist_ok=True)
    metrics_dir = tempfile.TemporaryDirectory(prefix="signpost-bench-metrics-")
    env = app_env(args.redis_url, f"http://{HOST}:{port}", metrics_dir.name, args.workers)
    extra = []
    if args.worker_class:
        extra.append(f"--worker-class={args.worker_class}")
    if args.threads:
        extra.append(f"--threads={args.threads}")
    if extra:
        env["GUNICORN_CMD_ARGS"] = " ".join(extra)
    r = redis.Redis.from_url(args.redis_url)
    locks, lock = claim_db(args.redis_url)
    web = None
    holder = None
    try:
        r.flushdb()
        web = start_web(args.config, port, env, out_dir / "slowclients.log")
        warm = fire(port, 20, 1)  # every worker imports and answers once before the clock starts
        if not all(status == 200 for status, _ in warm):
            raise SystemExit(f"warm-up requests failed: {sorted({s for s, _ in warm})}; see bench/out/slowclients.log")
        r.flushdb()
        stop_at = time.monotonic() + 3 + args.seconds + TWILIO_TIMEOUT
        counts: mp.Queue = mp.Queue()
        holder = mp.Process(target=hold_connections, args=(port, args.slow, args.idle, stop_at, counts))
        holder.start()
        time.sleep(3)  # let them take hold
        results = fire(port, args.rate, args.seconds)
        jobs = queued(r)
        held = counts.get(timeout=TWILIO_TIMEOUT + 30)
        holder.join(10)
    finally:
        if holder is not None and holder.is_alive():
            holder.kill()
        if web is not None:
            web.terminate()
            web.wait(30)
        r.flushdb()
        locks.delete(lock)
        metrics_dir.cleanup()

    latencies = sorted(elapsed for _, elapsed in results)
    ok = sum(status == 200 for status, _ in results)
    errors = len(results) - ok
    kinds: dict[str, int] = {}
    for status, _ in results:
        if status != 200:
            name = "timeout_or_reset" if status == 0 else str(status)
            kinds[name] = kinds.get(name, 0) + 1
    print(f"config={Path(args.config).name} worker_class={args.worker_class or '(config)'} "
          f"threads={args.threads or '(config)'} slow={args.slow} idle={args.idle} rate={args.rate}/s "
          f"seconds={args.seconds} requests={len(results)}")
    print(f"signed p50_ms={percentile(latencies, 50) * 1000:.1f} p90_ms={percentile(latencies, 90) * 1000:.1f} "
          f"errors_by_kind={kinds or '{}'} jobs_queued={jobs}")
    print(f"slow/idle connections opened={held['connections']} dropped_by_server={held['dropped']}")
    if jobs < ok:
        print(f"CHECK FAILED: {ok} ok answers but only {jobs} jobs queued")
    print(f"slow_clients={args.slow + args.idle} signed_p99_ms={percentile(latencies, 99) * 1000:.1f} "
          f"signed_max_ms={latencies[-1] * 1000 if latencies else 0:.1f} ok={ok} errors={errors}")
    if jobs < ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
