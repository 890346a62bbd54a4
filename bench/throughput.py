"""TCP throughput and latency between two containers on one Seaway bridge and on one
macvlan network, against two namespaces wired by hand with one veth pair (the floor: no
bridge, no firewall); and between two containers on two lab hosts over a swarm overlay
(VXLAN), against the same two hosts' own namespaces over the lab's underlay; and to a
swarm service's task on the other host through its VIP (the nftables balancer), against
the same task directly.

iperf3 (Debian) for throughput, ping for round-trip latency; each in its own fake host.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from typing import Any

from seaway.engine import Engine
from seaway.engine.config import EngineConfig
from seaway.lab.fakehost import FakeHost, in_ns, sh
from seaway.model.network import IPAMConfigSpec, NetworkSpec

Log = Callable[[str], None]


def _measure(server_ns: str, client_ns: str, server_ip: str, seconds: int, target: str = "") -> dict[str, Any]:
    """iperf3 and ping from ``client_ns`` to ``target`` (default: the server's own address)."""
    target = target or server_ip
    server = subprocess.Popen(["nsenter", f"--net={server_ns}", "iperf3", "-s", "-1", "-B", server_ip],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        time.sleep(0.3)
        out = in_ns(client_ns, "iperf3", "-c", target, "-t", str(seconds), "-J", timeout=seconds + 30).stdout
        gbps = json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9
    finally:
        server.kill()
        server.wait()
    ping = in_ns(client_ns, "ping", "-c", "20", "-i", "0.05", "-q", target, timeout=30).stdout
    match = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/", ping)
    rtt = (
        {"min_ms": float(match.group(1)), "avg_ms": float(match.group(2)), "max_ms": float(match.group(3))}
        if match
        else {}
    )
    return {"tcp_gbps": round(gbps, 2), "rtt": rtt}


def run(quick: bool, log: Log) -> dict[str, Any]:
    if shutil.which("iperf3") is None:
        return {"skipped": "iperf3 is not installed (Debian package iperf3)"}
    seconds = 1 if quick else 5
    results: dict[str, Any] = {}
    host = FakeHost()
    try:
        with host.entered():
            engine = Engine.start(EngineConfig(data_root=host.data_root, exec_root=host.exec_root))
            engine.create_network(NetworkSpec(name="tp"))
            a, b = engine.create_sandbox("a"), engine.create_sandbox("b")
            engine.connect(a.id, "tp")
            ep_b = engine.connect(b.id, "tp")
            results["seaway_bridge"] = _measure(b.key, a.key, str(ep_b.ipv4), seconds)
            # macvlan siblings on the fake host's uplink: the kernel forwards between them
            segment = IPAMConfigSpec(subnet="203.0.113.0/24", gateway="203.0.113.1", ip_range="203.0.113.128/26")
            engine.create_network(
                NetworkSpec(name="mv", driver="macvlan", ipam_configs=(segment,), options={"parent": "uplink0"})
            )
            c, d = engine.create_sandbox("c"), engine.create_sandbox("d")
            engine.connect(c.id, "mv")
            ep_d = engine.connect(d.id, "mv")
            results["seaway_macvlan"] = _measure(d.key, c.key, str(ep_d.ipv4), seconds)
            engine.close()
        log(f"throughput seaway bridge: {results['seaway_bridge']}")
        log(f"throughput seaway macvlan: {results['seaway_macvlan']}")
        # the floor: two namespaces and one veth, nothing else
        left, right = f"{host.prefix}-l", f"{host.prefix}-r"
        sh("ip", "netns", "add", left)
        sh("ip", "netns", "add", right)
        try:
            sh("ip", "-n", left, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", right)
            for ns, dev, addr in ((left, "v0", "192.0.2.1/24"), (right, "v1", "192.0.2.2/24")):
                sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
                sh("ip", "-n", ns, "link", "set", dev, "up")
                sh("ip", "-n", ns, "link", "set", "lo", "up")
            results["plain_veth"] = _measure(f"/run/netns/{right}", f"/run/netns/{left}", "192.0.2.2", seconds)
        finally:
            sh("ip", "netns", "del", left, check=False)
            sh("ip", "netns", "del", right, check=False)
        log(f"throughput plain veth: {results['plain_veth']}")
    finally:
        host.close()
    results.update(_overlay(seconds, log))
    results["ratio_overlay_to_underlay_gbps"] = round(
        results["overlay"]["tcp_gbps"] / results["underlay"]["tcp_gbps"], 3
    )
    results["ratio_vip_to_direct_gbps"] = round(
        results["task_via_vip"]["tcp_gbps"] / results["task_direct"]["tcp_gbps"], 3
    )
    results["ratio_overlay_to_plain_gbps"] = round(
        results["overlay"]["tcp_gbps"] / results["plain_veth"]["tcp_gbps"], 3
    )
    results["ratio_seaway_to_plain_gbps"] = round(
        results["seaway_bridge"]["tcp_gbps"] / results["plain_veth"]["tcp_gbps"], 3
    )
    results["ratio_macvlan_to_plain_gbps"] = round(
        results["seaway_macvlan"]["tcp_gbps"] / results["plain_veth"]["tcp_gbps"], 3
    )
    return results


def _overlay(seconds: int, log: Log) -> dict[str, Any]:
    """Two lab hosts in a swarm, a container on each on an attachable overlay."""
    import secrets
    import tempfile
    from pathlib import Path

    from seaway.lab import Lab

    topology = {
        "name": "t" + secrets.token_hex(4),
        "segments": [{"name": "lan"}],
        "hosts": [{"name": n, "links": ["lan"]} for n in ("h1", "h2")],
        "swarm": {"managers": ["h1"], "workers": ["h2"]},
    }
    run_dir = Path(tempfile.mkdtemp(prefix="swl-"))
    lab = Lab(topology, run_dir=run_dir)
    out: dict[str, Any] = {}
    try:
        lab.up()
        h1, h2 = lab.host("h1"), lab.host("h2")
        h1.run(["docker", "network", "create", "-d", "overlay", "--attachable", "tpo"], timeout=60)
        keys = {}
        for host in (h1, h2):
            host.run(["docker", "run", "-d", "--name", "tp", "--network", "tpo", "busybox", "sleep", "600"], timeout=60)
            keys[host.name] = host.run(
                ["docker", "inspect", "-f", "{{.NetworkSettings.SandboxKey}} {{.NetworkSettings.Networks.tpo.IPAddress}}",
                 "tp"], timeout=30,
            ).stdout.split()  # fmt: skip
        out["overlay"] = _measure(keys["h2"][0], keys["h1"][0], keys["h2"][1], seconds)
        out["underlay"] = _measure(f"/run/netns/{h2.netns}", f"/run/netns/{h1.netns}", h2.address, seconds)
        log(f"throughput overlay: {out['overlay']}; underlay: {out['underlay']}")
        # a service's task on h2, reached from h1's container directly and through its VIP
        h1.run(["docker", "service", "create", "--detach", "--name", "tpv", "--constraint", "node.hostname==h2",
                "--network", "tpo", "busybox", "sleep", "600"], timeout=60)  # fmt: skip
        task = ""
        for _ in range(300):
            task = h2.run(
                ["docker", "ps", "-q", "--filter", "label=com.docker.swarm.service.name=tpv"], timeout=30
            ).stdout.strip()
            if task:
                break
            time.sleep(0.2)
        task_key, task_ip = h2.run(
            ["docker", "inspect", "-f", "{{.NetworkSettings.SandboxKey}} {{.NetworkSettings.Networks.tpo.IPAddress}}",
             task], timeout=30,
        ).stdout.split()  # fmt: skip
        vips = json.loads(h1.run(["docker", "service", "inspect", "-f", "{{json .Endpoint.VirtualIPs}}", "tpv"],
                                 timeout=30).stdout)  # fmt: skip
        vip = vips[0]["Addr"].split("/")[0]
        time.sleep(1)  # the balancer of h1 learns the task
        out["task_direct"] = _measure(task_key, keys["h1"][0], task_ip, seconds)
        out["task_via_vip"] = _measure(task_key, keys["h1"][0], task_ip, seconds, target=vip)
        log(f"throughput to a task directly: {out['task_direct']}; through its VIP: {out['task_via_vip']}")
    finally:
        if lab.is_up:
            lab.down()
        shutil.rmtree(run_dir, ignore_errors=True)
    return out


def summary(results: dict[str, Any]) -> list[str]:
    if "skipped" in results:
        return [f"throughput: skipped: {results['skipped']}"]
    return [
        f"throughput {name}: {r['tcp_gbps']} Gbit/s, rtt avg {r['rtt'].get('avg_ms')} ms"
        for name, r in results.items()
        if isinstance(r, dict)
    ] + [
        f"throughput Seaway bridge / plain veth: {results['ratio_seaway_to_plain_gbps']}",
        f"throughput Seaway macvlan / plain veth: {results['ratio_macvlan_to_plain_gbps']}",
        f"throughput overlay (VXLAN across two lab hosts) / their underlay: {results['ratio_overlay_to_underlay_gbps']}"
        f", / plain veth: {results['ratio_overlay_to_plain_gbps']}",
        f"throughput to a task through its VIP / directly: {results.get('ratio_vip_to_direct_gbps')}",
    ]
