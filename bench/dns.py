"""Embedded DNS throughput and latency, measured from inside a container with dnsperf
(Debian) on one core: internal names, and forwarded names against a local upstream in
the outside world. dnsperf runs in the container's network namespace, so its queries
to 127.0.0.11:53 take the same NAT redirect as the container's own."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seaway.lab.fakehost import FakeHost
from seaway.testing.daemon import SeawayDaemon
from seaway.testing.dnsserver import OutsideDns
from seaway.testing.dockerd import DockerDaemon
from seaway.testing.images import busybox_rootfs_tar

Log = Callable[[str], None]


def _dnsperf(key: str, names: list[str], seconds: int, clients: int, max_qps: int = 0) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("".join(f"{n} A\n" for n in names))
        data = fh.name
    try:
        out = subprocess.run(
            ["nsenter", f"--net={key}", "taskset", "-c", "0", "dnsperf", "-s", "127.0.0.11", "-d", data,
             "-l", str(seconds), "-c", str(clients), "-T", "1", "-t", "2",
             *(["-Q", str(max_qps)] if max_qps else [])],
            capture_output=True, text=True, timeout=seconds + 30, check=False,
        ).stdout  # fmt: skip
    finally:
        Path(data).unlink(missing_ok=True)

    def number(pattern: str) -> float:
        match = re.search(pattern, out)
        return float(match.group(1)) if match else -1.0

    return {
        "qps": number(r"Queries per second:\s+([\d.]+)"),
        "completed": number(r"Queries completed:\s+(\d+)"),
        "lost": number(r"Queries lost:\s+(\d+)"),
        "latency_avg_ms": number(r"Average Latency \(s\):\s+([\d.]+)") * 1000,
        "latency_stddev_ms": number(r"Latency StdDev \(s\):\s+([\d.]+)") * 1000,
    }


def _workload(daemon: SeawayDaemon | DockerDaemon, tar: Path) -> str:
    """Ten named containers on a user-defined network; the sandbox path of the first."""
    daemon.docker("import", str(tar), "busybox", check=True)
    daemon.docker("network", "create", "dnsbench", check=True)
    for i in range(10):
        daemon.docker("run", "-d", "--name", f"svc{i}", "--network", "dnsbench", "busybox", "sleep", "3600", check=True)
    return str(json.loads(daemon.docker("inspect", "svc0").stdout)[0]["NetworkSettings"]["SandboxKey"])


def _measure(key: str, seconds: int) -> dict[str, Any]:
    names = [f"svc{i}" for i in range(10)]
    return {
        "internal": _dnsperf(key, names, seconds, 20),
        # latency below saturation: at a fixed 10,000 qps the queue stays short
        "internal_at_10k_qps": _dnsperf(key, names, seconds, 4, max_qps=10000),
        "forwarded": _dnsperf(key, [f"host{i}.example.test" for i in range(50)], seconds, 20),
    }


def _pin(pid: int) -> None:
    """The resolver's process on core 1, the load generator (dnsperf) on core 0. (dnsperf
    -v, for per-query latencies, perturbs the run too much to be worth it: avg and sd.)"""
    subprocess.run(["taskset", "-a", "-p", "-c", "1", str(pid)], capture_output=True, check=False)


def run(quick: bool, log: Log, compare: bool = False) -> dict[str, Any]:
    if shutil.which("dnsperf") is None:
        return {"skipped": "dnsperf is not installed (Debian package dnsperf)"}
    seconds = 2 if quick else 10
    records = {f"host{i}.example.test": f"198.51.100.{i % 200 + 10}" for i in range(50)}
    results: dict[str, Any] = {"seconds": seconds}
    with tempfile.TemporaryDirectory() as tmp:
        tar = busybox_rootfs_tar(Path(tmp) / "bb.tar")
        host = FakeHost()
        upstream = OutsideDns(host, records)
        daemon = SeawayDaemon(host, "--dns", "198.51.100.1", "--log-level", "warn")
        try:
            daemon.start()
            key = _workload(daemon, tar)
            _pin(daemon.proc.pid)  # type: ignore[union-attr]
            results.update(_measure(key, seconds))
            results["internal_server_side_latency_ms"] = daemon.request("GET", "/seaway/dns/stats")[1]["LatencyMs"]
            results["daemon_stats"] = daemon.request("GET", "/seaway/dns/stats")[1]
            log(f"dns seaway: internal {results['internal']['qps']:.0f} qps")
        finally:
            daemon.close()
            upstream.close()
            host.close()
        if compare:
            results["dockerd"] = _dockerd(tar, records, seconds, log)
    if "dockerd" in results and "skipped" not in results["dockerd"]:
        results["ratio_seaway_to_dockerd_qps"] = {
            kind: round(results[kind]["qps"] / results["dockerd"][kind]["qps"], 2)
            for kind in ("internal", "internal_at_10k_qps", "forwarded")
            if results["dockerd"][kind]["qps"] > 0
        }
    return results


def _dockerd(tar: Path, records: dict[str, str], seconds: int, log: Log) -> dict[str, Any]:
    """The same workload against Debian's dockerd (20.10) and its embedded DNS server."""
    if not DockerDaemon.available():
        return {"skipped": "dockerd is not installed (Debian package docker.io)"}
    host = FakeHost()
    upstream = OutsideDns(host, records)
    daemon = DockerDaemon(host, "--dns", "198.51.100.1")
    try:
        daemon.start()
        key = _workload(daemon, tar)
        _pin(daemon.proc.pid)  # type: ignore[union-attr]
        out = _measure(key, seconds)
        log(f"dns dockerd: internal {out['internal']['qps']:.0f} qps")
        return out
    finally:
        daemon.close()
        upstream.close()
        host.close()


def summary(results: dict[str, Any]) -> list[str]:
    if "skipped" in results:
        return [f"dns: skipped: {results['skipped']}"]
    lines = []
    for kind in ("internal", "internal_at_10k_qps", "forwarded"):
        r = results[kind]
        lines.append(
            f"dns {kind:>19}: {r['qps']:8.0f} qps  avg {r['latency_avg_ms']:.3f} ms  sd {r['latency_stddev_ms']:.3f} ms  lost {r['lost']:.0f}"
        )
    latency = results["internal_server_side_latency_ms"]
    lines.append(f"dns internal, time inside the server: p50 {latency['p50']} ms  p99 {latency['p99']} ms")
    docker = results.get("dockerd", {})
    if "skipped" in docker:
        lines.append(f"dns dockerd: skipped: {docker['skipped']}")
    for kind in ("internal", "internal_at_10k_qps", "forwarded"):
        if kind in docker:
            r = docker[kind]
            lines.append(
                f"dns dockerd {kind:>12}: {r['qps']:8.0f} qps  avg {r['latency_avg_ms']:.3f} ms  lost {r['lost']:.0f}"
            )
    if "ratio_seaway_to_dockerd_qps" in results:
        lines.append(f"dns Seaway/dockerd qps: {results['ratio_seaway_to_dockerd_qps']}")
    return lines
