"""Removal, predefined networks, host/none sandboxes and what is left behind."""

from __future__ import annotations

import pytest
from tests.integration import checks

from seaway.engine import Engine
from seaway.errors import Forbidden
from seaway.lab.fakehost import FakeHost, in_ns
from seaway.model.endpoint import SandboxMode
from seaway.model.network import NetworkSpec

pytestmark = pytest.mark.netns


def test_removing_a_network_with_endpoints_fails_with_dockers_message(engine: Engine) -> None:
    engine.create_network(NetworkSpec(name="busy"))
    sb = engine.create_sandbox("web")
    engine.connect(sb.id, "busy")
    net = engine.network("busy")

    with pytest.raises(Forbidden) as err:
        engine.remove_network("busy")
    assert str(err.value) == f"error while removing network: network busy id {net.id} has active endpoints"


def test_after_detaching_removal_leaves_no_bridge_veth_element_or_lease(engine: Engine, fake_host: FakeHost) -> None:
    links_before = checks.host_links(fake_host)
    elements_before = checks.all_elements(fake_host)
    net = engine.create_network(NetworkSpec(name="tmp", options={"com.docker.network.bridge.enable_icc": "false"}))
    sb = engine.create_sandbox("web")
    ep = engine.connect(sb.id, "tmp")
    assert ep.host_ifname in checks.host_links(fake_host)

    engine.disconnect(sb.id, "tmp")
    engine.remove_network("tmp")

    assert checks.host_links(fake_host) == links_before
    assert checks.all_elements(fake_host) == elements_before
    again = engine.create_network(NetworkSpec(name="tmp2"))
    assert again.subnets[0].subnet == net.subnets[0].subnet  # the subnet lease was released
    assert str(engine.connect(sb.id, "tmp2").ipv4) == str(ep.ipv4)  # and the address


def test_removing_a_sandbox_removes_its_namespace_and_endpoints(engine: Engine, fake_host: FakeHost) -> None:
    engine.create_network(NetworkSpec(name="n1"))
    engine.create_network(NetworkSpec(name="n2"))
    sb = engine.create_sandbox("web")
    eps = [engine.connect(sb.id, "n1"), engine.connect(sb.id, "n2")]

    engine.remove_sandbox(sb.id)

    links = checks.host_links(fake_host)
    assert not any(ep.host_ifname in links for ep in eps)
    assert not (fake_host.exec_root / "netns" / sb.key.rsplit("/", 1)[1]).exists()
    assert engine.endpoints_of_network(engine.network("n1").id) == []


def test_predefined_networks_exist_and_cannot_be_removed_or_recreated(engine: Engine) -> None:
    names = {n.name: n.driver for n in engine.networks()}
    assert names == {"bridge": "bridge", "host": "host", "none": "null"}

    with pytest.raises(Forbidden, match="^bridge is a pre-defined network and cannot be removed$"):
        engine.remove_network("bridge")
    with pytest.raises(Forbidden, match="^operation is not permitted on predefined host network $"):
        engine.create_network(NetworkSpec(name="host", driver="bridge"))


def test_default_bridge_follows_bip_and_name_and_has_a_working_gateway(engine_factory, fake_host: FakeHost) -> None:  # type: ignore[no-untyped-def]
    engine = engine_factory(bridge="swdock0", bip="10.99.0.1/24")
    net = engine.network("bridge")
    sb = engine.create_sandbox("c1")
    ep = engine.connect(sb.id, "bridge")

    assert str(net.subnets[0].subnet) == "10.99.0.0/24"
    assert "swdock0" in checks.host_links(fake_host)
    assert str(ep.ipv4) == "10.99.0.2"
    assert checks.default_route(sb.key) == "10.99.0.1 dev eth0"


def test_default_bridge_can_be_disabled(engine_factory, fake_host: FakeHost) -> None:  # type: ignore[no-untyped-def]
    engine = engine_factory(bridge="none")

    assert {n.name for n in engine.networks()} == {"host", "none"}
    assert "docker0" not in checks.host_links(fake_host)


def test_none_sandbox_has_loopback_only_and_cannot_join_others(engine: Engine) -> None:
    sb = engine.create_sandbox("quiet", mode=SandboxMode.NONE)
    engine.connect(sb.id, "none")
    engine.create_network(NetworkSpec(name="n1"))

    assert checks.interface_names(sb.key) == {"lo"}
    with pytest.raises(Forbidden, match="private \\(none\\) mode"):
        engine.connect(sb.id, "n1")


def test_host_sandbox_uses_the_host_namespace_and_only_the_host_network(engine: Engine) -> None:
    sb = engine.create_sandbox("hosty", mode=SandboxMode.HOST)
    engine.connect(sb.id, "host")
    engine.create_network(NetworkSpec(name="n1"))

    assert "uplink0" in checks.interface_names(sb.key)
    with pytest.raises(
        Forbidden, match="^container cannot be disconnected from host network or connected to host network$"
    ):
        engine.connect(sb.id, "n1")
    other = engine.create_sandbox("c2")
    with pytest.raises(Forbidden):
        engine.connect(other.id, "host")


def test_host_route_overlap_moves_automatic_subnets_along(engine_factory, fake_host: FakeHost) -> None:  # type: ignore[no-untyped-def]
    in_ns(fake_host.host_ns, "ip", "addr", "add", "172.17.5.1/16", "dev", "uplink0", check=True)
    engine = engine_factory()

    assert str(engine.network("bridge").subnets[0].subnet) == "172.18.0.0/16"
    with pytest.raises(Forbidden, match="overlaps with the host's route to 172.17.0.0/16"):
        from seaway.model.network import IPAMConfigSpec

        engine.create_network(NetworkSpec(name="clash", ipam_configs=(IPAMConfigSpec(subnet="172.17.0.0/24"),)))
