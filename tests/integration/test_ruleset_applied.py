"""The generated ruleset, applied by the kernel in a fake host, listed back: golden."""

from __future__ import annotations

import ipaddress

import pytest

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


def test_the_host_firewall_listing_reads_the_other_tables_only(fake_host: FakeHost) -> None:
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
        "  chain input { type filter hook input priority 0; tcp dport @blocked drop; }\n}"
    )
    rules_file = fake_host.root / "host.nft"
    rules_file.write_text(host_rules + "\n")
    in_ns(fake_host.host_ns, "nft", "-f", str(rules_file), check=True)

    listing = netns.run(fake_host.host_ns, nft.list_ruleset, naming.OWN_TABLES)

    tables = {(o[k]["family"], o[k].get("table", o[k].get("name"))) for o in listing for k in o}
    assert tables == {("inet", "filter")}
    assert [s["set"]["elem"] for s in listing if "set" in s] == [[5432]]
    assert any("rule" in o and o["rule"]["chain"] == "input" for o in listing)
