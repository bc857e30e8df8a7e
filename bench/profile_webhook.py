"""Where a /sms request's time goes under gunicorn: py-spy samples of two workers under load, grouped.

    .venv/bin/pip install py-spy   # not a project requirement
    python bench/profile_webhook.py [--apps naive,gateway] [--seconds 20] [--rate 400]

Each app runs under the same gunicorn command and settings as in bench/webhook.py, on signed requests, a flushed Redis
database. While the load runs, py-spy samples two workers: one only while it holds the GIL (its Python CPU: where
to cut; system calls such as socket sends run without the GIL and are not in it), one by wall clock, idle included
(where a request's latency goes, waiting on Redis and on the client's close included). Also printed: the workers'
user and system CPU a request, from /proc, and redis-server's (the whole server: other clients count too). Only samples
inside gunicorn's handling of a connection (sync worker `handle`) are a request's. Per group: self is the share of
those samples whose innermost grouped frame is in the group (stdlib frames count for their caller), cumulative the
share with any frame of the group; ~us user scales the GIL share by the workers' user CPU a request (a rough guide).
Then the top functions. Folded stacks: bench/out/profile-<app>-{gil,wall}.txt.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import TEXTS, run_load, signed_request  # noqa: E402
from bench.webhook import (  # noqa: E402
    ACCOUNT_SID,
    APPS,
    HOST,
    TOKEN,
    app_env,
    claim_db,
    free_port,
    start_gunicorn,
    worker_pids,
)

WAITING = "waiting on Redis (socket read)"
# (group, path or function substrings); the first group that matches a frame is its group.
GROUPS: list[tuple[str, tuple[str, ...]]] = [
    ("signature check", ("twilio/request_validator", "called_url")),
    ("form parsing", ("werkzeug/formparser", "werkzeug/sansio/multipart", "_load_form_data")),
    ("logging", ("gateway/ops/logs", "/logging/")),
    ("keyword engine", ("gateway/keywords",)),
    ("phonenumbers", ("phonenumbers/", "gateway/phone")),
    ("metrics (prometheus)", ("prometheus_client/", "gateway/ops/metrics")),
    ("Redis client / rq jobs", ("/redis/", "/rq/", "hiredis", "gateway/texts/intake", "gateway/sending",
                                "gateway/texts/msglog")),
    ("TwiML", ("twilio/twiml", "xml/etree")),
    ("gunicorn (HTTP parsing, socket close)", ("gunicorn/",)),
    ("Flask session, Flask-Login, Flask-WTF", ("flask/sessions", "itsdangerous/", "flask_login/", "flask_wtf/")),
    ("Flask / werkzeug", ("flask/", "werkzeug/")),
    ("app's own code", ("/gateway/", "bench/naive", "bench/bare", "wsgi.py")),
]
FRAME = re.compile(r"^(?P<function>.*) \((?P<path>.*?)(?::\d+)?\)$")


def group_of(frame: str) -> str | None:
    """The group a frame belongs to, or None for stdlib and other frames (they count for their caller)."""
    for name, needles in GROUPS:
        if any(needle in frame for needle in needles):
            return name
    return None


def short(frame: str) -> str:
    """`function (file)` with the path cut after site-packages or the repository."""
    m = FRAME.match(frame)
    if not m:
        return frame
    path = re.sub(r"^.*/site-packages/|^.*/python3\.\d+/|^" + re.escape(f"{ROOT}/"), "", m["path"])
    return f"{m['function']} ({path})"


class Profile:
    """Sample counts of one folded-stacks file, restricted to samples inside a request."""

    def __init__(self, folded: Path) -> None:
        self.total = self.in_request = 0
        self.own: Counter[str] = Counter()
        self.cumulative: Counter[str] = Counter()
        self.leaf: Counter[str] = Counter()
        self.anywhere: Counter[str] = Counter()
        for line in folded.read_text().splitlines():
            stack, _, count = line.rpartition(" ")
            frames, n = stack.split(";"), int(count)
            self.total += n
            handle = next((i for i, f in enumerate(frames) if f.startswith("SyncWorker.handle (")), None)
            if handle is None:
                continue  # waiting for a connection
            frames = frames[handle + 1:]
            self.in_request += n
            groups = [group_of(f) for f in frames]
            innermost = next((g for g in reversed(groups) if g), "other")
            if innermost == "Redis client / rq jobs" and frames and "read_from_socket" in frames[-1]:
                innermost = WAITING
            self.own[innermost] += n
            for g in set(groups) - {None}:
                self.cumulative[g] += n
            self.leaf[short(frames[-1]) if frames else "SyncWorker.handle"] += n
            for f in {short(f) for f in frames}:
                self.anywhere[f] += n

    def pct(self, n: int) -> str:
        return f"{100 * n / max(self.in_request, 1):5.1f}%"


def summarise(gil: Profile, wall: Profile, user_ms: float, top: int) -> str:
    """The grouped self and cumulative shares of a request, holding the GIL and by wall clock; the top functions."""
    lines = [f"GIL-holding samples in a request: {gil.in_request} of {gil.total}; wall-clock samples in a request: "
             f"{wall.in_request} of {wall.total} ({100 * wall.in_request / max(wall.total, 1):.0f}% of the worker's "
             "time; the rest is waiting for a connection)",
             f"  {'group':38s} {'gil self':>9s} {'~us user':>9s} {'gil cum':>9s} {'wall self':>9s} {'wall cum':>9s}"]
    for name in [g for g, _ in GROUPS] + [WAITING, "other"]:
        if gil.own[name] or gil.cumulative[name] or wall.own[name] or wall.cumulative[name]:
            us = user_ms * 1000 * gil.own[name] / max(gil.in_request, 1)
            lines.append(f"  {name:38s} {gil.pct(gil.own[name]):>9s} {us:9.0f} {gil.pct(gil.cumulative[name]):>9s} "
                         f"{wall.pct(wall.own[name]):>9s} {wall.pct(wall.cumulative[name]):>9s}")
    lines.append(f"top {top} functions by GIL-holding self share:")
    lines += [f"  {gil.pct(n)}  {f}" for f, n in gil.leaf.most_common(top)]
    lines.append(f"top {top} functions by GIL-holding cumulative share:")
    lines += [f"  {gil.pct(n)}  {f}" for f, n in gil.anywhere.most_common(top)]
    return "\n".join(lines)


def cpu_seconds(pid: int) -> tuple[float, float]:
    """User and system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def profile(name: str, port: int, env: dict[str, str], r: redis.Redis, requests: list[bytes],
            args: argparse.Namespace, out: Path) -> tuple[Profile, Profile, float]:
    """Run one app under load while py-spy samples two of its workers: one on CPU only, one by wall clock."""
    r.flushdb()
    proc = start_gunicorn(APPS[name], port, env, out / f"{name}.log")
    try:
        run_load(HOST, port, requests[:200], 5)
        pids = worker_pids(proc.pid)
        spies = {}
        for kind, pid, extra in (("gil", pids[0], ["--gil"]), ("wall", pids[-1], ["--idle"])):
            folded = out / f"profile-{name}-{kind}.txt"
            spies[kind] = folded, subprocess.Popen(
                [str(Path(sys.executable).with_name("py-spy")), "record", "--pid", str(pid), "--duration",
                 str(args.seconds), "--rate", str(args.rate), "--format", "raw", "--function", "--full-filenames",
                 "--output", str(folded), *extra],
                stdout=subprocess.DEVNULL, stderr=(out / f"py-spy-{name}-{kind}.log").open("w"))
        time.sleep(1)  # py-spy attaches before the load starts, so the load outlasts its samples
        redis_pid = r.info("server")["process_id"]
        before = {pid: cpu_seconds(pid) for pid in [*pids, redis_pid]}
        result = run_load(HOST, port, requests[200:], args.seconds + 2, threads=args.threads)
        spent = {pid: tuple(a - b for a, b in zip(cpu_seconds(pid), before[pid], strict=True)) for pid in before}
        for kind, (_, spy) in spies.items():
            if spy.wait(30) != 0:
                raise SystemExit(f"py-spy failed; see {out / f'py-spy-{name}-{kind}.log'}")
        ok = max(result["ok"], 1)
        user, system = (sum(spent[pid][i] for pid in pids) * 1000 / ok for i in (0, 1))
        print(f"{name}: requests/s={result['rps']:.0f} ok={result['ok']} errors={result['bad']} while sampled; "
              f"CPU a request: workers {user:.2f} ms user + {system:.2f} ms system, "
              f"redis-server {sum(spent[redis_pid]) * 1000 / ok:.2f} ms (whole server, shared)")
        return Profile(spies["gil"][0]), Profile(spies["wall"][0]), user
    finally:
        proc.terminate()
        proc.wait(15)
        r.flushdb()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", default="naive,gateway", help=f"comma-separated, of {', '.join(APPS)}")
    parser.add_argument("--seconds", type=int, default=20, help="sampled seconds per app")
    parser.add_argument("--rate", type=int, default=400, help="py-spy samples per second")
    parser.add_argument("--requests", type=int, default=60000)
    parser.add_argument("--threads", type=int, default=4, help="client threads per client process (2 processes)")
    parser.add_argument("--top", type=int, default=20)
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    port = free_port()
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    metrics_dir = tempfile.TemporaryDirectory(prefix="signpost-bench-metrics-")
    env = app_env(args.redis_url, f"http://{HOST}:{port}", metrics_dir.name)
    requests = [signed_request(HOST, port, TOKEN, ACCOUNT_SID, TEXTS[i % len(TEXTS)])[1] for i in range(args.requests)]
    r = redis.Redis.from_url(args.redis_url)
    locks, lock = claim_db(args.redis_url)
    try:
        profiles = {name: profile(name, port, env, r, requests, args, out) for name in args.apps.split(",")}
    finally:
        locks.delete(lock)
        metrics_dir.cleanup()
    for name, (gil, wall, user_ms) in profiles.items():
        print(f"\n== {name} ({APPS[name]})\n{summarise(gil, wall, user_ms, args.top)}")


if __name__ == "__main__":
    main()
