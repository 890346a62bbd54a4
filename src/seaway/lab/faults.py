"""Faults on purpose: links down and up, partitions, rate limits and impairments.

* A link is taken down at its fabric end (``<node>-eth<N>`` on the segment's bridge),
  so the node sees its ``eth<N>`` lose carrier, as when a cable is pulled.
* A partition between host sets A and B is an nftables table ``inet seaway-lab`` in
  every host of both sets that drops traffic to and from the other set's underlay
  addresses (input, output and forward, so containers and published ports are cut off
  too, whichever routers lie between). ``heal`` deletes that table everywhere.
* A rate limit (tbf) or an impairment (netem: delay, jitter, loss) shapes both ends of
  a link, so both directions see it; ``clear`` restores the default qdiscs.
"""

from __future__ import annotations

from collections.abc import Sequence

from seaway.errors import InvalidParameter, NotFound
from seaway.kernel import netns as netns_files
from seaway.kernel import nft, process, tc, wiring
from seaway.lab.plan import Interface, LabPlan, Node

TABLE = "seaway-lab"


def _link(plan: LabPlan, node_name: str, link: int) -> tuple[Node, Interface]:
    try:
        node = plan.node(node_name)
    except KeyError:
        raise NotFound(f"lab {plan.name} has no host or router {node_name!r}") from None
    if not 0 <= link < len(node.interfaces):
        raise InvalidParameter(f"{node_name} has no link {link} (it has {len(node.interfaces)})")
    return node, node.interfaces[link]


def set_link(plan: LabPlan, node_name: str, up: bool, link: int = 0) -> None:
    """Take ``node``'s ``link``-th uplink down (or bring it back up) at the fabric end."""
    _, iface = _link(plan, node_name, link)
    wiring.set_link(plan.fabric_netns, iface.peer, up)


def partition(plan: LabPlan, a: Sequence[str], b: Sequence[str]) -> None:
    """Cut hosts ``a`` off from hosts ``b`` (both directions); other traffic flows on."""
    if set(a) & set(b):
        raise InvalidParameter(f"a partition needs two disjoint sets of hosts; both have {sorted(set(a) & set(b))}")
    for side, other in ((a, b), (b, a)):
        addresses = [str(i.address.ip) for name in other for i in _node(plan, name).interfaces]
        for name in side:
            _block(_node(plan, name).netns, addresses)


def heal(plan: LabPlan) -> None:
    """Remove every partition (the lab's table in every host)."""
    for node in plan.host_nodes():
        netns_files.run(process.netns_path(node.netns), _delete_table)


def _node(plan: LabPlan, name: str) -> Node:
    try:
        node = plan.node(name)
    except KeyError:
        raise NotFound(f"lab {plan.name} has no host {name!r}") from None
    if node.kind != "host":
        raise InvalidParameter(f"{name} is a {node.kind}: partitions are between hosts")
    return node


def _block(netns: str, addresses: list[str]) -> None:
    """Add ``addresses`` to the host's cut set; the chains are rewritten, not appended to."""
    table = {"family": "inet", "table": TABLE}
    commands: list[dict[str, object]] = [
        {"add": {"table": {"family": "inet", "name": TABLE}}},
        {"add": {"set": {**table, "name": "cut", "type": "ipv4_addr"}}},
        {"add": {"element": {**table, "name": "cut", "elem": addresses}}},
    ]
    for hook, fields in (("input", ("saddr",)), ("output", ("daddr",)), ("forward", ("saddr", "daddr"))):
        chain = {**table, "name": hook, "type": "filter", "hook": hook, "prio": -10, "policy": "accept"}
        commands += [{"add": {"chain": chain}}, {"flush": {"chain": {**table, "name": hook}}}]
        for field in fields:
            match = {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": field}}, "right": "@cut"}}
            commands.append({"add": {"rule": {**table, "chain": hook, "expr": [match, {"drop": None}]}}})
    netns_files.run(process.netns_path(netns), nft.apply, commands, f"partition in {netns}")


def _delete_table() -> None:
    if nft.list_table("inet", TABLE) is not None:
        nft.apply([{"delete": {"table": {"family": "inet", "name": TABLE}}}], "heal")


def limit_rate(plan: LabPlan, node_name: str, rate_bit: int, link: int = 0) -> None:
    """Limit both directions of ``node``'s ``link``-th uplink to ``rate_bit`` bit/s (tbf)."""
    node, iface = _link(plan, node_name, link)
    burst = max(1600, rate_bit // 8 // 100)  # 10 ms worth of bytes, at least one full frame
    tc.limit_rate(node.netns, iface.name, rate_bit, burst)
    tc.limit_rate(plan.fabric_netns, iface.peer, rate_bit, burst)


def impair(
    plan: LabPlan, node_name: str, delay_ms: float = 0, jitter_ms: float = 0, loss_percent: float = 0, link: int = 0
) -> None:
    """Delay, jitter and loss on both directions of a link (netem; Unsupported where the
    kernel lacks sch_netem)."""
    node, iface = _link(plan, node_name, link)
    tc.impair(node.netns, iface.name, delay_ms, jitter_ms, loss_percent)
    tc.impair(plan.fabric_netns, iface.peer, delay_ms, jitter_ms, loss_percent)


def clear(plan: LabPlan, node_name: str, link: int = 0) -> None:
    """Remove rate limits and impairments from a link."""
    node, iface = _link(plan, node_name, link)
    tc.clear(node.netns, iface.name)
    tc.clear(plan.fabric_netns, iface.peer)


RATE_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9}


def parse_rate(text: str) -> int:
    """``10mbit``, ``512kbit``, ``1gbit`` or a number of bit/s → bit/s."""
    t = text.strip().lower().removesuffix("bit").removesuffix("bps")
    unit = t[-1] if t and t[-1] in "kmg" else ""
    try:
        value = float(t[: len(t) - len(unit)])
    except ValueError:
        raise InvalidParameter(
            f"invalid rate {text!r}: expected a number with kbit, mbit or gbit, like 10mbit"
        ) from None
    if value <= 0:
        raise InvalidParameter(f"invalid rate {text!r}: must be positive")
    return int(value * RATE_UNITS[unit])
