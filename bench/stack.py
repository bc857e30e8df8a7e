"""A whole signpost stack on this machine for the benchmarks: its own Redis, the Twilio stand-in, gunicorn
with the shipped settings (deploy/gunicorn.conf.py), and `python -m workers`. Every process is started here,
on free ports, and stopped by its own pid. `SentinelStack`: the same with Redis as a primary, a replica and
three sentinels, web and workers finding the primary through the sentinels."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT_SID = "AC" + "c" * 32
TOKEN = "bench-burst-token"
SHORT_CODE = "82228"
RELAY_LINE = "+447800002414"
CONTROL_ROOM = ("+447400000001", "+447400000002")
SUPERVISOR = "+447400000009"
OUT = ROOT / "bench" / "out"
SENTINEL_CONF = ROOT / "deploy" / "sentinel.conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def keywords_file(rate: float) -> Path:
    """keywords.yaml with 82228 at `rate` messages per second (the UK short-code cap is 100)."""
    text = (ROOT / "keywords.yaml").read_text()
    text, n = re.subn(r'("82228":\n(?:    .*\n)*?    rate_per_second: )\d+', rf"\g<1>{rate:g}", text)
    if n != 1:
        raise SystemExit("could not set the 82228 rate in keywords.yaml")
    OUT.mkdir(exist_ok=True)
    path = OUT / f"keywords-{rate:g}.yaml"
    path.write_text(text)
    return path


class Stack:
    """Redis + stand-in + gunicorn + workers, each restartable, each stopped by pid."""

    def __init__(self, *, rate: float = 100, concurrency: int = 4, web_workers: int | None = None,
                 redis_conf: Path | None = None, appendfsync: str | None = None, fault_rate: float = 0.0,
                 log_level: str = "INFO", name: str = "burst") -> None:
        self.rate, self.concurrency, self.web_workers = rate, concurrency, web_workers
        self.redis_conf, self.appendfsync, self.fault_rate = redis_conf, appendfsync, fault_rate
        self.log_level, self.name = log_level, name
        self.dir = Path(tempfile.mkdtemp(prefix=f"signpost-{name}-"))
        self.redis_port, self.web_port = free_port(), free_port()
        # deploy/redis.conf admits only its ACL user: connect as that user, with the password the file gives.
        found = re.search(r"^user (\S+) on >(\S+)", redis_conf.read_text(), re.M) if redis_conf else None
        if redis_conf:  # Redis may rewrite the file it runs on (CONFIG REWRITE): a copy, never the shipped file
            self.redis_conf = self.dir / "redis.conf"
            shutil.copyfile(redis_conf, self.redis_conf)
        self.redis_auth = {"username": found[1], "password": found[2]} if found else {}
        self.procs: dict[str, subprocess.Popen] = {}
        self.standin_url = ""
        OUT.mkdir(exist_ok=True)

    # -- processes ---------------------------------------------------------------------------------------
    def _log(self, what: str):
        return (OUT / f"{self.name}-{what}.log").open("a")

    def start_redis(self) -> None:
        cmd = ["redis-server"]
        if self.redis_conf:
            cmd.append(str(self.redis_conf))
        else:
            cmd += ["--save", "", "--appendonly", "no"]
        cmd += ["--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", str(self.dir),
                "--daemonize", "no", "--logfile", str(OUT / f"{self.name}-redis.log")]
        if self.appendfsync:
            cmd += ["--appendfsync", self.appendfsync]
        self.procs["redis"] = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        r = redis.Redis(port=self.redis_port, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0),
                        **self.redis_auth)
        for _ in range(200):
            if self.procs["redis"].poll() is not None:
                raise SystemExit(f"redis-server exited with {self.procs['redis'].returncode}: {' '.join(cmd)}")
            try:
                r.ping()
                break
            except redis.RedisError:
                time.sleep(0.05)
        else:
            raise SystemExit("redis-server did not start")
        # Loading the AOF after a restart: wait until Redis answers commands, not just PING.
        for _ in range(400):
            try:
                r.dbsize()
                return
            except redis.BusyLoadingError:
                time.sleep(0.05)

    def start_standin(self) -> None:
        cmd = [sys.executable, "-m", "tests.twilio_standin", "--port", "0", "--account-sid", ACCOUNT_SID,
               "--auth-token", TOKEN]
        if self.fault_rate:
            cmd += ["--fault-rate", str(self.fault_rate), "--fault-seed", "5"]
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=self._log("standin"), text=True)
        line = proc.stdout.readline().strip()
        if not line.startswith("listening "):
            raise SystemExit(f"stand-in did not start: {line!r}")
        self.standin_url = line.split(" ", 1)[1]
        self.procs["standin"] = proc

    @property
    def redis_url(self) -> str:
        """REDIS_URL for the stack's Redis, with the ACL user's credentials when it has one."""
        auth = f"{self.redis_auth['username']}:{self.redis_auth['password']}@" if self.redis_auth else ""
        return f"redis://{auth}127.0.0.1:{self.redis_port}/0"

    @property
    def env(self) -> dict[str, str]:
        return dict(
            os.environ, SIGNPOST_ENV="production", REDIS_URL=self.redis_url,
            REDIS_TIMEOUT="1", TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=TOKEN,
            TWILIO_API_BASE_URL=self.standin_url, KEYWORDS_FILE=str(keywords_file(self.rate)),
            PUBLIC_URL=f"http://127.0.0.1:{self.web_port}", SECRET_KEY="bench-secret-key", LOG_LEVEL=self.log_level,
            RELAY_FORWARD_TO=",".join(CONTROL_ROOM), RELAY_ESCALATE_TO=SUPERVISOR, RELAY_ESCALATE_AFTER="3600",
            PROMETHEUS_MULTIPROC_DIR=str(self.dir / "metrics"),
        )

    def start_web(self) -> None:
        cmd = [sys.executable, "-m", "gunicorn", "--config", str(ROOT / "deploy" / "gunicorn.conf.py"),
               "--bind", f"127.0.0.1:{self.web_port}"]
        if self.web_workers:
            cmd += ["--workers", str(self.web_workers)]
        cmd.append("wsgi:app")
        self.procs["web"] = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                             stderr=self._log("web"))
        if not wait_port(self.web_port):
            raise SystemExit(f"gunicorn did not start; see {OUT / (self.name + '-web.log')}")

    def start_workers(self) -> None:
        cmd = [sys.executable, "-m", "workers", "--concurrency", str(self.concurrency)]
        self.procs["workers"] = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL,
                                                 stderr=self._log("workers"), start_new_session=True)

    def start(self) -> Stack:
        self.start_redis()
        self.start_standin()
        self.start_web()
        self.start_workers()
        time.sleep(2.0)  # workers registered and idle
        return self

    def worker_children(self) -> list[int]:
        """Pids of the pool's worker processes."""
        pid = self.procs["workers"].pid
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
        return [int(x) for x in out.split()]

    def stop_one(self, name: str, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        if name == "workers":
            # The pool and its children share a session of their own: stop them all, by that group's id.
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            if name == "workers":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
            proc.wait()

    def stop(self) -> None:
        for name in ("web", "workers", "standin", "redis"):
            self.stop_one(name)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- observations -----------------------------------------------------------------------------------
    def standin_get(self, what: str, since: int = 0) -> list[dict]:
        with urllib.request.urlopen(f"{self.standin_url}/_standin/{what}?since={since}", timeout=30) as resp:
            return json.loads(resp.read())

    def redis(self) -> redis.Redis:
        return redis.Redis(port=self.redis_port, socket_timeout=2, **self.redis_auth)

    def metrics_text(self) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.web_port}/metrics", timeout=10) as resp:
            return resp.read().decode()


def sentinel_setting(name: str) -> str:
    """A `sentinel <name> signpost <value>` line's value in deploy/sentinel.conf."""
    found = re.search(rf"^sentinel {name} signpost (\S+)", SENTINEL_CONF.read_text(), re.M)
    if not found:
        raise SystemExit(f"no 'sentinel {name}' in {SENTINEL_CONF}")
    return found[1]


class SentinelStack(Stack):
    """The stack with Redis as one primary, one replica and three sentinels (quorum 2) on loopback ports
    (tests/redis_topology.py): AOF with `appendfsync always` on both data servers, down-after-milliseconds
    from deploy/sentinel.conf. Web and workers get REDIS_SENTINELS and REDIS_SENTINEL_MASTER, and a REDIS_URL
    that gives only the database. No ACL users here (the topology's own checks connect without a password).

    `min_replicas`: both data servers refuse writes unless a replica acknowledged within the last second
    (min-replicas-to-write 1, min-replicas-max-lag 1). `replicas=2`: a second replica ("replica2")."""

    def __init__(self, *, min_replicas: bool = False, replicas: int = 1, **kwargs) -> None:
        from tests.redis_topology import Topology

        super().__init__(**kwargs)
        extra = {"min-replicas-to-write": "1", "min-replicas-max-lag": "1"} if min_replicas else {}
        self.down_after_ms = int(sentinel_setting("down-after-milliseconds"))
        self.topology = Topology(self.dir / "redis", extra=extra, down_after_ms=self.down_after_ms,
                                 appendonly=True)
        self.replicas = replicas

    def start_redis(self) -> None:
        from tests.redis_topology import MASTER

        topo = self.topology.start()
        for k in range(2, self.replicas + 1):
            name = f"replica{k}"
            topo.ports[name] = free_port()
            topo._data(name, replica_of=topo.ports["primary"])
        deadline = time.monotonic() + 30  # the sentinels learn of new replicas from the primary's INFO (10 s)
        while any(int(redis.Redis(port=p).sentinel_master(MASTER)["num-slaves"]) < self.replicas
                  for p in topo.sentinel_ports):
            if time.monotonic() > deadline:
                raise SystemExit("the sentinels did not see every replica")
            time.sleep(0.2)

    def restart_node(self, name: str) -> None:
        """Start a stopped data server again ("primary" or "replica": the name it had at the start), as a
        machine coming back: as it was, with its AOF; the sentinels make it a replica of the current primary."""
        self.topology._data(name)

    @property
    def redis_url(self) -> str:
        return "redis:///0"  # only the database: the sentinels give the address

    @property
    def env(self) -> dict[str, str]:
        from tests.redis_topology import MASTER

        return dict(super().env, REDIS_SENTINELS=self.topology.sentinels_setting, REDIS_SENTINEL_MASTER=MASTER)

    def redis(self) -> redis.Redis:
        host, port = self.topology.primary()
        return redis.Redis(host=host, port=port, socket_timeout=2)

    def stop(self) -> None:
        super().stop()
        self.topology.stop()
