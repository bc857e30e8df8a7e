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
  sentinel-failover    Redis as a primary, a replica and three sentinels (bench/stack.py SentinelStack), web and
                       workers through Sentinel; the primary gets SIGKILL halfway through the burst, the
                       sentinels promote the replica; the killed server is started again 10 s after the
                       promotion and rejoins as a replica. Also prints the failover time, how long writes
                       were refused, and the texts whose writes the old primary acknowledged but the new one
                       never had (the asynchronous-replication window: its AOF is read back after the run)
  sentinel-failover-minreplicas  the same with min-replicas-to-write 1 and min-replicas-max-lag 1
  sentinel-stall       the primary stops (SIGSTOP) halfway through and resumes (SIGCONT) once the replica has
                       been promoted, taking writes until the sentinels demote it (a paused VM, a partition)
  sentinel-stall-minreplicas     the same with min-replicas-to-write 1 and min-replicas-max-lag 1
  sentinel-failover-2replicas-minreplicas, sentinel-stall-2replicas-minreplicas
                       the same two with min-replicas and a second replica
One line per fault: fault=<name> texts=<N> lost=<n> duplicates=<n> relay_max_wait_s=<x> sends_per_s=<x> ...
Sentinel faults: the same first fields, then inline=<texts answered in the TwiML>
  failover_s=<until the sentinels name the new primary> writes_back_s=<until it accepts a write> p99_ms=<webhook>
  [stale_s=<resumed primary taking writes before its demotion> stale_write_bytes=<its replication offset growth>]
  acked_lost=<texts answered 200 with a queued reply whose intake writes the final primary lacks> ...
Keep them short: python bench/faults.py --texts 2000 --only sentinel-failover,sentinel-stall,...
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.burst import make_texts, report, run_burst  # noqa: E402
from bench.stack import SentinelStack, Stack, free_port  # noqa: E402
from gateway.texts.intake import seen_key  # noqa: E402
from gateway.texts.msglog import entry_key  # noqa: E402

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


def writable(stack: SentinelStack, since: float, timeout: float, port: int | None = None) -> float | None:
    """Seconds from `since` until the primary the sentinels name (or the server on `port`) accepts a write
    (None: not within `timeout`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            r = redis.Redis(port=port, socket_timeout=2) if port else stack.redis()
            r.set("bench:probe", "1", ex=60)
            return time.monotonic() - since
        except (redis.RedisError, RuntimeError):  # down, read-only, NOREPLICAS; no sentinel answers
            time.sleep(0.05)
    return None


def refused(r: redis.Redis) -> int:
    """Writes this Redis refused for want of a replica (min-replicas-to-write)."""
    return int(r.info("errorstats").get("errorstat_NOREPLICAS", {}).get("count", 0))


def fail_over(n: int, back_after_s: float):
    """SIGKILL the primary at text n/2 (a lost machine); the sentinels promote a replica. `back_after_s` after
    the promotion the killed server starts again with its AOF, and the sentinels make it a replica."""
    def act(stack: SentinelStack, progress) -> None:
        when(progress, n, 0.5)
        at = progress.value
        topo = stack.topology
        _, old_port = topo.primary()
        killed = time.monotonic()
        name = topo.kill_primary()
        # Everything the dead primary executed is in its AOF (appendfsync always): read back after the run.
        shutil.copytree(topo.dir / name, stack.dir / "primary-at-kill")
        _, new_port = topo.wait_for_failover(old_port, timeout=120)
        promoted = time.monotonic() - killed
        stack.observed["failover_s"] = promoted
        print(f"  primary :{old_port} SIGKILLed at text {at}; sentinels promoted :{new_port} after {promoted:.1f}s "
              f"(down-after-milliseconds {stack.down_after_ms}) at text {progress.value}", flush=True)
        # With min-replicas and one replica: no write before the killed server is back as a replica.
        outage = writable(stack, killed, back_after_s, port=new_port)
        if outage is not None:
            print(f"  writes accepted {outage:.1f}s after the kill", flush=True)
        time.sleep(max(0.0, killed + promoted + back_after_s - time.monotonic()))
        stack.restart_node(name)
        print(f"  killed server started again at text {progress.value}", flush=True)
        if outage is None:
            outage = writable(stack, killed, 300, port=new_port)
            print(f"  writes accepted {outage:.1f}s after the kill (refused until a replica was back) at text "
                  f"{progress.value}", flush=True)
        stack.observed["writes_back_s"] = outage
        back = redis.Redis(port=old_port, socket_timeout=2)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if back.info("replication").get("master_link_status") == "up":
                    print(f"  killed server in sync as a replica {time.monotonic() - killed:.1f}s after the kill; "
                          f"writes the new primary refused (NOREPLICAS): {refused(stack.redis())}", flush=True)
                    break
            except (redis.RedisError, RuntimeError):
                pass
            time.sleep(0.2)
    return act


def _start_copy(stack: SentinelStack, copy: Path) -> tuple[subprocess.Popen, redis.Redis]:
    """A scratch redis-server on a copy of the dead primary's directory: its AOF read back."""
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--dir", str(copy),
                             "--appendonly", "yes", "--save", "", "--daemonize", "no",
                             "--logfile", str(stack.dir / "primary-at-kill.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r = redis.Redis(port=port, socket_timeout=5)
    for _ in range(400):
        try:
            r.dbsize()
            break
        except redis.RedisError:  # starting, or loading the AOF
            time.sleep(0.05)
    return proc, r


def replication_window(stack: SentinelStack, res: dict) -> None:
    """Text by text, the intake's two writes (the MessageSid mark, the message-log entry written with the
    jobs) on the primary at the end. A text the webhook acknowledged with a queued reply (200, no inline
    answer) whose writes are missing there was acknowledged by the old primary and lost with it: the
    asynchronous-replication window. After a SIGKILL the dead primary's AOF (appendfsync always: everything
    it executed) is read back too: writes in it and not on the new primary whose text was answered inline
    were never acknowledged (the webhook met the error and answered in the TwiML)."""
    sids = [t["sid"] for t in make_texts(res["texts"])]

    def present(r: redis.Redis, key) -> list[bool]:
        with r.pipeline(transaction=False) as p:
            for sid in sids:
                p.exists(key(sid))
            return [bool(x) for x in p.execute()]

    new = stack.redis()
    on_new = [a and b for a, b in zip(present(new, seen_key), present(new, entry_key), strict=True)]
    queued = [i for i, (status, inline, _, _) in res["posts"].items() if status == 200 and not inline]
    lost_acked = [i for i in queued if not on_new[i]]
    stack.observed["acked_lost"] = len(lost_acked)
    print(f"  replication window: {len(queued)} texts acknowledged with a queued reply; intake writes missing "
          f"on the primary at the end: {len(lost_acked)} (texts {lost_acked[:20]})", flush=True)
    inline = sorted(wall for _, inl, wall, _ in res["posts"].values() if inl)
    if inline:
        print(f"  {len(inline)} texts answered inline over {inline[-1] - inline[0]:.1f}s", flush=True)
    print(f"  longest webhook answer {max(lat for *_, lat in res['posts'].values()):.1f}s", flush=True)
    copy = stack.dir / "primary-at-kill"
    if copy.exists():
        proc, old = _start_copy(stack, copy)
        try:
            on_old = [a or b for a, b in zip(present(old, seen_key), present(old, entry_key), strict=True)]
        finally:
            proc.terminate()
            proc.wait(15)
        gone = [i for i in range(len(sids)) if on_old[i] and not on_new[i]]
        answered_inline = [i for i in gone if res["posts"].get(i, (0, False, 0, 0))[1]]
        print(f"  dead primary's AOF: {sum(on_old)} texts' intake writes, {len(gone)} of them not on the new "
              f"primary (texts {gone[:20]}): {len(answered_inline)} answered inline (never acknowledged), "
              f"{len(gone) - len(answered_inline)} acknowledged", flush=True)
    for i in res["lost_texts"][:20]:
        status, inline, _, _ = res["posts"].get(i, (0, False, 0.0, 0.0))
        print(f"  lost text {i}: webhook {status} {'inline' if inline else 'queued'}; intake writes on the "
              f"primary at the end: {on_new[i]}", flush=True)


def stall(n: int):
    """The primary stops answering (SIGSTOP: a VM paused, a disk stall, a partition) at text n/2; once the
    sentinels have promoted a replica it resumes (SIGCONT) still believing it is the primary, until the
    sentinels demote it. Whatever it takes meanwhile is thrown away when it resyncs from the new primary."""
    def act(stack: SentinelStack, progress) -> None:
        when(progress, n, 0.5)
        at = progress.value
        topo = stack.topology
        _, old_port = topo.primary()
        name = next(k for k, v in topo.ports.items() if v == old_port)
        stopped = time.monotonic()
        topo.procs[name].send_signal(signal.SIGSTOP)
        _, new_port = topo.wait_for_failover(old_port, timeout=120)
        promoted = time.monotonic() - stopped
        stack.observed["failover_s"] = promoted
        print(f"  primary :{old_port} stopped (SIGSTOP) at text {at}; sentinels promoted :{new_port} after "
              f"{promoted:.1f}s at text {progress.value}", flush=True)
        outage: list[float | None] = []
        probe = threading.Thread(target=lambda: outage.append(writable(stack, stopped, 180, port=new_port)),
                                 daemon=True)
        probe.start()
        old = redis.Redis(port=old_port, socket_timeout=2)
        topo.procs[name].send_signal(signal.SIGCONT)
        resumed, resumed_at = time.monotonic(), progress.value
        # The first answer comes after the commands clients sent during the stop (they timed out: answered
        # inline); from here on, what it takes as a primary was acknowledged to someone.
        first = old.info("replication")["master_repl_offset"]
        stats = old.info("stats")
        base_cmds, base_conns = stats["total_commands_processed"], stats["total_connections_received"]
        last, took = first, None
        while time.monotonic() - resumed < 60:
            try:
                info = old.info("replication")
            except redis.RedisError:
                time.sleep(0.05)
                continue
            if info["role"] != "master":
                took = time.monotonic() - resumed
                stats = old.info("stats")
                break
            last = info["master_repl_offset"]
            stats = old.info("stats")
            time.sleep(0.02)
        stack.observed["stale_s"] = took
        stack.observed["stale_write_bytes"] = last - first
        print(f"  old primary resumed at text {resumed_at}; demoted by the sentinels "
              f"{'after ' + format(took, '.1f') + 's' if took is not None else 'not within 60 s'}; meanwhile it took "
              f"{last - first} bytes of writes ({stats['total_commands_processed'] - base_cmds} commands, "
              f"{stats['total_connections_received'] - base_conns} new connections), thrown away in its resync; "
              f"writes it refused (NOREPLICAS): {refused(old)}", flush=True)
        probe.join()
        stack.observed["writes_back_s"] = outage[0]
        print(f"  the new primary accepted writes {outage[0]:.1f}s after the stop" if outage[0] is not None else
              "  the new primary refused writes for over 180 s", flush=True)
    return act


def sentinel_report(res: dict, observed: dict) -> str:
    """The line for a Sentinel fault: failover_s = until the sentinels named the new primary, writes_back_s =
    until it accepted a write; stale_* = what a stopped primary took after it resumed, before its demotion;
    acked_lost = texts answered 200 with a queued reply whose intake writes the final primary lacks."""
    base = report(res)  # texts lost duplicates relay_max_wait_s sends_per_s, as for the other faults

    def fmt(key: str) -> str:
        value = observed.get(key)
        return "none" if value is None else f"{value:.1f}" if isinstance(value, float) else str(value)

    line = (f"{base} time_to_last_reply_s={res['to_last_reply_s']:.1f} inline={res['inline']} "
            f"failover_s={fmt('failover_s')} writes_back_s={fmt('writes_back_s')} p99_ms={res['p99_ms']:.0f}")
    if "stale_s" in observed:
        line += f" stale_s={fmt('stale_s')} stale_write_bytes={fmt('stale_write_bytes')}"
    return line + f" acked_lost={fmt('acked_lost')}"


def faults(n: int) -> dict:
    return {
        "worker-kill": (dict(redis_conf=CONF), kill_worker(n)),
        "redis-restart": (dict(redis_conf=CONF), restart_redis(n, signal.SIGTERM, 3.0)),
        "redis-kill-everysec": (dict(redis_conf=CONF, appendfsync="everysec"), restart_redis(n, signal.SIGKILL, 1.0)),
        "redis-kill-always": (dict(redis_conf=CONF, appendfsync="always"), restart_redis(n, signal.SIGKILL, 1.0)),
        "twilio-errors": (dict(redis_conf=CONF, fault_rate=0.2), None),
        "sentinel-failover": (dict(sentinel=True), fail_over(n, 10.0)),
        "sentinel-failover-minreplicas": (dict(sentinel=True, min_replicas=True), fail_over(n, 10.0)),
        "sentinel-stall": (dict(sentinel=True), stall(n)),
        "sentinel-stall-minreplicas": (dict(sentinel=True, min_replicas=True), stall(n)),
        "sentinel-failover-2replicas-minreplicas": (dict(sentinel=True, min_replicas=True, replicas=2),
                                                    fail_over(n, 10.0)),
        "sentinel-stall-2replicas-minreplicas": (dict(sentinel=True, min_replicas=True, replicas=2), stall(n)),
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
        options = dict(options)
        kind = SentinelStack if options.pop("sentinel", False) else Stack
        with kind(rate=args.rate, concurrency=args.concurrency, name=f"fault-{name}", **options) as stack:
            stack.observed = {}
            res = run_burst(stack, args.texts, during=act, idle_timeout=150)
            if kind is SentinelStack:
                replication_window(stack, res)
        if kind is SentinelStack:
            line = f"fault={name} " + sentinel_report(res, stack.observed)
        else:
            line = f"fault={name} " + report(res) + f" time_to_last_reply_s={res['to_last_reply_s']:.1f}"
        print(line, flush=True)
        lines.append(line)
    print("summary")
    for line in lines:
        print(line)


if __name__ == "__main__":
    main()
