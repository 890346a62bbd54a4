"""Which network gives a container its default routes."""

from __future__ import annotations

import ipaddress
import random
from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from seaway.model.endpoint import Endpoint
from seaway.model.gateway import pick_default_routes
from seaway.model.network import Network, Subnet

ip = ipaddress.ip_address


def network(name: str, v4_gw: str | None = None, v6_gw: str | None = None, internal: bool = False) -> Network:
    subnets = []
    if v4_gw is not None:
        subnets.append(Subnet(ipaddress.ip_network(v4_gw + "/24", strict=False), None, ip(v4_gw), {}, False))
    if v6_gw is not None:
        subnets.append(Subnet(ipaddress.ip_network(v6_gw + "/64", strict=False), None, ip(v6_gw), {}, False))
    return Network(
        id=name * 4,
        name=name,
        driver="bridge",
        scope="local",
        created="",
        subnets=tuple(subnets),
        enable_ipv6=v6_gw is not None,
        internal=internal,
        attachable=False,
        options={},
        labels={},
    )


def endpoint(net: Network, ifname: str, priority: int = 0, v4: bool = True, v6: bool = True) -> Endpoint:
    v4_addr = v6_addr = None
    for s in net.subnets:
        if s.version == 4 and v4:
            v4_addr = s.subnet[2]
        if s.version == 6 and v6:
            v6_addr = s.subnet[2]
    return Endpoint(
        id=ifname * 8,
        network_id=net.id,
        sandbox_id="sb",
        name=f"ctr-{net.name}",
        ifname=ifname,
        host_ifname="veth" + ifname,
        mac_address="02:00:00:00:00:01",
        ipv4=v4_addr,
        ipv6=v6_addr,
        ipv4_prefixlen=24,
        ipv6_prefixlen=64,
        aliases=(),
        gw_priority=priority,
    )


def member(net: Network, ifname: str, priority: int = 0, **kw: bool) -> tuple[Endpoint, Network]:
    return endpoint(net, ifname, priority, **kw), net


def test_no_endpoints_means_no_default_routes() -> None:
    assert pick_default_routes([]) == {4: None, 6: None}


def test_single_ipv4_network_provides_the_ipv4_default_route() -> None:
    routes = pick_default_routes([member(network("web", "172.18.0.1"), "eth0")])
    assert routes == {4: (ip("172.18.0.1"), "eth0"), 6: None}


def test_higher_gateway_priority_wins_over_name_order() -> None:
    routes = pick_default_routes(
        [member(network("alpha", "10.1.0.1"), "eth0"), member(network("zulu", "10.2.0.1"), "eth1", priority=5)]
    )
    assert routes[4] == (ip("10.2.0.1"), "eth1")


def test_negative_priority_loses_to_the_default() -> None:
    routes = pick_default_routes(
        [member(network("alpha", "10.1.0.1"), "eth0", priority=-1), member(network("zulu", "10.2.0.1"), "eth1")]
    )
    assert routes[4] == (ip("10.2.0.1"), "eth1")


def test_internal_network_never_provides_a_default_route() -> None:
    routes = pick_default_routes([member(network("backend", "10.1.0.1", "fd00:1::1", internal=True), "eth0")])
    assert routes == {4: None, 6: None}


def test_internal_network_with_higher_priority_still_does_not_provide_the_route() -> None:
    routes = pick_default_routes(
        [
            member(network("a-internal", "10.1.0.1", internal=True), "eth0", priority=100),
            member(network("z-public", "10.2.0.1"), "eth1"),
        ]
    )
    assert routes[4] == (ip("10.2.0.1"), "eth1")


def test_network_with_more_gateways_goes_first() -> None:
    routes = pick_default_routes(
        [member(network("alpha", "10.1.0.1"), "eth0"), member(network("beta", "10.2.0.1", "fd00:2::1"), "eth1")]
    )
    assert routes == {4: (ip("10.2.0.1"), "eth1"), 6: (ip("fd00:2::1"), "eth1")}


def test_priority_beats_the_number_of_gateways() -> None:
    routes = pick_default_routes(
        [
            member(network("alpha", "10.1.0.1"), "eth0", priority=1),
            member(network("beta", "10.2.0.1", "fd00:2::1"), "eth1"),
        ]
    )
    assert routes == {4: (ip("10.1.0.1"), "eth0"), 6: (ip("fd00:2::1"), "eth1")}


def test_equal_networks_are_ordered_by_name_ascending() -> None:
    routes = pick_default_routes(
        [member(network("beta", "10.2.0.1"), "eth0"), member(network("alpha", "10.1.0.1"), "eth1")]
    )
    assert routes[4] == (ip("10.1.0.1"), "eth1")


def test_ipv4_and_ipv6_are_chosen_independently() -> None:
    routes = pick_default_routes(
        [member(network("v6only", v6_gw="fd00:6::1"), "eth0"), member(network("v4only", "10.4.0.1"), "eth1")]
    )
    assert routes == {4: (ip("10.4.0.1"), "eth1"), 6: (ip("fd00:6::1"), "eth0")}


def test_endpoint_without_an_ipv6_address_does_not_provide_the_ipv6_route() -> None:
    routes = pick_default_routes(
        [
            member(network("alpha", "10.1.0.1", "fd00:1::1"), "eth0", v6=False),
            member(network("beta", "10.2.0.1", "fd00:2::1"), "eth1"),
        ]
    )
    assert routes == {4: (ip("10.2.0.1"), "eth1"), 6: (ip("fd00:2::1"), "eth1")}


def test_network_without_a_gateway_is_skipped() -> None:
    no_gw = replace(
        network("alpha", "10.1.0.1"), subnets=(Subnet(ipaddress.ip_network("10.1.0.0/24"), None, None, {}, True),)
    )
    routes = pick_default_routes([member(no_gw, "eth0"), member(network("beta", "10.2.0.1"), "eth1")])
    assert routes[4] == (ip("10.2.0.1"), "eth1")


def test_host_and_null_networks_provide_no_route() -> None:
    routes = pick_default_routes([member(network("host"), "eth0"), member(network("none"), "eth1")])
    assert routes == {4: None, 6: None}


_names = st.text(alphabet="abcdefghij-", min_size=1, max_size=6)


@st.composite
def memberships(draw: st.DrawFn) -> list[tuple[Endpoint, Network]]:
    names = draw(st.lists(_names, min_size=1, max_size=6, unique=True))
    out = []
    for i, name in enumerate(names):
        v4 = f"10.{i}.0.1" if draw(st.booleans()) else None
        v6 = f"fd00:{i}::1" if draw(st.booleans()) else None
        net = network(name, v4, v6, internal=draw(st.booleans()))
        out.append(member(net, f"eth{i}", draw(st.integers(-2, 2))))
    return out


@given(memberships(), st.randoms())
def test_the_choice_does_not_depend_on_join_order(members: list[tuple[Endpoint, Network]], rnd: random.Random) -> None:
    shuffled = list(members)
    rnd.shuffle(shuffled)
    assert pick_default_routes(shuffled) == pick_default_routes(members)


@given(memberships())
def test_the_chosen_gateway_belongs_to_a_non_internal_network_with_that_family(
    members: list[tuple[Endpoint, Network]],
) -> None:
    routes = pick_default_routes(members)
    for version in (4, 6):
        providers = [
            (ep, net)
            for ep, net in members
            if not net.internal and net.subnets_of(version) and (ep.ipv4 if version == 4 else ep.ipv6)
        ]
        if not providers:
            assert routes[version] is None
            continue
        assert routes[version] is not None
        gw, ifname = routes[version]
        ep, net = next((ep, net) for ep, net in members if ep.ifname == ifname)
        assert not net.internal
        assert gw == net.subnets_of(version)[0].gateway
        assert max(e.gw_priority for e, _ in providers) == ep.gw_priority


def test_an_ipvlan_l3_network_routes_on_link_through_its_interface() -> None:
    from seaway.model.network import ParentOptions

    routed = replace(
        network("routed", "10.5.0.1"),
        driver="ipvlan",
        driver_options=ParentOptions(parent="eth0", mode="l3"),
    )
    routed = replace(routed, subnets=tuple(replace(s, gateway=None) for s in routed.subnets))
    assert pick_default_routes([member(routed, "eth0", v6=False)]) == {4: (None, "eth0"), 6: None}
    internal = replace(routed, internal=True)
    assert pick_default_routes([member(internal, "eth0", v6=False)]) == {4: None, 6: None}
