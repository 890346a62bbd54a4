"""Host-firewall mode's copy of the host's input rules. Pure."""

from __future__ import annotations

from typing import Any

from seaway.firewall import hostfw


def chain(name: str, **hook: Any) -> dict[str, Any]:
    return {"chain": {"family": "inet", "table": "filter", "name": name, **hook}}


def rule(chain_name: str, *expr: dict[str, Any], handle: int = 1) -> dict[str, Any]:
    return {"rule": {"family": "inet", "table": "filter", "chain": chain_name, "handle": handle, "expr": list(expr)}}


def dport(proto: str, port: int) -> dict[str, Any]:
    return {"match": {"op": "==", "left": {"payload": {"protocol": proto, "field": "dport"}}, "right": port}}


LISTING = [
    chain("input", type="filter", hook="input", prio=0, policy="drop"),
    chain("ufw-user-input"),
    chain("forward", type="filter", hook="forward", prio=0, policy="accept"),
    rule("input", {"jump": {"target": "ufw-user-input"}}),
    rule("ufw-user-input", dport("tcp", 5432), {"counter": {"packets": 9, "bytes": 99}}, {"drop": None}),
    rule(
        "ufw-user-input",
        {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "@allowed"}},
        {"accept": None},
    ),
    rule("ufw-user-input", {"xt": {"type": "match", "name": "recent"}}, {"drop": None}, handle=7),
    {"set": {"family": "inet", "table": "filter", "name": "allowed", "type": "ipv4_addr", "elem": ["192.0.2.9"]}},
    # Seaway's own table is never copied
    {"chain": {"family": "inet", "table": "seaway", "name": "x", "type": "filter", "hook": "input", "prio": 0}},
]


def exprs(mirror: hostfw.Mirror, chain_name: str) -> list[list[dict[str, Any]]]:
    return [c["add"]["rule"]["expr"] for c in mirror.rules if c["add"]["rule"]["chain"] == chain_name]


def test_input_chains_become_forward_chains_for_translated_traffic_only() -> None:
    mirror = hostfw.build(LISTING)
    bases = [c["add"]["chain"] for c in mirror.chain_defs if "hook" in c["add"]["chain"]]
    assert bases == [
        {
            "family": "inet",
            "table": "seaway",
            "name": "hostfw-0",
            "type": "filter",
            "hook": "forward",
            "prio": 0,
            "policy": "accept",
        }
    ]
    (entry,) = exprs(mirror, "hostfw-0")
    assert entry[-1] == {"jump": {"target": "hostfw-0-input"}}
    assert {"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}} in entry


def test_destination_port_and_address_become_the_original_ones() -> None:
    mirror = hostfw.build(LISTING)
    deny, allow = exprs(mirror, "hostfw-0-ufw-user-input")
    assert deny == [
        {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}},
        {"match": {"op": "==", "left": {"ct": {"key": "proto-dst", "dir": "original"}}, "right": 5432}},
        {"counter": None},
        {"drop": None},
    ]
    assert allow[0]["match"]["left"] == {"ct": {"key": "daddr", "family": "ip", "dir": "original"}}
    assert allow[0]["match"]["right"] == "@hostfw-0-allowed"
    assert mirror.sets[0]["add"]["set"]["name"] == "hostfw-0-allowed"
    assert mirror.sets[1]["add"]["element"]["elem"] == ["192.0.2.9"]


def test_the_chain_policy_is_kept_and_uncopyable_rules_are_reported() -> None:
    mirror = hostfw.build(LISTING)
    assert exprs(mirror, "hostfw-0-input")[-1] == [{"drop": None}]
    assert mirror.skipped == ["inet filter ufw-user-input (handle 7): an iptables (xt) match cannot be copied"]
    commands = mirror.commands
    first_rule = next(i for i, c in enumerate(commands) if "rule" in c["add"])
    assert all("rule" not in c["add"] for c in commands[:first_rule])  # chains and sets come first


def test_the_previous_copy_is_flushed_before_it_is_deleted() -> None:
    cmds = hostfw.remove_previous(
        ["filter-FORWARD", "hostfw-0", "hostfw-0-input"],
        {"bridges": "set", "hostfw-0-allowed": "set", "hostfw-0-m": "map"},
    )
    verbs = [(next(iter(c)), next(iter(c.values()))) for c in cmds]
    assert [v for v, _ in verbs] == ["flush", "flush", "delete", "delete", "delete", "delete"]
    assert verbs[-2][1] == {"set": {"family": "inet", "table": "seaway", "name": "hostfw-0-allowed"}}
    assert verbs[-1][1] == {"map": {"family": "inet", "table": "seaway", "name": "hostfw-0-m"}}
