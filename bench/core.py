"""Core engine figures: attach/detach latency as sandboxes grow, network create as
networks grow, and the nftables rule count as both grow."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable
from typing import Any

from bench.stats import summarize
from seaway.dns.records import Member, Records
from seaway.engine import Engine
from seaway.engine.config import EngineConfig
from seaway.ipam.pools import PoolSpec
from seaway.kernel import fdlimit, process
from seaway.lab.fakehost import FakeHost
from seaway.model.network import IPAMConfigSpec, NetworkSpec
from seaway.model.ports import PortRequest

Log = Callable[[str], None]
WINDOW = 20  # samples per measuring point


def _engine(host: FakeHost) -> Engine:
    # a wide pool so hundreds of networks fit (Docker's defaults hold 31)
    pools = (PoolSpec(ipaddress.ip_network("10.128.0.0/9"), 24),)
    return Engine.start(EngineConfig(data_root=host.data_root, exec_root=host.exec_root, default_address_pools=pools))


def attach(quick: bool, log: Log) -> dict[str, Any]:
    """Attach latency (connect only; the sandbox exists) at the 1st, 100th, 1,000th sandbox."""
    points = [1, 100] if quick else [1, 10, 100, 500, 1000]
    host = FakeHost()
    try:
        with host.entered():
            engine = _engine(host)
            engine.create_network(NetworkSpec(name="bench", ipam_configs=(IPAMConfigSpec(subnet="10.0.0.0/16"),)))
            attach_at: dict[int, list[int]] = {}
            sandbox_at: dict[int, list[int]] = {}
            detach_at: dict[int, list[int]] = {}
            rules: dict[int, int] = {}
            attached = 0
            for point in points:
                while attached < point - 1:  # fill, untimed
                    engine.connect(engine.create_sandbox(f"f{attached}").id, "bench")
                    attached += 1
                # sandboxes first (timed on their own), then the attaches: the two costs
                # are reported apart, as Docker's netns creation and endpoint join are
                sandboxes = []
                sandbox_at[point] = []
                for j in range(WINDOW):
                    t0 = time.perf_counter_ns()
                    sandboxes.append(engine.create_sandbox(f"m{point}-{j}"))
                    sandbox_at[point].append(time.perf_counter_ns() - t0)
                attach_at[point] = []
                for sb in sandboxes:
                    t0 = time.perf_counter_ns()
                    engine.connect(sb.id, "bench")
                    attach_at[point].append(time.perf_counter_ns() - t0)
                attached += WINDOW
                rules[point] = host.nft_rule_count()
                log(f"attach: {point} sandboxes")
            for point in points:
                # detach a sandbox attached just after the point and attach it again
                samples = []
                for sb in engine.sandboxes()[point : point + WINDOW]:
                    t0 = time.perf_counter_ns()
                    engine.disconnect(sb.id, "bench")
                    samples.append(time.perf_counter_ns() - t0)
                    engine.connect(sb.id, "bench")
                detach_at[point] = samples
            engine.close()
    finally:
        host.close()
    return {
        "attach": {str(p): summarize(attach_at[p]) for p in points},
        "create_sandbox": {str(p): summarize(sandbox_at[p]) for p in points},
        "detach": {str(p): summarize(detach_at[p]) for p in points},
        "nft_rules_at_sandboxes": {str(k): v for k, v in rules.items()},
    }


def network_create(quick: bool, log: Log) -> dict[str, Any]:
    """Network create latency with 1 and with 300 existing networks."""
    points = [1, 30] if quick else [1, 10, 100, 300, 1000]
    host = FakeHost()
    try:
        with host.entered():
            engine = _engine(host)
            created: dict[int, list[int]] = {}
            removed: dict[int, list[int]] = {}
            rules: dict[int, int] = {}
            count = 0
            for point in points:
                while count < point:
                    engine.create_network(NetworkSpec(name=f"fill{count}"))
                    count += 1
                samples = []
                for j in range(WINDOW):
                    t0 = time.perf_counter_ns()
                    engine.create_network(NetworkSpec(name=f"m{point}-{j}"))
                    samples.append(time.perf_counter_ns() - t0)
                removing = []
                for j in range(WINDOW):
                    t0 = time.perf_counter_ns()
                    engine.remove_network(f"m{point}-{j}")
                    removing.append(time.perf_counter_ns() - t0)
                created[point] = samples
                removed[point] = removing
                rules[point] = host.nft_rule_count()
                log(f"network create: {point} networks")
            # the same with a range of published ports there (one endpoint of the first network)
            ports = 1000 if quick else 10000
            sb = engine.create_sandbox("ranged")
            engine.connect(sb.id, "fill0")
            engine.publish(sb.id, tuple(PortRequest("tcp", p, "", p, p) for p in range(20000, 20000 + ports)))
            with_ports = []
            for j in range(WINDOW):
                t0 = time.perf_counter_ns()
                engine.create_network(NetworkSpec(name=f"p{j}"))
                with_ports.append(time.perf_counter_ns() - t0)
            log(f"network create: {count} networks and {ports} published ports")
            engine.close()
    finally:
        host.close()
    return {
        "create": {str(p): summarize(s) for p, s in created.items()},
        "remove": {str(p): summarize(s) for p, s in removed.items()},
        "nft_rules_at_networks": {str(k): v for k, v in rules.items()},
        "create_with_published_ports": {"networks": count, "ports": ports, **summarize(with_ports)},
    }


def with_ports(quick: bool, log: Log) -> dict[str, Any]:
    """Issue 15's item 3: what a sandbox create (its descriptor headroom check), a network
    create and remove (their firewall elements), the host-firewall mirror's refresh
    (a foreign table's input chain copied) and the firewall guard's check cost as published ports grow, 1 -> 10,000
    (``--quick``: 1,000; each its own map elements), all on networks in host-firewall mode."""
    points = [1, 1000] if quick else [1, 100, 1000, 10000]
    host = FakeHost()
    figures: dict[str, dict[int, list[int]]] = {"create_sandbox": {}, "create_network": {}, "remove_network": {}}
    figures["refresh_host_firewall"] = {}
    figures["firewall_intact"] = {}
    open_fds: dict[int, int] = {}
    try:
        with host.entered():
            process.run(host.host_ns, ["nft", "-f", "-"], input=HOST_INPUT)
            engine = _engine(host)
            walled = {"seaway.bridge.host_firewall": "true"}
            engine.create_network(NetworkSpec(name="walled", options=walled))
            sb = engine.create_sandbox("ranged")
            engine.connect(sb.id, "walled")
            published = 0
            for point in points:
                # host port N to container port N - 19999: one map element each (not a run)
                more = tuple(PortRequest("tcp", p - 19999, "", p, p) for p in range(20000 + published, 20000 + point))
                if more:
                    engine.publish(sb.id, more)
                    published = point
                for figure in figures.values():
                    figure[point] = []
                made = []
                for j in range(WINDOW):
                    t0 = time.perf_counter_ns()
                    made.append(engine.create_sandbox(f"w{point}-{j}"))
                    figures["create_sandbox"][point].append(time.perf_counter_ns() - t0)
                    figures["create_network"][point].append(
                        _timed(engine.create_network, NetworkSpec(name=f"w{point}-{j}", options=walled))
                    )
                    figures["remove_network"][point].append(_timed(engine.remove_network, f"w{point}-{j}"))
                    figures["refresh_host_firewall"][point].append(_timed(engine.refresh_host_firewall))
                    figures["firewall_intact"][point].append(_timed(engine.firewall_intact))
                for box in made:
                    engine.remove_sandbox(box.id)
                open_fds[point] = fdlimit.open_count()
                log(f"with ports: {point} published")
            engine.close()
    finally:
        host.close()
    out: dict[str, Any] = {f: {str(p): summarize(v) for p, v in s.items()} for f, s in figures.items()}
    out["open_descriptors"] = {str(p): v for p, v in open_fds.items()}
    return out


#: a host input chain for the host-firewall mirror to copy (a foreign table of the fake host's)
HOST_INPUT = """table inet filter {
    chain input {
        type filter hook input priority 0; policy accept;
        tcp dport 5432 drop
        ct state established,related accept
    }
}
"""


def _timed(fn: Callable[..., Any], *args: Any) -> int:
    t0 = time.perf_counter_ns()
    fn(*args)
    return time.perf_counter_ns() - t0


def dns_feed(quick: bool, log: Log) -> dict[str, Any]:
    """The embedded DNS's records: one more member on a network of N (what a connect
    costs the resolver), against rebuilding the network's index (what it cost before
    records were fed per endpoint). Pure Python, no kernel."""
    points = [10, 100] if quick else [10, 100, 1000]
    per_endpoint: dict[int, list[int]] = {}
    rebuild: dict[int, list[int]] = {}
    for point in points:
        records = Records()
        members = [_member(i) for i in range(point)]
        for i, m in enumerate(members):
            records.set_member("n", "net", f"e{i}", m)
        per_endpoint[point], rebuild[point] = [], []
        for j in range(WINDOW):
            extra = _member(point + j)
            t0 = time.perf_counter_ns()
            records.set_member("n", "net", "extra", extra)
            per_endpoint[point].append(time.perf_counter_ns() - t0)
            records.drop_member("n", "extra")
            t0 = time.perf_counter_ns()
            records.set_network("n", "net", [*members, extra])
            rebuild[point].append(time.perf_counter_ns() - t0)
        log(f"dns feed: {point} members")
    return {
        "per_endpoint": {str(p): summarize(s) for p, s in per_endpoint.items()},
        "rebuild_network": {str(p): summarize(s) for p, s in rebuild.items()},
    }


def _member(i: int) -> Member:
    address = ipaddress.IPv4Address(0x0A000000 + i + 2)
    return Member(f"c{i}", (f"c{i}", f"{i:012x}", f"host{i}"), address, None)


def run_all(quick: bool, log: Log) -> dict[str, Any]:
    return {
        "attach": attach(quick, log),
        "network_create": network_create(quick, log),
        "dns_feed": dns_feed(quick, log),
        "with_ports": with_ports(quick, log),
    }


def summary(results: dict[str, Any]) -> str:
    lines = []
    for point, s in results["attach"]["attach"].items():
        lines.append(f"attach at sandbox {point:>5}: p50 {s['p50_ms']:7.2f} ms  p99 {s['p99_ms']:7.2f} ms")
    for point, s in results["attach"]["create_sandbox"].items():
        lines.append(f"sandbox at sandbox {point:>5}: p50 {s['p50_ms']:7.2f} ms  p99 {s['p99_ms']:7.2f} ms")
    for point, s in results["attach"]["detach"].items():
        lines.append(f"detach at sandbox {point:>5}: p50 {s['p50_ms']:7.2f} ms  p99 {s['p99_ms']:7.2f} ms")
    for point, s in results["network_create"]["create"].items():
        lines.append(f"network create with {point:>4} networks: p50 {s['p50_ms']:7.2f} ms  p99 {s['p99_ms']:7.2f} ms")
    for point, s in results.get("dns_feed", {}).get("per_endpoint", {}).items():
        rebuilt = results["dns_feed"]["rebuild_network"][point]
        lines.append(
            f"dns records, one more member of {point:>4}: p50 {s['p50_ms']:7.3f} ms (rebuilding the network: "
            f"{rebuilt['p50_ms']:.3f} ms)"
        )
    wp = results["network_create"].get("create_with_published_ports")
    if wp:
        lines.append(
            f"network create with {wp['networks']:>4} networks and {wp['ports']} published ports: "
            f"p50 {wp['p50_ms']:7.2f} ms  p99 {wp['p99_ms']:7.2f} ms"
        )
    for point, s in results["network_create"].get("remove", {}).items():
        lines.append(f"network remove with {point:>4} networks: p50 {s['p50_ms']:7.2f} ms  p99 {s['p99_ms']:7.2f} ms")
    for figure, curve in results.get("with_ports", {}).items():
        if figure != "open_descriptors":
            shown = ", ".join(f"{p}: {v['p50_ms']:.2f}" for p, v in curve.items())
            lines.append(f"{figure} by published ports (p50 ms): {shown}")
    lines.append(f"nft rules by sandboxes: {results['attach']['nft_rules_at_sandboxes']}")
    lines.append(f"nft rules by networks: {results['network_create']['nft_rules_at_networks']}")
    return "\n".join(lines)
