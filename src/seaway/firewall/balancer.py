"""The service load balancer's nftables table, inside an overlay network's namespace. Pure.

Docker balances a service's VIP with IPVS, which many kernels (this one) lack and which
forgets idle TCP flows after 900 s. Seaway's balancer is one fixed table per overlay
namespace whose data are maps, so a backend change is one transaction costing that
VIP's backends, whatever the number of services::

    table ip seaway-lb {
      map backends { typeof ip daddr . numgen random mod 720720 : ip daddr; flags interval; }
      set vips { type ipv4_addr; }
      chain pre  { nat prerouting:  ip daddr @vips dnat to ip daddr . numgen random mod 720720 map @backends }
      chain post { nat postrouting: ct status dnat ct original ip daddr @vips snat to <LB address> }
      chain in   { filter input:    ip daddr @vips reject (tcp non-SYN: reset; udp: port-, else host-unreachable) }
    }

* A VIP's *k* backends share the 720720 buckets (the least common multiple of 1…16:
  exact equal shares up to 16 backends, a skew below k/720720 beyond) as *k* interval
  elements; a new flow picks a bucket at random, so each backend gets ~1/k of new flows
  whatever their load; conntrack keeps a flow on its backend.
* Keyed on the address only: every port and protocol of the VIP balances.
* A VIP without backends is not rewritten and reaches the namespace's input hook, where
  it is refused at once: ICMP host-unreachable (TCP's connect fails with EHOSTUNREACH, not
  a timeout), port-unreachable for UDP (a host-unreachable is a soft error that UDP
  sockets never report, so the client would wait; port-unreachable is ECONNREFUSED); a
  TCP segment of a flow whose backend went (its conntrack entry forgotten) gets a reset.
* The source of a balanced flow becomes the node's LB address (Docker's NAT mode), so
  replies come back through the node that balanced it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence

TABLE = "seaway-lb"
BUCKETS = 720720  # lcm(1, ..., 16)
Address = ipaddress.IPv4Address


def shares(backends: Sequence[Address]) -> list[tuple[int, int, Address]]:
    """The bucket ranges of each backend (sorted, so every node splits alike)."""
    ordered = sorted(set(backends))
    k = len(ordered)
    return [(i * BUCKETS // k, (i + 1) * BUCKETS // k - 1, b) for i, b in enumerate(ordered)]


def table(lb_address: Address, vips: Mapping[Address, Sequence[Address]]) -> str:
    """The whole table (made anew, in one transaction with whatever was there)."""
    lines = [
        f"add table ip {TABLE}",
        f"delete table ip {TABLE}",
        f"table ip {TABLE} {{",
        f"  map backends {{ typeof ip daddr . numgen random mod {BUCKETS} : ip daddr; flags interval; }}",
        "  set vips { type ipv4_addr; }",
        "  chain pre {",
        "    type nat hook prerouting priority dstnat; policy accept;",
        f"    ip daddr @vips dnat to ip daddr . numgen random mod {BUCKETS} map @backends",
        "  }",
        "  chain post {",
        "    type nat hook postrouting priority srcnat; policy accept;",
        f"    ct status dnat ct original ip daddr @vips snat to {lb_address}",
        "  }",
        "  chain in {",
        "    type filter hook input priority filter; policy accept;",
        "    ip daddr @vips tcp flags & syn == 0 reject with tcp reset",
        "    ip daddr @vips meta l4proto udp reject with icmp port-unreachable",
        "    ip daddr @vips reject with icmp host-unreachable",
        "  }",
        "}",
    ]
    for vip in sorted(vips):
        lines += change(vip, None, vips[vip]).splitlines()
    return "\n".join(lines) + "\n"


def change(vip: Address, before: Sequence[Address] | None, after: Sequence[Address] | None) -> str:
    """The commands that take a VIP from backends ``before`` to ``after`` (None: the VIP
    is not there, or goes); empty when nothing changes."""
    if before is not None and after is not None and sorted(set(before)) == sorted(set(after)):
        return ""
    lines = []
    if before is None and after is not None:
        lines.append(f"add element ip {TABLE} vips {{ {vip} }}")
    if before:
        lines.append(f"delete element ip {TABLE} backends {{ {_elements(vip, before)} }}")
    if after:
        lines.append(f"add element ip {TABLE} backends {{ {_elements(vip, after)} }}")
    if before is not None and after is None:
        lines.append(f"delete element ip {TABLE} vips {{ {vip} }}")
    return "\n".join(lines) + ("\n" if lines else "")


def _elements(vip: Address, backends: Sequence[Address]) -> str:
    return ", ".join(f"{vip} . {lo}-{hi} : {b}" for lo, hi, b in shares(backends))
