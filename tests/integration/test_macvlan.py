"""macvlan networks on a fake host: the parent is the fake host's uplink, whose other end
is the outside world's link, so containers share the outside world's L2 segment."""

from __future__ import annotations

import ipaddress
import json

import pytest
from tests.integration import checks

from seaway.engine import Engine
from seaway.errors import Forbidden, InvalidParameter, NotFound, Unsupported
from seaway.lab.fakehost import OUTSIDE_ADDR, FakeHost, in_ns, ping
from seaway.model.endpoint import EndpointSpec
from seaway.model.network import IPAMConfigSpec, NetworkSpec

pytestmark = pytest.mark.netns

SEGMENT = IPAMConfigSpec(subnet="203.0.113.0/24", gateway=OUTSIDE_ADDR, ip_range="203.0.113.128/26")


def macvlan(name: str = "mv", **options: str) -> NetworkSpec:
    return NetworkSpec(name=name, driver="macvlan", ipam_configs=(SEGMENT,), options={"parent": "uplink0", **options})


def mac_of(key: str, ifname: str = "eth0") -> str:
    return json.loads(in_ns(key, "ip", "-j", "link", "show", "dev", ifname, check=True).stdout)[0]["address"]


def neighbour_mac(host: FakeHost, address: str) -> str | None:
    out = json.loads(in_ns(host.outside_ns, "ip", "-j", "neigh", "show", address, check=True).stdout)
    return out[0].get("lladdr") if out else None


def test_containers_reach_each_other_and_the_segment_each_with_its_own_mac(engine: Engine, fake_host: FakeHost) -> None:
    engine.create_network(macvlan())
    a, b = engine.create_sandbox("a"), engine.create_sandbox("b")
    ep_a, ep_b = engine.connect(a.id, "mv"), engine.connect(b.id, "mv")

    assert str(ep_a.ipv4) == "203.0.113.128"
    assert checks.addresses_in(a.key, "eth0") == ["203.0.113.128/24"]
    assert checks.default_route(a.key) == f"{OUTSIDE_ADDR} dev eth0"
    assert ping(a.key, str(ep_b.ipv4))
    assert ping(a.key, OUTSIDE_ADDR) and ping(b.key, OUTSIDE_ADDR)
    assert ping(fake_host.outside_ns, str(ep_a.ipv4))
    assert mac_of(a.key) == ep_a.mac_address != mac_of(b.key) == ep_b.mac_address
    # the outside world saw each container's own MAC, not the host's
    assert neighbour_mac(fake_host, str(ep_a.ipv4)) == ep_a.mac_address
    assert neighbour_mac(fake_host, str(ep_b.ipv4)) == ep_b.mac_address
    # no NAT: the outside world sees the container's address
    assert fake_host.udp_source_seen_outside(a.key) == str(ep_a.ipv4)


def test_the_host_reaches_its_containers_only_through_the_shim(engine: Engine, fake_host: FakeHost) -> None:
    engine.create_network(macvlan("plain"))
    sb = engine.create_sandbox("c1")
    ep = engine.connect(sb.id, "plain")
    assert not ping(fake_host.host_ns, str(ep.ipv4))

    in_ns(fake_host.outside_ns, "ip", "neigh", "flush", "all")
    engine.disconnect(sb.id, "plain")
    engine.remove_network("plain")
    net = engine.create_network(macvlan("shimmed", host_shim="true"))
    shim = net.subnets[0].aux_addresses["seaway-host-shim"]
    ep = engine.connect(sb.id, "shimmed")

    assert str(shim) == "203.0.113.128" and str(ep.ipv4) == "203.0.113.129"
    assert ping(fake_host.host_ns, str(ep.ipv4))
    assert ping(sb.key, str(shim))
    engine.disconnect(sb.id, "shimmed")
    engine.remove_network("shimmed")
    assert not any(name.startswith("sh-") for name in checks.host_links(fake_host))


def test_private_mode_keeps_containers_apart_but_not_from_the_segment(engine: Engine) -> None:
    engine.create_network(macvlan(macvlan_mode="private"))
    a, b = engine.create_sandbox("a"), engine.create_sandbox("b")
    engine.connect(a.id, "mv")
    ep_b = engine.connect(b.id, "mv")

    assert not ping(a.key, str(ep_b.ipv4))
    assert ping(a.key, OUTSIDE_ADDR) and ping(b.key, OUTSIDE_ADDR)


def test_no_parent_means_an_internal_parent_of_its_own(engine: Engine, fake_host: FakeHost) -> None:
    net = engine.create_network(NetworkSpec(name="island", driver="macvlan"))
    a, b = engine.create_sandbox("a"), engine.create_sandbox("b")
    engine.connect(a.id, "island")
    ep_b = engine.connect(b.id, "island")
    dummy = f"dm-{net.id[:12]}"

    assert net.internal and net.driver_options is not None and net.driver_options.parent == dummy
    assert dummy in checks.host_links(fake_host)
    assert ping(a.key, str(ep_b.ipv4))
    assert checks.default_route(a.key) is None
    engine.remove_sandbox(a.id)
    engine.remove_sandbox(b.id)
    engine.remove_network("island")
    assert not any(name.startswith(("dm-", "dmp-")) for name in checks.host_links(fake_host))


def test_disconnect_removes_the_interface_and_frees_the_address(engine: Engine) -> None:
    engine.create_network(macvlan())
    sb = engine.create_sandbox("a")
    first = engine.connect(sb.id, "mv")
    engine.disconnect(sb.id, "mv")

    assert "eth0" not in checks.interface_names(sb.key)
    assert engine.connect(sb.id, "mv").ipv4 == first.ipv4


def test_kernel_features_are_probed(engine: Engine) -> None:
    assert engine.kernel_features["macvlan"] is True
    assert set(engine.kernel_features) == {"macvlan", "ipvlan", "8021q"}


@pytest.mark.parametrize(
    ("spec", "error", "text"),
    [
        (
            macvlan(parent="nosuch0"),
            InvalidParameter,
            "invalid subinterface vlan name nosuch0, example formatting is eth0.10",
        ),
        (macvlan(parent="nosuch0.10"), NotFound, "-o parent interface was not found on the host: nosuch0"),
        (macvlan(parent="lo"), InvalidParameter, "loopback interface is not a valid macvlan parent link"),
        (
            macvlan(macvlan_mode="bogus"),
            InvalidParameter,
            "requested macvlan mode 'bogus' is not valid, 'bridge' mode is the macvlan driver default",
        ),
        (macvlan(parent="uplink0.5000"), InvalidParameter, "vlan id must be between 1-4094, received: 5000"),
        (
            macvlan(parent="uplink0.1.2"),
            InvalidParameter,
            "required interface name format is: name.vlan_id, ex. eth0.10 for vlan 10, instead received uplink0.1.2",
        ),
        (macvlan(colour="blue"), InvalidParameter, "invalid option 'colour' for driver macvlan"),
    ],
)
def test_bad_requests_are_refused_and_leave_nothing(
    engine: Engine, fake_host: FakeHost, spec: NetworkSpec, error: type, text: str
) -> None:
    before = checks.host_links(fake_host)
    with pytest.raises(error, match=text.replace(".", r"\.").replace("(", r"\(").replace(")", r"\)")):
        engine.create_network(spec)
    assert checks.host_links(fake_host) == before
    assert "mv" not in {n.name for n in engine.networks()}


def test_passthru_takes_the_parent_alone(engine: Engine) -> None:
    first = engine.create_network(macvlan("one", macvlan_mode="passthru"))
    with pytest.raises(
        Forbidden, match=f"macvlan network {first.id} is already using parent interface uplink0 in mode passthru"
    ):
        engine.create_network(macvlan("two"))
    engine.remove_network("one")
    second = engine.create_network(macvlan("two"))
    with pytest.raises(Forbidden, match=f"cannot use mode passthru, macvlan network {second.id} is already using"):
        engine.create_network(macvlan("three", macvlan_mode="passthru"))


def test_this_kernel_refuses_ipvlan_and_vlan_parents_by_name(engine: Engine, fake_host: FakeHost) -> None:
    if engine.kernel_features["ipvlan"] or engine.kernel_features["8021q"]:
        pytest.skip("this kernel has ipvlan or 802.1Q: the VM tests cover them")
    before = checks.host_links(fake_host)
    with pytest.raises(Unsupported, match=r"ipvlan is not supported by this kernel \(CONFIG_IPVLAN\)"):
        engine.create_network(NetworkSpec(name="iv", driver="ipvlan", options={"parent": "uplink0"}))
    with pytest.raises(Unsupported, match=r"802\.1Q VLAN is not supported by this kernel \(CONFIG_VLAN_8021Q\)"):
        engine.create_network(macvlan(parent="uplink0.10"))
    assert checks.host_links(fake_host) == before
    assert {n.name for n in engine.networks()} == {"bridge", "host", "none"}


def test_a_chosen_mac_is_used_and_a_bad_one_refused(engine: Engine) -> None:
    engine.create_network(macvlan())
    sb = engine.create_sandbox("a")
    with pytest.raises(InvalidParameter, match="invalid MAC"):
        engine.connect(sb.id, "mv", EndpointSpec(mac_address="zz"))
    engine.connect(sb.id, "mv", EndpointSpec(mac_address="02:00:5e:00:53:01"))
    assert mac_of(sb.key) == "02:00:5e:00:53:01"


def test_config_only_and_config_from_networks(engine: Engine, fake_host: FakeHost) -> None:
    links_before = checks.host_links(fake_host)
    cfg = engine.create_network(
        NetworkSpec(
            name="mv-cfg", driver="bridge", config_only=True, ipam_configs=(SEGMENT,), options={"parent": "uplink0"}
        )
    )
    assert cfg.driver == "null" and cfg.config_only and str(cfg.subnets[0].ip_range) == "203.0.113.128/26"
    assert checks.host_links(fake_host) == links_before
    sb = engine.create_sandbox("a")
    with pytest.raises(Forbidden, match="cannot create endpoint on configuration-only network"):
        engine.connect(sb.id, "mv-cfg")
    with pytest.raises(NotFound, match='configuration network "nope" does not exist'):
        engine.create_network(NetworkSpec(name="mv", driver="macvlan", config_from="nope"))
    with pytest.raises(Forbidden, match="network driver options are not supported"):
        engine.create_network(NetworkSpec(name="mv", driver="macvlan", config_from="mv-cfg", options={"parent": "x"}))
    with pytest.raises(Forbidden, match="user specified configurations are not supported"):
        engine.create_network(NetworkSpec(name="mv", driver="macvlan", config_from="mv-cfg", ipam_configs=(SEGMENT,)))

    net = engine.create_network(NetworkSpec(name="mv", driver="macvlan", config_from="mv-cfg"))
    assert net.config_from == "mv-cfg" and net.driver_options is not None and net.driver_options.parent == "uplink0"
    ep = engine.connect(sb.id, "mv")
    assert str(ep.ipv4) == "203.0.113.128"
    assert ping(sb.key, OUTSIDE_ADDR)
    with pytest.raises(Forbidden, match='configuration network "mv-cfg" is in use'):
        engine.remove_network("mv-cfg")
    engine.disconnect(sb.id, "mv")
    engine.remove_network("mv")
    engine.remove_network("mv-cfg")


def test_restart_keeps_macvlan_endpoints_and_repairs_them(engine_factory, fake_host: FakeHost) -> None:  # type: ignore[no-untyped-def]
    engine = engine_factory()
    net = engine.create_network(NetworkSpec(name="island", driver="macvlan"))
    a, b = engine.create_sandbox("a"), engine.create_sandbox("b")
    engine.connect(a.id, "island")
    ep_b = engine.connect(b.id, "island")
    in_ns(a.key, "ip", "link", "del", "eth0", check=True)
    engine.close()

    again = engine_factory()
    assert ping(a.key, str(ep_b.ipv4))
    assert f"dm-{net.id[:12]}" in checks.host_links(fake_host)
    assert again.endpoint(a.id, "island").ipv4 is not None


def test_docker_cli_containers_on_macvlan_find_each_other_by_name(seawayd, busybox_tar) -> None:  # type: ignore[no-untyped-def]
    def ok(*args: str) -> str:
        result = seawayd.docker(*args)
        assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
        return result.stdout

    ok("import", str(busybox_tar), "busybox")
    ok(
        *("network", "create", "-d", "macvlan", "-o", "parent=uplink0", "--subnet", "203.0.113.0/24"),
        *("--gateway", OUTSIDE_ADDR, "--ip-range", "203.0.113.64/27", "lan"),
    )
    ok("run", "-d", "--name", "web", "--network", "lan", "busybox", "sleep", "300")
    out = ok(
        "run", "--rm", "--network", "lan", "busybox", "sh", "-c", f"ping -c1 -W2 web && ping -c1 -W2 {OUTSIDE_ADDR}"
    )
    assert "203.0.113.64" in out  # web's address, found by name

    settings = json.loads(ok("inspect", "web"))[0]["NetworkSettings"]["Networks"]["lan"]
    assert settings["IPAddress"] == "203.0.113.64" and settings["Gateway"] == OUTSIDE_ADDR
    assert settings["MacAddress"] and "web" in settings["DNSNames"]
    assert json.loads(ok("info", "--format", "{{json .Plugins.Network}}")).count("macvlan") == 1
    status, info = seawayd.request("GET", "/info")
    assert status == 200 and info["SeawayKernelFeatures"]["macvlan"] is True
    assert set(info["SeawayKernelFeatures"]) == {"macvlan", "ipvlan", "8021q"}


def test_dual_stack_macvlan_reaches_siblings_and_the_router_over_ipv6(engine: Engine, fake_host: FakeHost) -> None:
    in_ns(fake_host.outside_ns, "ip", "addr", "add", "2001:db8:1::1/64", "dev", "world0", "nodad", check=True)
    v6 = IPAMConfigSpec(subnet="2001:db8:1::/64", gateway="2001:db8:1::1")
    spec = NetworkSpec(
        name="mv6", driver="macvlan", enable_ipv6=True, ipam_configs=(SEGMENT, v6), options={"parent": "uplink0"}
    )
    engine.create_network(spec)
    a, b = engine.create_sandbox("a"), engine.create_sandbox("b")
    engine.connect(a.id, "mv6")
    ep_b = engine.connect(b.id, "mv6")

    assert ep_b.ipv6 is not None and ep_b.ipv6 in ipaddress.ip_network("2001:db8:1::/64")
    assert ping(a.key, str(ep_b.ipv6), tries=3)
    assert ping(a.key, "2001:db8:1::1", tries=3)
    assert checks.default_route(a.key, 6) == "2001:db8:1::1 dev eth0"
