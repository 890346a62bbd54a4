"""The generated ruleset, applied by the kernel in a fake host, listed back: golden."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from seaway.engine import firewall
from seaway.firewall import naming, ruleset
from seaway.kernel import netns, nft
from seaway.lab.fakehost import FakeHost, in_ns
from seaway.testing.golden import assert_golden

pytestmark = pytest.mark.netns


def test_applied_ruleset_lists_back_as_the_golden_file(fake_host: FakeHost) -> None:
    net = ruleset.NetworkRules(
        bridge="br-0a1b2c3d4e5f",
        internal=False,
        icc=False,
        masquerade=True,
        subnets=(ipaddress.ip_network("172.18.0.0/16"), ipaddress.ip_network("fd12:3456:789a:1::/64")),
    )
    netns.run(fake_host.host_ns, nft.apply, ruleset.full([net], ["veth3a9f21c"]), "test ruleset")

    listing = "".join(
        in_ns(fake_host.host_ns, "nft", "list", "table", family, "seaway", check=True).stdout
        for family in ("inet", "bridge")
    )

    assert_golden("nft/applied,bridge,icc=false,dual-stack.nft", listing)


def test_the_host_firewall_listing_reads_the_other_input_tables_only(fake_host: FakeHost) -> None:
    net = ruleset.NetworkRules(
        bridge="br-0a1b2c3d4e5f",
        internal=False,
        icc=True,
        masquerade=True,
        subnets=(ipaddress.ip_network("172.18.0.0/16"),),
    )
    netns.run(fake_host.host_ns, nft.apply, ruleset.full([net], ["veth3a9f21c"]), "test ruleset")
    host_rules = (
        "table inet filter {\n  set blocked { type inet_service; elements = { 5432 }; }\n"
        "  chain input { type filter hook input priority 0; tcp dport @blocked drop; }\n}\n"
        "table ip other {\n  set big { type ipv4_addr; elements = { 192.0.2.1 }; }\n"
        "  chain post { type nat hook postrouting priority 100; }\n}"
    )
    rules_file = fake_host.root / "host.nft"
    rules_file.write_text(host_rules + "\n")
    in_ns(fake_host.host_ns, "nft", "-f", str(rules_file), check=True)

    chains = netns.run(fake_host.host_ns, nft.list_chains)
    assert {(c["family"], c["table"]) for c in chains} == {("inet", "filter"), ("ip", "other"), *naming.OWN_TABLES}
    tables = firewall.foreign_input_tables(chains)
    assert tables == [("inet", "filter")]
    listing = netns.run(fake_host.host_ns, nft.list_tables_content, tables)

    tables = {(o[k]["family"], o[k].get("table", o[k].get("name"))) for o in listing for k in o}
    assert tables == {("inet", "filter")}
    assert [s["set"]["elem"] for s in listing if "set" in s] == [[5432]]
    assert any("rule" in o and o["rule"]["chain"] == "input" for o in listing)


def test_network_elements_sent_by_the_element_socket_list_as_nft_would_make_them(fake_host: FakeHost) -> None:
    """Network create and remove send their elements through the engine's netlink socket
    (no nft process, whose cache read grows with published ports); the kernel must hold
    what ``nft -f`` of the same commands makes, adjacent subnets and removal included."""
    from seaway.firewall import elements
    from seaway.kernel.nftnl import ElementSocket

    def network(name: str, subnet: str, subnet6: str, **flags: bool) -> ruleset.NetworkRules:
        return ruleset.NetworkRules(
            bridge=name, internal=flags.get("internal", False), icc=flags.get("icc", True), masquerade=True,
            subnets=(ipaddress.ip_network(subnet), ipaddress.ip_network(subnet6)),
            host_access=flags.get("host_access", False),
        )  # fmt: skip

    a = network("br-a", "10.1.0.0/24", "fd00:1:2:3::/64", host_access=True)
    b = network("br-b", "10.1.1.0/24", "fd00:1:2:4::/64", icc=False)
    c = network("br-c", "10.1.2.0/23", "fd00:1:2:5::/64", internal=True)

    def listing() -> str:
        return in_ns(fake_host.host_ns, "nft", "list", "table", "inet", "seaway", check=True).stdout

    netns.run(fake_host.host_ns, nft.apply, ruleset.full([], []), "empty ruleset")
    sock = netns.run(fake_host.host_ns, ElementSocket)
    try:
        for net in (a, b, c):
            sock.apply(elements.add_network(net), net.bridge)
        sock.apply(elements.remove_network(b), b.bridge)
        by_socket = listing()
    finally:
        sock.close()
    netns.run(fake_host.host_ns, nft.apply, ruleset.full([a, c], []), "the same, through nft")
    assert by_socket == listing()


def test_vxlan_members_sent_by_the_element_socket_list_as_nft_would_make_them(fake_host: FakeHost) -> None:
    """The swarm's data-path port and member VTEPs, in and out through the engine's
    netlink socket (a port change, a member leaving), hold what ``nft -f`` makes."""
    from seaway.firewall import elements
    from seaway.kernel.nftnl import ElementSocket

    a, b, c = (ipaddress.ip_address(x) for x in ("192.0.2.1", "192.0.2.2", "2001:db8::3"))

    def listing() -> str:
        return in_ns(fake_host.host_ns, "nft", "list", "table", "inet", "seaway", check=True).stdout

    netns.run(fake_host.host_ns, nft.apply, ruleset.full([], []), "empty ruleset")
    sock = netns.run(fake_host.host_ns, ElementSocket)
    try:
        sock.apply(elements.change_vxlan_members({a, b, c}, (), 4789), "members")
        sock.apply(elements.change_vxlan_members((), {b}, 4790, 4789), "a member gone, another port")
        by_socket = listing()
    finally:
        sock.close()
    members = ruleset.VxlanMembers(4790, frozenset({a, c}))
    netns.run(fake_host.host_ns, nft.apply, ruleset.full([], [], vxlan=members), "the same, through nft")
    assert by_socket == listing()
    assert "vxlan only from member vteps" in by_socket and "4790" in by_socket and "192.0.2.2" not in by_socket


def test_a_restarted_engine_drops_vxlan_from_non_members_at_once(engine_factory: Any, fake_host: FakeHost) -> None:
    """The members are kept with the engine's state: a daemon restarted in a swarm does not
    accept VXLAN from anyone until its swarm's first full look."""
    member, other = ipaddress.ip_address("192.0.2.7"), ipaddress.ip_address("2001:db8::7")
    first = engine_factory()
    first.set_vxlan_members(4789, [member])
    first.change_vxlan_members([other], [])
    first.close()
    engine_factory()  # nothing told it the members: they come from its store
    table = in_ns(fake_host.host_ns, "nft", "list", "table", "inet", "seaway", check=True).stdout
    assert "192.0.2.7" in table and "2001:db8::7" in table and "4789" in table


def test_the_guards_rule_dump_lists_every_rule_of_seaways_tables_by_chain(fake_host: FakeHost) -> None:
    """firewall.intact() counts rules from a raw rule dump (no set element read): the
    chains it reports are those nft lists, for both tables; a missing table has none."""
    from seaway.kernel import nftnl

    assert netns.run(fake_host.host_ns, nftnl.rule_chains, "inet", naming.TABLE) == []
    net = ruleset.NetworkRules(
        bridge="br-0a1b2c3d4e5f",
        internal=False,
        icc=True,
        masquerade=True,
        subnets=(ipaddress.ip_network("172.18.0.0/16"),),
    )
    netns.run(fake_host.host_ns, nft.apply, ruleset.full([net], []), "test ruleset")
    for family, count in ruleset.rule_counts().items():
        listed = json.loads(
            in_ns(fake_host.host_ns, "nft", "-j", "list", "table", family, naming.TABLE, check=True).stdout
        )
        chains = sorted(o["rule"]["chain"] for o in listed["nftables"] if "rule" in o)
        dumped = netns.run(fake_host.host_ns, nftnl.rule_chains, family, naming.TABLE)
        assert sorted(dumped) == chains and len(dumped) == count
    assert netns.run(fake_host.host_ns, firewall.intact)
    in_ns(fake_host.host_ns, "nft", "flush", "chain", "bridge", naming.TABLE, "filter-PREROUTING", check=True)
    assert not netns.run(fake_host.host_ns, firewall.intact)
