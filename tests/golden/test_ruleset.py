"""The nftables JSON Seaway sends, per scenario, against reviewed golden files.

Scenario names encode the parameters. Where a parameter must not matter, scenarios share
a file: ICC is carried by the ICC-off port set, so a network's own elements are the same
with ICC on or off; an internal network is never masqueraded, so the masquerade flag is
irrelevant for it.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from typing import Any

import pytest

from seaway.firewall import naming as n
from seaway.firewall import ruleset
from seaway.firewall.ruleset import NetworkRules
from seaway.model.ports import PortMapping
from seaway.testing.golden import assert_golden

Commands = list[dict[str, Any]]


def bridge_net(
    bridge: str = "br-3f2a9c1d0e4b",
    internal: bool = False,
    icc: bool = True,
    masquerade: bool = True,
    subnets: tuple[str, ...] = ("172.18.0.0/16",),
    modes: tuple[str, str] = ("nat", "nat"),
) -> NetworkRules:
    nets = tuple(ipaddress.ip_network(s) for s in subnets)
    return NetworkRules(bridge, internal, icc, masquerade, nets, gateway_modes=modes)


PLAIN = bridge_net()
DUAL = bridge_net(subnets=("172.18.0.0/16", "fd12:3456:789a:1::/64"))
PORT = "veth3a9f21c"


def mapping(proto: str, cport: int, host_ip: str, hport: int, cip: str = "172.18.0.2") -> PortMapping:
    return PortMapping(proto, cport, ipaddress.ip_address(host_ip), hport, ipaddress.ip_address(cip))


PUBLISHED = [
    mapping("tcp", 80, "0.0.0.0", 8080),
    mapping("tcp", 80, "::", 8080, "fd12:3456:789a:1::2"),
    mapping("udp", 53, "127.0.0.1", 53),
    *(mapping("tcp", p, "0.0.0.0", p) for p in range(20000, 20010)),
]

VXLAN = ruleset.VxlanMembers(
    4789, frozenset(ipaddress.ip_address(a) for a in ("192.0.2.2", "192.0.2.1", "2001:db8::1"))
)

SCENARIOS: list[tuple[str, Callable[[], Commands]]] = [
    ("full,empty.json", lambda: ruleset.full([], [])),
    ("full,bridge.json", lambda: ruleset.full([PLAIN], [])),
    ("full,bridge,icc=false,ports=0.json", lambda: ruleset.full([bridge_net(icc=False)], [])),
    ("full,bridge,internal=true.json", lambda: ruleset.full([bridge_net(internal=True)], [])),
    ("full,bridge,internal=true.json", lambda: ruleset.full([bridge_net(internal=True, masquerade=False)], [])),
    ("full,bridge,icc=false,ports=1.json", lambda: ruleset.full([bridge_net(icc=False)], [PORT])),
    ("full,bridge,masquerade=false.json", lambda: ruleset.full([bridge_net(masquerade=False)], [])),
    ("full,bridge,dual-stack.json", lambda: ruleset.full([DUAL], [])),
    (
        "full,bridge=2,icc=false,ports=2.json",
        lambda: ruleset.full(
            [PLAIN, bridge_net("br-0a1b2c3d4e5f", icc=False, subnets=("10.1.0.0/24",))],
            [
                "vethbbbbbbb",
                "vethaaaaaaa",
            ],
        ),
    ),
    ("add_network,bridge.json", lambda: ruleset.add_network(PLAIN)),
    ("add_network,bridge,icc=false.json", lambda: ruleset.add_network(bridge_net(icc=False))),
    ("add_network,bridge,dual-stack.json", lambda: ruleset.add_network(DUAL)),
    ("add_network,bridge,internal=true.json", lambda: ruleset.add_network(bridge_net(internal=True))),
    (
        "add_network,bridge,dual-stack,gateway_mode=routed,nat-unprotected.json",
        lambda: ruleset.add_network(
            bridge_net(subnets=("172.18.0.0/16", "fd12:3456:789a:1::/64"), modes=("routed", "nat-unprotected"))
        ),
    ),
    ("remove_network,bridge.json", lambda: ruleset.remove_network(PLAIN)),
    ("remove_network,bridge,dual-stack.json", lambda: ruleset.remove_network(DUAL)),
    ("add_icc_off_port.json", lambda: ruleset.add_icc_off_port(PORT)),
    ("remove_icc_off_port.json", lambda: ruleset.remove_icc_off_port(PORT)),
    ("full,bridge,dual-stack,published.json", lambda: ruleset.full([DUAL], [], PUBLISHED)),
    ("full,vxlan-members.json", lambda: ruleset.full([], [], vxlan=VXLAN)),
    ("publish.json", lambda: ruleset.publish(PUBLISHED)),
    ("unpublish.json", lambda: ruleset.unpublish(PUBLISHED)),
]


def render(cmds: Commands) -> str:
    return json.dumps(cmds, indent=2, sort_keys=True) + "\n"


@pytest.mark.parametrize(("name", "build"), SCENARIOS, ids=[f"{i}:{name}" for i, (name, _) in enumerate(SCENARIOS)])
def test_ruleset_matches_golden(name: str, build: Callable[[], Commands]) -> None:
    assert_golden(f"nft/{name}", render(build()))


# --- invariants over the generated commands -----------------------------------------


def rules(cmds: Commands) -> list[dict[str, Any]]:
    return [c["add"]["rule"] for c in cmds if "rule" in c.get("add", {})]


def many(count: int) -> list[NetworkRules]:
    return [
        bridge_net(f"br-{i:012x}", internal=i % 7 == 0, icc=i % 3 != 0, subnets=(f"10.{i // 256}.{i % 256}.0/24",))
        for i in range(count)
    ]


def test_rule_count_is_the_same_for_one_and_for_300_networks() -> None:
    one = ruleset.full(many(1), ["veth0000000"])
    lots = ruleset.full(many(300), [f"veth{i:07x}" for i in range(300)])
    assert len(rules(one)) == len(rules(lots)) == len(rules(ruleset.full([], [])))
    assert rules(one) == rules(lots)


def test_a_10000_port_range_is_one_element_and_rules_do_not_grow_with_ports() -> None:
    ports = [mapping("tcp", p, "0.0.0.0", p) for p in range(20000, 30000)]
    cmds = ruleset.publish(ports)
    assert cmds == [
        {
            "add": {
                "element": {
                    "family": "inet",
                    "table": "seaway",
                    "name": n.MAP_PORT_RANGES[4],
                    "elem": [
                        [
                            {"concat": [{"prefix": {"addr": "0.0.0.0", "len": 0}}, "tcp", {"range": [20000, 29999]}]},
                            "172.18.0.2",
                        ]
                    ],
                }
            }
        },
        {
            "add": {
                "element": {
                    "family": "inet",
                    "table": "seaway",
                    "name": n.SET_CONTAINER_PORTS[4],
                    "elem": [{"concat": ["172.18.0.2", "tcp", {"range": [20000, 29999]}]}],
                }
            }
        },
    ]
    assert rules(ruleset.full([PLAIN], [], ports)) == rules(ruleset.full([PLAIN], []))


def test_ports_mapped_to_other_numbers_are_one_element_each_in_both_maps() -> None:
    ports = [mapping("tcp", 80 + i, "0.0.0.0", 9000 + i) for i in range(3)]
    names = {c["add"]["element"]["name"]: len(c["add"]["element"]["elem"]) for c in ruleset.publish(ports)}
    # the container side (80, 81, 82) is one run: one interval element
    assert names == {n.MAP_ANY_PORTS[4]: 3, n.MAP_ANY_NEW_PORTS[4]: 3, n.SET_CONTAINER_PORTS[4]: 1}


def test_300_networks_become_300_bridge_set_elements() -> None:
    cmds = ruleset.full(many(300), [])
    bridges = [
        e
        for c in cmds
        if c.get("add", {}).get("element", {}).get("name") == n.SET_BRIDGES
        for e in c["add"]["element"]["elem"]
    ]
    assert bridges == [f"br-{i:012x}" for i in range(300)]


@pytest.mark.parametrize(
    "cmds",
    [
        ruleset.add_network(DUAL),
        ruleset.add_network(bridge_net(internal=True)),
        ruleset.remove_network(DUAL),
        ruleset.add_icc_off_port(PORT),
        ruleset.remove_icc_off_port(PORT),
    ],
    ids=["add_network", "add_network,internal", "remove_network", "add_icc_off_port", "remove_icc_off_port"],
)
def test_per_network_and_per_endpoint_changes_touch_only_set_elements(cmds: Commands) -> None:
    assert cmds
    for cmd in cmds:
        ((op, body),) = cmd.items()
        assert list(body) == ["element"], f"{op} {list(body)}: only set elements may change"
    assert not rules(cmds)


def test_user_chain_is_added_but_never_flushed() -> None:
    cmds = ruleset.full(many(3), [])
    user = {"family": n.INET, "table": n.TABLE, "name": n.USER_CHAIN}
    assert {"add": {"chain": user}} in cmds
    assert not [c for c in cmds if c.get("flush", {}).get("chain", {}).get("name") == n.USER_CHAIN]


def test_every_set_a_rule_or_element_names_is_declared_in_the_same_table() -> None:
    cmds = ruleset.full(many(10), [PORT])
    declared = {(c["add"]["set"]["family"], c["add"]["set"]["name"]) for c in cmds if "set" in c.get("add", {})}
    used: set[tuple[str, str]] = set()
    for rule in rules(cmds):
        for expr in rule["expr"]:
            right = expr.get("match", {}).get("right")
            if isinstance(right, str) and right.startswith("@"):
                used.add((rule["family"], right[1:]))
    for c in cmds:
        for body in c.values():
            if "element" in body:
                used.add((body["element"]["family"], body["element"]["name"]))
    assert used <= declared, used - declared


def test_internal_network_is_not_masqueraded_even_when_masquerade_is_on() -> None:
    cmds = ruleset.add_network(bridge_net(internal=True, masquerade=True, subnets=("10.9.0.0/24", "fd00:9::/64")))
    names = {c["add"]["element"]["name"] for c in cmds}
    assert n.SET_MASQ4 not in names and n.SET_MASQ6 not in names
    assert n.SET_INTERNAL in names


def test_remove_network_deletes_exactly_what_add_network_added() -> None:
    added = ruleset.add_network(DUAL)
    removed = ruleset.remove_network(DUAL)
    deletes = [c["delete"] for c in removed if "delete" in c]
    assert deletes == [c["add"] for c in added]


def test_routed_family_is_not_masqueraded_and_the_other_family_is() -> None:
    cmds = ruleset.add_network(bridge_net(subnets=("10.9.0.0/24", "fd00:9::/64"), modes=("routed", "nat")))
    named = {c["add"]["element"]["name"] for c in cmds}
    assert n.SET_MASQ4 not in named and n.SET_ROUTED4 in named
    assert n.SET_MASQ6 in named and n.SET_ROUTED6 not in named


def test_internal_network_gets_no_gateway_mode_elements() -> None:
    cmds = ruleset.add_network(bridge_net(internal=True, modes=("isolated", "isolated")))
    named = {c["add"]["element"]["name"] for c in cmds}
    assert not named & {n.SET_ROUTED4, n.SET_UNPROTECTED4, n.SET_MASQ4}
