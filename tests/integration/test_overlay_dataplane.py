"""The overlay driver's data plane across two fake hosts on one underlay, its peers told
(as the cluster's agent will tell them): containers on two hosts reach each other over
VXLAN with static entries only, at the inner MTU, and the network's namespace lives
exactly as long as its local endpoints."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest

from seaway.cluster import netrecords
from seaway.drivers.overlay import VNI_OPTION, namespace_path
from seaway.engine import Engine, EngineConfig
from seaway.kernel import netns
from seaway.lab.fakehost import FakeHost, in_ns, ping
from seaway.model.endpoint import Endpoint, EndpointSpec, RemoteEndpoint
from seaway.model.network import IPAMConfigSpec, Network, NetworkSpec

pytestmark = pytest.mark.netns

UNDERLAY = {1: "198.51.100.1", 2: "198.51.100.2"}
SUBNET = IPAMConfigSpec(subnet="10.200.0.0/24", gateway="10.200.0.1")


class Host:
    def __init__(self, fake: FakeHost) -> None:
        self.fake = fake
        with fake.entered():
            self.engine = Engine.start(EngineConfig(data_root=fake.data_root, exec_root=fake.exec_root))

    def __call__(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        with self.fake.entered():
            return fn(*args, **kwargs)

    def close(self) -> None:
        with self.fake.entered():
            self.engine.close()


@pytest.fixture
def hosts(_made_here: set[str]) -> Iterator[tuple[Host, Host]]:
    fakes = [FakeHost(), FakeHost()]
    made = []
    try:
        for fake in fakes:
            _made_here.add(fake.prefix)
        a, b = fakes
        in_ns(a.host_ns, "ip", "link", "add", "ul0", "type", "veth", "peer", "name", "ul0", "netns", b.host_name,
              check=True)  # fmt: skip
        for index, fake in enumerate(fakes, start=1):
            in_ns(fake.host_ns, "ip", "addr", "add", f"{UNDERLAY[index]}/24", "dev", "ul0", check=True)
            in_ns(fake.host_ns, "ip", "link", "set", "ul0", "up", check=True)
        for fake in fakes:
            made.append(Host(fake))
        yield made[0], made[1]
    finally:
        for host in made:
            host.close()
        for fake in fakes:
            fake.close()


def overlay(index: int) -> Network:
    """The network a swarm's manager would store, as host ``index`` takes it in; local
    scope, so the engine's own IPAM hands out addresses (no cluster here)."""
    spec = NetworkSpec(name="ov", driver="overlay", ipam_configs=(SUBNET,), options={VNI_OPTION: "4097"})
    record = netrecords.plan(
        spec, "0vtest0network00000000001", "2026-12-03T00:00:00+00:00",
        taken_subnets=[], taken_vnis=set(), address_pools=[], subnet_size=24, cluster_id="test",
    )  # fmt: skip
    return replace(netrecords.to_network(record, UNDERLAY[index]), scope="local")


def remote(ep: Endpoint, index: int) -> RemoteEndpoint:
    return RemoteEndpoint(ep.id, ep.mac_address, UNDERLAY[index], ep.ipv4, ep.ipv6)  # type: ignore[arg-type]


def test_containers_on_two_hosts_reach_each_other_over_vxlan_with_static_peers(hosts: tuple[Host, Host]) -> None:
    h1, h2 = hosts
    h1(h1.engine.adopt_network, overlay(1))
    h2(h2.engine.adopt_network, overlay(2))
    # lazy: nothing is made on a host before a local endpoint needs it
    ov1 = namespace_path(h1.engine.config.netns_dir, h1.engine.network("ov").id)
    assert not netns.is_pinned(ov1)

    sb1, sb2 = h1(h1.engine.create_sandbox, "c1"), h2(h2.engine.create_sandbox, "c2")
    ep1 = h1(h1.engine.connect, sb1.id, "ov", EndpointSpec(ipv4_address="10.200.0.2"))
    ep2 = h2(h2.engine.connect, sb2.id, "ov", EndpointSpec(ipv4_address="10.200.0.3"))
    assert netns.is_pinned(ov1)
    assert not ping(sb1.key, "10.200.0.3")  # no peers told yet: nothing is learned

    h1(h1.engine.set_peers, "ov", [remote(ep2, 2)])
    h2(h2.engine.set_peers, "ov", [remote(ep1, 1)])

    # the failed ping above left the container's ARP entry retrying once a second: allow it that
    assert ping(sb1.key, "10.200.0.3", tries=3) and ping(sb2.key, "10.200.0.2")
    eth0 = json.loads(in_ns(sb1.key, "ip", "-j", "link", "show", "eth0", check=True).stdout)[0]
    assert eth0["mtu"] == 1450
    fdb = json.loads(in_ns(str(ov1), "bridge", "-j", "fdb", "show", "dev", "vx0", check=True).stdout)
    remote_entries = {(e["mac"], e.get("dst")) for e in fdb if e.get("dst")}
    assert remote_entries == {(ep2.mac_address, UNDERLAY[2]), ("00:00:00:00:00:00", UNDERLAY[2])}
    assert all("permanent" in e.get("state", "permanent") for e in fdb if e.get("dst"))  # nothing learned
    vx = json.loads(in_ns(str(ov1), "ip", "-d", "-j", "link", "show", "vx0", check=True).stdout)[0]
    data = vx["linkinfo"]["info_data"]
    assert data["id"] == 4097 and data["learning"] is False and data["proxy"] is True and data["local"] == UNDERLAY[1]

    h1(h1.engine.set_peers, "ov", [])  # the peer leaves: its entries go, traffic stops
    assert not ping(sb1.key, "10.200.0.3")

    h1(h1.engine.disconnect, sb1.id, "ov")  # the last local endpoint: the network's namespace goes
    assert not ov1.exists() or not netns.is_pinned(ov1)
