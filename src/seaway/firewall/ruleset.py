"""Pure: desired firewall state -> nftables JSON commands. Never runs nft.

The rule count is fixed: per-network data lives in sets, so adding the 1,000th network
adds set elements, never rules. Three kinds of transaction:

* ``full(bridges)``: at start-up; (re)creates Seaway's tables, chains, sets and rules,
  and the elements of every network, in one batch. The ``user`` chain is only ever
  *added* (a no-op when present), never flushed, so users' rules in it survive.
* ``add_network(b)`` / ``remove_network(b)``: the elements of one network;
* ``add_icc_off_port(p)`` / ``remove_icc_off_port(p)``: one endpoint of an ICC-off network.

Packet path (``inet seaway filter-FORWARD``, priority filter, policy accept)::

    jump user                                   the user's rules come first
    oifname @bridges ct state est,rel accept    replies to containers
    iifname . oifname @icc-off-pairs drop       ICC off: not even routed through the gateway
    iifname . oifname @same-bridge accept       within one network (bridged frames reach
                                                this hook when br_netfilter is on)
    iifname @internal drop                      internal networks reach nothing else
    oifname @internal drop
    iifname @bridges oifname @bridges drop      isolation between networks
    iifname @bridges accept                     containers reach the outside
    oifname @bridges drop                       nothing reaches a container unasked

``nat-POSTROUTING``: ``ip saddr @masquerade-v4 oifname != @bridges masquerade`` (and v6).
``bridge seaway filter-FORWARD``: ``iifname @icc-off-ports drop``: with ICC off, frames
from a container's port to another port of its bridge are dropped, while the gateway
(the bridge itself, reached through the input path) still answers. The set holds the
host-side veth of each endpoint on an ICC-off network (``meta ibrname`` would need one
element per bridge, but this kernel lacks nft_meta_bridge).
"""

from __future__ import annotations

import ipaddress
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from seaway.firewall import naming as n
from seaway.model.network import IPAddress
from seaway.model.ports import PortMapping

Command = dict[str, Any]

#: hook priorities, a contract documented in docs/firewall.md
FORWARD_PRIORITY = 0  # filter
POSTROUTING_PRIORITY = 100  # srcnat
BRIDGE_FORWARD_PRIORITY = -200
DSTNAT_PRIORITY = -100  # prerouting and output: published ports
RAW_PRIORITY = -300  # prerouting: loopback-addressed packets from a bridge; VXLAN from non-members

LOOPBACK4 = {"prefix": {"addr": "127.0.0.0", "len": 8}}


@dataclass(frozen=True, slots=True)
class NetworkRules:
    """What the firewall needs to know about one bridge network."""

    bridge: str
    internal: bool
    icc: bool
    masquerade: bool
    subnets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    host_firewall: bool = False
    host_access: bool = False  # its containers may reach the host's own services
    #: gateway mode per IP version (4, 6): "nat", "nat-unprotected", "routed" or "isolated"
    gateway_modes: tuple[str, str] = ("nat", "nat")

    def mode(self, version: int) -> str:
        return self.gateway_modes[0 if version == 4 else 1]


def _meta(key: str) -> dict[str, Any]:
    return {"meta": {"key": key}}


def _match(left: Any, right: Any, op: str = "==") -> dict[str, Any]:
    return {"match": {"op": op, "left": left, "right": right}}


def _rule(family: str, chain: str, expr: list[dict[str, Any]], comment: str) -> Command:
    return {"add": {"rule": {"family": family, "table": n.TABLE, "chain": chain, "expr": expr, "comment": comment}}}


def _set(family: str, name: str, set_type: str | list[str], interval: bool = False) -> list[Command]:
    body: dict[str, Any] = {"family": family, "table": n.TABLE, "name": name, "type": set_type}
    if interval:
        body["flags"] = ["interval"]
    ref = {"family": family, "table": n.TABLE, "name": name}
    return [{"add": {"set": body}}, {"flush": {"set": ref}}]


def _map(name: str, key: list[str], value: str, interval: bool = False) -> list[Command]:
    body: dict[str, Any] = {"family": n.INET, "table": n.TABLE, "name": name, "type": key, "map": value}
    if interval:
        body["flags"] = ["interval"]
    ref = {"family": n.INET, "table": n.TABLE, "name": name}
    return [{"add": {"map": body}}, {"flush": {"map": ref}}]


def _base_chain(family: str, name: str, ctype: str, hook: str, prio: int) -> list[Command]:
    body = {
        "family": family,
        "table": n.TABLE,
        "name": name,
        "type": ctype,
        "hook": hook,
        "prio": prio,
        "policy": "accept",
    }
    ref = {"family": family, "table": n.TABLE, "name": name}
    return [{"add": {"chain": body}}, {"flush": {"chain": ref}}]


def _structure() -> list[Command]:
    inet, br = n.INET, n.BRIDGE
    cmds: list[Command] = [
        {"add": {"table": {"family": inet, "name": n.TABLE}}},
        {"add": {"table": {"family": br, "name": n.TABLE}}},
        {"add": {"chain": {"family": inet, "table": n.TABLE, "name": n.USER_CHAIN}}},
    ]
    cmds += _base_chain(inet, n.FORWARD_CHAIN, "filter", "forward", FORWARD_PRIORITY)
    cmds += _base_chain(inet, n.POSTROUTING_CHAIN, "nat", "postrouting", POSTROUTING_PRIORITY)
    # before br_netfilter (NF_BR_PRI_BRNF = 0), which re-injects IP frames past every
    # bridge hook of its own priority: a chain at 0 would never see them
    cmds += _base_chain(br, n.BRIDGE_FORWARD_CHAIN, "filter", "forward", BRIDGE_FORWARD_PRIORITY)
    cmds += _base_chain(inet, n.NAT_PREROUTING_CHAIN, "nat", "prerouting", DSTNAT_PRIORITY)
    cmds += _base_chain(inet, n.NAT_OUTPUT_CHAIN, "nat", "output", DSTNAT_PRIORITY)
    cmds += _base_chain(inet, n.RAW_PREROUTING_CHAIN, "filter", "prerouting", RAW_PRIORITY)
    cmds += [
        {"add": {"chain": {"family": inet, "table": n.TABLE, "name": n.PUBLISHED_CHAIN}}},
        {"flush": {"chain": {"family": inet, "table": n.TABLE, "name": n.PUBLISHED_CHAIN}}},
    ]
    cmds += _set(inet, n.SET_BRIDGES, "ifname")
    cmds += _set(inet, n.SET_INTERNAL, "ifname")
    cmds += _set(inet, n.SET_SAME_BRIDGE, ["ifname", "ifname"])
    cmds += _set(inet, n.SET_ICC_OFF_PAIRS, ["ifname", "ifname"])
    cmds += _set(inet, n.SET_MASQ4, "ipv4_addr", interval=True)
    cmds += _set(inet, n.SET_MASQ6, "ipv6_addr", interval=True)
    cmds += _set(br, n.SET_ICC_OFF_PORTS, "ifname")
    for version, addr in ((4, "ipv4_addr"), (6, "ipv6_addr")):
        cmds += _map(n.MAP_PORTS[version], [addr, "inet_proto", "inet_service"], addr)
        cmds += _map(n.MAP_NEW_PORTS[version], [addr, "inet_proto", "inet_service"], "inet_service")
        cmds += _map(n.MAP_ANY_PORTS[version], ["inet_proto", "inet_service"], addr)
        cmds += _map(n.MAP_ANY_NEW_PORTS[version], ["inet_proto", "inet_service"], "inet_service")
        cmds += _map(n.MAP_PORT_RANGES[version], [addr, "inet_proto", "inet_service"], addr, interval=True)
    cmds += _set(inet, n.SET_HAIRPIN4, "ipv4_addr", interval=True)
    cmds += _set(inet, n.SET_HAIRPIN6, "ipv6_addr", interval=True)
    cmds += _set(inet, n.SET_HOST_FIREWALL, "ifname")
    cmds += _set(inet, n.SET_UNPROTECTED4, "ipv4_addr", interval=True)
    cmds += _set(inet, n.SET_UNPROTECTED6, "ipv6_addr", interval=True)
    cmds += _set(inet, n.SET_ROUTED4, "ipv4_addr", interval=True)
    cmds += _set(inet, n.SET_ROUTED6, "ipv6_addr", interval=True)
    cmds += _set(inet, n.SET_CONTAINER_PORTS[4], ["ipv4_addr", "inet_proto", "inet_service"], True)
    cmds += _set(inet, n.SET_CONTAINER_PORTS[6], ["ipv6_addr", "inet_proto", "inet_service"], True)
    cmds.append({"add": {"element": {"family": inet, "table": n.TABLE, "name": n.SET_HAIRPIN4, "elem": [LOOPBACK4]}}})
    return cmds + _guard_structure() + _host_structure() + _vxlan_structure()


def _rules() -> list[Command]:
    inet = n.INET
    iif, oif = _meta("iifname"), _meta("oifname")
    fwd = n.FORWARD_CHAIN
    cmds = [
        _rule(inet, fwd, [{"jump": {"target": n.USER_CHAIN}}], "user rules first"),
        _rule(
            inet,
            fwd,
            [
                _match(oif, "@" + n.SET_BRIDGES),
                _match({"ct": {"key": "state"}}, ["established", "related"], "in"),
                {"accept": None},
            ],
            "replies to containers",
        ),
        _rule(
            inet,
            fwd,
            [_match({"concat": [iif, oif]}, "@" + n.SET_ICC_OFF_PAIRS), {"drop": None}],
            "icc off: no routing within the network",
        ),
        _rule(
            inet,
            fwd,
            [_match({"concat": [iif, oif]}, "@" + n.SET_SAME_BRIDGE), {"accept": None}],
            "within one network",
        ),
        _rule(inet, fwd, [_match(iif, "@" + n.SET_INTERNAL), {"drop": None}], "internal: no way out"),
        _rule(inet, fwd, [_match(oif, "@" + n.SET_INTERNAL), {"drop": None}], "internal: no way in"),
        _rule(
            inet,
            fwd,
            [_match({"ct": {"key": "status"}}, "dnat", "in"), _match(oif, "@" + n.SET_BRIDGES), {"accept": None}],
            "published ports",
        ),
        _rule(
            inet,
            fwd,
            [_match(iif, "@" + n.SET_BRIDGES), _match(oif, "@" + n.SET_BRIDGES), {"drop": None}],
            "isolation between networks",
        ),
        _rule(inet, fwd, [_match(iif, "@" + n.SET_BRIDGES), {"accept": None}], "containers reach out"),
    ]
    for family, unprotected, routed, icmp, ports in (
        ("ip", n.SET_UNPROTECTED4, n.SET_ROUTED4, "icmp", n.SET_CONTAINER_PORTS[4]),
        ("ip6", n.SET_UNPROTECTED6, n.SET_ROUTED6, "ipv6-icmp", n.SET_CONTAINER_PORTS[6]),
    ):
        daddr = {"payload": {"protocol": family, "field": "daddr"}}
        dport = {"payload": {"protocol": "th", "field": "dport"}}
        to_bridge = _match(oif, "@" + n.SET_BRIDGES)
        for matches, what in (
            (
                [_match(daddr, "@" + routed), _match({"concat": [daddr, _meta("l4proto"), dport]}, "@" + ports)],
                "routed: published ports reachable on the container's address",
            ),
            ([_match(daddr, "@" + unprotected)], "nat-unprotected: every port reachable"),
            ([_match(daddr, "@" + routed), _match(_meta("l4proto"), icmp)], "routed: ICMP reachable"),
        ):
            cmds.append(_rule(inet, fwd, [to_bridge, *matches, {"accept": None}], f"{what} ({family})"))
    cmds.append(_rule(inet, fwd, [_match(oif, "@" + n.SET_BRIDGES), {"drop": None}], "no unasked way in"))
    for family, key, set_name in (("ip", "saddr", n.SET_MASQ4), ("ip6", "saddr", n.SET_MASQ6)):
        cmds.append(
            _rule(
                inet,
                n.POSTROUTING_CHAIN,
                [
                    _match({"payload": {"protocol": family, "field": key}}, "@" + set_name),
                    _match(oif, "@" + n.SET_BRIDGES, "!="),
                    {"masquerade": None},
                ],
                f"masquerade leaving containers ({family})",
            )
        )
    cmds += _published_rules()
    cmds.append(
        _rule(
            n.BRIDGE,
            n.BRIDGE_FORWARD_CHAIN,
            [_match(_meta("iifname"), "@" + n.SET_ICC_OFF_PORTS), {"drop": None}],
            "icc off",
        )
    )
    return cmds


def _published_rules() -> list[Command]:
    """DNAT of published ports, for traffic arriving (prerouting) or made here (output)
    and addressed to one of the host's own addresses; hairpin masquerade."""
    inet = n.INET
    local = _match({"fib": {"result": "type", "flags": ["daddr"]}}, "local")
    cmds = [
        _rule(inet, chain, [local, {"jump": {"target": n.PUBLISHED_CHAIN}}], "to the host's own addresses")
        for chain in (n.NAT_PREROUTING_CHAIN, n.NAT_OUTPUT_CHAIN)
    ]
    l4 = _match(_meta("l4proto"), {"set": ["tcp", "udp", "sctp"]})
    for version, family in ((4, "ip"), (6, "ip6")):
        daddr = {"payload": {"protocol": family, "field": "daddr"}}
        dport = {"payload": {"protocol": "th", "field": "dport"}}
        addressed = {"concat": [daddr, _meta("l4proto"), dport]}
        wildcard = {"concat": [_meta("l4proto"), dport]}

        def dnat(key: Any, addr_map: str, port_map: str | None, what: str, family: str = family) -> Command:
            body: dict[str, Any] = {"family": family, "addr": {"map": {"key": key, "data": "@" + addr_map}}}
            if port_map is not None:
                # matches only when the port changes: the port lookup fails otherwise
                body["port"] = {"map": {"key": key, "data": "@" + port_map}}
            return _rule(inet, n.PUBLISHED_CHAIN, [l4, {"dnat": body}], f"published ({family}, {what})")

        cmds += [
            dnat(addressed, n.MAP_PORTS[version], n.MAP_NEW_PORTS[version], "one address, another port"),
            dnat(addressed, n.MAP_PORTS[version], None, "one address"),
            dnat(wildcard, n.MAP_ANY_PORTS[version], n.MAP_ANY_NEW_PORTS[version], "any address, another port"),
            dnat(wildcard, n.MAP_ANY_PORTS[version], None, "any address"),
            dnat(addressed, n.MAP_PORT_RANGES[version], None, "a range"),
        ]
    for family, set_name in (("ip", n.SET_HAIRPIN4), ("ip6", n.SET_HAIRPIN6)):
        cmds.append(
            _rule(
                inet,
                n.POSTROUTING_CHAIN,
                [
                    _match({"ct": {"key": "status"}}, "dnat", "in"),
                    _match(_meta("oifname"), "@" + n.SET_BRIDGES),
                    _match({"payload": {"protocol": family, "field": "saddr"}}, "@" + set_name),
                    {"masquerade": None},
                ],
                f"hairpin: published port reached from a container or the host's loopback ({family})",
            )
        )
    cmds.append(
        _rule(
            inet,
            n.RAW_PREROUTING_CHAIN,
            [
                _match(_meta("iifname"), "@" + n.SET_BRIDGES),
                _match({"payload": {"protocol": "ip", "field": "daddr"}}, LOOPBACK4),
                {"drop": None},
            ],
            "loopback addresses are not reachable from containers",
        )
    )
    return cmds


def network_subnet_sets(net: NetworkRules) -> list[tuple[str, list[Any]]]:
    """Which of the network's subnets go in which subnet set (hairpin, masquerade, the
    gateway modes'), for both ways of sending elements; sets left empty are left out."""
    every = ("nat", "nat-unprotected", "routed", "isolated")
    wanted = [((n.SET_HAIRPIN4, n.SET_HAIRPIN6), every)]
    if net.masquerade and not net.internal:
        wanted.append(((n.SET_MASQ4, n.SET_MASQ6), ("nat", "nat-unprotected")))
    if not net.internal:
        wanted.append(((n.SET_UNPROTECTED4, n.SET_UNPROTECTED6), ("nat-unprotected",)))
        wanted.append(((n.SET_ROUTED4, n.SET_ROUTED6), ("routed",)))
    out: list[tuple[str, list[Any]]] = []
    for (v4_set, v6_set), modes in wanted:
        for version, set_name in ((4, v4_set), (6, v6_set)):
            subnets = [s for s in net.subnets if s.version == version and net.mode(version) in modes]
            if subnets:
                out.append((set_name, subnets))
    return out


def _elements(op: str, net: NetworkRules) -> list[Command]:
    def element(family: str, name: str, items: list[Any]) -> Command:
        return {op: {"element": {"family": family, "table": n.TABLE, "name": name, "elem": items}}}

    cmds = [
        element(n.INET, n.SET_BRIDGES, [net.bridge]),
        element(n.INET, n.SET_SAME_BRIDGE, [{"concat": [net.bridge, net.bridge]}]),
    ]
    if net.host_access:
        cmds.append(element(n.INET, n.SET_HOST_ACCESS, [net.bridge]))
    if net.internal:
        cmds.append(element(n.INET, n.SET_INTERNAL, [net.bridge]))
    if net.host_firewall:
        cmds.append(element(n.INET, n.SET_HOST_FIREWALL, [net.bridge]))
    if not net.icc:
        cmds.append(element(n.INET, n.SET_ICC_OFF_PAIRS, [{"concat": [net.bridge, net.bridge]}]))
    for set_name, subnets in network_subnet_sets(net):
        prefixes = [{"prefix": {"addr": str(s.network_address), "len": s.prefixlen}} for s in subnets]
        cmds.append(element(n.INET, set_name, prefixes))
    return cmds


def _ports(op: str, ports: list[str]) -> list[Command]:
    if not ports:
        return []
    ref = {"family": n.BRIDGE, "table": n.TABLE, "name": n.SET_ICC_OFF_PORTS}
    return [{op: {"element": {**ref, "elem": sorted(ports)}}}]


def port_runs(mappings: list[PortMapping]) -> list[list[PortMapping]]:
    """Mappings grouped into map elements. A run of consecutive host ports forwarded to
    the same port numbers of one container address is one interval element: a
    10,000-port range costs one element, not 10,000. (Grouped by address and protocol
    first, so only the few groups are sorted by address and each group by port: the
    10,000 mappings of a range get no sort key built each.)"""
    groups: dict[tuple[IPAddress, str, IPAddress], list[PortMapping]] = {}
    group: list[PortMapping] = []
    prev: PortMapping | None = None
    for m in mappings:
        if prev is None or not (
            m.host_ip is prev.host_ip and m.container_ip is prev.container_ip and m.proto == prev.proto
        ):  # a request's mappings come together, with the same address objects: no hashing
            group = groups.setdefault((m.host_ip, m.proto, m.container_ip), [])
        group.append(m)
        prev = m
    runs: list[list[PortMapping]] = []
    by_port = operator.attrgetter("host_port")
    for key in sorted(groups, key=lambda k: (k[0].version, int(k[0]), k[1], int(k[2]))):
        last: PortMapping | None = None
        for m in sorted(groups[key], key=by_port):
            if (
                last is not None
                and m.host_port == m.container_port
                and last.host_port == last.container_port
                and last.host_port + 1 == m.host_port
            ):
                runs[-1].append(m)
            else:
                runs.append([m])
            last = m
    return runs


@dataclass(frozen=True, slots=True)
class PortEntry:
    """One map element of published ports: ``first``..``last`` host ports (one, or a run
    to the same numbers) in map ``name``, whose value is the container address
    (``value == "addr"``) or the container port (``"port"``)."""

    name: str
    first: PortMapping
    last: PortMapping
    value: str

    @property
    def addressed(self) -> bool:
        """The key starts with the host address (all maps but the ``any-*`` ones)."""
        return not self.name.startswith("any-")

    @property
    def interval(self) -> bool:
        return self.name.startswith("port-ranges-")


def port_entries(mappings: list[PortMapping]) -> list[PortEntry]:
    """Where each published port goes: single ports in hash maps (constant time to add and
    delete however many there are), runs in the interval map, and a second element with
    the container port when the number changes."""
    out: list[PortEntry] = []
    for run in port_runs(mappings):
        first, last = run[0], run[-1]
        v = first.family
        if len(run) > 1:
            out.append(PortEntry(n.MAP_PORT_RANGES[v], first, last, "addr"))
            continue
        addr_map, port_map = (
            (n.MAP_ANY_PORTS[v], n.MAP_ANY_NEW_PORTS[v]) if first.wildcard else (n.MAP_PORTS[v], n.MAP_NEW_PORTS[v])
        )
        out.append(PortEntry(addr_map, first, last, "addr"))
        if first.host_port != first.container_port:
            out.append(PortEntry(port_map, first, last, "port"))
    return out


def _port_elements(op: str, mappings: list[PortMapping]) -> list[Command]:
    """Map elements of published ports (see ``port_entries``), as nft JSON."""
    groups: dict[str, list[Any]] = {}
    for e in port_entries(mappings):
        port: Any = e.first.host_port if e.first is e.last else {"range": [e.first.host_port, e.last.host_port]}
        if not e.addressed:
            key: Any = {"concat": [e.first.proto, port]}
        else:
            host: Any = (
                {"prefix": {"addr": str(e.first.host_ip), "len": 0}} if e.first.wildcard else str(e.first.host_ip)
            )
            key = {"concat": [host, e.first.proto, port]}
        value: Any = str(e.first.container_ip) if e.value == "addr" else e.first.container_port
        groups.setdefault(e.name, []).append([key, value])
    cmds = [
        {op: {"element": {"family": n.INET, "table": n.TABLE, "name": name, "elem": elems}}}
        for name, elems in sorted(groups.items())
    ]
    by_version = container_port_runs_by_version(mappings)
    for version in (4, 6):
        elems = [
            {"concat": [str(ip), proto, first if first == last else {"range": [first, last]}]}
            for ip, proto, first, last in by_version.get(version, [])
        ]
        if elems:
            body = {"family": n.INET, "table": n.TABLE, "name": n.SET_CONTAINER_PORTS[version], "elem": elems}
            cmds.append({op: {"element": body}})
    return cmds


def container_port_runs(mappings: Sequence[PortMapping], version: int) -> list[tuple[IPAddress, str, int, int]]:
    """``(container ip, proto, first port, last port)`` of the published ports of one
    IP version, consecutive ports merged (a 10,000-port range is one element)."""
    return container_port_runs_by_version(mappings).get(version, [])


def container_port_runs_by_version(
    mappings: Sequence[PortMapping],
) -> dict[int, list[tuple[IPAddress, str, int, int]]]:
    """``container_port_runs`` of both IP versions in one pass. Grouped as ``port_runs``
    does (a request's mappings share their address objects), so only the few groups are
    hashed and each group's ports are sorted as plain integers."""
    groups: dict[tuple[IPAddress, str], set[int]] = {}
    prev: PortMapping | None = None
    ports: set[int] = set()
    for m in mappings:
        if prev is None or not (m.container_ip is prev.container_ip and m.proto == prev.proto):
            ports = groups.setdefault((m.container_ip, m.proto), set())
        ports.add(m.container_port)
        prev = m
    out: dict[int, list[tuple[IPAddress, str, int, int]]] = {}
    for ip, proto in sorted(groups, key=lambda k: (k[0].version, int(k[0]), k[1])):
        runs = out.setdefault(ip.version, [])
        first = last = -2
        for port in sorted(groups[(ip, proto)]):
            if port != last + 1:
                if last >= 0:
                    runs.append((ip, proto, first, last))
                first = port
            last = port
        runs.append((ip, proto, first, last))
    return out


def full(
    networks: list[NetworkRules],
    icc_off_ports: list[str],
    published: Sequence[PortMapping] = (),
    guards: Sequence[PortGuard] = (),
    vxlan: VxlanMembers | None = None,
) -> list[Command]:
    """The whole of Seaway's firewall state, rebuilt in one transaction."""
    vxlan = vxlan or VxlanMembers()
    cmds = _structure() + _all_rules()
    for net in networks:
        cmds += _elements("add", net)
    cmds += _ports("add", icc_off_ports) + _port_elements("add", list(published))
    for guard in guards:
        cmds += _guard_elements("add", guard)
    return cmds + _vxlan_elements("add", vxlan.port, vxlan.vteps)


def publish(mappings: list[PortMapping]) -> list[Command]:
    """Forward host ports to a container (one endpoint's mappings, as a unit)."""
    return _port_elements("add", mappings)


def unpublish(mappings: list[PortMapping]) -> list[Command]:
    """Stop forwarding; elements are added first so already-missing ones cannot fail it."""
    return _port_elements("add", mappings) + _port_elements("delete", mappings)


def add_icc_off_port(port: str) -> list[Command]:
    """An endpoint joined a network with ICC off: its port may not reach its neighbours."""
    return _ports("add", [port])


def remove_icc_off_port(port: str) -> list[Command]:
    return _ports("add", [port]) + _ports("delete", [port])


def add_network(net: NetworkRules) -> list[Command]:
    return _elements("add", net)


def remove_network(net: NetworkRules) -> list[Command]:
    """Delete the elements; each is added first, so an already-missing element (after a
    crash or a flush) cannot fail the whole transaction."""
    return _elements("add", net) + _elements("delete", net)


def _all_rules() -> list[Command]:
    return _rules() + _guard_rules() + _host_rules() + _vxlan_rules()


def rule_counts() -> dict[str, int]:
    """How many rules each of Seaway's tables has, by family: the same at any scale."""
    counts: dict[str, int] = {}
    for cmd in _all_rules():
        family = cmd["add"]["rule"]["family"]
        counts[family] = counts.get(family, 0) + 1
    return counts


# ---------------------------------------------------------------- anti-spoofing
#
# ``bridge seaway filter-PREROUTING`` sees every frame a container sends into its bridge,
# before it is switched to a neighbour or delivered to the host. A frame from a guarded
# port (the host side of an endpoint's veth) whose source MAC, ARP sender or IP source
# is not the endpoint's own is dropped. Per-endpoint data are set elements keyed by the
# port, so the rule count stays fixed. IPv6 link-local and unspecified sources pass
# (neighbour discovery needs them).

BRIDGE_PREROUTING_PRIORITY = -300


@dataclass(frozen=True, slots=True)
class PortGuard:
    """What one endpoint may send as: its bridge port, MAC and addresses."""

    port: str
    mac: str
    ipv4: ipaddress.IPv4Address | None
    ipv6: ipaddress.IPv6Address | None


def _guard_structure() -> list[Command]:
    br = n.BRIDGE
    cmds = _base_chain(br, n.BRIDGE_PREROUTING_CHAIN, "filter", "prerouting", BRIDGE_PREROUTING_PRIORITY)
    cmds += _set(br, n.SET_GUARDED_PORTS, "ifname")
    cmds += _set(br, n.SET_PORT_MACS, ["ifname", "ether_addr"])
    cmds += _set(br, n.SET_PORT_IPV4, ["ifname", "ipv4_addr"])
    cmds += _set(br, n.SET_PORT_IPV6, ["ifname", "ipv6_addr"])
    return cmds


def _guard_rules() -> list[Command]:
    iif = _meta("iifname")
    guarded = _match(iif, "@" + n.SET_GUARDED_PORTS)

    def source_check(protocol: str, field: str, set_name: str, *extra: dict[str, Any]) -> list[dict[str, Any]]:
        own = _match({"concat": [iif, {"payload": {"protocol": protocol, "field": field}}]}, "@" + set_name, "!=")
        return [guarded, *extra, own, {"drop": None}]

    ip6_saddr = {"payload": {"protocol": "ip6", "field": "saddr"}}
    chain = n.BRIDGE_PREROUTING_CHAIN
    return [
        _rule(n.BRIDGE, chain, source_check("ether", "saddr", n.SET_PORT_MACS), "anti-spoofing: own MAC"),
        _rule(n.BRIDGE, chain, source_check("arp", "saddr ether", n.SET_PORT_MACS), "anti-spoofing: own ARP MAC"),
        _rule(n.BRIDGE, chain, source_check("arp", "saddr ip", n.SET_PORT_IPV4), "anti-spoofing: own ARP address"),
        _rule(n.BRIDGE, chain, source_check("ip", "saddr", n.SET_PORT_IPV4), "anti-spoofing: own IPv4 address"),
        _rule(
            n.BRIDGE,
            chain,
            source_check(
                "ip6",
                "saddr",
                n.SET_PORT_IPV6,
                _match(ip6_saddr, {"prefix": {"addr": "fe80::", "len": 10}}, "!="),
                _match(ip6_saddr, "::", "!="),
            ),
            "anti-spoofing: own IPv6 address",
        ),
    ]


def _guard_elements(op: str, guard: PortGuard) -> list[Command]:
    def element(name: str, items: list[Any]) -> Command:
        return {op: {"element": {"family": n.BRIDGE, "table": n.TABLE, "name": name, "elem": items}}}

    cmds = [
        element(n.SET_GUARDED_PORTS, [guard.port]),
        element(n.SET_PORT_MACS, [{"concat": [guard.port, guard.mac.lower()]}]),
    ]
    if guard.ipv4 is not None:
        cmds.append(element(n.SET_PORT_IPV4, [{"concat": [guard.port, str(guard.ipv4)]}]))
    if guard.ipv6 is not None:
        cmds.append(element(n.SET_PORT_IPV6, [{"concat": [guard.port, str(guard.ipv6)]}]))
    return cmds


# ---------------------------------------------------------------- the host's own services
#
# ``inet seaway filter-INPUT``: a container reaches the host itself (its gateway address
# or any other of the host's addresses) only with replies, ICMP, and on networks with the
# ``seaway.bridge.host_access`` option. Published ports are not affected:
# they are DNATed before this hook, and then forwarded.


def _host_structure() -> list[Command]:
    return _base_chain(n.INET, n.INPUT_CHAIN, "filter", "input", FORWARD_PRIORITY) + _set(
        n.INET, n.SET_HOST_ACCESS, "ifname"
    )


def _host_rules() -> list[Command]:
    iif = _meta("iifname")
    from_bridge = _match(iif, "@" + n.SET_BRIDGES)
    chain = n.INPUT_CHAIN
    return [
        _rule(
            n.INET,
            chain,
            [from_bridge, _match({"ct": {"key": "state"}}, ["established", "related"], "in"), {"accept": None}],
            "replies to the host",
        ),
        _rule(
            n.INET,
            chain,
            [from_bridge, _match(_meta("l4proto"), {"set": ["icmp", "ipv6-icmp"]}), {"accept": None}],
            "ping and neighbour discovery",
        ),
        _rule(n.INET, chain, [_match(iif, "@" + n.SET_HOST_ACCESS), {"accept": None}], "networks allowed in"),
        _rule(n.INET, chain, [from_bridge, {"drop": None}], "containers do not reach the host's services"),
    ]


# ---------------------------------------------------------------- VXLAN from member VTEPs only
#
# A swarm node's overlays have VXLAN links whose UDP socket (the swarm's data-path port,
# 4789 by default) is in the host's namespace: any sender could inject frames into an
# overlay. ``inet seaway raw-PREROUTING`` drops VXLAN addressed to the host from any
# address that is not a member VTEP (this node's data-path address and every VTEP of
# another node's endpoints). Outside a swarm ``vxlan-ports`` is empty and the rules
# match nothing. Containers' own VXLAN to elsewhere is forwarded, not addressed to the
# host (``fib daddr type local``, evaluated last: only for non-members' packets).


@dataclass(frozen=True, slots=True)
class VxlanMembers:
    """Who may send VXLAN to this host: the data-path port (None: no swarm, nothing is
    dropped) and the member VTEPs."""

    port: int | None = None
    vteps: frozenset[IPAddress] = frozenset()


def _vxlan_structure() -> list[Command]:
    cmds = _set(n.INET, n.SET_VXLAN_PORTS, "inet_service")
    cmds += _set(n.INET, n.SET_VTEPS[4], "ipv4_addr")
    cmds += _set(n.INET, n.SET_VTEPS[6], "ipv6_addr")
    return cmds


def _vxlan_rules() -> list[Command]:
    dport = _match({"payload": {"protocol": "udp", "field": "dport"}}, "@" + n.SET_VXLAN_PORTS)
    local = _match({"fib": {"result": "type", "flags": ["daddr"]}}, "local")
    return [
        _rule(
            n.INET,
            n.RAW_PREROUTING_CHAIN,
            [
                dport,
                _match({"payload": {"protocol": family, "field": "saddr"}}, "@" + n.SET_VTEPS[version], "!="),
                local,
                {"drop": None},
            ],
            f"vxlan only from member vteps ({family})",
        )
        for version, family in ((4, "ip"), (6, "ip6"))
    ]


def _vxlan_elements(op: str, port: int | None, vteps: frozenset[IPAddress] | set[IPAddress]) -> list[Command]:
    def element(name: str, items: list[Any]) -> Command:
        return {op: {"element": {"family": n.INET, "table": n.TABLE, "name": name, "elem": items}}}

    cmds = []
    for version in (4, 6):
        members = sorted(str(a) for a in vteps if a.version == version)
        if members:
            cmds.append(element(n.SET_VTEPS[version], members))
    if port is not None:
        cmds.append(element(n.SET_VXLAN_PORTS, [port]))
    return cmds
