"""ipvlan networks and 802.1Q parents: on the VM's kernel when this machine's lacks them
(``@pytest.mark.kernel``, see docs/vm-runner.md)."""

from __future__ import annotations

import json

import pytest
from tests.integration import checks

from seaway.daemon import doctor
from seaway.engine import Engine
from seaway.errors import Forbidden
from seaway.lab.fakehost import OUTSIDE_ADDR, FakeHost, in_ns, ping
from seaway.model.network import IPAMConfigSpec, NetworkSpec
from seaway.state.store import Store

pytestmark = pytest.mark.netns

SEGMENT = IPAMConfigSpec(subnet="203.0.113.0/24", gateway=OUTSIDE_ADDR, ip_range="203.0.113.128/26")


def mac_of(key: str, ifname: str) -> str:
    return json.loads(in_ns(key, "ip", "-j", "link", "show", "dev", ifname, check=True).stdout)[0]["address"]


@pytest.mark.kernel("ipvlan")
def test_ipvlan_l2_containers_share_the_parent_mac_and_reach_the_segment(engine: Engine, fake_host: FakeHost) -> None:
    engine.create_network(
        NetworkSpec(name="iv", driver="ipvlan", ipam_configs=(SEGMENT,), options={"parent": "uplink0"})
    )
    a, b = engine.create_sandbox("a"), engine.create_sandbox("b")
    ep_a, ep_b = engine.connect(a.id, "iv"), engine.connect(b.id, "iv")

    parent_mac = mac_of(fake_host.host_ns, "uplink0")
    assert mac_of(a.key, "eth0") == parent_mac == mac_of(b.key, "eth0")
    assert ep_a.mac_address == ""
    assert ping(a.key, str(ep_b.ipv4))
    assert ping(a.key, OUTSIDE_ADDR)
    assert ping(fake_host.outside_ns, str(ep_b.ipv4))
    assert checks.default_route(a.key) == f"{OUTSIDE_ADDR} dev eth0"


@pytest.mark.kernel("ipvlan")
@pytest.mark.parametrize("mode", ["l3", "l3s"])
def test_ipvlan_l3_reaches_a_peer_that_has_the_reported_route(engine: Engine, fake_host: FakeHost, mode: str) -> None:
    net = engine.create_network(
        NetworkSpec(
            name="routed",
            driver="ipvlan",
            ipam_configs=(IPAMConfigSpec(subnet="198.51.100.128/25"),),
            options={"parent": "uplink0", "ipvlan_mode": mode},
        )
    )
    sb = engine.create_sandbox("a")
    ep = engine.connect(sb.id, "routed")
    routes = engine.upstream_routes(net)

    assert net.subnets[0].gateway is None
    assert routes == ["198.51.100.128/25 via 203.0.113.2"]
    assert "default dev eth0" in in_ns(sb.key, "ip", "route", check=True).stdout
    assert not ping(sb.key, OUTSIDE_ADDR)  # the outside world has no way back yet
    in_ns(fake_host.outside_ns, "ip", "route", "add", *routes[0].split(), check=True)
    assert ping(sb.key, OUTSIDE_ADDR)
    assert ping(fake_host.outside_ns, str(ep.ipv4))


@pytest.mark.kernel("8021q")
def test_a_vlan_parent_is_created_tagged_and_removed_with_its_last_network(engine: Engine, fake_host: FakeHost) -> None:
    # a VLAN-aware peer: the outside world's end of the wire gets the same VLAN
    in_ns(
        fake_host.outside_ns,
        "ip",
        "link",
        "add",
        "link",
        "world0",
        "name",
        "world0.42",
        "type",
        "vlan",
        "id",
        "42",
        check=True,
    )
    in_ns(fake_host.outside_ns, "ip", "addr", "add", "192.0.2.1/24", "dev", "world0.42", check=True)
    in_ns(fake_host.outside_ns, "ip", "link", "set", "world0.42", "up", check=True)
    tagged = IPAMConfigSpec(subnet="192.0.2.0/24", gateway="192.0.2.1")
    spec = NetworkSpec(name="v42", driver="macvlan", ipam_configs=(tagged,), options={"parent": "uplink0.42"})
    engine.create_network(spec)
    second = IPAMConfigSpec(subnet="10.42.0.0/24")
    engine.create_network(
        NetworkSpec(name="v42b", driver="macvlan", ipam_configs=(second,), options={"parent": "uplink0.42"})
    )
    sb = engine.create_sandbox("a")
    ep = engine.connect(sb.id, "v42")

    details = json.loads(in_ns(fake_host.host_ns, "ip", "-d", "-j", "link", "show", "uplink0.42", check=True).stdout)[0]
    assert details["linkinfo"]["info_kind"] == "vlan" and details["linkinfo"]["info_data"]["id"] == 42
    assert ping(sb.key, "192.0.2.1")  # only a peer on VLAN 42 answers: frames leave tagged
    assert ping(fake_host.outside_ns, str(ep.ipv4))

    engine.disconnect(sb.id, "v42")
    engine.remove_network("v42")
    assert "uplink0.42" in checks.host_links(fake_host)  # v42b still uses it
    engine.remove_network("v42b")
    assert "uplink0.42" not in checks.host_links(fake_host)


@pytest.mark.kernel("8021q")
def test_a_vlan_link_the_user_made_is_never_removed(engine: Engine, fake_host: FakeHost) -> None:
    in_ns(
        fake_host.host_ns,
        "ip",
        "link",
        "add",
        "link",
        "uplink0",
        "name",
        "uplink0.7",
        "type",
        "vlan",
        "id",
        "7",
        check=True,
    )
    engine.create_network(
        NetworkSpec(
            name="v7",
            driver="macvlan",
            ipam_configs=(IPAMConfigSpec(subnet="10.7.0.0/24"),),
            options={"parent": "uplink0.7"},
        )
    )
    engine.remove_network("v7")
    assert "uplink0.7" in checks.host_links(fake_host)


@pytest.mark.kernel("ipvlan")
def test_ipvlan_private_flag_keeps_containers_apart_and_parents_take_one_kind(engine: Engine) -> None:
    options = {"parent": "uplink0", "ipvlan_flag": "private"}
    net = engine.create_network(NetworkSpec(name="iv", driver="ipvlan", ipam_configs=(SEGMENT,), options=options))
    a, b = engine.create_sandbox("a"), engine.create_sandbox("b")
    engine.connect(a.id, "iv")
    ep_b = engine.connect(b.id, "iv")

    assert " private " in in_ns(a.key, "ip", "-d", "link", "show", "eth0", check=True).stdout
    assert not ping(a.key, str(ep_b.ipv4))
    assert ping(a.key, OUTSIDE_ADDR)
    with pytest.raises(Forbidden, match=f"ipvlan network {net.id} is already using parent interface uplink0"):
        engine.create_network(NetworkSpec(name="mv", driver="macvlan", options={"parent": "uplink0"}))


@pytest.mark.kernel("8021q")
def test_a_restart_keeps_a_shared_vlan_parent_and_removes_a_stale_one(engine_factory, fake_host: FakeHost) -> None:  # type: ignore[no-untyped-def]
    engine = engine_factory()
    engine.create_network(NetworkSpec(name="v5", driver="macvlan", options={"parent": "uplink0.5"}))
    stale = engine.create_network(NetworkSpec(name="v6", driver="macvlan", options={"parent": "uplink0.6"}))
    engine.close()
    # the store forgets v6 (as if its removal was interrupted after the record went)
    in_ns(fake_host.host_ns, "ip", "link", "set", "uplink0.5", "down", check=True)
    store = Store(fake_host.data_root / "seaway.db")
    with store.transaction():
        store.delete_network(stale.id)
    store.close()

    again = engine_factory()
    links = checks.host_links(fake_host)
    assert "uplink0.5" in links and "uplink0.6" not in links
    assert '"UP"' in in_ns(fake_host.host_ns, "ip", "-j", "link", "show", "uplink0.5", check=True).stdout
    again.remove_network("v5")
    assert "uplink0.5" not in checks.host_links(fake_host)


@pytest.mark.kernel("ipvlan")
@pytest.mark.parametrize("mode", ["l2", "l3"])
def test_the_doctor_agrees_with_an_ipvlan_network_and_sees_its_damage(
    engine: Engine, fake_host: FakeHost, mode: str
) -> None:
    engine.create_network(
        NetworkSpec(
            name="iv", driver="ipvlan", ipam_configs=(SEGMENT,), options={"parent": "uplink0", "ipvlan_mode": mode}
        )
    )
    a, b = engine.create_sandbox("a"), engine.create_sandbox("b")
    engine.connect(a.id, "iv")
    engine.connect(b.id, "iv")

    assert doctor.examine(engine) == []
    in_ns(b.key, "ip", "link", "del", "eth0", check=True)
    problems = {(f.kind, f.problem) for f in doctor.examine(engine)}
    assert ("endpoint", "interface eth0 is missing in the sandbox") in problems
