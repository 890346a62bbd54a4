"""Docker's network-driver and IPAM plugin protocols, through the real docker CLI against
seawayd in a fake host, with the example plugin (``examples/plugin``) running there too.

The plugin records every request; the tests compare the methods' order and the
payloads' shapes with what Docker documents (libnetwork's ``docs/remote.md``,
``docs/ipam.md`` and ``drivers/remote``), and look at what a user sees: the container's
interface, addresses and routes, the error texts, and that a failure leaves nothing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from seaway.lab.fakehost import FakeHost, in_ns
from seaway.testing.daemon import SeawayDaemon
from seaway.testing.netplugin import ExamplePlugin

pytestmark = pytest.mark.netns

ROUTE = "192.0.2.0/24"  # the static route the example plugin's Join asks for


def ok(daemon: SeawayDaemon, *args: str) -> str:
    result = daemon.docker(*args)
    assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout


@pytest.fixture
def plugin(fake_host: FakeHost) -> Iterator[ExamplePlugin]:
    p = ExamplePlugin(fake_host, "example", pools=("10.98.0.0/24", "10.98.1.0/24"))
    try:
        p.start("--route", ROUTE)
        yield p
    finally:
        p.kill()


def wait_for(predicate: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s: {predicate}")
        time.sleep(0.05)


def host_links(host: FakeHost) -> set[str]:
    out = in_ns(host.host_ns, "ip", "-j", "link", "show", check=True).stdout
    return {link["ifname"] for link in json.loads(out)}


def in_container(daemon: SeawayDaemon, network: str, *cmd: str) -> str:
    """Run a host program in a fresh container on ``network`` (the seaway/host image)."""
    return ok(daemon, "run", "--rm", "--network", network, "seaway/host", *cmd)


def shape(body: dict) -> dict:
    """A payload's keys, nested: the shape compared with Docker's documented one."""
    return {k: shape(v) if isinstance(v, dict) and k not in ("com.docker.network.generic",) else type(v).__name__
            for k, v in body.items()}  # fmt: skip


def test_remote_driver_gets_docker_call_sequence_and_container_gets_its_interface(
    seawayd: SeawayDaemon, plugin: ExamplePlugin, busybox_tar: Path
) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    net_id = ok(seawayd, "network", "create", "-d", "example", "--subnet", "10.97.0.0/24", "-o", "color=blue", "exnet")
    net_id = net_id.strip()
    assert plugin.methods() == ["Plugin.Activate", "NetworkDriver.GetCapabilities", "NetworkDriver.CreateNetwork"]
    create = plugin.calls()[2]["body"]
    assert create == {
        "NetworkID": net_id,
        "Options": {
            "com.docker.network.generic": {"color": "blue"},
            "com.docker.network.enable_ipv4": True,
            "com.docker.network.enable_ipv6": False,
        },
        "IPv4Data": [{"AddressSpace": "LocalDefault", "Pool": "10.97.0.0/24", "Gateway": "10.97.0.1/24"}],
        "IPv6Data": [],
    }
    net = json.loads(ok(seawayd, "network", "inspect", "exnet"))[0]
    assert (net["Driver"], net["Scope"]) == ("example", "local")
    assert "example" in json.loads(ok(seawayd, "info", "--format", "{{json .Plugins.Network}}"))

    # docker run: the container has the plugin's interface, renamed eth0, addressed and routed
    plugin.forget_calls()
    ok(seawayd, "run", "-d", "--name", "c1", "--network", "exnet", "busybox", "sleep", "600")
    assert plugin.methods() == [
        "NetworkDriver.CreateEndpoint",
        "NetworkDriver.Join",
        "NetworkDriver.ProgramExternalConnectivity",
        "NetworkDriver.EndpointOperInfo",
    ]
    calls = plugin.calls()
    endpoint_id = calls[0]["body"]["EndpointID"]
    assert shape(calls[0]["body"]) == {
        "NetworkID": "str",
        "EndpointID": "str",
        "Options": {},
        "Interface": {"Address": "str", "AddressIPv6": "str", "MacAddress": "str"},
    }
    # the IPAM's address is given; the MAC is left to the plugin (no --mac-address)
    assert calls[0]["body"]["Interface"] == {"Address": "10.97.0.2/24", "AddressIPv6": "", "MacAddress": ""}
    join = calls[1]["body"]
    assert (join["NetworkID"], join["EndpointID"]) == (net_id, endpoint_id)
    assert join["SandboxKey"].startswith(str(seawayd.host.exec_root / "netns"))
    assert shape(calls[2]["body"]) == {"NetworkID": "str", "EndpointID": "str", "Options": {
        "com.docker.network.portmap": "list", "com.docker.network.endpoint.exposedports": "list"}}  # fmt: skip
    assert calls[3]["body"] == {"NetworkID": net_id, "EndpointID": endpoint_id}

    shown = ok(seawayd, "exec", "c1", "ip", "addr", "show", "eth0")
    assert "inet 10.97.0.2/24" in shown
    mac = plugin.state()["endpoints"][endpoint_id]["mac"]  # the one the plugin answered
    assert f"link/ether {mac}" in shown
    routes = ok(seawayd, "exec", "c1", "ip", "route")
    assert "default via 10.97.0.1 dev eth0" in routes
    assert f"{ROUTE} via 10.97.0.1 dev eth0" in routes
    # the plugin's veth left the host for the container; its host side is on the plugin's bridge
    links = host_links(seawayd.host)
    assert f"exc{endpoint_id[:8]}" not in links
    assert f"exh{endpoint_id[:8]}" in links
    assert ok(seawayd, "exec", "c1", "ping", "-c", "1", "-W", "2", "10.97.0.1")  # the plugin's bridge answers
    inspect = json.loads(ok(seawayd, "inspect", "c1"))[0]["NetworkSettings"]["Networks"]["exnet"]
    assert (inspect["IPAddress"], inspect["Gateway"], inspect["MacAddress"]) == ("10.97.0.2", "10.97.0.1", mac)

    # network connect / disconnect of a second container
    ok(seawayd, "run", "-d", "--name", "c2", "busybox", "sleep", "600")
    plugin.forget_calls()
    ok(seawayd, "network", "connect", "exnet", "c2")
    assert plugin.methods()[:2] == ["NetworkDriver.CreateEndpoint", "NetworkDriver.Join"]
    second = plugin.calls()[0]["body"]["EndpointID"]
    assert "inet 10.97.0.3/24" in ok(seawayd, "exec", "c2", "ip", "addr", "show", "eth1")
    plugin.forget_calls()
    ok(seawayd, "network", "disconnect", "exnet", "c2")
    assert plugin.methods() == [
        "NetworkDriver.RevokeExternalConnectivity",
        "NetworkDriver.Leave",
        "NetworkDriver.DeleteEndpoint",
    ]
    assert all(c["body"] == {"NetworkID": net_id, "EndpointID": second} for c in plugin.calls())
    assert "eth1" not in ok(seawayd, "exec", "c2", "ip", "link")
    assert f"exh{second[:8]}" not in host_links(seawayd.host)  # given back, then deleted by the plugin

    # a MAC the user gives is passed, and kept
    plugin.forget_calls()
    ok(seawayd, "run", "-d", "--name", "c3", "--mac-address", "02:42:0a:61:00:33", "--network", "exnet", "busybox",
       "sleep", "600")  # fmt: skip
    assert plugin.calls()[0]["body"]["Interface"]["MacAddress"] == "02:42:0a:61:00:33"
    assert "link/ether 02:42:0a:61:00:33" in ok(seawayd, "exec", "c3", "ip", "link", "show", "eth0")
    ok(seawayd, "rm", "-f", "c3")

    # rm: the endpoint goes, then the network
    ok(seawayd, "rm", "-f", "c1", "c2")
    assert plugin.methods()[-3:] == [
        "NetworkDriver.RevokeExternalConnectivity",
        "NetworkDriver.Leave",
        "NetworkDriver.DeleteEndpoint",
    ]
    plugin.forget_calls()
    ok(seawayd, "network", "rm", "exnet")
    assert plugin.calls() == [{"method": "NetworkDriver.DeleteNetwork", "body": {"NetworkID": net_id}}]
    assert f"exbr-{net_id[:8]}" not in host_links(seawayd.host)


def test_ipam_driver_gives_the_bridge_driver_its_pool_and_addresses(
    seawayd: SeawayDaemon, plugin: ExamplePlugin, busybox_tar: Path
) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "--ipam-driver", "example", "--ipam-opt", "zone=a", "ipnet")
    assert plugin.methods() == [
        "Plugin.Activate",
        "IpamDriver.GetCapabilities",
        "IpamDriver.GetDefaultAddressSpaces",
        "IpamDriver.RequestPool",
        "IpamDriver.RequestAddress",
    ]
    calls = plugin.calls()
    assert calls[3]["body"] == {
        "AddressSpace": "example-local",
        "Pool": "",
        "SubPool": "",
        "Options": {"zone": "a"},
        "V6": False,
    }
    assert calls[4]["body"] == {
        "PoolID": "example/10.98.0.0/24",
        "Address": "",
        "Options": {"RequestAddressType": "com.docker.network.gateway"},
    }
    net = json.loads(ok(seawayd, "network", "inspect", "ipnet"))[0]
    assert net["Driver"] == "bridge"
    assert net["IPAM"]["Driver"] == "example"
    assert net["IPAM"]["Options"] == {"zone": "a"}
    assert net["IPAM"]["Config"] == [{"Subnet": "10.98.0.0/24", "Gateway": "10.98.0.1"}]

    plugin.forget_calls()
    ok(seawayd, "run", "-d", "--name", "c1", "--network", "ipnet", "busybox", "sleep", "600")
    assert plugin.calls() == [
        {
            "method": "IpamDriver.RequestAddress",
            "body": {"PoolID": "example/10.98.0.0/24", "Address": "", "Options": None},
        }
    ]
    assert "inet 10.98.0.2/24" in ok(seawayd, "exec", "c1", "ip", "addr", "show", "eth0")
    assert "default via 10.98.0.1 dev eth0" in ok(seawayd, "exec", "c1", "ip", "route")
    assert plugin.state()["pools"]["example/10.98.0.0/24"] == ["10.98.0.1", "10.98.0.2"]

    plugin.forget_calls()
    ok(seawayd, "rm", "-f", "c1")
    assert plugin.calls() == [
        {"method": "IpamDriver.ReleaseAddress", "body": {"PoolID": "example/10.98.0.0/24", "Address": "10.98.0.2"}}
    ]
    plugin.forget_calls()
    ok(seawayd, "network", "rm", "ipnet")
    assert plugin.calls() == [
        {"method": "IpamDriver.ReleaseAddress", "body": {"PoolID": "example/10.98.0.0/24", "Address": "10.98.0.1"}},
        {"method": "IpamDriver.ReleasePool", "body": {"PoolID": "example/10.98.0.0/24"}},
    ]
    assert plugin.state()["pools"] == {}


def test_a_plugin_error_on_join_reaches_the_user_and_leaves_nothing(
    seawayd: SeawayDaemon, plugin: ExamplePlugin, busybox_tar: Path
) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    plugin.start("--fail", "NetworkDriver.Join=no room on exbr for you")
    ok(seawayd, "network", "create", "-d", "example", "--ipam-driver", "example", "exnet")
    before = host_links(seawayd.host)

    result = seawayd.docker("run", "-d", "--name", "c1", "--network", "exnet", "busybox", "sleep", "600")

    assert result.returncode != 0
    assert "Error response from daemon: remote: no room on exbr for you" in result.stderr
    methods = plugin.methods()
    assert methods[-4:] == [
        "NetworkDriver.CreateEndpoint",
        "NetworkDriver.Join",
        "NetworkDriver.DeleteEndpoint",
        "IpamDriver.ReleaseAddress",
    ]  # libnetwork's rollback of a failed Join (no Leave: nothing was joined), then the address back
    assert host_links(seawayd.host) == before  # the plugin's veth is gone again
    net = json.loads(ok(seawayd, "network", "inspect", "exnet"))[0]
    assert net["Containers"] == {}
    assert plugin.state()["pools"]["example/10.98.0.0/24"] == ["10.98.0.1"]  # only the gateway is leased

    plugin.start("--fail", "NetworkDriver.CreateEndpoint=out of veths")  # libnetwork wraps this one
    result = seawayd.docker("run", "-d", "--name", "c2", "--network", "exnet", "busybox", "sleep", "600")
    assert "failed to create endpoint c2 on network exnet: remote: out of veths" in result.stderr
    assert plugin.methods()[-2:] == ["NetworkDriver.CreateEndpoint", "IpamDriver.ReleaseAddress"]
    assert plugin.state()["pools"]["example/10.98.0.0/24"] == ["10.98.0.1"]


def test_a_plugin_that_dies_mid_join_leaves_nothing_and_a_restarted_one_serves_again(
    seawayd: SeawayDaemon, plugin: ExamplePlugin, busybox_tar: Path
) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "-d", "example", "--subnet", "10.97.0.0/24", "exnet")
    plugin.start("--die-on", "NetworkDriver.Join")  # a restart (its state is kept) that will crash on Join

    result = seawayd.docker("run", "-d", "--name", "c1", "--network", "exnet", "busybox", "sleep", "600")

    assert result.returncode != 0
    assert plugin.wait_exited() == 3
    # Docker's words for a plugin that went away: the call was retried, then given up
    assert f'Post "http://{str(plugin.socket).replace("/", "%2F")}/NetworkDriver.Join"' in result.stderr
    assert "connect: connection refused" in result.stderr
    net = json.loads(ok(seawayd, "network", "inspect", "exnet"))[0]
    assert net["Containers"] == {}
    status = json.loads(ok(seawayd, "inspect", "c1"))[0]["State"]
    assert status["Running"] is False
    assert not any(name.startswith("veth") for name in host_links(seawayd.host))  # no Seaway veth either

    plugin.start()  # restarted: it tidies the endpoint that never joined, and serves again
    assert not any(name.startswith("exc") or name.startswith("exh") for name in host_links(seawayd.host))
    ok(seawayd, "rm", "c1")
    ok(seawayd, "run", "-d", "--name", "c2", "--network", "exnet", "busybox", "sleep", "600")
    # the address the failed container had is free again: the new one gets it
    assert "inet 10.97.0.2/24" in ok(seawayd, "exec", "c2", "ip", "addr", "show", "eth0")


def test_a_missing_plugin_is_dockers_not_found(seawayd: SeawayDaemon) -> None:
    result = seawayd.docker("network", "create", "-d", "nosuchplugin", "n1")
    assert result.returncode == 1
    assert result.stderr.strip() == 'Error response from daemon: plugin "nosuchplugin" not found'
    result = seawayd.docker("network", "create", "--ipam-driver", "nosuchipam", "n1")
    assert result.stderr.strip() == 'Error response from daemon: plugin "nosuchipam" not found'
    assert "n1" not in ok(seawayd, "network", "ls", "--format", "{{.Name}}").split()


def test_daemon_and_plugin_restarts_replay_nothing_and_leave_works_after_them(
    seawayd: SeawayDaemon, plugin: ExamplePlugin, busybox_tar: Path
) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "-d", "example", "--ipam-driver", "example", "exnet")
    ok(seawayd, "run", "-d", "--name", "c1", "--network", "exnet", "busybox", "sleep", "600")
    plugin.forget_calls()

    seawayd.kill()  # a crash: the plugin is not told, and must not be told again at start-up
    seawayd.start()
    plugin.start()  # and the plugin restarts too, with its state
    assert "inet 10.98.0.2/24" in ok(seawayd, "exec", "c1", "ip", "addr", "show", "eth0")
    assert json.loads(ok(seawayd, "network", "inspect", "exnet"))[0]["Containers"] != {}
    assert plugin.methods() == []  # no CreateNetwork, CreateEndpoint or Join replayed

    ok(seawayd, "network", "disconnect", "exnet", "c1")
    assert plugin.methods() == [
        "Plugin.Activate",  # activated again on first use, lazily
        "NetworkDriver.GetCapabilities",
        "NetworkDriver.RevokeExternalConnectivity",
        "NetworkDriver.Leave",
        "NetworkDriver.DeleteEndpoint",
        "IpamDriver.GetCapabilities",  # the same plugin: activated once for both
        "IpamDriver.ReleaseAddress",
    ]
    assert "eth0" not in ok(seawayd, "exec", "c1", "ip", "link")
    assert plugin.state()["pools"]["example/10.98.0.0/24"] == ["10.98.0.1"]


def test_a_call_to_a_plugin_that_is_restarting_waits_for_it(
    seawayd: SeawayDaemon, plugin: ExamplePlugin, busybox_tar: Path
) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "-d", "example", "--subnet", "10.97.0.0/24", "exnet")
    ok(seawayd, "run", "-d", "--name", "c1", "busybox", "sleep", "600")
    plugin.kill()  # crashed: its socket file stays, nobody listens
    logged = seawayd.log.read_text().count("Unable to connect to plugin")
    results: list = []
    connect = threading.Thread(target=lambda: results.append(seawayd.docker("network", "connect", "exnet", "c1")))
    connect.start()
    try:
        wait_for(lambda: seawayd.log.read_text().count("Unable to connect to plugin") > logged)  # it is retrying
        plugin.start()
    finally:
        connect.join(timeout=60)

    assert results[0].returncode == 0, results[0].stderr
    assert "inet 10.97.0.2/24" in ok(seawayd, "exec", "c1", "ip", "addr", "show", "eth1")
    assert plugin.methods()[-4:-2] == ["NetworkDriver.CreateEndpoint", "NetworkDriver.Join"]


def test_plugin_networks_have_names_and_the_doctor_finds_nothing_wrong(
    seawayd: SeawayDaemon, plugin: ExamplePlugin, busybox_tar: Path
) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "-d", "example", "--ipam-driver", "example", "exnet")
    ok(seawayd, "run", "-d", "--name", "web", "--network", "exnet", "busybox", "sleep", "600")
    ok(seawayd, "run", "-d", "--name", "db", "--network", "exnet", "busybox", "sleep", "600")

    looked_up = ok(seawayd, "exec", "web", "nslookup", "db", "127.0.0.11")
    assert "10.98.0.3" in looked_up  # the embedded DNS serves a plugin network's members
    assert ok(seawayd, "exec", "web", "ping", "-c", "1", "-W", "2", "db")  # over the plugin's bridge

    status, body = seawayd.request("GET", "/seaway/system/doctor")
    assert status == 200
    assert body["Findings"] == []


def test_join_names_the_interface_prefix_and_a_join_without_gateway_gives_no_default_route(
    seawayd: SeawayDaemon, plugin: ExamplePlugin, busybox_tar: Path
) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    plugin.start("--dst-prefix", "ethex", "--no-gateway")
    ok(seawayd, "network", "create", "-d", "example", "--subnet", "10.97.0.0/24", "exnet")
    ok(seawayd, "run", "-d", "--name", "c1", "--network", "exnet", "busybox", "sleep", "600")

    assert "inet 10.97.0.2/24" in ok(seawayd, "exec", "c1", "ip", "addr", "show", "ethex0")
    routes = ok(seawayd, "exec", "c1", "ip", "route")
    assert "default" not in routes  # libnetwork: only a gateway the driver names gives one
    assert "10.97.0.0/24 dev ethex0" in routes

    seawayd.kill()  # the recorded endpoint keeps the plugin's name for its interface
    seawayd.start()
    ok(seawayd, "network", "disconnect", "exnet", "c1")
    assert "ethex0" not in ok(seawayd, "exec", "c1", "ip", "link")


def test_plugins_are_found_through_spec_and_json_files(
    seawayd: SeawayDaemon, fake_host: FakeHost, busybox_tar: Path
) -> None:
    elsewhere = fake_host.root / "elsewhere" / "p.sock"  # not in a socket directory
    specs = fake_host.root / "plugin-specs"
    (specs / "jsonex").mkdir(parents=True)
    (specs / "specex.spec").write_text(f"unix://{elsewhere}\n")
    (specs / "jsonex" / "jsonex.json").write_text(json.dumps({"Name": "jsonex", "Addr": f"unix://{elsewhere}"}))
    p = ExamplePlugin(fake_host, "specex", pools=("10.98.0.0/24",), socket=elsewhere)
    try:
        p.start()
        ok(seawayd, "import", str(busybox_tar), "busybox")
        ok(seawayd, "network", "create", "-d", "specex", "--ipam-driver", "jsonex", "exnet")
        ok(seawayd, "run", "-d", "--name", "c1", "--network", "exnet", "busybox", "sleep", "600")
        assert "inet 10.98.0.2/24" in ok(seawayd, "exec", "c1", "ip", "addr", "show", "eth0")
        # each name is activated once, by its own handshake
        assert p.methods().count("Plugin.Activate") == 2
        (specs / "bad.spec").write_text("no-scheme-here\n")
        result = seawayd.docker("network", "create", "-d", "bad", "n2")
        assert result.returncode == 1
        assert "Unknown protocol" in result.stderr
    finally:
        p.kill()


def test_a_plugin_that_never_answers_join_times_out_and_is_told_to_take_it_back(
    seawayd: SeawayDaemon, plugin: ExamplePlugin, busybox_tar: Path
) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "-d", "example", "--subnet", "10.97.0.0/24", "exnet")
    plugin.start("--hang-on", "NetworkDriver.Join")
    before = host_links(seawayd.host)

    result = seawayd.docker("run", "-d", "--name", "c1", "--network", "exnet", "busybox", "sleep", "600")

    assert result.returncode != 0
    assert "NetworkDriver.Join: plugin example did not answer within 4s" in result.stderr  # the test bed's timeout
    # the Join may have happened in the plugin after all: it is left, and the endpoint deleted
    assert plugin.methods()[-3:] == ["NetworkDriver.Join", "NetworkDriver.Leave", "NetworkDriver.DeleteEndpoint"]
    assert host_links(seawayd.host) == before
    assert json.loads(ok(seawayd, "network", "inspect", "exnet"))[0]["Containers"] == {}
