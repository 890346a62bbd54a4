"""Embedded DNS throughput and latency, measured from inside a container with dnsperf
(Debian) on one core: internal names, and forwarded names against a local upstream in
the outside world. dnsperf runs in the container's network namespace, so its queries
to 127.0.0.11:53 take the same NAT redirect as the container's own.

Sides: ``seaway`` (answer cache on, the default), ``seaway_no_cache`` (``--dns-cache
false``: every forwarded query goes upstream, as in Docker), ``seaway_fair``
(``--dns-realtime false``: the resolver's thread in the fair scheduling class, as
Docker's) and, with ``--compare dockerd``, dockerd 20.10. All are up at once, each pinned to core 1 (dnsperf to core 0),
and the rounds alternate between them figure by figure; each figure is the median of the
rounds. ``OUTSTANDING`` queries are in flight. The outside world's DNS server answers
from memoized replies, so it is not what limits forwarding."""

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


OUTSTANDING = 32  # queries in flight (dnsperf -q), as in issue 15's figures


def _dnsperf(
    key: str,
    names: list[str],
    seconds: int,
    clients: int,
    max_qps: int = 0,
    verbose: bool = False,
) -> dict[str, Any]:
    """One dnsperf run from the namespace ``key``. With ``verbose`` (-v, a line per
    answer) also each answer's latency, for p50/p99/max; -v costs dnsperf time, so the
    saturated throughput is taken from runs without it."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write("".join(f"{n} A\n" for n in names))
        data = fh.name
    try:
        out = subprocess.run(
            ["nsenter", f"--net={key}", "taskset", "-c", "0", "dnsperf", "-s", "127.0.0.11", "-d", data,
             "-l", str(seconds), "-c", str(clients), "-T", "1", "-t", "2", "-q", str(OUTSTANDING),
             *(["-Q", str(max_qps)] if max_qps else []), *(["-v"] if verbose else [])],
            capture_output=True, text=True, timeout=seconds + 30, check=False,
        ).stdout  # fmt: skip
    finally:
        Path(data).unlink(missing_ok=True)

    def number(pattern: str) -> float:
        match = re.search(pattern, out)
        return float(match.group(1)) if match else -1.0

    result = {
        "qps": number(r"Queries per second:\s+([\d.]+)"),
        "completed": number(r"Queries completed:\s+(\d+)"),
        "lost": number(r"Queries lost:\s+(\d+)"),
        "latency_avg_ms": number(r"Average Latency \(s\):\s+([\d.]+)") * 1000,
        "latency_stddev_ms": number(r"Latency StdDev \(s\):\s+([\d.]+)") * 1000,
    }
    if verbose:
        latencies = sorted(float(x) * 1000 for x in re.findall(r"^> \S+ \S+ \S+ ([\d.]+)$", out, re.MULTILINE))
        for name, q in (("p50_ms", 0.5), ("p99_ms", 0.99), ("max_ms", 1.0)):
            result[name] = round(latencies[min(len(latencies) - 1, int(q * len(latencies)))], 3) if latencies else -1.0
    return result


def _workload(daemon: SeawayDaemon | DockerDaemon, tar: Path) -> str:
    """Ten named containers on a user-defined network; the sandbox path of the first."""
    daemon.docker("import", str(tar), "busybox", check=True)
    daemon.docker("network", "create", "dnsbench", check=True)
    for i in range(10):
        daemon.docker("run", "-d", "--name", f"svc{i}", "--network", "dnsbench", "busybox", "sleep", "3600", check=True)
    return str(json.loads(daemon.docker("inspect", "svc0").stdout)[0]["NetworkSettings"]["SandboxKey"])


INTERNAL = [f"svc{i}" for i in range(10)]
FORWARDED = [f"host{i}.example.test" for i in range(50)]
RECORDS = {name: f"198.51.100.{i % 200 + 10}" for i, name in enumerate(FORWARDED)}

#: figure -> (names, clients, fixed qps); each is run twice per round: saturated for the
#: throughput, with -v for the latencies (the fixed-rate ones once, with -v)
KINDS = {
    "internal": (INTERNAL, 20, 0),
    "internal_at_10k_qps": (INTERNAL, 4, 10000),
    "forwarded": (FORWARDED, 20, 0),
}
FIGURES = tuple(KINDS)


#: measured again with ``--dns-realtime false`` (the resolver's thread in the fair class, as Docker's)
FAIR_KINDS = ("internal", "internal_at_10k_qps")


def _pin(pid: int) -> None:
    """The resolver's process on core 1, the load generator (dnsperf) on core 0."""
    subprocess.run(["taskset", "-a", "-p", "-c", "1", str(pid)], capture_output=True, check=False)


def _runqueue_wait_s(pid: int) -> float:
    """Seconds the process's threads have spent runnable but waiting for a CPU
    (``/proc/PID/task/*/schedstat``): other programs on the daemon's core."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
    return total / 1e9


def _sample(key: str, pid: int, kind: str, seconds: int) -> dict[str, Any]:
    """One figure on one side: the latency run (-v), then the saturated one; with the
    time the daemon waited for its CPU during the latency run (a noisy machine shows
    here: the tail is then other programs', not the server's)."""
    names, clients, qps = KINDS[kind]
    waited = _runqueue_wait_s(pid)
    latency = _dnsperf(key, names, seconds, clients, qps, verbose=True)
    latency["runqueue_wait_s"] = round(_runqueue_wait_s(pid) - waited, 3)
    if qps:
        return latency
    saturated = _dnsperf(key, names, seconds, clients)
    keep = ("p50_ms", "p99_ms", "max_ms", "runqueue_wait_s")
    return {**saturated, **{k: latency[k] for k in keep}, "latency_run_qps": latency["qps"]}


def _median(samples: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"rounds": len(samples), "qps_samples": [round(s["qps"]) for s in samples]}
    for field in samples[0]:
        values = sorted(s[field] for s in samples)
        out[field] = values[len(values) // 2] if field != "lost" else sum(values)
    return out


class _Side:
    """One daemon in its own fake host, with the outside world's DNS server and the
    benchmark's ten containers; what to measure on it."""

    def __init__(self, name: str, daemon: Callable[[FakeHost], SeawayDaemon | DockerDaemon], kinds: tuple[str, ...]):
        self.name, self.kinds = name, kinds
        self.host = FakeHost()
        self.upstream = OutsideDns(self.host, RECORDS)
        self.daemon = daemon(self.host)
        self.samples: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
        self.key = ""
        self.pid = 0

    def start(self, tar: Path) -> None:
        self.daemon.start()
        self.key = _workload(self.daemon, tar)
        self.pid = self.daemon.proc.pid  # type: ignore[union-attr]
        _pin(self.pid)

    def close(self) -> None:
        try:
            self.daemon.close()
        finally:
            self.upstream.close()
            self.host.close()


def run(quick: bool, log: Log, compare: bool = False) -> dict[str, Any]:
    """Every side up at once, idle but for the one measured; rounds alternate between
    them figure by figure, and each figure is the median over the rounds."""
    if shutil.which("dnsperf") is None:
        return {"skipped": "dnsperf is not installed (Debian package dnsperf)"}
    seconds, rounds = (2, 1) if quick else (5, 3)
    results: dict[str, Any] = {"seconds": seconds, "rounds": rounds, "outstanding": OUTSTANDING}
    seaway_args = ("--dns", "198.51.100.1", "--log-level", "warn")
    specs: list[tuple[str, Callable[[FakeHost], SeawayDaemon | DockerDaemon], tuple[str, ...]]] = [
        ("seaway", lambda h: SeawayDaemon(h, *seaway_args), FIGURES),
        ("seaway_no_cache", lambda h: SeawayDaemon(h, *seaway_args, "--dns-cache", "false"), ("forwarded",)),
        ("seaway_fair", lambda h: SeawayDaemon(h, *seaway_args, "--dns-realtime", "false"), FAIR_KINDS),
    ]
    if compare:
        if DockerDaemon.available():
            specs.append(("dockerd", lambda h: DockerDaemon(h, "--dns", "198.51.100.1"), FIGURES))
        else:
            results["dockerd"] = {"skipped": "dockerd is not installed (Debian package docker.io)"}
    sides: list[_Side] = []
    with tempfile.TemporaryDirectory() as tmp:
        tar = busybox_rootfs_tar(Path(tmp) / "bb.tar")
        try:
            for name, make, kinds in specs:
                side = _Side(name, make, kinds)
                sides.append(side)
                side.start(tar)
            for r in range(rounds):
                for kind in FIGURES:
                    for side in sides:
                        if kind in side.kinds:
                            side.samples[kind].append(_sample(side.key, side.pid, kind, seconds))
                log(f"dns round {r + 1}/{rounds}: " + ", ".join(
                    f"{side.name} {kind} {side.samples[kind][-1]['qps']:.0f} qps" for side in sides for kind in side.kinds
                ))  # fmt: skip
            for side in sides:
                if isinstance(side.daemon, SeawayDaemon):
                    side.samples["stats"] = [side.daemon.request("GET", "/seaway/dns/stats")[1]]
        finally:
            for side in sides:
                side.close()
    for side in sides:
        figures = {kind: _median(side.samples[kind]) for kind in side.kinds}
        if side.name == "seaway":
            results.update(figures)
            results["daemon_stats"] = side.samples["stats"][0]
            results["internal_server_side_latency_ms"] = side.samples["stats"][0]["LatencyMs"]
        elif side.name == "seaway_no_cache":
            results["forwarded_no_cache"] = figures["forwarded"]
            results["daemon_stats_no_cache"] = side.samples["stats"][0]
        elif side.name == "seaway_fair":
            results["fair_scheduling"] = figures
            results["daemon_stats_fair"] = side.samples["stats"][0]
        else:
            results[side.name] = figures
    if "dockerd" in results and "skipped" not in results["dockerd"]:
        mine = {**{k: results[k] for k in FIGURES}, "forwarded_no_cache": results["forwarded_no_cache"]}
        results["ratio_seaway_to_dockerd_qps"] = {
            kind: round(r["qps"] / results["dockerd"][kind.removesuffix("_no_cache")]["qps"], 2)
            for kind, r in mine.items()
            if results["dockerd"][kind.removesuffix("_no_cache")]["qps"] > 0
        }
    return results


def summary(results: dict[str, Any]) -> list[str]:
    if "skipped" in results:
        return [f"dns: skipped: {results['skipped']}"]
    lines = [f"dns: {results['outstanding']} queries in flight, medians of {results['rounds']} alternating rounds"]
    sides = [("seaway", {k: results[k] for k in (*FIGURES, "forwarded_no_cache") if k in results})]
    docker = results.get("dockerd", {})
    if "skipped" in docker:
        lines.append(f"dns dockerd: skipped: {docker['skipped']}")
    elif docker:
        sides.append(("dockerd", docker))
    if "fair_scheduling" in results:
        sides.insert(1, ("fair", results["fair_scheduling"]))
    for name, figures in sides:
        for kind, r in figures.items():
            lines.append(
                f"dns {name:>7} {kind:>19}: {r['qps']:8.0f} qps  p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms"
                f"  avg {r['latency_avg_ms']:.3f} ms  lost {r['lost']:.0f}  waited for a CPU {r['runqueue_wait_s']} s"
            )
    latency = results["internal_server_side_latency_ms"]
    lines.append(f"dns seaway, time inside the server: p50 {latency['p50']} ms  p99 {latency['p99']} ms")
    stats = results["daemon_stats"]
    lines.append(f"dns seaway scheduling: {stats.get('Scheduling')}, {stats.get('RealtimeDemotions')} demotions")
    if "ratio_seaway_to_dockerd_qps" in results:
        lines.append(f"dns Seaway/dockerd qps: {results['ratio_seaway_to_dockerd_qps']}")
    return lines
