"""Published ports: the cost of publishing (and unpublishing) one more port as the number
already published grows, a 10,000-port range in one request, the nft rule count, and
TCP throughput to a container through a published port against straight to its address.

Run in-process against the engine inside a fake host (the port work is the engine's:
held sockets and one nftables transaction); iperf3 from the outside namespace.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable
from typing import Any

from bench.stats import summarize
from seaway.engine import Engine
from seaway.engine.config import EngineConfig
from seaway.lab.fakehost import HOST_UPLINK, FakeHost, in_ns
from seaway.model.network import IPAMConfigSpec, NetworkSpec
from seaway.model.ports import PortRequest

Log = Callable[[str], None]
WINDOW = 20
FILL_BASE = 20000  # existing ports: host 20000+i -> container 1+i (one element each)
PROBE_BASE = 45000  # measured ports


def _engine(host: FakeHost) -> Engine:
    engine = Engine.start(EngineConfig(data_root=host.data_root, exec_root=host.exec_root))
    engine.create_network(NetworkSpec(name="pub", ipam_configs=(IPAMConfigSpec(subnet="10.90.0.0/16"),)))
    return engine


def publish_cost(quick: bool, log: Log) -> dict[str, Any]:
    points = [1, 100] if quick else [1, 10, 100, 1000, 10000]
    host = FakeHost()
    publish_at: dict[int, list[int]] = {}
    unpublish_at: dict[int, list[int]] = {}
    rules: dict[int, int] = {}
    try:
        with host.entered():
            engine = _engine(host)
            filler = engine.create_sandbox("filler")
            engine.connect(filler.id, "pub")
            published = 0
            probes = []
            for j in range(WINDOW):
                sb = engine.create_sandbox(f"probe{j}")
                engine.connect(sb.id, "pub")
                probes.append(sb)
            for point in points:
                # fill up to the point in one request (different port numbers: one element each)
                more = tuple(
                    PortRequest("tcp", 1 + i, "", FILL_BASE + i, FILL_BASE + i) for i in range(published, point)
                )
                if more:
                    engine.publish(filler.id, more)
                    published = point
                publish_at[point], unpublish_at[point] = [], []
                for j, sb in enumerate(probes):
                    port = PROBE_BASE + j
                    t0 = time.perf_counter_ns()
                    engine.publish(sb.id, (PortRequest("tcp", 80, "", port, port),))
                    publish_at[point].append(time.perf_counter_ns() - t0)
                for sb in probes:
                    t0 = time.perf_counter_ns()
                    engine.unpublish(sb.id)
                    unpublish_at[point].append(time.perf_counter_ns() - t0)
                rules[point] = host.nft_rule_count()
                log(f"ports: publish at {point} published")
            engine.close()
    finally:
        host.close()
    return {
        "publish": {str(p): summarize(s) for p, s in publish_at.items()},
        "unpublish": {str(p): summarize(s) for p, s in unpublish_at.items()},
        "nft_rules_at_ports": {str(k): v for k, v in rules.items()},
    }


def big_range(quick: bool, log: Log) -> dict[str, Any]:
    """One request publishing a range of N ports forwarded to the same numbers."""
    size = 1000 if quick else 10000
    host = FakeHost()
    samples: list[int] = []
    unpublish: list[int] = []
    try:
        with host.entered():
            engine = _engine(host)
            sb = engine.create_sandbox("ranged")
            engine.connect(sb.id, "pub")
            requests = tuple(PortRequest("tcp", p, "", p, p) for p in range(FILL_BASE, FILL_BASE + size))
            for _ in range(3 if quick else 5):
                t0 = time.perf_counter_ns()
                engine.publish(sb.id, requests)
                samples.append(time.perf_counter_ns() - t0)
                t0 = time.perf_counter_ns()
                engine.unpublish(sb.id)
                unpublish.append(time.perf_counter_ns() - t0)
            rules = host.nft_rule_count()
            engine.close()
    finally:
        host.close()
    log(f"ports: a {size}-port range")
    return {"size": size, "publish": summarize(samples), "unpublish": summarize(unpublish), "nft_rules": rules}


def _iperf(server_ns: str, client_ns: str, bind: str, target: str, port: int, seconds: int) -> float:
    server = subprocess.Popen(["nsenter", f"--net={server_ns}", "iperf3", "-s", "-1", "-B", bind, "-p", "5201"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        time.sleep(0.3)
        out = in_ns(client_ns, "iperf3", "-c", target, "-p", str(port), "-t", str(seconds), "-J", timeout=seconds + 30)
        return round(json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"] / 1e9, 2)
    finally:
        server.kill()
        server.wait()


def throughput(quick: bool, log: Log) -> dict[str, Any]:
    """Outside -> host:published port -> container, against outside -> container address
    (allowed for the measurement by a rule in Seaway's user chain, routed via the host)."""
    if shutil.which("iperf3") is None:
        return {"skipped": "iperf3 is not installed (Debian package iperf3)"}
    seconds = 1 if quick else 5
    rounds = 1 if quick else 3
    host = FakeHost()
    out: dict[str, list[float]] = {"published": [], "direct": []}
    try:
        with host.entered():
            engine = _engine(host)
            sb = engine.create_sandbox("server")
            ep = engine.connect(sb.id, "pub")
            engine.publish(sb.id, (PortRequest("tcp", 5201, "", 15201, 15201),))
            cip = str(ep.ipv4)
            in_ns(
                host.host_ns, "nft", "add", "rule", "inet", "seaway", "user", "ip", "daddr", cip, "accept", check=True
            )
            in_ns(host.outside_ns, "ip", "route", "add", "10.90.0.0/16", "via", HOST_UPLINK, check=True)
            for _ in range(rounds):  # alternate, so machine noise hits both alike
                out["published"].append(_iperf(sb.key, host.outside_ns, cip, HOST_UPLINK, 15201, seconds))
                out["direct"].append(_iperf(sb.key, host.outside_ns, cip, cip, 5201, seconds))
            engine.close()
    finally:
        host.close()
    published, direct = max(out["published"]), max(out["direct"])
    log(f"ports: throughput published {published} Gbit/s, direct {direct} Gbit/s")
    return {
        "published_gbps": out["published"],
        "direct_gbps": out["direct"],
        "ratio_published_to_direct": round(published / direct, 3) if direct else None,
    }


def run(quick: bool, log: Log) -> dict[str, Any]:
    return {"cost": publish_cost(quick, log), "range": big_range(quick, log), "throughput": throughput(quick, log)}


def summary(results: dict[str, Any]) -> list[str]:
    lines = []
    for point, s in results["cost"]["publish"].items():
        u = results["cost"]["unpublish"][point]
        lines.append(
            f"publish one port at {point:>5} published: p50 {s['p50_ms']:6.2f} ms p99 {s['p99_ms']:6.2f} ms;"
            f" unpublish p50 {u['p50_ms']:6.2f} ms"
        )
    r = results["range"]
    lines.append(f"publish a {r['size']}-port range: p50 {r['publish']['p50_ms']:.1f} ms, nft rules {r['nft_rules']}")
    lines.append(f"nft rules at published ports: {results['cost']['nft_rules_at_ports']}")
    t = results["throughput"]
    if "skipped" in t:
        lines.append(f"ports throughput: skipped: {t['skipped']}")
    else:
        lines.append(
            f"throughput via published port {max(t['published_gbps'])} Gbit/s vs direct {max(t['direct_gbps'])} Gbit/s"
            f" (ratio {t['ratio_published_to_direct']})"
        )
    return lines
