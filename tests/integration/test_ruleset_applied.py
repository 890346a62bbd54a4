"""The generated ruleset, applied by the kernel in a fake host, listed back: golden."""

from __future__ import annotations

import ipaddress

import pytest

from seaway.firewall import ruleset
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
