"""What a host announces: routed families of bridge networks only, per the network's
``seaway.bridge.bgp_announce``."""

from __future__ import annotations

import ipaddress

import pytest

from seaway.bgp.announce import prefixes
from seaway.errors import InvalidParameter
from seaway.model.endpoint import Endpoint
from seaway.model.network import Network, Subnet
from seaway.model.options import parse_bridge_options

V4, V6 = "10.1.0.0/24", "2001:db8:1::/64"


def _net(name: str, options: dict[str, str], internal: bool = False) -> Network:
    subnets = tuple(Subnet(ipaddress.ip_network(s), None, None, {}, user_given=True) for s in (V4, V6))
    return Network(
        id=name * 8, name=name, driver="bridge", scope="local", created="", subnets=subnets, enable_ipv6=True,
        internal=internal, attachable=False, options=options, labels={},
        driver_options=parse_bridge_options(options, "br-x", 1500),
    )  # fmt: skip


def _ep(net: Network) -> Endpoint:
    return Endpoint(
        id="e" * 64, network_id=net.id, sandbox_id="s", name="c", ifname="eth0", host_ifname="veth1",
        mac_address="02:42:0a:01:00:02", ipv4=ipaddress.ip_address("10.1.0.2"), ipv6=ipaddress.ip_address("2001:db8:1::2"),
        ipv4_prefixlen=24, ipv6_prefixlen=64, aliases=(), gw_priority=0,
    )  # fmt: skip


ROUTED4 = {"com.docker.network.bridge.gateway_mode_ipv4": "routed"}
ROUTED46 = {**ROUTED4, "com.docker.network.bridge.gateway_mode_ipv6": "routed"}


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, set()),  # NAT: never announced
        (ROUTED4, {V4}),
        (ROUTED46, {V4, V6}),
        ({**ROUTED4, "seaway.bridge.bgp_announce": "hosts"}, {"10.1.0.2/32"}),
        ({**ROUTED46, "seaway.bridge.bgp_announce": "both"}, {V4, V6, "10.1.0.2/32", "2001:db8:1::2/128"}),
        ({**ROUTED46, "seaway.bridge.bgp_announce": "none"}, set()),
    ],
)
def test_what_is_announced(options: dict[str, str], expected: set[str]) -> None:
    net = _net("n", options)
    got = prefixes([net], lambda nid: [_ep(net)] if nid == net.id else [])
    assert got == {ipaddress.ip_network(p) for p in expected}


def test_the_option_is_checked() -> None:
    with pytest.raises(InvalidParameter, match="failed to parse seaway.bridge.bgp_announce value: all"):
        parse_bridge_options({**ROUTED4, "seaway.bridge.bgp_announce": "all"}, "br-x", 1500)
    with pytest.raises(InvalidParameter, match="needs a routed gateway mode"):
        parse_bridge_options({"seaway.bridge.bgp_announce": "subnet"}, "br-x", 1500)
    assert parse_bridge_options({"seaway.bridge.bgp_announce": "none"}, "br-x", 1500).bgp_announce == "none"
