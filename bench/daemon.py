"""seawayd figures through the real docker CLI: ``docker run -d`` with no network and
with one user-defined bridge, and ``docker network connect``, as the number of running
containers grows; the daemon's RSS idle and loaded; the processes it runs."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.stats import summarize
from seaway.lab.fakehost import FakeHost
from seaway.testing.daemon import SeawayDaemon
from seaway.testing.images import busybox_rootfs_tar

Log = Callable[[str], None]
WINDOW = 10


def _rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _processes(names: tuple[str, ...], marker: str) -> dict[str, int]:
    """Processes of this daemon (their command line names its private directories)."""
    lines = subprocess.run(["ps", "-eo", "comm=,args="], capture_output=True, text=True, check=True).stdout
    rows = [line.split(None, 1) for line in lines.splitlines() if marker in line]
    return {n: sum(1 for row in rows if row[0] == n) for n in names}


def _timed(daemon: SeawayDaemon, *args: str) -> int:
    t0 = time.perf_counter_ns()
    result = daemon.docker(*args)
    elapsed = time.perf_counter_ns() - t0
    if result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {result.stderr}")
    return elapsed


def run(quick: bool, log: Log) -> dict[str, Any]:
    points = [1, 10] if quick else [1, 50, 200]
    host = FakeHost()
    daemon = SeawayDaemon(host)
    try:
        daemon.start()
        rss_idle = _rss_kib(daemon.proc.pid)  # type: ignore[union-attr]
        with tempfile.TemporaryDirectory() as tmp:
            tar = busybox_rootfs_tar(Path(tmp) / "busybox.tar")
            daemon.docker("import", str(tar), "busybox", check=True)
        daemon.docker("network", "create", "--subnet", "10.0.0.0/16", "bench", check=True)
        daemon.docker("network", "create", "--subnet", "10.1.0.0/16", "extra", check=True)
        running = 0
        figures: dict[str, dict[str, Any]] = {"run_none": {}, "run_bridge": {}, "connect": {}}
        for point in points:
            while running < point - 1:
                daemon.docker("run", "-d", "--network", "bench", "busybox", "sleep", "3600", check=True)
                running += 1
            none, bridge, connect = [], [], []
            for _ in range(WINDOW):
                none.append(_timed(daemon, "run", "-d", "--network", "none", "busybox", "sleep", "3600"))
                name = f"b{running}"
                bridge.append(
                    _timed(daemon, "run", "-d", "--name", name, "--network", "bench", "busybox", "sleep", "3600")
                )
                connect.append(_timed(daemon, "network", "connect", "extra", name))
                running += 2
            figures["run_none"][str(point)] = summarize(none)
            figures["run_bridge"][str(point)] = summarize(bridge)
            figures["connect"][str(point)] = summarize(connect)
            log(f"daemon: {running} containers running")
        rss_loaded = _rss_kib(daemon.proc.pid)  # type: ignore[union-attr]
        processes = _processes(("seawayd", "conmon", "docker-proxy"), str(host.root))
        networks = len(daemon.docker("network", "ls", "-q").stdout.split())
        return {
            **figures,
            "rss_kib": {"idle": rss_idle, f"with_{running}_containers": rss_loaded},
            "processes": {**processes, "containers_running": running, "networks": networks},
        }
    finally:
        daemon.close()
        host.close()


def summary(results: dict[str, Any]) -> list[str]:
    lines = []
    for figure in ("run_none", "run_bridge", "connect"):
        for point, s in results[figure].items():
            lines.append(f"{figure:>10} at {point:>4} running: p50 {s['p50_ms']:7.1f} ms  p99 {s['p99_ms']:7.1f} ms")
    lines.append(f"seawayd RSS (KiB): {results['rss_kib']}")
    lines.append(f"processes: {results['processes']}")
    return lines
