"""Attacks that must fail: from a container (or root inside its namespace, a stronger
attacker than the container itself) and from users of the host.

Also in tests/integration/test_ports.py: ports published on 127.0.0.1 are not reachable
from the outside namespace or from containers, and container addresses are not reachable
from outside.
"""

from __future__ import annotations

import grp
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seaway.lab.fakehost import OUTSIDE_ADDR, in_ns, ping
from seaway.testing.daemon import SeawayDaemon

pytestmark = pytest.mark.netns

RECEIVER = r"""
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.settimeout(0.2)
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    try:
        data, peer = s.recvfrom(100)
        print(data.decode(), peer[0], flush=True)
    except TimeoutError:
        pass
"""

SENDER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
for _ in range(3):
    s.sendto(sys.argv[4].encode(), (sys.argv[2], int(sys.argv[3])))
"""


def ok(daemon: SeawayDaemon, *args: str) -> str:
    result = daemon.docker(*args)
    assert result.returncode == 0, f"docker {' '.join(args)}: {result.stderr}"
    return result.stdout


def endpoint(daemon: SeawayDaemon, name: str, network: str) -> tuple[str, str, str]:
    """(sandbox key, IPv4 address, MAC) of a container on a network."""
    info = json.loads(ok(daemon, "inspect", name))[0]
    ep = info["NetworkSettings"]["Networks"][network]
    return info["NetworkSettings"]["SandboxKey"], ep["IPAddress"], ep["MacAddress"]


def test_unix_socket_is_0660_with_the_configured_group(fake_host) -> None:  # type: ignore[no-untyped-def]
    group = grp.getgrnam("daemon")
    daemon = SeawayDaemon(fake_host, "--group", "daemon")
    try:
        daemon.start()
        st = os.stat(daemon.socket)
        assert stat.S_IMODE(st.st_mode) == 0o660 and st.st_gid == group.gr_gid
        os.chmod(fake_host.root, 0o755)  # let other users reach the socket file itself

        def connect_as(*ids: str) -> str:
            code = f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({str(daemon.socket)!r}); print('in')"
            cmd = ["setpriv", "--reuid=nobody", *ids, "--", sys.executable, "-c", code]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
            return proc.stdout.strip() or proc.stderr.strip().splitlines()[-1]

        assert "PermissionError" in connect_as("--regid=nogroup", "--clear-groups")
        assert connect_as("--regid=nogroup", "--groups=daemon") == "in"
    finally:
        daemon.close()


def test_a_container_cannot_see_the_api_socket(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "run", "-d", "--name", "b", "busybox", "sleep", "600")
    ok(seawayd, "run", "-d", "--name", "h", "seaway/host", "sleep", "600")
    for name in ("b", "h"):
        assert seawayd.docker("exec", name, "test", "-e", str(seawayd.socket)).returncode == 1
        assert seawayd.docker("exec", name, "test", "-e", "/run/seaway.sock").returncode == 1


def _received(receiver_ns: str, sender_ns: str, source: str, target: str, tag: str) -> list[str]:
    port = "7777"
    recv = subprocess.Popen(
        ["nsenter", f"--net={receiver_ns}", sys.executable, "-c", RECEIVER, port, "2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert recv.stdout is not None and recv.stdout.readline().strip() == "ready"
        in_ns(sender_ns, sys.executable, "-c", SENDER, source, target, port, tag, check=True)
        out, _ = recv.communicate(timeout=10)
    finally:
        if recv.poll() is None:
            recv.kill()
            recv.wait()
    return [line for line in out.splitlines() if line.startswith(tag)]


def test_a_container_cannot_send_with_another_containers_ip_or_mac(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "--subnet", "10.73.0.0/24", "net")
    for name in ("attacker", "victim", "target"):
        ok(seawayd, "run", "-d", "--name", name, "--network", "net", "busybox", "sleep", "600")
    a_key, a_ip, _ = endpoint(seawayd, "attacker", "net")
    _, v_ip, v_mac = endpoint(seawayd, "victim", "net")
    t_key, t_ip, t_mac = endpoint(seawayd, "target", "net")
    # root in the attacker's namespace: knows the target's MAC, so no ARP is needed
    in_ns(a_key, "ip", "neigh", "replace", t_ip, "lladdr", t_mac, "dev", "eth0", check=True)

    assert _received(t_key, a_key, a_ip, t_ip, "honest") == [f"honest {a_ip}"] * 3

    in_ns(a_key, "ip", "addr", "add", f"{v_ip}/32", "dev", "eth0", check=True)
    assert _received(t_key, a_key, v_ip, t_ip, "spoofed-ip") == []

    in_ns(a_key, "ip", "addr", "del", f"{v_ip}/32", "dev", "eth0", check=True)
    in_ns(a_key, "ip", "link", "set", "eth0", "address", v_mac, check=True)
    assert _received(t_key, a_key, a_ip, t_ip, "spoofed-mac") == []
    # nor does the host (the gateway) accept it
    assert not ping(a_key, "10.73.0.1")

    status, body = seawayd.request("GET", "/seaway/system/doctor")
    assert status == 200
    problems = [f["Problem"] for f in body["Findings"]]
    assert f"eth0 has MAC {v_mac}, the store says" in " ".join(problems)


def test_the_embedded_dns_answers_only_its_own_sandbox(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "--subnet", "10.74.0.0/24", "net")
    ok(seawayd, "run", "-d", "--name", "asker", "--network", "net", "busybox", "sleep", "600")
    ok(seawayd, "run", "-d", "--name", "other", "--network", "net", "busybox", "sleep", "600")
    _, other_ip, _ = endpoint(seawayd, "other", "net")

    own = seawayd.docker("exec", "asker", "nslookup", "other")
    assert own.returncode == 0 and other_ip in own.stdout

    # another container's resolver is not reachable on its address, from a neighbour ...
    neighbour = seawayd.docker("exec", "asker", "nslookup", "-timeout=1", "other", other_ip)
    assert neighbour.returncode == 1 and "no servers could be reached" in neighbour.stdout
    # ... nor from the host or the outside world
    in_ns(seawayd.host.outside_ns, "ip", "route", "add", "10.74.0.0/24", "via", "203.0.113.2", check=True)
    for ns in (seawayd.host.host_ns, seawayd.host.outside_ns):
        probe = in_ns(ns, "busybox", "nslookup", "-timeout=1", "other", other_ip, timeout=30)
        assert probe.returncode == 1 and "no servers could be reached" in probe.stdout, probe


def test_container_addresses_are_not_routable_from_outside(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "--subnet", "10.75.0.0/24", "net")
    ok(seawayd, "run", "-d", "--name", "c", "--network", "net", "busybox", "sleep", "600")
    key, ip, _ = endpoint(seawayd, "c", "net")
    outside = seawayd.host.outside_ns
    in_ns(outside, "ip", "route", "add", "10.75.0.0/24", "via", "203.0.113.2", check=True)

    assert not ping(outside, ip)
    assert ping(key, OUTSIDE_ADDR)  # while the container reaches out (masqueraded)


def test_containers_reach_the_hosts_own_services_only_where_the_network_allows(
    seawayd: SeawayDaemon, busybox_tar: Path
) -> None:
    ok(seawayd, "import", str(busybox_tar), "busybox")
    ok(seawayd, "network", "create", "--subnet", "10.76.0.0/24", "closed")
    ok(
        seawayd,
        "network",
        "create",
        "--subnet",
        "10.77.0.0/24",
        "-o",
        "seaway.bridge.host_access=true",
        "open",
    )
    ok(seawayd, "run", "-d", "--name", "c1", "--network", "closed", "busybox", "sleep", "600")
    ok(seawayd, "run", "-d", "--name", "c2", "--network", "open", "busybox", "sleep", "600")
    # a service of the host's own, on every address of the fake host
    server = subprocess.Popen(
        ["nsenter", f"--net={seawayd.host.host_ns}", sys.executable, "-c", RECEIVER, "7778", "30"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        for ctr, gateway in (("c1", "10.76.0.1"), ("c2", "10.77.0.1")):
            for target in (gateway, "203.0.113.2"):
                key, ip, _ = endpoint(seawayd, ctr, "closed" if ctr == "c1" else "open")
                in_ns(key, sys.executable, "-c", SENDER, ip, target, "7778", f"{ctr}-to-{target}", check=True)
        assert ping(endpoint(seawayd, "c1", "closed")[0], "10.76.0.1")  # ICMP still answers
        time.sleep(0.5)
    finally:
        server.kill()
        out, _ = server.communicate(timeout=10)
    got = {line.split()[0] for line in out.splitlines()[1:]}
    assert got == {"c2-to-10.77.0.1", "c2-to-203.0.113.2"}
