"""The ingress routing mesh's nftables table, inside a node's ingress sandbox. Pure.

Every node has one ingress sandbox (Docker's ``ingress_sbox``): ``eth0`` on the
``ingress`` overlay, ``eth1`` on ``docker_gwbridge``. The host forwards each
routing-mesh port to the sandbox's gwbridge address (the engine's own published ports:
the port is held, the user chain sees the traffic); here, a new flow to published port P
picks one of the service's tasks and goes to its ingress address at the target port,
its source becoming the sandbox's ingress address (Docker's behaviour), so replies come
back here and then through the node that received the flow::

    table ip seaway-mesh {
      map ports { typeof meta l4proto . th dport . numgen random mod 720720 : ip daddr . th dport; flags interval; }
      set published { typeof meta l4proto . th dport; }
      chain pre  { nat prerouting: dnat to (proto . port . random bucket) map @ports }
      chain post { nat postrouting: ct status dnat oifname eth0 snat to <ingress address> }
      chain in   { filter input: a published port without tasks: TCP reset, else port-unreachable }
    }

Fixed rules; a service's ports × its tasks' shares of the buckets are elements
(``seaway.firewall.balancer.shares``), so a change costs that service's elements.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from seaway.firewall.balancer import BUCKETS, shares

TABLE = "seaway-mesh"
INGRESS_IF = "eth0"
Address = ipaddress.IPv4Address


@dataclass(frozen=True, slots=True, order=True)
class MeshPort:
    protocol: str  # tcp or udp (sctp needs the VM kernel)
    published: int
    target: int


def table(
    ingress_address: Address,
    services: Mapping[str, tuple[Sequence[MeshPort], Sequence[Address]]],
    ingress_ifname: str = INGRESS_IF,
) -> str:
    """The whole table, made anew in one transaction: each service's ports and backends."""
    lines = [
        f"add table ip {TABLE}",
        f"delete table ip {TABLE}",
        f"table ip {TABLE} {{",
        f"  map ports {{ typeof meta l4proto . th dport . numgen random mod {BUCKETS} : ip daddr . th dport;"
        " flags interval; }",
        "  set published { typeof meta l4proto . th dport; }",
        "  chain pre {",
        "    type nat hook prerouting priority dstnat; policy accept;",
        f"    meta l4proto {{ tcp, udp }} dnat ip to meta l4proto . th dport . numgen random mod {BUCKETS} map @ports",
        "  }",
        "  chain post {",
        "    type nat hook postrouting priority srcnat; policy accept;",
        f'    ct status dnat oifname "{ingress_ifname}" snat ip to {ingress_address}',
        "  }",
        "  chain in {",
        "    type filter hook input priority filter; policy accept;",
        "    meta l4proto tcp meta l4proto . th dport @published reject with tcp reset",
        "    meta l4proto . th dport @published reject",
        "  }",
        "}",
    ]
    for service in sorted(services):
        ports, backends = services[service]
        lines += change((), (), ports, backends).splitlines()
    return "\n".join(lines) + "\n"


def change(
    ports_before: Sequence[MeshPort],
    backends_before: Sequence[Address],
    ports_after: Sequence[MeshPort],
    backends_after: Sequence[Address],
) -> str:
    """The commands that take one service's mesh from before to after; empty when equal."""
    before, after = sorted(set(ports_before)), sorted(set(ports_after))
    if before == after and sorted(set(backends_before)) == sorted(set(backends_after)):
        return ""
    lines = []
    if before and backends_before:
        lines.append(f"delete element ip {TABLE} ports {{ {_elements(before, backends_before)} }}")
    gone = [p for p in before if (p.protocol, p.published) not in {(q.protocol, q.published) for q in after}]
    new = [p for p in after if (p.protocol, p.published) not in {(q.protocol, q.published) for q in before}]
    if gone:
        lines.append(f"delete element ip {TABLE} published {{ {_keys(gone)} }}")
    if new:
        lines.append(f"add element ip {TABLE} published {{ {_keys(new)} }}")
    if after and backends_after:
        lines.append(f"add element ip {TABLE} ports {{ {_elements(after, backends_after)} }}")
    return "\n".join(lines) + ("\n" if lines else "")


def _keys(ports: Sequence[MeshPort]) -> str:
    return ", ".join(f"{p.protocol} . {p.published}" for p in ports)


def _elements(ports: Sequence[MeshPort], backends: Sequence[Address]) -> str:
    return ", ".join(
        f"{p.protocol} . {p.published} . {lo}-{hi} : {b} . {p.target}" for p in ports for lo, hi, b in shares(backends)
    )
