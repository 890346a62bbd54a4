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
from dataclasses import dataclass
from typing import Any

from seaway.firewall import naming as n

Command = dict[str, Any]

#: hook priorities, a contract documented in docs/firewall.md
FORWARD_PRIORITY = 0  # filter
POSTROUTING_PRIORITY = 100  # srcnat
BRIDGE_FORWARD_PRIORITY = -200


@dataclass(frozen=True, slots=True)
class NetworkRules:
    """What the firewall needs to know about one bridge network."""

    bridge: str
    internal: bool
    icc: bool
    masquerade: bool
    subnets: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]


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
    cmds += _set(inet, n.SET_BRIDGES, "ifname")
    cmds += _set(inet, n.SET_INTERNAL, "ifname")
    cmds += _set(inet, n.SET_SAME_BRIDGE, ["ifname", "ifname"])
    cmds += _set(inet, n.SET_ICC_OFF_PAIRS, ["ifname", "ifname"])
    cmds += _set(inet, n.SET_MASQ4, "ipv4_addr", interval=True)
    cmds += _set(inet, n.SET_MASQ6, "ipv6_addr", interval=True)
    cmds += _set(br, n.SET_ICC_OFF_PORTS, "ifname")
    return cmds


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
            [_match(iif, "@" + n.SET_BRIDGES), _match(oif, "@" + n.SET_BRIDGES), {"drop": None}],
            "isolation between networks",
        ),
        _rule(inet, fwd, [_match(iif, "@" + n.SET_BRIDGES), {"accept": None}], "containers reach out"),
        _rule(inet, fwd, [_match(oif, "@" + n.SET_BRIDGES), {"drop": None}], "no unasked way in"),
    ]
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
    cmds.append(
        _rule(
            n.BRIDGE,
            n.BRIDGE_FORWARD_CHAIN,
            [_match(_meta("iifname"), "@" + n.SET_ICC_OFF_PORTS), {"drop": None}],
            "icc off",
        )
    )
    return cmds


def _elements(op: str, net: NetworkRules) -> list[Command]:
    def element(family: str, name: str, items: list[Any]) -> Command:
        return {op: {"element": {"family": family, "table": n.TABLE, "name": name, "elem": items}}}

    cmds = [
        element(n.INET, n.SET_BRIDGES, [net.bridge]),
        element(n.INET, n.SET_SAME_BRIDGE, [{"concat": [net.bridge, net.bridge]}]),
    ]
    if net.internal:
        cmds.append(element(n.INET, n.SET_INTERNAL, [net.bridge]))
    if not net.icc:
        cmds.append(element(n.INET, n.SET_ICC_OFF_PAIRS, [{"concat": [net.bridge, net.bridge]}]))
    if net.masquerade and not net.internal:
        for version, set_name in ((4, n.SET_MASQ4), (6, n.SET_MASQ6)):
            prefixes = [
                {"prefix": {"addr": str(s.network_address), "len": s.prefixlen}}
                for s in net.subnets
                if s.version == version
            ]
            if prefixes:
                cmds.append(element(n.INET, set_name, prefixes))
    return cmds


def _ports(op: str, ports: list[str]) -> list[Command]:
    if not ports:
        return []
    ref = {"family": n.BRIDGE, "table": n.TABLE, "name": n.SET_ICC_OFF_PORTS}
    return [{op: {"element": {**ref, "elem": sorted(ports)}}}]


def full(networks: list[NetworkRules], icc_off_ports: list[str]) -> list[Command]:
    """The whole of Seaway's firewall state, rebuilt in one transaction."""
    cmds = _structure() + _rules()
    for net in networks:
        cmds += _elements("add", net)
    return cmds + _ports("add", icc_off_ports)


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
