"""Swarm network allocation: subnets, VXLAN ids and the refusals, as a manager plans them."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from seaway.cluster import netrecords
from seaway.errors import Conflict, Forbidden, InvalidParameter, Unsupported
from seaway.model.network import IPAMConfigSpec, NetworkSpec

NOW = "2026-12-03T00:00:00+00:00"


def plan(spec: NetworkSpec, taken: list[str] = (), vnis: set[int] = frozenset(), **kw: Any) -> dict[str, Any]:  # type: ignore[assignment]
    return netrecords.plan(
        spec, "n" * 25, NOW,
        taken_subnets=[ipaddress.ip_network(t) for t in taken], taken_vnis=set(vnis),
        address_pools=kw.get("pools", []), subnet_size=kw.get("size", 24), cluster_id="c",
    )  # fmt: skip


def test_first_network_after_ingress_gets_docker_s_next_subnet_and_vni() -> None:
    ingress = netrecords.ingress("i" * 25, NOW)
    assert ingress["Subnets"][0]["Subnet"] == "10.0.0.0/24" and ingress["VNI"] == 4096
    record = plan(NetworkSpec(name="ovl", driver="overlay"), ["10.0.0.0/24"], {4096})
    assert [(s["Subnet"], s["Gateway"]) for s in record["Subnets"]] == [("10.0.1.0/24", "10.0.1.1")]
    assert record["VNI"] == 4097
    assert record["Options"]["com.docker.network.driver.overlay.vxlanid_list"] == "4097"


def test_given_subnet_vni_and_ipv6() -> None:
    spec = NetworkSpec(
        name="v6", driver="overlay", enable_ipv6=True,
        ipam_configs=(IPAMConfigSpec(subnet="10.9.0.0/16"), IPAMConfigSpec(subnet="2001:db8:1::/64")),
        options={"com.docker.network.driver.overlay.vxlanid_list": "5000"},
    )  # fmt: skip
    record = plan(spec)
    assert [s["Gateway"] for s in record["Subnets"]] == ["10.9.0.1", "2001:db8:1::1"] and record["VNI"] == 5000
    auto = plan(NetworkSpec(name="auto6", driver="overlay", enable_ipv6=True))
    assert ipaddress.ip_network(auto["Subnets"][1]["Subnet"]).prefixlen == 64


def test_local_network_of_a_record_takes_the_nodes_vtep_and_the_inner_mtu() -> None:
    record = plan(NetworkSpec(name="ovl", driver="overlay", attachable=True))
    net = netrecords.to_network(record, "192.0.2.1")
    assert net.scope == "swarm" and net.attachable and net.driver_options.mtu == 1450  # type: ignore[union-attr]
    assert netrecords.to_network(record, "2001:db8::1").driver_options.mtu == 1430  # type: ignore[union-attr]
    small = plan(NetworkSpec(name="s", driver="overlay", options={"com.docker.network.driver.mtu": "1400"}))
    assert netrecords.to_network(small, "192.0.2.1").driver_options.mtu == 1400  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("spec", "taken", "vnis", "error", "text"),
    [
        (NetworkSpec(name="x", driver="overlay", ipam_configs=(IPAMConfigSpec(subnet="10.0.1.0/25"),)),
         ["10.0.1.0/24"], set(), Forbidden, "overlap"),
        (NetworkSpec(name="x", driver="overlay", options={"com.docker.network.driver.overlay.vxlanid_list": "4097"}),
         [], {4097}, Conflict, "VXLAN id 4097 is already in use"),
        (NetworkSpec(name="x", driver="overlay", options={"encrypted": ""}), [], set(), Unsupported, "encrypted"),
        (NetworkSpec(name="x", driver="overlay", options={"colour": "blue"}), [], set(), InvalidParameter, "colour"),
        (NetworkSpec(name="host", driver="overlay"), [], set(), Forbidden, "predefined"),
        (NetworkSpec(name="x", driver="bridge", scope="swarm"), [], set(), Unsupported, "bridge"),
        (NetworkSpec(name="x", driver="macvlan", scope="swarm", config_from="c",
                     ipam_configs=(IPAMConfigSpec(subnet="10.9.0.0/24"),)),
         [], set(), Forbidden, "^user specified configurations are not supported if the network depends on a configuration"),
        (NetworkSpec(name="x", driver="macvlan", scope="swarm", config_from="c", enable_ipv6=True), [], set(), Forbidden,
         "^user specified configurations"),
        (NetworkSpec(name="x", driver="macvlan", scope="swarm", config_from="c", options={"parent": "eth0"}), [], set(),
         Forbidden, "^network driver options are not supported if the network depends on a configuration network$"),
        (NetworkSpec(name="x", scope="swarm", config_only=True), [], set(), Forbidden,
         r"^configuration network can only contain network specific fields. Network operator fields like \[ ingress"),
        (NetworkSpec(name="x", driver="overlay", config_from="c"), [], set(), Unsupported, "configuration network"),
    ],
)  # fmt: skip
def test_refusals(spec: NetworkSpec, taken: list[str], vnis: set[int], error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        plan(spec, taken, vnis)


def test_an_exhausted_pool_is_refused_with_docker_s_text() -> None:
    with pytest.raises(InvalidParameter, match="could not find an available, non-overlapping IPv4 address pool"):
        plan(NetworkSpec(name="x", driver="overlay"), ["10.0.0.0/8"])


def test_a_node_local_record_names_its_configuration_and_allocates_nothing() -> None:
    spec = NetworkSpec(name="mvs", driver="macvlan", scope="swarm", config_from="cfg", attachable=True)
    record = plan(spec)
    assert (record["Driver"], record["ConfigFrom"], record["Subnets"], "VNI" in record) == ("macvlan", "cfg", [], False)
    net = netrecords.to_network(record, "192.0.2.1")
    assert net.placeholder and net.node_local and not net.multi_host
    assert (net.scope, net.driver, net.config_from, net.attachable, net.subnets) == (
        "swarm",
        "macvlan",
        "cfg",
        True,
        (),
    )
