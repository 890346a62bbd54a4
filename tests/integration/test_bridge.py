"""Bridge networks on a fake host: reachability, isolation, NAT, internal, ICC."""

from __future__ import annotations

import json

import pytest
from tests.integration import checks

from seaway.engine import Engine
from seaway.lab.fakehost import FAR_ADDR, HOST_UPLINK, OUTSIDE_ADDR, FakeHost, in_ns, ping
from seaway.model.endpoint import EndpointSpec
from seaway.model.network import IPAMConfigSpec, NetworkSpec

pytestmark = pytest.mark.netns


def test_two_networks_reach_inside_not_across_and_reach_outside_masqueraded(
    engine: Engine, fake_host: FakeHost
) -> None:
    engine.create_network(NetworkSpec(name="front"))
    engine.create_network(NetworkSpec(name="back"))
    a1, a2, b1 = (engine.create_sandbox(n) for n in ("a1", "a2", "b1"))
    ep_a1 = engine.connect(a1.id, "front")
    ep_a2 = engine.connect(a2.id, "front")
    ep_b1 = engine.connect(b1.id, "back")

    assert ping(a1.key, str(ep_a2.ipv4))
    assert not ping(a1.key, str(ep_b1.ipv4))
    assert not ping(b1.key, str(ep_a1.ipv4))
    assert ping(a1.key, OUTSIDE_ADDR)
    assert ping(b1.key, FAR_ADDR)
    assert fake_host.udp_source_seen_outside(a1.key) == HOST_UPLINK
    assert fake_host.udp_source_seen_outside(b1.key, FAR_ADDR) == HOST_UPLINK


def test_sandbox_gets_eth0_address_and_default_route_through_gateway(engine: Engine) -> None:
    net = engine.create_network(NetworkSpec(name="n1"))
    sb = engine.create_sandbox("c1")
    ep = engine.connect(sb.id, "n1")

    gateway = net.subnets[0].gateway
    assert str(net.subnets[0].subnet) == "172.18.0.0/16"  # 172.17/16 is the default bridge
    assert str(gateway) == "172.18.0.1"
    assert str(ep.ipv4) == "172.18.0.2"
    assert checks.addresses_in(sb.key, "eth0") == ["172.18.0.2/16"]
    assert checks.default_route(sb.key) == "172.18.0.1 dev eth0"
    assert ep.mac_address in in_ns(sb.key, "ip", "link", "show", "eth0").stdout
    assert ping(sb.key, str(gateway))


def test_outside_cannot_reach_container_addresses_directly(engine: Engine, fake_host: FakeHost) -> None:
    engine.create_network(NetworkSpec(name="n1"))
    sb = engine.create_sandbox("c1")
    ep = engine.connect(sb.id, "n1")
    in_ns(fake_host.outside_ns, "ip", "route", "add", "172.18.0.0/16", "via", HOST_UPLINK, check=True)

    assert not ping(fake_host.outside_ns, str(ep.ipv4))


def test_internal_network_members_talk_but_reach_nothing_outside(engine: Engine, fake_host: FakeHost) -> None:
    engine.create_network(NetworkSpec(name="vault", internal=True))
    s1, s2 = engine.create_sandbox("s1"), engine.create_sandbox("s2")
    engine.connect(s1.id, "vault")
    ep2 = engine.connect(s2.id, "vault")

    assert ping(s1.key, str(ep2.ipv4))
    assert checks.default_route(s1.key) is None
    assert not ping(s1.key, OUTSIDE_ADDR)
    assert fake_host.udp_source_seen_outside(s1.key) is None


def test_internal_network_gets_no_way_out_even_with_a_manual_route(engine: Engine) -> None:
    net = engine.create_network(NetworkSpec(name="vault", internal=True))
    sb = engine.create_sandbox("s1")
    engine.connect(sb.id, "vault")
    in_ns(sb.key, "ip", "route", "add", "default", "via", str(net.subnets[0].gateway), check=True)

    assert not ping(sb.key, OUTSIDE_ADDR)


def test_icc_off_blocks_neighbours_while_gateway_answers(engine: Engine) -> None:
    net = engine.create_network(NetworkSpec(name="solo", options={"com.docker.network.bridge.enable_icc": "false"}))
    s1, s2 = engine.create_sandbox("s1"), engine.create_sandbox("s2")
    engine.connect(s1.id, "solo")
    ep2 = engine.connect(s2.id, "solo")

    assert not ping(s1.key, str(ep2.ipv4))
    assert ping(s1.key, str(net.subnets[0].gateway))
    assert ping(s2.key, OUTSIDE_ADDR)


def test_masquerade_off_keeps_container_source_address(engine: Engine, fake_host: FakeHost) -> None:
    engine.create_network(
        NetworkSpec(name="plain", options={"com.docker.network.bridge.enable_ip_masquerade": "false"})
    )
    sb = engine.create_sandbox("c1")
    ep = engine.connect(sb.id, "plain")
    in_ns(fake_host.outside_ns, "ip", "route", "add", "172.18.0.0/16", "via", HOST_UPLINK, check=True)

    assert fake_host.udp_source_seen_outside(sb.key) == str(ep.ipv4)


def test_mtu_option_sets_both_veth_ends(engine: Engine, fake_host: FakeHost) -> None:
    engine.create_network(NetworkSpec(name="small", options={"com.docker.network.driver.mtu": "1400"}))
    sb = engine.create_sandbox("c1")
    ep = engine.connect(sb.id, "small")

    assert "mtu 1400" in in_ns(sb.key, "ip", "link", "show", "eth0").stdout
    assert "mtu 1400" in in_ns(fake_host.host_ns, "ip", "link", "show", ep.host_ifname).stdout


def test_custom_bridge_name_is_used(engine: Engine, fake_host: FakeHost) -> None:
    engine.create_network(NetworkSpec(name="named", options={"com.docker.network.bridge.name": "swbr0"}))

    assert "swbr0" in checks.host_links(fake_host)


def test_interfaces_are_numbered_in_attach_order_and_reuse_the_lowest(engine: Engine) -> None:
    for name in ("n1", "n2", "n3"):
        engine.create_network(NetworkSpec(name=name))
    sb = engine.create_sandbox("c1")
    assert [engine.connect(sb.id, n).ifname for n in ("n1", "n2", "n3")] == ["eth0", "eth1", "eth2"]

    engine.disconnect(sb.id, "n2")
    engine.create_network(NetworkSpec(name="n4"))

    assert engine.connect(sb.id, "n4").ifname == "eth1"
    assert "eth1" in in_ns(sb.key, "ip", "-br", "link").stdout


def test_gateway_priority_then_network_name_choose_the_default_route(engine: Engine) -> None:
    engine.create_network(NetworkSpec(name="bbb"))
    engine.create_network(NetworkSpec(name="aaa"))
    sb = engine.create_sandbox("c1")
    engine.connect(sb.id, "bbb")
    assert checks.default_route(sb.key) == "172.18.0.1 dev eth0"

    engine.connect(sb.id, "aaa")
    assert checks.default_route(sb.key) == "172.19.0.1 dev eth1"  # name ascending

    engine.create_network(NetworkSpec(name="zzz"))
    engine.connect(sb.id, "zzz", EndpointSpec(gw_priority=10))
    assert checks.default_route(sb.key) == "172.20.0.1 dev eth2"

    engine.disconnect(sb.id, "zzz")
    assert checks.default_route(sb.key) == "172.19.0.1 dev eth1"


def test_static_address_and_mac_are_honoured(engine: Engine) -> None:
    engine.create_network(
        NetworkSpec(name="fixed", ipam_configs=(IPAMConfigSpec(subnet="10.77.0.0/24", gateway="10.77.0.254"),))
    )
    sb = engine.create_sandbox("c1")
    ep = engine.connect(sb.id, "fixed", EndpointSpec(ipv4_address="10.77.0.50", mac_address="02:42:0a:4d:00:32"))

    assert checks.addresses_in(sb.key, "eth0") == ["10.77.0.50/24"]
    assert "02:42:0a:4d:00:32" in in_ns(sb.key, "ip", "link", "show", "eth0").stdout
    assert checks.default_route(sb.key) == "10.77.0.254 dev eth0"
    assert ep.static_ipv4


def test_dual_stack_network_gives_both_families_and_routes(engine: Engine) -> None:
    net = engine.create_network(
        NetworkSpec(
            name="dual",
            enable_ipv6=True,
            ipam_configs=(IPAMConfigSpec(subnet="2001:db8:5::/64"),),
        )
    )
    s1, s2 = engine.create_sandbox("s1"), engine.create_sandbox("s2")
    engine.connect(s1.id, "dual")
    ep2 = engine.connect(s2.id, "dual")

    assert str(net.subnets_of(6)[0].gateway) == "2001:db8:5::1"
    assert str(ep2.ipv6) == "2001:db8:5::3"
    assert checks.default_route(s1.key, 6) == "2001:db8:5::1 dev eth0"
    assert ping(s1.key, str(ep2.ipv6), tries=3)
    assert ping(s1.key, "2001:db8:5::1", tries=3)


def test_ipv6_without_subnet_takes_a_ula_64(engine: Engine) -> None:
    net = engine.create_network(NetworkSpec(name="ula", enable_ipv6=True))

    v6 = net.subnets_of(6)[0].subnet
    assert v6.prefixlen == 64 and str(v6).startswith("fd")


def test_ipv4_only_endpoint_has_ipv6_disabled_on_its_interface(engine: Engine) -> None:
    engine.create_network(NetworkSpec(name="v4"))
    sb = engine.create_sandbox("c1")
    engine.connect(sb.id, "v4")

    assert in_ns(sb.key, "cat", "/proc/sys/net/ipv6/conf/eth0/disable_ipv6").stdout.strip() == "1"


def test_icc_off_also_blocks_neighbours_reached_through_the_gateway(engine: Engine, fake_host: FakeHost) -> None:
    net = engine.create_network(NetworkSpec(name="solo", options={"com.docker.network.bridge.enable_icc": "false"}))
    s1, s2 = engine.create_sandbox("s1"), engine.create_sandbox("s2")
    engine.connect(s1.id, "solo")
    ep2 = engine.connect(s2.id, "solo")
    assert net.driver_options is not None
    bridge = json.loads(in_ns(fake_host.host_ns, "ip", "-j", "link", "show", net.driver_options.bridge_name).stdout)
    # send frames for the neighbour to the gateway's MAC, so the host routes them
    in_ns(s1.key, "ip", "neigh", "replace", str(ep2.ipv4), "lladdr", bridge[0]["address"], "dev", "eth0", check=True)

    assert not ping(s1.key, str(ep2.ipv4))
