"""Model objects survive the trip through the store's JSON documents unchanged."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from seaway.model.endpoint import Endpoint, Sandbox, SandboxMode
from seaway.model.network import BridgeOptions, Network, Subnet
from seaway.state import codec

ip = ipaddress.ip_address
net = ipaddress.ip_network


def through_json(doc: dict[str, Any]) -> dict[str, Any]:
    """What the store writes and reads back."""
    return json.loads(json.dumps(doc))  # type: ignore[no-any-return]


def dual_stack_network(**overrides: Any) -> Network:
    fields: dict[str, Any] = {
        "id": "3f2a9c1d0e4b" + "a" * 52,
        "name": "web",
        "driver": "bridge",
        "scope": "local",
        "created": "2024-05-01T12:00:00.123456+00:00",
        "subnets": (
            Subnet(
                net("172.18.0.0/16"),
                net("172.18.5.0/24"),
                ip("172.18.0.1"),
                {"nas": ip("172.18.0.9"), "printer": ip("172.18.5.200")},
                True,
            ),
            Subnet(net("fd12:3456:789a::/64"), None, ip("fd12:3456:789a::1"), {}, False),
        ),
        "enable_ipv6": True,
        "internal": False,
        "attachable": True,
        "options": {"com.docker.network.bridge.enable_icc": "false"},
        "labels": {"team": "blue", "env": ""},
        "driver_options": BridgeOptions(
            bridge_name="br-3f2a9c1d0e4b",
            enable_icc=False,
            enable_ip_masquerade=True,
            host_binding_ipv4=ip("127.0.0.1"),
            mtu=1400,
            inhibit_ipv4=False,
            iface_prefix="eth",
            default_bridge=False,
        ),
    }
    fields.update(overrides)
    return Network(**fields)


def test_dual_stack_bridge_network_round_trips() -> None:
    original = dual_stack_network()
    assert codec.network_from_doc(through_json(codec.network_to_doc(original))) == original


def test_round_trip_keeps_address_types() -> None:
    back = codec.network_from_doc(through_json(codec.network_to_doc(dual_stack_network())))
    v4, v6 = back.subnets
    assert isinstance(v4.subnet, ipaddress.IPv4Network)
    assert isinstance(v4.aux_addresses["nas"], ipaddress.IPv4Address)
    assert isinstance(v6.gateway, ipaddress.IPv6Address)
    assert back.driver_options is not None
    assert isinstance(back.driver_options.host_binding_ipv4, ipaddress.IPv4Address)


def test_network_with_ipv6_host_binding_round_trips() -> None:
    original = dual_stack_network(
        driver_options=BridgeOptions(bridge_name="br-x", host_binding_ipv4=ip("::1")),
    )
    assert codec.network_from_doc(through_json(codec.network_to_doc(original))) == original


def test_network_without_bridge_or_subnets_round_trips() -> None:
    original = dual_stack_network(name="host", driver="host", subnets=(), enable_ipv6=False, driver_options=None)
    assert codec.network_from_doc(through_json(codec.network_to_doc(original))) == original


def test_network_subnet_without_gateway_or_range_round_trips() -> None:
    original = dual_stack_network(subnets=(Subnet(net("10.0.0.0/31"), None, None, {}, False),))
    assert codec.network_from_doc(through_json(codec.network_to_doc(original))) == original


def test_network_document_stores_addresses_as_text() -> None:
    doc = codec.network_to_doc(dual_stack_network())
    assert doc["subnets"][0] == {
        "subnet": "172.18.0.0/16",
        "ip_range": "172.18.5.0/24",
        "gateway": "172.18.0.1",
        "aux_addresses": {"nas": "172.18.0.9", "printer": "172.18.5.200"},
        "user_given": True,
    }
    assert doc["driver_options"]["host_binding_ipv4"] == "127.0.0.1"


def endpoint(**overrides: Any) -> Endpoint:
    fields: dict[str, Any] = {
        "id": "e" * 64,
        "network_id": "3f2a9c1d0e4b" + "a" * 52,
        "sandbox_id": "5" * 64,
        "name": "web-1",
        "ifname": "eth0",
        "host_ifname": "veth3a9f21c",
        "mac_address": "02:42:ac:12:00:02",
        "ipv4": ip("172.18.0.2"),
        "ipv6": ip("fd12:3456:789a::2"),
        "ipv4_prefixlen": 16,
        "ipv6_prefixlen": 64,
        "aliases": ("web", "frontend"),
        "gw_priority": -3,
        "static_ipv4": True,
        "static_ipv6": False,
    }
    fields.update(overrides)
    return Endpoint(**fields)


def test_dual_stack_endpoint_round_trips() -> None:
    original = endpoint()
    assert codec.endpoint_from_doc(through_json(codec.endpoint_to_doc(original))) == original


def test_endpoint_without_addresses_or_aliases_round_trips() -> None:
    original = endpoint(ipv4=None, ipv6=None, aliases=(), ipv4_prefixlen=0, ipv6_prefixlen=0)
    back = codec.endpoint_from_doc(through_json(codec.endpoint_to_doc(original)))
    assert back == original
    assert back.ipv4 is None and back.aliases == ()


def test_sandbox_round_trips() -> None:
    original = Sandbox(
        id="5" * 64, name="web-1", mode=SandboxMode.PRIVATE, key="/run/seaway/netns/555555555555", hostname="web-1"
    )
    assert codec.sandbox_from_doc(through_json(codec.sandbox_to_doc(original))) == original


def test_an_older_sandbox_document_with_an_endpoints_list_still_loads() -> None:
    # membership is held by the endpoint records only; the list older records carried is ignored
    doc = {"id": "5" * 64, "name": "h", "mode": SandboxMode.HOST, "key": "", "hostname": "", "endpoints": ["e" * 64]}
    assert codec.sandbox_from_doc(doc) == Sandbox(id="5" * 64, name="h", mode=SandboxMode.HOST, key="", hostname="")


_text = st.text(max_size=12)
_v4 = st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address)
_v6 = st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address)


@given(
    st.builds(
        Endpoint,
        id=_text,
        network_id=_text,
        sandbox_id=_text,
        name=_text,
        ifname=_text,
        host_ifname=_text,
        mac_address=_text,
        ipv4=st.none() | _v4,
        ipv6=st.none() | _v6,
        ipv4_prefixlen=st.integers(0, 32),
        ipv6_prefixlen=st.integers(0, 128),
        aliases=st.lists(_text, max_size=3).map(tuple),
        gw_priority=st.integers(-(2**31), 2**31),
        static_ipv4=st.booleans(),
        static_ipv6=st.booleans(),
    )
)
def test_any_endpoint_round_trips(original: Endpoint) -> None:
    assert codec.endpoint_from_doc(through_json(codec.endpoint_to_doc(original))) == original


@st.composite
def subnets(draw: st.DrawFn) -> Subnet:
    version = draw(st.sampled_from([4, 6]))
    bits = 32 if version == 4 else 128
    prefixlen = draw(st.integers(0, bits))
    base = draw(st.integers(0, 2**bits - 1)) >> (bits - prefixlen) << (bits - prefixlen)
    make_net = ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network
    make_ip = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    subnet = make_net((base, prefixlen))
    addresses = st.integers(int(subnet.network_address), int(subnet.broadcast_address)).map(make_ip)
    return Subnet(
        subnet=subnet,
        ip_range=draw(st.none() | st.just(subnet)),
        gateway=draw(st.none() | addresses),
        aux_addresses=draw(st.dictionaries(_text, addresses, max_size=2)),
        user_given=draw(st.booleans()),
    )


@given(st.lists(subnets(), max_size=3), st.dictionaries(_text, _text, max_size=3))
def test_any_network_round_trips(subnet_list: list[Subnet], labels: dict[str, str]) -> None:
    original = dual_stack_network(subnets=tuple(subnet_list), labels=labels)
    assert codec.network_from_doc(through_json(codec.network_to_doc(original))) == original


def test_macvlan_network_with_parent_options_round_trips() -> None:
    from seaway.model.network import ParentOptions

    original = dual_stack_network(
        driver="ipvlan",
        driver_options=ParentOptions(parent="eth0.10", mode="l3s", flag="private", vlan_link="eth0", vlan_id=10),
        config_from="cfg",
    )
    assert codec.network_from_doc(through_json(codec.network_to_doc(original))) == original


def test_config_only_network_round_trips_and_old_documents_still_load() -> None:
    original = dual_stack_network(driver="null", driver_options=None, config_only=True)
    assert codec.network_from_doc(through_json(codec.network_to_doc(original))) == original
    old = codec.network_to_doc(dual_stack_network())
    for key in ("config_only", "config_from"):
        del old[key]
    options = old.pop("driver_options")  # documents written before options were open:
    del options["kind"]
    old["bridge"], old["parent"] = options, None  # a "bridge" and a "parent" key
    assert codec.network_from_doc(through_json(old)) == dual_stack_network()
