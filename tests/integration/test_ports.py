"""Published ports through seawayd and the real docker CLI: every ``-p`` form reached from
the outside namespace, the host itself, another container and the same container."""

from __future__ import annotations

import json
import socket
import time

import pytest

from seaway.kernel.portholds import sctp_supported
from seaway.lab.fakehost import HOST_UPLINK, OUTSIDE_ADDR, in_ns
from seaway.testing.daemon import SeawayDaemon
from seaway.testing.probes import client_command, server_command

pytestmark = pytest.mark.netns

HOST_IMAGE = "seaway/host"


def ok(daemon: SeawayDaemon, *args: str) -> str:
    result = daemon.docker(*args)
    assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout


def reach_from_ns(ns: str, proto: str, host: str, port: int) -> str:
    return in_ns(ns, *client_command(proto, host, port)).stdout.strip()


def reach_from_ctr(daemon: SeawayDaemon, ctr: str, proto: str, host: str, port: int) -> str:
    return daemon.docker("exec", ctr, *client_command(proto, host, port)).stdout.strip()


def run_server(daemon: SeawayDaemon, name: str, *args: str, specs: tuple[str, ...]) -> str:
    cid = ok(daemon, "run", "-d", "--name", name, *args, HOST_IMAGE, *server_command(name, *specs)).strip()
    wait_serving(daemon, name)
    return cid


def wait_serving(daemon: SeawayDaemon, name: str, times: int = 1) -> None:
    """The server printed "serving" (``times`` times: once per start); generous, as a
    loaded machine starts Python slowly."""
    deadline = time.monotonic() + 60
    while daemon.docker("logs", name).stdout.count("serving") < times:
        assert time.monotonic() < deadline, daemon.docker("logs", name).stderr
        time.sleep(0.05)


def ctr_ip(daemon: SeawayDaemon, name: str, network: str) -> str:
    info = json.loads(ok(daemon, "inspect", name))[0]
    return info["NetworkSettings"]["Networks"][network]["IPAddress"]


def test_every_publish_form_reaches_the_container_from_everywhere(seawayd: SeawayDaemon) -> None:
    host, outside = seawayd.host.host_ns, seawayd.host.outside_ns
    ok(seawayd, "network", "create", "--subnet", "10.50.0.0/24", "app")
    ok(seawayd, "network", "create", "--subnet", "10.51.0.0/24", "other")
    run_server(
        seawayd, "web", "--network", "app",
        "-p", "8080:80", "-p", "127.0.0.1:8081:81", "-p", f"{HOST_UPLINK}::82", "-p", "83",
        "-p", "5353:53/udp", "-p", "20000-20009:20000-20009", "-p", "9000-9010:84",
        specs=("tcp:80-84", "udp:53", "tcp:20000-20009"),
    )  # fmt: skip
    run_server(seawayd, "peer", "--network", "app", specs=("tcp:1",))
    run_server(seawayd, "stranger", "--network", "other", specs=("tcp:1",))

    ports = json.loads(ok(seawayd, "inspect", "web"))[0]["NetworkSettings"]["Ports"]
    assert ports["80/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": "8080"}]
    assert ports["81/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "8081"}]
    assert ports["53/udp"] == [{"HostIp": "0.0.0.0", "HostPort": "5353"}]
    assert ports["84/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": "9000"}]  # first free of the range
    uplink_port = int(ports["82/tcp"][0]["HostPort"])
    ephemeral = int(ports["83/tcp"][0]["HostPort"])
    low, high = (int(x) for x in in_ns(host, "cat", "/proc/sys/net/ipv4/ip_local_port_range").stdout.split())
    assert ports["82/tcp"][0]["HostIp"] == HOST_UPLINK
    assert low <= uplink_port <= high and low <= ephemeral <= high
    assert len([k for k in ports if k.startswith("200")]) == 10
    assert ok(seawayd, "port", "web", "80/tcp").strip() == "0.0.0.0:8080"

    # from the outside namespace: the container sees the real client address
    assert reach_from_ns(outside, "tcp", HOST_UPLINK, 8080) == f"web {OUTSIDE_ADDR}"
    assert reach_from_ns(outside, "tcp", HOST_UPLINK, uplink_port) == f"web {OUTSIDE_ADDR}"
    assert reach_from_ns(outside, "tcp", HOST_UPLINK, ephemeral) == f"web {OUTSIDE_ADDR}"
    assert reach_from_ns(outside, "udp", HOST_UPLINK, 5353) == f"web {OUTSIDE_ADDR}"
    assert reach_from_ns(outside, "tcp", HOST_UPLINK, 20005) == f"web {OUTSIDE_ADDR}"
    assert reach_from_ns(outside, "tcp", HOST_UPLINK, 9000) == f"web {OUTSIDE_ADDR}"
    # ... but not a port published on the host's loopback only
    assert reach_from_ns(outside, "tcp", HOST_UPLINK, 8081).startswith("FAIL")
    # ... nor the container's own address directly
    web_ip = ctr_ip(seawayd, "web", "app")
    in_ns(outside, "ip", "route", "add", "10.50.0.0/24", "via", HOST_UPLINK, check=True)
    assert reach_from_ns(outside, "tcp", web_ip, 80).startswith("FAIL")

    # from the host itself: its own address and loopback
    assert reach_from_ns(host, "tcp", HOST_UPLINK, 8080).startswith("web ")
    assert reach_from_ns(host, "tcp", "127.0.0.1", 8080).startswith("web ")
    assert reach_from_ns(host, "tcp", "127.0.0.1", 8081).startswith("web ")
    assert reach_from_ns(host, "udp", "127.0.0.1", 5353).startswith("web ")
    # a port published on one address is not reachable on another
    assert reach_from_ns(host, "tcp", "127.0.0.1", uplink_port).startswith("FAIL")

    # from another container on the same network, on another network, and from itself
    for ctr in ("peer", "stranger", "web"):
        assert reach_from_ctr(seawayd, ctr, "tcp", HOST_UPLINK, 8080).startswith("web "), ctr
        assert reach_from_ctr(seawayd, ctr, "udp", HOST_UPLINK, 5353).startswith("web "), ctr
    # loopback-published ports are the host's only: not even its containers reach them
    assert reach_from_ctr(seawayd, "peer", "tcp", HOST_UPLINK, 8081).startswith("FAIL")

    ok(seawayd, "stop", "-t", "1", "web")
    assert reach_from_ns(outside, "tcp", HOST_UPLINK, 8080).startswith("FAIL")
    assert json.loads(ok(seawayd, "inspect", "web"))[0]["NetworkSettings"]["Ports"] == {}
    ok(seawayd, "start", "web")
    wait_serving(seawayd, "web", times=2)
    assert reach_from_ns(outside, "tcp", HOST_UPLINK, 8080) == f"web {OUTSIDE_ADDR}"


def test_clashes_are_refused_with_dockers_message_and_leave_nothing(seawayd: SeawayDaemon) -> None:
    ok(seawayd, "network", "create", "--subnet", "10.52.0.0/24", "app")
    run_server(seawayd, "first", "--network", "app", "-p", "8080:80", specs=("tcp:80",))
    rules_before = seawayd.host.nft_rule_count()

    second = seawayd.docker("run", "-d", "--name", "second", "--network", "app", "-p", "8080:80", HOST_IMAGE, "true")
    assert second.returncode != 0
    assert "Bind for 0.0.0.0:8080 failed: port is already allocated" in second.stderr
    assert "driver failed programming external connectivity on endpoint second" in second.stderr
    loopback = seawayd.docker("run", "-d", "--network", "app", "-p", "127.0.0.1:8080:80", HOST_IMAGE, "true")
    assert "Bind for 127.0.0.1:8080 failed: port is already allocated" in loopback.stderr

    # another program holds a port: Seaway says so and does not take it
    with netns_socket(seawayd, 9090):
        held = seawayd.docker("run", "-d", "--network", "app", "-p", "9090:80", HOST_IMAGE, "true")
        assert "failed to bind host port 0.0.0.0:9090/tcp: address already in use" in held.stderr

    # nothing half-done: the failed containers have no endpoint, no port, no rule
    info = json.loads(ok(seawayd, "inspect", "second"))[0]
    assert info["State"]["Running"] is False
    assert info["NetworkSettings"]["Ports"] == {}
    assert seawayd.host.nft_rule_count() == rules_before
    endpoints = json.loads(ok(seawayd, "network", "inspect", "app"))[0]["Containers"]
    assert [e["Name"] for e in endpoints.values()] == ["first"]
    # and the port held by 'first' stays held against other programs
    with pytest.raises(OSError), netns_socket(seawayd, 8080):
        pass


def test_publish_all_uses_exposed_ports(seawayd: SeawayDaemon) -> None:
    run_server(seawayd, "web", "-P", "--expose", "80", "--expose", "53/udp", specs=("tcp:80", "udp:53"))
    ports = json.loads(ok(seawayd, "inspect", "web"))[0]["NetworkSettings"]["Ports"]
    assert set(ports) == {"80/tcp", "53/udp"}
    tcp_port = int(ports["80/tcp"][0]["HostPort"])
    udp_port = int(ports["53/udp"][0]["HostPort"])
    assert reach_from_ns(seawayd.host.outside_ns, "tcp", HOST_UPLINK, tcp_port) == f"web {OUTSIDE_ADDR}"
    assert reach_from_ns(seawayd.host.outside_ns, "udp", HOST_UPLINK, udp_port) == f"web {OUTSIDE_ADDR}"
    shown = ok(seawayd, "ps", "--format", "{{.Ports}}").strip()
    assert f"0.0.0.0:{tcp_port}->80/tcp" in shown


def test_bad_port_bindings_are_refused_by_the_api(seawayd: SeawayDaemon) -> None:
    for bindings, text in (
        ({"abc/tcp": [{"HostPort": "80"}]}, 'invalid port specification: "abc"'),
        ({"80/tcp": [{"HostPort": "99999"}]}, 'invalid port specification: "99999"'),
        ({"80/xyz": [{"HostPort": "80"}]}, 'invalid port specification: "80/xyz"'),
        ({"80/tcp": [{"HostIp": "1.2.3", "HostPort": "80"}]}, "invalid IP address: 1.2.3"),
    ):
        body = {"Image": HOST_IMAGE, "Cmd": ["true"], "HostConfig": {"PortBindings": bindings}}
        status, answer = seawayd.request("POST", "/containers/create", body)
        assert status == 400, answer
        assert answer["message"] == text
    assert ok(seawayd, "ps", "-aq") == ""


class netns_socket:
    """A listening TCP socket on 0.0.0.0:port inside the fake host (another program)."""

    def __init__(self, daemon: SeawayDaemon, port: int) -> None:
        self.daemon, self.port = daemon, port

    def __enter__(self) -> socket.socket:
        with self.daemon.host.entered():
            self.sock = socket.socket()
            try:
                self.sock.bind(("0.0.0.0", self.port))
                self.sock.listen(1)
            except OSError:
                self.sock.close()
                raise
        return self.sock

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def test_a_flushed_ruleset_is_back_within_a_second_without_touching_containers(seawayd: SeawayDaemon) -> None:
    host, outside = seawayd.host.host_ns, seawayd.host.outside_ns
    ok(seawayd, "network", "create", "--subnet", "10.53.0.0/24", "app")
    ok(seawayd, "network", "create", "--subnet", "10.54.0.0/24", "other")
    run_server(seawayd, "web", "--network", "app", "-p", "8080:80", specs=("tcp:80",))
    run_server(seawayd, "stranger", "--network", "other", specs=("tcp:80",))
    pid = json.loads(ok(seawayd, "inspect", "web"))[0]["State"]["Pid"]
    rules = seawayd.host.nft_rule_count()
    stranger_ip = ctr_ip(seawayd, "stranger", "other")
    assert reach_from_ctr(seawayd, "web", "tcp", stranger_ip, 80).startswith("FAIL")  # isolation

    for how in (("flush", "ruleset"), ("delete", "table", "inet", "seaway")):
        in_ns(host, "nft", *how, check=True)
        flushed = time.monotonic()
        while seawayd.host.nft_rule_count() != rules:
            assert time.monotonic() - flushed < 1.0, f"rules not restored a second after nft {' '.join(how)}"
            time.sleep(0.02)
        assert reach_from_ns(outside, "tcp", HOST_UPLINK, 8080) == f"web {OUTSIDE_ADDR}"  # published port
        assert reach_from_ctr(seawayd, "web", "tcp", stranger_ip, 80).startswith("FAIL")  # isolation
        assert seawayd.host.udp_source_seen_outside(seawayd_sandbox_key(seawayd, "web")) == HOST_UPLINK  # masquerade
    assert json.loads(ok(seawayd, "inspect", "web"))[0]["State"]["Pid"] == pid


def seawayd_sandbox_key(daemon: SeawayDaemon, name: str) -> str:
    return json.loads(ok(daemon, "inspect", name))[0]["NetworkSettings"]["SandboxKey"]


HOST_INPUT = """
table inet filter {
    chain input {
        type filter hook input priority filter; policy accept;
        ct state established,related accept
        tcp dport 5432 drop comment "deny 5432"
    }
}
"""


def wait_reach(ns: str, port: int, expect_ok: bool) -> None:
    deadline = time.monotonic() + 10
    while reach_from_ns(ns, "tcp", HOST_UPLINK, port).startswith("web ") != expect_ok:
        assert time.monotonic() < deadline, f"port {port} {'not ' if expect_ok else ''}reachable after 10 s"
        time.sleep(0.05)


def test_host_firewall_mode_applies_the_hosts_input_rules_to_published_ports(fake_host) -> None:  # type: ignore[no-untyped-def]
    host, outside = fake_host.host_ns, fake_host.outside_ns
    daemon = SeawayDaemon(fake_host, "--host-firewall")
    try:
        daemon.start()
        ok(daemon, "network", "create", "--subnet", "10.55.0.0/24", "guarded")
        ok(daemon, "network", "create", "--subnet", "10.56.0.0/24", "-o", "seaway.bridge.host_firewall=false", "open")
        run_server(
            daemon, "web", "--network", "guarded", "-p", "5432:5432", "-p", "8080:80", specs=("tcp:5432", "tcp:80")
        )
        run_server(daemon, "other", "--network", "open", "-p", "5433:5432", specs=("tcp:5432",))
        wait_reach(outside, 5432, True)

        loaded = in_ns_input(host, HOST_INPUT)
        assert loaded.returncode == 0, loaded.stderr
        wait_reach(outside, 5432, False)  # the host's deny applies to the container's port
        assert reach_from_ns(outside, "tcp", HOST_UPLINK, 8080) == f"web {OUTSIDE_ADDR}"  # others pass
        assert reach_from_ns(outside, "tcp", HOST_UPLINK, 5433).startswith("web ") is False  # answered by 'other'
        assert reach_from_ns(outside, "tcp", HOST_UPLINK, 5433) == f"other {OUTSIDE_ADDR}"  # network opted out

        handle = rule_handle(host, "deny 5432")
        in_ns(host, "nft", "delete", "rule", "inet", "filter", "input", "handle", str(handle), check=True)
        wait_reach(outside, 5432, True)  # removing the deny lets traffic in again
    finally:
        daemon.close()
        in_ns(host, "nft", "delete", "table", "inet", "filter")


def in_ns_input(ns: str, text: str):  # type: ignore[no-untyped-def]
    import subprocess

    return subprocess.run(["nsenter", f"--net={ns}", "nft", "-f", "-"], input=text, capture_output=True, text=True)


def rule_handle(ns: str, comment: str) -> int:
    listed = json.loads(in_ns(ns, "nft", "-j", "-a", "list", "chain", "inet", "filter", "input", check=True).stdout)
    return next(i["rule"]["handle"] for i in listed["nftables"] if i.get("rule", {}).get("comment") == comment)


def test_published_ports_survive_a_daemon_crash_and_stay_held(fake_host) -> None:  # type: ignore[no-untyped-def]
    outside = fake_host.outside_ns
    daemon = SeawayDaemon(fake_host)
    try:
        daemon.start()
        run_server(daemon, "web", "-p", "8080:80", "-p", "5353:53/udp", specs=("tcp:80", "udp:53"))
        daemon.kill()  # SIGKILL: the held sockets die with the process; the container lives on
        daemon.start()
        assert reach_from_ns(outside, "tcp", HOST_UPLINK, 8080) == f"web {OUTSIDE_ADDR}"
        assert reach_from_ns(outside, "udp", HOST_UPLINK, 5353) == f"web {OUTSIDE_ADDR}"
        with pytest.raises(OSError), netns_socket(daemon, 8080):  # held again by the restarted daemon
            pass
        clash = daemon.docker("run", "-d", "-p", "8080:80", HOST_IMAGE, "true")
        assert "Bind for 0.0.0.0:8080 failed: port is already allocated" in clash.stderr
        ok(daemon, "rm", "-f", "web")
        with netns_socket(daemon, 8080):  # released with the container
            pass
    finally:
        daemon.close()


def test_a_dual_stack_container_is_published_on_both_families(seawayd: SeawayDaemon) -> None:
    ok(seawayd, "network", "create", "--ipv6", "--subnet", "10.57.0.0/24", "--subnet", "2001:db8:57::/64", "dual")
    run_server(seawayd, "web", "--network", "dual", "-p", "8080:80", "-p", "9090:9090", specs=("tcp:80", "tcp:9090"))
    ports = json.loads(ok(seawayd, "inspect", "web"))[0]["NetworkSettings"]["Ports"]
    assert ports["80/tcp"] == [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}]
    host = seawayd.host.host_ns
    # the host's own IPv6 address (the bridge gateway's) and IPv4 address, port changed and kept
    assert reach_from_ns(host, "tcp", "2001:db8:57::1", 8080).startswith("web ")
    assert reach_from_ns(host, "tcp", "2001:db8:57::1", 9090).startswith("web ")
    assert reach_from_ns(host, "tcp", HOST_UPLINK, 9090).startswith("web ")
    assert "[::]:8080->80/tcp" in ok(seawayd, "ps", "--format", "{{.Ports}}")


def test_sctp_is_published_where_the_kernel_has_it_and_refused_by_name_where_not(seawayd: SeawayDaemon) -> None:
    result = seawayd.docker("run", "-d", "--name", "s", "-p", "3868:3868/sctp", HOST_IMAGE, "sleep", "60")
    if sctp_supported():
        assert result.returncode == 0, result.stderr
        assert ok(seawayd, "port", "s", "3868/sctp").strip() == "0.0.0.0:3868"
    else:
        assert "sctp is not supported by this kernel (CONFIG_IP_SCTP)" in result.stderr
        assert json.loads(ok(seawayd, "inspect", "s"))[0]["NetworkSettings"]["Ports"] == {}


def test_a_restarted_container_is_reachable_at_once_though_its_mac_changed(seawayd: SeawayDaemon) -> None:
    outside = seawayd.host.outside_ns
    run_server(seawayd, "peer", specs=("tcp:1",))  # keeps the bridge up: its neighbour cache stays
    run_server(seawayd, "web", "-p", "8080:80", specs=("tcp:80",))
    for start in range(2, 5):
        assert reach_from_ns(outside, "tcp", HOST_UPLINK, 8080) == f"web {OUTSIDE_ADDR}"  # the host knows its MAC
        ok(seawayd, "restart", "-t", "0", "web")  # same address, new MAC
        wait_serving(seawayd, "web", times=start)
        assert reach_from_ns(outside, "tcp", HOST_UPLINK, 8080) == f"web {OUTSIDE_ADDR}"
