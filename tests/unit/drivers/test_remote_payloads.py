"""The remote driver's payloads and answer checks, as libnetwork's ``drivers/remote``. Pure."""

from __future__ import annotations

import ipaddress

import pytest

from seaway.drivers.remote import (
    _check_interface,
    _default_routes_as_gateways,
    _gateways,
    _interface,
    _static_routes,
    network_request,
)
from seaway.errors import InternalError
from seaway.model.endpoint import Endpoint
from seaway.model.network import Network, Subnet
from seaway.plugins.client import PluginError

ip = ipaddress.ip_address


def network(**overrides: object) -> Network:
    fields: dict = dict(
        id="n" * 64, name="exnet", driver="example", scope="local", created="", enable_ipv6=False,
        internal=False, attachable=False, options={"color": "blue"}, labels={},
        subnets=(Subnet(ipaddress.ip_network("10.9.0.0/24"), None, ip("10.9.0.1"), {"r": ip("10.9.0.9")}, True),),
    )  # fmt: skip
    fields.update(overrides)
    return Network(**fields)


def endpoint(**overrides: object) -> Endpoint:
    fields: dict = dict(
        id="e" * 64, network_id="n" * 64, sandbox_id="s" * 64, name="c1", ifname="eth0", host_ifname="",
        mac_address="02:42:0a:09:00:02", ipv4=ip("10.9.0.2"), ipv6=None, ipv4_prefixlen=24, ipv6_prefixlen=0,
        aliases=(), gw_priority=0,
    )  # fmt: skip
    fields.update(overrides)
    return Endpoint(**fields)


def test_create_network_carries_libnetworks_options_and_ipam_data() -> None:
    assert network_request(network(internal=True)) == {
        "NetworkID": "n" * 64,
        "Options": {
            "com.docker.network.generic": {"color": "blue"},
            "com.docker.network.enable_ipv4": True,
            "com.docker.network.enable_ipv6": False,
            "com.docker.network.internal": True,
        },
        "IPv4Data": [
            {
                "AddressSpace": "LocalDefault",
                "Pool": "10.9.0.0/24",
                "Gateway": "10.9.0.1/24",
                "AuxAddresses": {"r": "10.9.0.9/24"},
            }
        ],
        "IPv6Data": [],
    }


def test_the_interface_carries_every_field_and_the_mac_only_when_the_user_gave_it() -> None:
    assert _interface(endpoint()) == {"Address": "10.9.0.2/24", "AddressIPv6": "", "MacAddress": ""}
    assert _interface(endpoint(static_mac=True))["MacAddress"] == "02:42:0a:09:00:02"


def test_a_plugin_may_fill_in_the_mac_but_change_nothing_it_was_given() -> None:
    assert _check_interface(endpoint(), {}) == ""
    assert _check_interface(endpoint(), {"MacAddress": "02:00:00:00:00:01"}) == "02:00:00:00:00:01"
    given = endpoint(static_mac=True)
    assert _check_interface(given, {"Address": "10.9.0.2/24", "MacAddress": given.mac_address}) == ""
    with pytest.raises(InternalError, match="^driver modified interface MAC address: "):
        _check_interface(given, {"MacAddress": "02:00:00:00:00:01"})
    with pytest.raises(InternalError, match="^driver modified interface address: "):
        _check_interface(endpoint(), {"Address": "10.9.0.77/24"})


def test_static_routes_via_a_next_hop_or_on_link() -> None:
    routes = _static_routes(
        {
            "StaticRoutes": [
                {"Destination": "192.0.2.0/24", "RouteType": 0, "NextHop": "10.9.0.1"},
                {"Destination": "198.51.100.0/24", "RouteType": 1, "NextHop": ""},
            ]
        }
    )
    assert routes == [
        (ipaddress.ip_network("192.0.2.0/24"), ip("10.9.0.1")),
        (ipaddress.ip_network("198.51.100.0/24"), None),
    ]
    with pytest.raises(PluginError, match="failed to parse nexthop IP nope"):
        _static_routes({"StaticRoutes": [{"Destination": "192.0.2.0/24", "NextHop": "nope"}]})


def test_join_gateways_are_parsed_as_libnetwork_words_it() -> None:
    assert _gateways({"Gateway": "10.9.0.1", "GatewayIPv6": "fd00::1"}) == (ip("10.9.0.1"), ip("fd00::1"))
    assert _gateways({}) == ()
    with pytest.raises(PluginError, match='^unable to parse Gateway "10.9.0"$'):
        _gateways({"Gateway": "10.9.0"})


def test_a_static_default_route_via_a_next_hop_is_a_gateway() -> None:
    default = (ipaddress.ip_network("0.0.0.0/0"), ip("10.9.0.254"))
    other = (ipaddress.ip_network("192.0.2.0/24"), ip("10.9.0.1"))
    assert _default_routes_as_gateways([default, other], ()) == ([other], (ip("10.9.0.254"),))
    assert _default_routes_as_gateways([default], (ip("10.9.0.1"),)) == ([], (ip("10.9.0.1"),))
