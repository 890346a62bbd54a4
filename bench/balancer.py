"""The service load balancer's cost of a backend change, as the number of services grows.

In a private network namespace with a bridge (no traffic), the balancer's table
(``seaway.firewall.balancer``) is installed with N VIPs of 3 backends each; then one
VIP's backends change (3 → 4 → 3 …), each change one transaction in the namespace
(``seaway.kernel.balancer.change``, what a node does per batch of endpoint events).
Reported per N: the change's median and p99 (ms, wall time in the calling thread, the
namespace entry included), and the time to install the whole table (what a node does
when it makes a network's balancer, or after a restart). The change must stay flat in N.
"""

from __future__ import annotations

import ipaddress
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pyroute2 import IPRoute

from seaway.firewall import balancer as rules
from seaway.kernel import balancer, links, netns

Log = Callable[[str], None]
A = ipaddress.IPv4Address


def _vips(n: int) -> dict[A, list[A]]:
    base = A("10.128.0.0")
    return {base + 1 + i: [base + 65536 + 4 * i + j for j in range(3)] for i in range(n)}


def measure(counts: tuple[int, ...], samples: int, log: Log) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="swbench-lb-"))
    path = root / f"lb-{secrets.token_hex(3)}"
    netns.create(path)
    out: dict[str, Any] = {"samples": samples, "backends_per_vip": 3, "by_services": {}}
    try:

        def bridge() -> None:
            with IPRoute() as ipr:
                index, _ = links.ensure_bridge(ipr, "br0", mtu=1450, alias="bench")
                links.set_up(ipr, index, "br0")

        netns.run(str(path), bridge)
        lb = A("10.128.255.250")
        for n in counts:
            vips = _vips(n)
            start = time.perf_counter()
            balancer.install(str(path), "br0", lb, list(vips), rules.table(lb, vips))
            install_ms = (time.perf_counter() - start) * 1000
            vip = next(iter(vips))
            current, extra = vips[vip], vips[vip] + [A("10.129.0.1")]
            times = []
            for i in range(samples):
                after = extra if i % 2 == 0 else vips[vip]
                text = rules.change(vip, current, after)
                start = time.perf_counter()
                balancer.change(str(path), "br0", text, [], [])
                times.append((time.perf_counter() - start) * 1000)
                current = after
            times.sort()
            row = {
                "install_ms": round(install_ms, 1),
                "change_p50_ms": round(statistics.median(times), 2),
                "change_p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
            }
            out["by_services"][str(n)] = row
            log(f"balancer: {n} services: install {row['install_ms']} ms, change p50 {row['change_p50_ms']} ms")
    finally:
        netns.remove(path)
        root.rmdir()
    return out


def run(quick: bool, log: Log) -> dict[str, Any]:
    return measure((1, 100) if quick else (1, 100, 1000), 10 if quick else 50, log)


def summary(results: dict[str, Any]) -> list[str]:
    lines = ["service load balancer (one VIP's backends changed, one nft transaction in the namespace)"]
    for n, row in results["by_services"].items():
        lines.append(
            f"  {n:>5} services: change p50 {row['change_p50_ms']} ms, p99 {row['change_p99_ms']} ms;"
            f" whole table {row['install_ms']} ms"
        )
    return lines
