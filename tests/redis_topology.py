"""A Redis primary, a replica and three sentinels on loopback ports, for the failover test and benchmark.

    with Topology(tmp_dir) as topo:
        topo.sentinels            # [(host, port)] for REDIS_SENTINELS
        topo.kill_primary()       # SIGKILL, as a lost machine
        topo.wait_for_failover()  # until the sentinels name a new primary

Only the `redis-server` binary (in sentinel mode for the sentinels). `extra` settings apply to both data
servers, e.g. {"min-replicas-to-write": "1", "min-replicas-max-lag": "1"}.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path

import redis

MASTER = "signpost"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Topology:
    """One primary, one replica, three sentinels (quorum 2); everything on 127.0.0.1."""

    def __init__(self, directory: Path, extra: dict[str, str] | None = None, down_after_ms: int = 1000,
                 appendonly: bool = False) -> None:
        self.dir = Path(directory)
        self.extra = extra or {}
        self.down_after_ms = down_after_ms
        self.appendonly = appendonly
        self.ports = {"primary": free_port(), "replica": free_port()}
        self.sentinel_ports = [free_port() for _ in range(3)]
        self.procs: dict[str, subprocess.Popen] = {}

    @property
    def sentinels(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", port) for port in self.sentinel_ports]

    @property
    def sentinels_setting(self) -> str:
        """REDIS_SENTINELS."""
        return ",".join(f"{host}:{port}" for host, port in self.sentinels)

    def _data(self, name: str, replica_of: int | None = None) -> None:
        directory = self.dir / name
        directory.mkdir(parents=True, exist_ok=True)
        args = ["redis-server", "--port", str(self.ports[name]), "--bind", "127.0.0.1", "--dir", str(directory),
                "--save", "", "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "always",
                "--daemonize", "no", "--logfile", str(directory / "redis.log")]
        if replica_of:
            args += ["--replicaof", "127.0.0.1", str(replica_of)]
        for key, value in self.extra.items():
            args += [f"--{key}", value]
        self.procs[name] = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait(self.ports[name])

    def _sentinel(self, i: int, port: int) -> None:
        conf = self.dir / f"sentinel-{i}.conf"
        conf.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {self.dir}\nlogfile {self.dir / f'sentinel-{i}.log'}\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {self.ports['primary']} 2\n"
            f"sentinel down-after-milliseconds {MASTER} {self.down_after_ms}\n"
            f"sentinel failover-timeout {MASTER} 5000\n"
            f"sentinel parallel-syncs {MASTER} 1\n"
        )
        self.procs[f"sentinel-{i}"] = subprocess.Popen(["redis-server", str(conf), "--sentinel"],
                                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self._wait(port)

    @staticmethod
    def _wait(port: int, timeout: float = 10.0) -> None:
        r = redis.Redis(port=port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                r.ping()
                return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(f"redis on port {port} did not start")

    def primary(self) -> tuple[str, int]:
        """The primary's address as the first sentinel that answers names it."""
        for host, port in self.sentinels:
            try:
                found = redis.Redis(host=host, port=port, socket_timeout=0.5).sentinel_get_master_addr_by_name(MASTER)
            except redis.RedisError:
                continue
            if found:
                return found[0], int(found[1])
        raise RuntimeError("no sentinel answers")

    def start(self) -> Topology:
        self._data("primary")
        self._data("replica", replica_of=self.ports["primary"])
        replica = redis.Redis(port=self.ports["replica"])
        deadline = time.monotonic() + 10
        while replica.info("replication").get("master_link_status") != "up":
            if time.monotonic() > deadline:
                raise RuntimeError("the replica did not sync")
            time.sleep(0.05)
        for i, port in enumerate(self.sentinel_ports):
            self._sentinel(i, port)
        deadline = time.monotonic() + 15  # sentinels discover the replica and each other
        while True:
            infos = [redis.Redis(port=p).sentinel_master(MASTER) for p in self.sentinel_ports]
            if all(int(i.get("num-slaves", 0)) >= 1 and int(i.get("num-other-sentinels", 0)) >= 2 for i in infos):
                return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"sentinels did not settle: {infos}")
            time.sleep(0.1)

    def kill_primary(self) -> str:
        """SIGKILL the current primary, as a lost machine; returns the name it had here."""
        _, port = self.primary()
        name = next(n for n, p in self.ports.items() if p == port)
        self.procs[name].send_signal(signal.SIGKILL)
        self.procs[name].wait(10)
        return name

    def wait_for_failover(self, old_port: int, timeout: float = 30.0) -> tuple[str, int]:
        """Until the sentinels name a primary other than `old_port`, and it accepts writes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                host, port = self.primary()
            except RuntimeError:
                port = old_port
            if port != old_port:
                try:
                    r = redis.Redis(host=host, port=port, socket_timeout=0.5)
                    if r.info("replication").get("role") == "master":
                        return host, port
                except redis.RedisError:
                    pass
            time.sleep(0.1)
        raise RuntimeError("no failover within the timeout")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()

    def __enter__(self) -> Topology:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
