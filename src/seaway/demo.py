"""The quick-start demo: one sandboxed host, two networks, and what reaches what.

Builds a fake host namespace wired to an outside world (documentation addresses only,
never the machine's own namespace), starts the engine inside it, creates a ``frontend``
network and an internal ``backend`` network, attaches four sandboxes, prints the
reachability matrix measured with real pings, and removes everything it made.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

from seaway.daemon.config import EngineConfig
from seaway.daemon.controller import Controller
from seaway.errors import Unsupported
from seaway.lab.fakehost import FAR_ADDR, HOST_UPLINK, OUTSIDE_ADDR, FakeHost, in_ns, ping
from seaway.model.network import NetworkSpec

LAYOUT = {
    "web": ("frontend", "backend"),
    "client": ("frontend",),
    "api": ("backend",),
    "stray": ("other",),
}


def run(keep: bool = False) -> None:
    if os.geteuid() != 0:
        raise Unsupported("the demo builds network namespaces: run it as root")
    host = FakeHost()
    try:
        with host.entered():
            _demo(host, keep)
    finally:
        host.close()


def _demo(host: FakeHost, keep: bool) -> None:
    out = sys.stdout
    out.write(f"fake host {host.host_name} (uplink {HOST_UPLINK}) <-> outside world {host.outside_name}\n")
    engine = Controller.start(EngineConfig(data_root=host.data_root, exec_root=host.exec_root))
    try:
        engine.create_network(NetworkSpec(name="frontend"))
        engine.create_network(NetworkSpec(name="backend", internal=True))
        engine.create_network(NetworkSpec(name="other"))
        for net in engine.networks():
            subnets = ", ".join(str(s.subnet) for s in net.subnets) or "-"
            flags = " internal" if net.internal else ""
            out.write(f"  network {net.name:<9} driver {net.driver:<6} {subnets}{flags}\n")
        keys: dict[str, str] = {}
        targets: dict[str, str] = {}
        for name, nets in LAYOUT.items():
            sb = engine.create_sandbox(name)
            keys[name] = sb.key
            for net_name in nets:
                ep = engine.connect(sb.id, net_name)
                targets[f"{name}@{net_name}"] = str(ep.ipv4)
                out.write(f"  sandbox {name:<6} {ep.ifname} {ep.ipv4}/{ep.ipv4_prefixlen} on {net_name}\n")
        targets["outside"] = OUTSIDE_ADDR
        targets["internet"] = FAR_ADDR
        _matrix(out, keys, targets)
        seen = host.udp_source_seen_outside(keys["client"])
        out.write(f"\nthe outside world sees client's traffic coming from {seen} (masquerade)\n")
        rules = in_ns(host.host_ns, "nft", "list", "table", "inet", "seaway").stdout.count("comment")
        out.write(f"nftables: {rules} rules in table inet seaway, whatever the number of networks\n")
        if keep:
            out.write(f"\nsandboxes are under {host.exec_root / 'netns'}; press Enter to tear down\n")
            input()
        for sb in engine.sandboxes():
            engine.remove_sandbox(sb.id)
        for name in ("frontend", "backend", "other"):
            engine.remove_network(name)
    finally:
        engine.close()
    out.write("torn down: no bridge, veth, namespace or nftables element is left\n")


def _matrix(out, keys: dict[str, str], targets: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    names = list(targets)
    width = max(len(n) for n in names) + 2
    out.write("\nwhat reaches what (ping):\n" + " " * 8 + "".join(n.rjust(width) for n in names) + "\n")
    with ThreadPoolExecutor(max_workers=8) as pool:
        for src, key in keys.items():
            answers = list(pool.map(lambda addr, k=key: ping(k, addr), targets.values()))
            cells = []
            for target, ok in zip(names, answers, strict=True):
                own = target.startswith(src + "@")
                cells.append(("self" if own else ("yes" if ok else "-")).rjust(width))
            out.write(src.ljust(8) + "".join(cells) + "\n")
