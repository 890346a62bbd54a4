"""Bridge gateway modes (``-o com.docker.network.bridge.gateway_mode_ipv4|ipv6``) through
seawayd and the real docker CLI, seen from the fake host's outside world, which is given a
route to the container subnets through the host (as a routed fabric would)."""

from __future__ import annotations

import json

import pytest
from tests.integration.test_ports import ctr_ip, ok, reach_from_ns, run_server, seawayd_sandbox_key

from seaway.lab.fakehost import HOST_UPLINK, OUTSIDE_ADDR, in_ns
from seaway.testing.daemon import SeawayDaemon

pytestmark = pytest.mark.netns

MODE4 = "com.docker.network.bridge.gateway_mode_ipv4"


def pings(ns: str, address: str) -> bool:
    return in_ns(ns, "ping", "-c", "1", "-W", "2", address).returncode == 0


def test_routed_and_nat_unprotected_as_docker_documents(seawayd: SeawayDaemon) -> None:
    outside = seawayd.host.outside_ns
    ok(seawayd, "network", "create", "--subnet", "10.60.0.0/24", "-o", f"{MODE4}=routed", "routed")
    ok(seawayd, "network", "create", "--subnet", "10.61.0.0/24", "-o", f"{MODE4}=nat-unprotected", "unprot")
    ok(seawayd, "network", "create", "--subnet", "10.62.0.0/24", "natted")
    for subnet in ("10.60.0.0/24", "10.61.0.0/24", "10.62.0.0/24"):
        in_ns(outside, "ip", "route", "add", subnet, "via", HOST_UPLINK, check=True)
    run_server(seawayd, "r", "--network", "routed", "-p", "8080:80", specs=("tcp:80-81",))
    run_server(seawayd, "u", "--network", "unprot", "-p", "8090:80", specs=("tcp:80-81",))
    run_server(seawayd, "n", "--network", "natted", specs=("tcp:80",))
    r_ip, u_ip, n_ip = ctr_ip(seawayd, "r", "routed"), ctr_ip(seawayd, "u", "unprot"), ctr_ip(seawayd, "n", "natted")

    # routed: the published port on the container's own address, seen from the real client
    # address (no NAT either way); an unpublished port is not reachable; ICMP is
    assert reach_from_ns(outside, "tcp", r_ip, 80) == f"r {OUTSIDE_ADDR}"
    assert reach_from_ns(outside, "tcp", r_ip, 81).startswith("FAIL")
    assert pings(outside, r_ip)
    assert seawayd.host.udp_source_seen_outside(seawayd_sandbox_key(seawayd, "r")) == r_ip

    # nat-unprotected: masqueraded on the way out, but every port reachable directly
    assert reach_from_ns(outside, "tcp", u_ip, 81) == f"u {OUTSIDE_ADDR}"
    assert reach_from_ns(outside, "tcp", HOST_UPLINK, 8090) == f"u {OUTSIDE_ADDR}"
    assert seawayd.host.udp_source_seen_outside(seawayd_sandbox_key(seawayd, "u")) == HOST_UPLINK

    # nat (the default): nothing direct, not even ICMP
    assert reach_from_ns(outside, "tcp", n_ip, 80).startswith("FAIL")
    assert not pings(outside, n_ip)

    # the routed container's port, once it is stopped, is gone with it
    ok(seawayd, "stop", "-t", "1", "r")
    assert reach_from_ns(outside, "tcp", r_ip, 80).startswith("FAIL")


def test_isolated_needs_internal_and_gives_the_bridge_no_address(seawayd: SeawayDaemon) -> None:
    result = seawayd.docker("network", "create", "-o", f"{MODE4}=isolated", "iso")
    assert result.returncode != 0
    assert "gateway mode 'isolated' can only be used for an internal network" in result.stderr
    assert "iso" not in ok(seawayd, "network", "ls", "--format", "{{.Name}}").split()
    bad = seawayd.docker("network", "create", "-o", f"{MODE4}=sideways", "iso")
    assert "failed to parse com.docker.network.bridge.gateway_mode_ipv4 value: sideways" in bad.stderr

    ok(seawayd, "network", "create", "--internal", "--subnet", "10.63.0.0/24", "-o", f"{MODE4}=isolated", "iso")
    bridge = "br-" + json.loads(ok(seawayd, "network", "inspect", "iso"))[0]["Id"][:12]
    shown = in_ns(seawayd.host.host_ns, "ip", "-4", "-o", "addr", "show", "dev", bridge, check=True).stdout
    assert shown.strip() == ""
