"""The invariant checker (pure): a consistent state has no finding; each kind of damage
gives one with a reason; only Seaway-marked leftovers are flagged for gc."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

from seaway.drivers.bridge import BridgeDriver
from seaway.drivers.macvlan import IpvlanDriver, MacvlanDriver
from seaway.firewall import ruleset
from seaway.invariants import (
    ContainerRecord,
    Desired,
    LinkState,
    Observed,
    SandboxState,
    check,
    elements_of_commands,
    elements_of_listing,
)
from seaway.model.endpoint import Endpoint, Sandbox
from seaway.model.network import BridgeOptions, Network, ParentOptions, Subnet

NET_ID = "n" * 64
EP_ID = "e" * 64
SB_ID = "s" * 64
CTR_ID = "c" * 64
KEY = "/run/seaway/netns/" + SB_ID[:12]


def _world() -> tuple[Desired, Observed]:
    subnet = Subnet(ipaddress.ip_network("10.9.0.0/24"), None, ipaddress.ip_address("10.9.0.1"), {}, True)
    net = Network(
        id=NET_ID, name="web", driver="bridge", scope="local", created="", subnets=(subnet,),
        enable_ipv6=False, internal=False, attachable=False, options={}, labels={},
        driver_options=BridgeOptions(bridge_name="br-web"),
    )  # fmt: skip
    sb = Sandbox(id=SB_ID, name="app", mode="private", key=KEY)
    ep = Endpoint(
        id=EP_ID, network_id=NET_ID, sandbox_id=SB_ID, name="app", ifname="eth0", host_ifname="veth1234567",
        mac_address="02:42:0a:09:00:02", ipv4=ipaddress.ip_address("10.9.0.2"), ipv6=None,
        ipv4_prefixlen=24, ipv6_prefixlen=0, aliases=(), gw_priority=0,
    )  # fmt: skip
    rules = ruleset.NetworkRules("br-web", internal=False, icc=True, masquerade=True, subnets=(subnet.subnet,))
    elements = elements_of_commands(ruleset.full([rules], []))
    driver = BridgeDriver(None, 0, False)  # type: ignore[arg-type]  # its descriptions are pure
    desired = Desired(
        networks=[(net, "ready")],
        sandboxes=[(sb, "ready")],
        endpoints=[(ep, "ready")],
        nft_elements=elements,
        containers=[ContainerRecord(CTR_ID, "app", "running", SB_ID, (NET_ID,))],
        expected={NET_ID: driver.expect_network(net), EP_ID: driver.expect_endpoint(net, ep)},
        named_networks=frozenset({NET_ID}),
    )
    observed = Observed(
        host_links={
            "br-web": LinkState(
                "br-web", "bridge", f"seaway:net:{NET_ID}", up=True, addresses=frozenset({"10.9.0.1/24"})
            ),
            "veth1234567": LinkState("veth1234567", "veth", f"seaway:ep:{EP_ID}", master="br-web", up=True),
            "eth0": LinkState("eth0", "veth", up=True),  # the host's own
        },
        routes=frozenset({"10.9.0.0/24 dev br-web"}),
        namespace_files={"default": True, SB_ID[:12]: True},
        sandboxes={
            KEY: SandboxState(
                links={
                    "lo": LinkState("lo", "", up=True),
                    "eth0": LinkState(
                        "eth0", "veth", up=True, mac="02:42:0a:09:00:02", addresses=frozenset({"10.9.0.2/24"})
                    ),
                },
                default_routes={4: "10.9.0.1 dev eth0"},
            )
        },
        nft_elements=elements,
        leases={NET_ID: frozenset({"10.9.0.2"})},
        dns={NET_ID: frozenset({"app 10.9.0.2"})},
        processes={CTR_ID: "running"},
    )
    return desired, observed


def problems(desired: Desired, observed: Observed) -> list[tuple[str, str, bool]]:
    return [(f.kind, f.problem, f.leftover) for f in check(desired, observed)]


def test_a_consistent_world_has_no_finding() -> None:
    assert check(*_world()) == []


def test_a_missing_bridge_is_reported_with_its_endpoint() -> None:
    desired, observed = _world()
    links = dict(observed.host_links)
    del links["br-web"]
    links["veth1234567"] = replace(links["veth1234567"], master="")
    found = problems(desired, replace(observed, host_links=links))
    assert ("network", "bridge br-web is missing (deleted by hand?)", False) in found
    assert ("endpoint", "veth veth1234567 is not a port of any bridge, not of br-web", False) in found


def test_wrong_addresses_routes_and_mac_inside_the_sandbox() -> None:
    desired, observed = _world()
    inside = observed.sandboxes[KEY]
    assert inside is not None
    eth0 = replace(inside.links["eth0"], mac="02:00:00:00:00:01", addresses=frozenset({"10.9.0.9/24"}))
    broken = SandboxState(links={**inside.links, "eth0": eth0}, default_routes={})
    found = problems(desired, replace(observed, sandboxes={KEY: broken}))
    assert ("endpoint", "eth0 has MAC 02:00:00:00:00:01, the store says 02:42:0a:09:00:02", False) in found
    assert ("endpoint", "eth0 lacks its address 10.9.0.2/24", False) in found
    assert ("endpoint", "eth0 has an address the store does not know: 10.9.0.9/24", False) in found
    assert ("sandbox", "IPv4 default route is absent, should be 10.9.0.1 dev eth0", False) in found


def test_only_seaway_marked_objects_are_leftovers() -> None:
    desired, observed = _world()
    links = {
        **observed.host_links,
        "br-old": LinkState("br-old", "bridge", "seaway:net:" + "9" * 64),
        "br-theirs": LinkState("br-theirs", "bridge", "somebody's"),
    }
    observed = replace(
        observed,
        host_links=links,
        routes=observed.routes | {"10.8.0.0/24 dev br-old"},
        namespace_files={**observed.namespace_files, "deadbeef0000": False},
        nft_elements=(observed.nft_elements or frozenset()) | {"inet bridges br-old"},
    )
    leftovers = {(f.kind, f.target) for f in check(desired, observed) if f.leftover}
    assert leftovers == {
        ("link", "br-old"),
        ("route", "10.8.0.0/24 dev br-old"),
        ("netns", "deadbeef0000"),
        ("nftables", "inet bridges br-old"),
    }


def test_missing_nft_elements_and_tables() -> None:
    desired, observed = _world()
    found = problems(desired, replace(observed, nft_elements=frozenset()))
    assert ("nftables", "set element is missing", False) in found
    assert [f.problem for f in check(desired, replace(observed, nft_elements=None))] == [
        "Seaway's nftables tables are missing (ruleset flushed?)"
    ]


def test_ipam_dns_and_processes_must_match_the_store() -> None:
    desired, observed = _world()
    observed = replace(
        observed,
        leases={NET_ID: frozenset({"10.9.0.2", "10.9.0.3"})},
        dns={NET_ID: frozenset({"ghost 10.9.0.7"})},
        processes={CTR_ID: "stopped", "x" * 64: "running"},
    )
    found = problems(desired, observed)
    assert ("ipam", "10.9.0.3 is leased but no endpoint uses it", False) in found
    assert ("dns", "record app 10.9.0.2 is missing", False) in found
    assert ("dns", "stale record ghost 10.9.0.7", False) in found
    assert ("container", "the store says running, the runtime says stopped", False) in found
    assert ("container", "the runtime has a container (running) the store does not know", False) in found


def test_interrupted_operations_in_the_store_are_reported() -> None:
    desired, observed = _world()
    net, _ = desired.networks[0]
    found = problems(replace(desired, networks=[(net, "creating")]), observed)
    assert found[0][0] == "store" and "interrupted operation (state 'creating')" in found[0][1]


def test_element_keys_are_the_same_from_commands_and_from_a_listing() -> None:
    listing = {
        "nftables": [
            {"set": {"family": "inet", "name": "bridges", "elem": ["br-web"]}},
            {"set": {"family": "inet", "name": "same-bridge", "elem": [{"concat": ["br-web", "br-web"]}]}},
            {"set": {"family": "inet", "name": "masquerade-v4", "elem": [{"prefix": {"addr": "10.9.0.0", "len": 24}}]}},
            {"set": {"family": "inet", "name": "hairpin-v4", "elem": [{"prefix": {"addr": "10.9.0.0", "len": 24}}]}},
        ]
    }
    rules = ruleset.NetworkRules(
        "br-web", internal=False, icc=True, masquerade=True, subnets=(ipaddress.ip_network("10.9.0.0/24"),)
    )
    assert elements_of_listing(listing) == elements_of_commands(ruleset.add_network(rules))


def test_a_container_and_its_endpoints_must_name_the_same_networks() -> None:
    desired, observed = _world()
    other = "o" * 64
    ctr = replace(desired.containers[0], networks=(other,))  # type: ignore[index]
    found = problems(replace(desired, containers=[ctr]), observed)
    assert ("container", f"not attached to network {other[:12]} it is on", False) in found
    assert ("container", f"attached to network {NET_ID[:12]} it is not on", False) in found


def test_members_of_macvlan_and_ipvlan_networks_have_names_in_dns_and_no_stale_record() -> None:
    # the checker once decided on its own that only bridges have names, and reported the
    # records of named macvlan/ipvlan members as stale; now the drivers' answer is used
    desired, observed = _world()
    net, _ = desired.networks[0]
    ep, _ = desired.endpoints[0]
    for driver in (MacvlanDriver(None, None), IpvlanDriver(None, None)):  # type: ignore[arg-type]
        options = ParentOptions("uplink0", "bridge" if driver.name == "macvlan" else "l2")
        onparent = replace(net, driver=driver.name, driver_options=options)
        parented = replace(ep, host_ifname="", mac_address=ep.mac_address if driver.own_mac else "")
        world = replace(
            desired,
            networks=[(onparent, "ready")],
            endpoints=[(parented, "ready")],
            expected={NET_ID: driver.expect_network(onparent), EP_ID: driver.expect_endpoint(onparent, parented)},
            named_networks=frozenset({NET_ID}) if driver.names_members(onparent) else frozenset(),
        )
        seen = replace(
            observed,
            host_links={"uplink0": LinkState("uplink0", "veth", up=True)},
            routes=frozenset(),
        )
        assert driver.names_members(onparent)
        assert check(world, seen) == [], driver.name
