"""Bad input: a clear error of the right class, and nothing created."""

from __future__ import annotations

import pytest
from tests.integration import checks

from seaway.engine import Engine
from seaway.errors import Conflict, Forbidden, InvalidParameter, NotFound, SeawayError, Unavailable
from seaway.lab.fakehost import FakeHost
from seaway.model.endpoint import EndpointSpec
from seaway.model.network import IPAMConfigSpec, NetworkSpec

pytestmark = pytest.mark.netns


def _snapshot(engine: Engine, host: FakeHost) -> tuple[object, ...]:
    return (
        sorted(n.name for n in engine.networks()),
        checks.host_links(host),
        checks.all_elements(host),
        sorted(p.name for p in (host.exec_root / "netns").iterdir()),
    )


BAD_CREATES = [
    pytest.param(
        NetworkSpec(name="x", ipam_configs=(IPAMConfigSpec(subnet="10.10.0.0/33"),)),
        InvalidParameter,
        "invalid subnet 10.10.0.0/33: invalid CIDR address",
        id="invalid-cidr",
    ),
    pytest.param(
        NetworkSpec(name="x", ipam_configs=(IPAMConfigSpec(subnet="10.10.0.1/24"),)),
        InvalidParameter,
        "invalid subnet 10.10.0.1/24: it should be 10.10.0.0/24",
        id="host-bits-set",
    ),
    pytest.param(
        NetworkSpec(name="x", ipam_configs=(IPAMConfigSpec(subnet="10.10.0.0/24", gateway="10.20.0.1"),)),
        InvalidParameter,
        "invalid gateway 10.20.0.1: parent subnet 10.10.0.0/24 doesn't contain this address",
        id="gateway-outside-subnet",
    ),
    pytest.param(
        NetworkSpec(name="x", ipam_configs=(IPAMConfigSpec(subnet="10.50.0.0/16"),)),
        Forbidden,
        "invalid pool request: Pool overlaps with other one on this address space",
        id="overlapping-subnet",
    ),
    pytest.param(NetworkSpec(name="taken"), Conflict, "network with name taken already exists", id="duplicate-name"),
    pytest.param(NetworkSpec(name="   "), InvalidParameter, "invalid name", id="invalid-name"),
    pytest.param(NetworkSpec(name="x", driver="weave"), NotFound, 'plugin "weave" not found', id="unknown-driver"),
    pytest.param(
        NetworkSpec(name="x", driver="overlay"), Unavailable, "This node is not a swarm manager.", id="not-in-swarm"
    ),
    pytest.param(
        NetworkSpec(name="x", options={"com.docker.network.bridge.colour": "blue"}),
        InvalidParameter,
        "invalid option 'com.docker.network.bridge.colour' for driver bridge",
        id="unknown-option",
    ),
    pytest.param(
        NetworkSpec(name="x", options={"com.docker.network.bridge.enable_icc": "maybe"}),
        InvalidParameter,
        "failed to parse com.docker.network.bridge.enable_icc value: 'maybe'",
        id="malformed-bool-option",
    ),
    pytest.param(
        NetworkSpec(name="x", options={"com.docker.network.driver.mtu": "-5"}),
        InvalidParameter,
        "invalid MTU number: -5",
        id="negative-mtu",
    ),
    pytest.param(
        NetworkSpec(name="x", options={"com.docker.network.bridge.name": "a-name-far-too-long"}),
        InvalidParameter,
        "invalid interface name 'a-name-far-too-long'",
        id="bridge-name-too-long",
    ),
    pytest.param(
        NetworkSpec(name="x", ipam_driver="infoblox"),
        NotFound,
        'plugin "infoblox" not found',
        id="unknown-ipam",
    ),
    pytest.param(NetworkSpec(name="x", driver="host"), Forbidden, 'only one instance of "host"', id="second-host"),
    pytest.param(NetworkSpec(name="x", scope="swarm"), Forbidden, "swarm is not active", id="swarm-scope"),
]


@pytest.mark.parametrize(("spec", "error", "message"), BAD_CREATES)
def test_bad_network_create_is_refused_and_creates_nothing(
    engine: Engine, fake_host: FakeHost, spec: NetworkSpec, error: type[SeawayError], message: str
) -> None:
    engine.create_network(NetworkSpec(name="taken", ipam_configs=(IPAMConfigSpec(subnet="10.50.0.0/24"),)))
    before = _snapshot(engine, fake_host)

    with pytest.raises(error) as caught:
        engine.create_network(spec)

    assert message in str(caught.value)
    assert _snapshot(engine, fake_host) == before


BAD_CONNECTS = [
    pytest.param(EndpointSpec(ipv4_address="10.60.0.1"), Forbidden, "Address already in use", id="gateway-address"),
    pytest.param(
        EndpointSpec(ipv4_address="10.61.0.5"),
        InvalidParameter,
        "it does not belong to any of this network's subnets",
        id="address-outside",
    ),
    pytest.param(EndpointSpec(ipv4_address="10.60.0.300"), InvalidParameter, "invalid IPv4 address", id="bad-address"),
    pytest.param(
        EndpointSpec(mac_address="03:00:00:00:00:01"),
        InvalidParameter,
        "invalid MAC address",
        id="multicast-mac",
    ),
]


@pytest.mark.parametrize(("spec", "error", "message"), BAD_CONNECTS)
def test_bad_connect_is_refused_and_leaves_nothing(
    engine: Engine, fake_host: FakeHost, spec: EndpointSpec, error: type[SeawayError], message: str
) -> None:
    engine.create_network(NetworkSpec(name="fixed", ipam_configs=(IPAMConfigSpec(subnet="10.60.0.0/24"),)))
    sb = engine.create_sandbox("c1")
    before = _snapshot(engine, fake_host)

    with pytest.raises(error, match=message):
        engine.connect(sb.id, "fixed", spec)

    assert _snapshot(engine, fake_host) == before
    assert engine.endpoints_of_sandbox(sb.id) == []
    assert str(engine.connect(sb.id, "fixed").ipv4) == "10.60.0.2"


def test_static_address_on_network_without_user_subnet_is_refused(engine: Engine) -> None:
    engine.create_network(NetworkSpec(name="auto"))
    sb = engine.create_sandbox("c1")

    with pytest.raises(Forbidden, match="only when connecting to networks with user configured subnets"):
        engine.connect(sb.id, "auto", EndpointSpec(ipv4_address="172.18.0.9"))


def test_connecting_twice_is_refused_as_docker_does(engine: Engine) -> None:
    # one rule for the engine and the API (seaway.engine.rules): Docker's 403 and text
    engine.create_network(NetworkSpec(name="n1"))
    sb = engine.create_sandbox("c1")
    engine.connect(sb.id, "n1")

    with pytest.raises(Forbidden, match="^endpoint with name c1 already exists in network n1$"):
        engine.connect(sb.id, "n1")


def test_a_kernel_failure_midway_undoes_every_step(engine: Engine, fake_host: FakeHost) -> None:
    engine.create_network(NetworkSpec(name="n1"))
    sb = engine.create_sandbox("c1")
    from seaway.lab.fakehost import in_ns

    # an interface already named eth0 in the sandbox makes the veth creation fail late
    in_ns(sb.key, "ip", "link", "add", "eth0", "type", "bridge", check=True)
    before = _snapshot(engine, fake_host)

    with pytest.raises(SeawayError):
        engine.connect(sb.id, "n1")

    assert _snapshot(engine, fake_host) == before
    assert engine.endpoints_of_sandbox(sb.id) == []
    in_ns(sb.key, "ip", "link", "del", "eth0", check=True)
    assert str(engine.connect(sb.id, "n1").ipv4) == "172.18.0.2"  # the address was given back
