"""The etcd member a manager's seawayd runs: its flags, start, readiness and stop.

A manager's member lives under ``<data-root>/swarm/etcd`` (data in ``data/``, output in
``etcd.log``, PID in ``etcd.pid``), speaks mTLS to clients (2379) and peers (2380) with
the node's own certificate, and trusts only the cluster CA; ``--client-cert-auth`` makes
a client's certificate CN its etcd user, which is how RBAC knows a node (see
``seaway.cluster.rbac``). It listens on the advertise address and on 127.0.0.1 (clients)
of the daemon's own namespace, nowhere else.

Timing is set for small clusters on busy machines: heartbeat 200 ms, election 2 s.
The process is started with the daemon's data root in its command line, the marker that
``stop`` checks before it signals a PID (a recycled PID is never signalled).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from seaway.errors import InternalError
from seaway.kernel import process

CLIENT_PORT = 2379
PEER_PORT = 2380
HEARTBEAT_MS = 200
ELECTION_MS = 2000
START_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class MemberConfig:
    root: Path  # <data-root>/swarm/etcd
    name: str  # the node ID
    address: str  # the advertise address
    ca: Path
    cert: Path
    key: Path
    initial_cluster: tuple[tuple[str, str], ...]  # (name, peer URL) of every member, this one included
    new_cluster: bool

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def client_url(self) -> str:
        return url(self.address, CLIENT_PORT)

    @property
    def peer_url(self) -> str:
        return url(self.address, PEER_PORT)

    def argv(self) -> list[str]:
        tls = ["--trusted-ca-file", str(self.ca), "--cert-file", str(self.cert), "--key-file", str(self.key)]
        peer_tls = ["--peer-trusted-ca-file", str(self.ca), "--peer-cert-file", str(self.cert)]
        peer_tls += ["--peer-key-file", str(self.key)]
        return [
            "etcd", "--name", self.name, "--data-dir", str(self.data_dir),
            "--listen-client-urls", f"{self.client_url},{url('127.0.0.1', CLIENT_PORT)}",
            "--advertise-client-urls", self.client_url,
            "--listen-peer-urls", self.peer_url, "--initial-advertise-peer-urls", self.peer_url,
            "--initial-cluster", ",".join(f"{n}={u}" for n, u in self.initial_cluster),
            "--initial-cluster-state", "new" if self.new_cluster else "existing",
            *tls, "--client-cert-auth", *peer_tls, "--peer-client-cert-auth",
            "--heartbeat-interval", str(HEARTBEAT_MS), "--election-timeout", str(ELECTION_MS),
            "--auto-compaction-mode", "revision", "--auto-compaction-retention", "10000",
            "--quota-backend-bytes", str(2 << 30), "--snapshot-count", "10000",
            "--logger", "zap", "--log-level", "warn",
        ]  # fmt: skip


def url(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}:{port}"


def _pidfile(root: Path) -> Path:
    return root / "etcd.pid"


def start(config: MemberConfig) -> int:
    """Start the member (stopping one left running by an earlier daemon first); its PID."""
    config.root.mkdir(parents=True, exist_ok=True)
    stop(config.root)
    pid = process.spawn(None, config.argv(), config.root / "etcd.log")
    _pidfile(config.root).write_text(f"{pid}\n")
    return pid


def running(root: Path) -> int | None:
    """The PID of the member under ``root`` if it runs."""
    try:
        pid = int(_pidfile(root).read_text().strip())
    except (OSError, ValueError):
        return None
    process.exited(pid)  # reap it if it was our child and died
    return pid if process.runs(pid, str(root / "data")) else None


def stop(root: Path) -> None:
    """Stop the member under ``root`` (SIGTERM, then SIGKILL); nothing if none runs."""
    pid = running(root)
    if pid is not None:
        process.stop(pid, str(root / "data"), timeout=10)
    _pidfile(root).unlink(missing_ok=True)


async def wait_started(root: Path, pid: int, ready) -> None:  # type: ignore[no-untyped-def]
    """Wait until ``await ready()`` is true; InternalError with the log's tail if the
    member exits or does not get ready in time."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    while loop.time() < deadline:
        if await ready():
            return
        if process.exited(pid) is not None or process.gone(pid):
            raise InternalError(f"etcd exited: {_tail(root)}")
        await asyncio.sleep(0.1)
    raise InternalError(f"etcd did not get ready within {START_TIMEOUT:.0f} s: {_tail(root)}")


def _tail(root: Path) -> str:
    try:
        return (root / "etcd.log").read_text(errors="replace")[-1500:]
    except OSError:
        return "(no log)"
