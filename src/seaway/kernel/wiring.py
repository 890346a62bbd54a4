"""Named namespaces wired with veth pairs to bridges: the plumbing of a lab.

Each namespace is configured in one ``ip -n <ns> -batch -`` run (one process per
namespace, not one per link), veth pairs are created with their peer directly in the
target namespace, and nothing is ever created in the machine's own namespace.
Namespaces are created and removed by name with ``ip netns`` (files under /run/netns).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from seaway.errors import Conflict
from seaway.kernel import netns as netns_files
from seaway.kernel import process, sysctl
from seaway.kernel.links import check_ifname


@dataclass(frozen=True, slots=True)
class Uplink:
    """A node's interface ``name`` (address ``cidr``), its veth peer ``peer`` enslaved
    to ``bridge`` in the fabric namespace."""

    name: str
    peer: str
    bridge: str
    cidr: str


def exists(name: str) -> bool:
    return netns_files.is_pinned(process.NETNS_DIR / name)


def create_netns(name: str) -> None:
    """Create namespace ``name`` with lo up; Conflict if it exists already."""
    if (process.NETNS_DIR / name).exists():
        raise Conflict(f"network namespace {name} already exists")
    process.run(None, ["ip", "netns", "add", name])
    process.run(None, ["ip", "-n", name, "link", "set", "lo", "up"])


def delete_netns(name: str) -> None:
    """Remove namespace ``name`` (its links go with it); a missing one counts as removed."""
    if (process.NETNS_DIR / name).exists():
        process.run(None, ["ip", "netns", "del", name], check=False)
        netns_files.remove(process.NETNS_DIR / name)


def batch(name: str, lines: Iterable[str]) -> None:
    """Run ``ip`` commands (one per line, without the leading ``ip``) inside ``name``."""
    text = "".join(line + "\n" for line in lines)
    if text:
        process.run(None, ["ip", "-n", name, "-batch", "-"], input=text)


def add_bridges(fabric: str, bridges: Sequence[str]) -> None:
    """Bridges in the fabric namespace, up, forwarding at once (no STP delay)."""
    lines = []
    for bridge in bridges:
        check_ifname(bridge)
        lines.append(f"link add {bridge} type bridge forward_delay 0 stp_state 0")
        lines.append(f"link set {bridge} up")
    batch(fabric, lines)


def attach(
    node: str, fabric: str, uplinks: Sequence[Uplink], routes: Sequence[tuple[str, str]], forwarding: bool
) -> None:
    """Wire ``node``'s uplinks to their bridges in ``fabric``, address them, add
    ``routes`` (destination or "default", gateway) and set IPv4 forwarding."""
    node_lines, fabric_lines = [], []
    for up in uplinks:
        check_ifname(up.name)
        check_ifname(up.peer)
        node_lines += [
            f"link add {up.name} type veth peer name {up.peer} netns {fabric}",
            f"addr add {up.cidr} dev {up.name}",
            f"link set {up.name} up",
        ]
        fabric_lines += [f"link set {up.peer} master {up.bridge}", f"link set {up.peer} up"]
    node_lines += [f"route add {destination} via {gateway}" for destination, gateway in routes]
    batch(node, node_lines)
    batch(fabric, fabric_lines)
    netns_files.run(process.netns_path(node), sysctl.write, "net/ipv4/ip_forward", "1" if forwarding else "0")


def add_local_addresses(name: str, cidrs: Sequence[str]) -> None:
    """Extra addresses on the namespace's loopback (services a node answers on)."""
    batch(name, [f"addr add {cidr} dev lo" for cidr in cidrs])


def set_link(name: str, ifname: str, up: bool) -> None:
    batch(name, [f"link set {ifname} {'up' if up else 'down'}"])


def link_is_up(name: str, ifname: str) -> bool:
    out = process.run(None, ["ip", "-n", name, "-o", "link", "show", "dev", ifname]).stdout
    return "state UP" in out or ",UP," in out.split(">")[0] + ","
