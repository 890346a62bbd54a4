"""Daemon figures through the real docker CLI: ``docker run -d`` with no network, with
one user-defined bridge, and with a published port (``-p``), ``docker network connect`` and ``docker network create``, as the
number of running containers grows; resident memory; the processes each daemon runs.

With ``compare=True`` the same workload runs against Debian's dockerd (20.10) in a
second fake host, in the same run, sample by sample alternating between the daemons,
and the result carries Seaway/Docker ratios of the medians.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bench.stats import summarize
from seaway.lab.fakehost import FakeHost
from seaway.testing.daemon import SeawayDaemon
from seaway.testing.dockerd import DockerDaemon
from seaway.testing.images import busybox_rootfs_tar

Log = Callable[[str], None]
WINDOW = 10
FIGURES = ("run_none", "run_bridge", "run_publish", "connect", "network_create")


class Daemon(Protocol):
    proc: subprocess.Popen[bytes] | None

    def docker(self, *args: str, check: bool = False, timeout: float = 60) -> subprocess.CompletedProcess[str]: ...

    def close(self) -> None: ...


@dataclass
class Side:
    name: str
    host: FakeHost
    daemon: Daemon
    processes: tuple[str, ...]  # what to count and weigh (comm names)
    running: int = 0
    samples: dict[str, dict[int, list[int]]] = field(default_factory=lambda: {f: {} for f in FIGURES})

    def timed(self, *args: str) -> int:
        t0 = time.perf_counter_ns()
        result = self.daemon.docker(*args)
        elapsed = time.perf_counter_ns() - t0
        if result.returncode != 0:
            raise RuntimeError(f"{self.name}: docker {' '.join(args)}: {result.stderr}")
        return elapsed


def _processes(names: tuple[str, ...], marker: str) -> dict[str, dict[str, int]]:
    """Count and resident memory (KiB) of this daemon's processes, by command name
    (their command lines name the fake host's private directories)."""
    out = subprocess.run(["ps", "-eo", "comm=,rss=,args="], capture_output=True, text=True, check=True).stdout
    found: dict[str, dict[str, int]] = {n: {"count": 0, "rss_kib": 0} for n in names}
    for line in out.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0] in found and marker in parts[2]:
            found[parts[0]]["count"] += 1
            found[parts[0]]["rss_kib"] += int(parts[1])
    return found


def _prepare(side: Side, tar: Path) -> None:
    side.daemon.docker("import", str(tar), "busybox", check=True)
    side.daemon.docker("network", "create", "--subnet", "10.0.0.0/16", "bench", check=True)
    side.daemon.docker("network", "create", "--subnet", "10.1.0.0/16", "extra", check=True)


def _fill(side: Side, target: int) -> None:
    while side.running < target:
        side.daemon.docker("run", "-d", "--network", "bench", "busybox", "sleep", "3600", check=True)
        side.running += 1


def _sample(side: Side, point: int, j: int) -> None:
    s = side.samples
    s["run_none"].setdefault(point, []).append(side.timed("run", "-d", "--network", "none", "busybox", "sleep", "3600"))
    name = f"b{point}x{j}"
    s["run_bridge"].setdefault(point, []).append(
        side.timed("run", "-d", "--name", name, "--network", "bench", "busybox", "sleep", "3600")
    )
    port = str(30000 + side.running)  # a new host port each time
    s["run_publish"].setdefault(point, []).append(
        side.timed("run", "-d", "--network", "bench", "-p", f"{port}:80", "busybox", "sleep", "3600")
    )
    s["connect"].setdefault(point, []).append(side.timed("network", "connect", "extra", name))
    s["network_create"].setdefault(point, []).append(side.timed("network", "create", f"n{point}x{j}"))
    side.daemon.docker("network", "rm", f"n{point}x{j}", check=True)
    side.running += 3


def run(quick: bool, log: Log, compare: bool = False) -> dict[str, Any]:
    points = [1, 10] if quick else [1, 50, 200]
    sides: list[Side] = []
    try:
        host = FakeHost()
        seaway = SeawayDaemon(host, "--log-level", "warn")
        sides.append(Side("seaway", host, seaway, ("seawayd", "conmon", "docker-proxy")))
        seaway.start()
        if compare:
            if not DockerDaemon.available():
                raise RuntimeError("--compare dockerd needs Debian's docker.io (dockerd)")
            dhost = FakeHost()
            dockerd = DockerDaemon(dhost)
            sides.append(Side("dockerd", dhost, dockerd, ("dockerd", "containerd", "containerd-shim", "docker-proxy")))
            dockerd.start()
        idle = {side.name: _processes(side.processes, str(side.host.root)) for side in sides}
        with tempfile.TemporaryDirectory() as tmp:
            tar = busybox_rootfs_tar(Path(tmp) / "busybox.tar")
            for side in sides:
                _prepare(side, tar)
        for point in points:
            for side in sides:
                _fill(side, point - 1)
            for j in range(WINDOW):
                for side in sides:  # alternating, so machine noise hits both alike
                    _sample(side, point, j)
            log(f"daemon: {point} point done ({', '.join(f'{s.name} {s.running}' for s in sides)} running)")
        loaded = {side.name: _processes(side.processes, str(side.host.root)) for side in sides}
        return _results(sides, idle, loaded)
    finally:
        for side in sides:
            side.daemon.close()
            side.host.close()


def _results(sides: list[Side], idle: dict[str, Any], loaded: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for side in sides:
        figures = {f: {str(p): summarize(v) for p, v in side.samples[f].items()} for f in FIGURES}
        out[side.name] = {
            **figures,
            "processes_idle": idle[side.name],
            "processes_loaded": loaded[side.name],
            "containers_running": side.running,
        }
    if len(sides) == 2:
        a, b = out[sides[0].name], out[sides[1].name]
        out["ratio_seaway_to_dockerd_p50"] = {
            f: {p: round(a[f][p]["p50_ms"] / b[f][p]["p50_ms"], 3) for p in a[f]} for f in FIGURES
        }
    return out


def summary(results: dict[str, Any]) -> list[str]:
    lines = []
    for name in ("seaway", "dockerd"):
        if name not in results:
            continue
        r = results[name]
        for figure in FIGURES:
            for point, s in r[figure].items():
                lines.append(
                    f"{name:>7} {figure:>14} at {point:>4} running: p50 {s['p50_ms']:7.1f} ms  p99 {s['p99_ms']:7.1f} ms"
                )
        lines.append(f"{name:>7} processes with {r['containers_running']} containers: {r['processes_loaded']}")
    if "ratio_seaway_to_dockerd_p50" in results:
        lines.append(f"Seaway/Docker p50 ratios: {results['ratio_seaway_to_dockerd_p50']}")
    return lines
