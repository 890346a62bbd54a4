"""Swarm-scoped overlay networks through the docker CLI, in one module-scoped lab of four
hosts on one LAN (h1 a manager, h2 and h3 workers, h4 outside the swarm). The tests run in
file order; each cleans up what it made, except the attachable network ``ovl`` of the first."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from tests.integration.checks import lab_docker

from seaway.lab import Lab, status
from seaway.testing.plugin import lab_session

pytestmark = pytest.mark.netns

WORKER_CREATE = "Cannot create a multi-host network from a worker node. Please create the network from a manager node."


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    topology = {
        "segments": [{"name": "lan"}],
        "hosts": [{"name": f"h{i}", "links": ["lan"]} for i in (1, 2, 3, 4)],
        "swarm": {"managers": ["h1"], "workers": ["h2", "h3"]},
    }
    yield from lab_session(topology, set())


docker = lab_docker


def inspect(lab: Lab, host: str, network: str) -> dict[str, Any]:
    return json.loads(docker(lab, host, "network", "inspect", network).stdout)[0]


def names(lab: Lab, host: str) -> list[str]:
    return docker(lab, host, "network", "ls", "--format", "{{.Name}}").stdout.split()


def sh(lab: Lab, host: str, container: str, script: str, check: bool = True) -> Any:
    return docker(lab, host, "exec", container, "sh", "-c", script, check=check)


def sandbox(lab: Lab, host: str, container: str) -> str:
    return docker(lab, host, "inspect", "-f", "{{.NetworkSettings.SandboxKey}}", container).stdout.strip()


UDP_SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", int(sys.argv[1]))); s.settimeout(8)
print("ready", flush=True)
data, peer = s.recvfrom(100); print(data.decode(), "from", peer[0], flush=True)
"""
UDP_CLIENT = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"over-udp", (sys.argv[1], int(sys.argv[2])))
"""


def received(receiver_ns: str, send: Callable[[], object], port: int = 7001) -> str:
    """The first UDP datagram to ``port`` in ``receiver_ns`` once ``send`` ran: what the
    receiver saw."""
    server = in_netns(receiver_ns, UDP_SERVER, str(port))
    send()
    return finish(server)


def udp_exchange(sender_ns: str, receiver_ns: str, receiver_ip: str, port: int = 7001) -> str:
    """One UDP datagram between two containers' namespaces; what the receiver saw."""
    argv = ["nsenter", f"--net={sender_ns}", sys.executable, "-c", UDP_CLIENT, receiver_ip, str(port)]
    return received(receiver_ns, lambda: subprocess.run(argv, check=True), port)


CAPTURE = """
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800)); s.settimeout(10)
print("ready", flush=True)
while True:
    frame = s.recv(4096)
    ip = frame[14:]
    if ip[9] != 17:
        continue
    udp = ip[(ip[0] & 15) * 4 :]
    if struct.unpack("!H", udp[2:4])[0] != int(sys.argv[1]):
        continue
    vxlan, inner = udp[8:16], udp[16:]
    if inner[12:14].hex() == "86dd":  # a new container's IPv6 link-local chatter may come first
        continue
    print(vxlan[0] & 8, int.from_bytes(vxlan[4:7], "big"), inner[12:14].hex(), flush=True)
    break
"""

BROADCAST = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.sendto(b"to-all", (sys.argv[1], 7002))
"""
LISTEN_ALL = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 7002)); s.settimeout(8)
print("ready", flush=True)
print(s.recvfrom(100)[0].decode(), flush=True)
"""


def in_netns(ns: str, code: str, *args: str) -> subprocess.Popen[str]:
    """A Python program in the namespace at ``ns`` that prints "ready" once listening."""
    proc = subprocess.Popen(
        ["nsenter", f"--net={ns}", sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True
    )
    if proc.stdout is None or proc.stdout.readline().strip() != "ready":
        finish(proc)
        raise AssertionError("the program in the namespace did not start")
    return proc


def finish(proc: subprocess.Popen[str]) -> str:
    try:
        out, _ = proc.communicate(timeout=12)
        return out.strip()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def df_ping(ns: str, address: str, payload: int) -> subprocess.CompletedProcess[str]:
    argv = ["nsenter", f"--net={ns}", "ping", "-c1", "-W2", "-M", "do", "-s", str(payload), address]
    return subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)


def wait_for(predicate: Any, timeout: float, what: str) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout} s")


def test_swarm_networks_are_allocated_by_a_manager_and_refused_on_a_worker(lab: Lab) -> None:
    ingress = inspect(lab, "h1", "ingress")
    assert ingress["Scope"] == "swarm" and ingress["Ingress"] is True and ingress["Driver"] == "overlay"
    assert ingress["IPAM"]["Config"] == [{"Subnet": "10.0.0.0/24", "Gateway": "10.0.0.1"}]
    assert ingress["Options"]["com.docker.network.driver.overlay.vxlanid_list"] == "4096"

    out = docker(lab, "h1", "network", "create", "-d", "overlay", "--attachable", "ovl").stdout.strip()
    assert re.fullmatch(r"[0-9a-z]{25}", out), out
    net = inspect(lab, "h1", "ovl")
    assert net["Id"] == out and net["Scope"] == "swarm" and net["Attachable"] is True
    assert net["IPAM"]["Config"] == [{"Subnet": "10.0.1.0/24", "Gateway": "10.0.1.1"}]
    assert net["Options"]["com.docker.network.driver.overlay.vxlanid_list"] == "4097"

    again = docker(lab, "h1", "network", "create", "-d", "overlay", "ovl", check=False)
    assert again.returncode != 0 and "network with name ovl already exists" in again.stderr
    refused = docker(lab, "h2", "network", "create", "-d", "overlay", "other", check=False)
    assert refused.returncode != 0 and WORKER_CREATE in refused.stderr
    assert "ovl" not in names(lab, "h2") and "ingress" in names(lab, "h2")  # a worker: only once attached
    taken = docker(lab, "h1", "network", "create", "-d", "overlay", "--subnet", "10.0.1.0/25", "x", check=False)
    assert taken.returncode != 0 and "overlap" in taken.stderr
    assert "x" not in names(lab, "h1")


def test_containers_on_two_nodes_reach_each_other_by_name_and_address(lab: Lab) -> None:
    docker(lab, "h1", "run", "-d", "--name", "a1", "--network", "ovl", "busybox", "sleep", "600")
    docker(lab, "h2", "run", "-d", "--name", "a2", "--network", "ovl", "busybox", "sleep", "600")
    try:
        assert "ovl" in names(lab, "h2")
        ip1 = inspect(lab, "h1", "ovl")["Containers"]
        addr1 = next(iter(ip1.values()))["IPv4Address"].split("/")[0]
        addr2 = next(iter(inspect(lab, "h2", "ovl")["Containers"].values()))["IPv4Address"].split("/")[0]
        assert addr1 != addr2 and addr1.startswith("10.0.1.") and addr2.startswith("10.0.1.")
        mac1 = next(iter(ip1.values()))["MacAddress"]
        assert mac1 == "02:42:" + ":".join(f"{int(b):02x}" for b in addr1.split("."))  # Docker's overlay MAC
        assert sh(lab, "h1", "a1", "cat /sys/class/net/eth0/address").stdout.strip() == mac1
        wait_for(lambda: sh(lab, "h1", "a1", f"ping -c1 -W1 {addr2}", check=False).returncode == 0, 10, "a1 → a2")
        assert sh(lab, "h2", "a2", f"ping -c1 -W1 {addr1}", check=False).returncode == 0
        assert sh(lab, "h1", "a1", "ping -c1 -W1 a2", check=False).returncode == 0  # by name, across nodes
        assert sh(lab, "h2", "a2", "nslookup a1 127.0.0.11", check=False).stdout.count(addr1) == 1

        # TCP (busybox nc), UDP (busybox has no UDP tool: Python run inside the containers' namespaces)
        docker(lab, "h2", "exec", "-d", "a2", "sh", "-c", "nc -l -p 7000 > /tmp/tcp")

        def tcp_sent() -> bool:  # (the listener may not be up yet: exec -d returns before it runs)
            return sh(lab, "h1", "a1", "echo over-tcp | nc -w 2 a2 7000", check=False).returncode == 0

        wait_for(tcp_sent, 10, "a TCP connection")
        wait_for(lambda: "over-tcp" in sh(lab, "h2", "a2", "cat /tmp/tcp").stdout, 5, "TCP data")
        assert udp_exchange(sandbox(lab, "h1", "a1"), sandbox(lab, "h2", "a2"), addr2) == "over-udp from " + addr1

        # the inner MTU: 1500 - 50; 1422 bytes of ICMP payload pass with DF, 1423 fail at the sender
        assert "mtu 1450" in sh(lab, "h1", "a1", "ip link show eth0").stdout
        # (iputils ping run in a1's namespace: busybox's has no -M)
        assert df_ping(sandbox(lab, "h1", "a1"), addr2, 1422).returncode == 0
        big = df_ping(sandbox(lab, "h1", "a1"), addr2, 1423)
        assert big.returncode != 0 and "message too long" in (big.stdout + big.stderr).lower()

        peers = {p["IP"] for p in inspect(lab, "h1", "ovl")["Peers"]}
        assert peers == {lab.host("h1").address, lab.host("h2").address}
        shown = status.tree(lab)  # seaway lab status: the overlay, its VNI and VTEPs on each host
        assert f"network ovl  overlay  10.0.1.0/24  swarm VNI 4097  VTEPs h1 {lab.host('h1').address}" in shown, shown
    finally:
        docker(lab, "h1", "rm", "-f", "a1", check=False)
        docker(lab, "h2", "rm", "-f", "a2", check=False)


# A VXLAN packet made by hand: the 8-byte header (I flag, VNI), an inner Ethernet frame to
# the container's MAC, IPv4 and UDP to port 7001 carrying argv[5]; sent over plain UDP.
VXLAN_FORGER = """
import socket, struct, sys
target, vni, mac, dst, text = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5].encode()
def checksum(data):
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF
udp = struct.pack("!HHHH", 40000, 7001, 8 + len(text), 0) + text
src, dst = socket.inet_aton("10.0.1.250"), socket.inet_aton(dst)
head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst)
head = head[:10] + struct.pack("!H", checksum(head)) + head[12:]
frame = bytes.fromhex(mac.replace(":", "")) + bytes.fromhex("02000000fe01") + bytes.fromhex("0800") + head + udp
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(struct.pack("!II", 0x08000000, vni << 8) + frame, (target, 4789))
"""


def members(lab: Lab, host: str) -> str:
    """The host's member VTEPs (IPv4), as nft lists the set."""
    argv = ["nsenter", f"--net=/run/netns/{lab.host(host).netns}", "nft", "list", "set", "inet", "seaway", "vteps-v4"]
    return subprocess.run(argv, capture_output=True, text=True, check=False).stdout


def first_forged(lab: Lab, receiver_ns: str, target: dict[str, Any], vni: str, senders: list[str]) -> str:
    """What a container on h2 (in ``receiver_ns``) receives first when each of ``senders``
    sends it a forged VXLAN packet, in turn."""
    address, mac = target["IPv4Address"].split("/")[0], target["MacAddress"]

    def send() -> None:
        for sender in senders:
            argv = [sys.executable, "-c", VXLAN_FORGER, lab.host("h2").address, vni, mac, address, f"from-{sender}"]
            subprocess.run(["nsenter", f"--net=/run/netns/{lab.host(sender).netns}", *argv], check=True)
            time.sleep(0.5)

    return received(receiver_ns, send)


def test_vxlan_from_an_address_that_is_not_a_member_vtep_is_dropped(lab: Lab) -> None:
    """On h2, members are h2 and the VTEPs of other nodes' endpoints (every swarm node has
    one: its routing mesh's on ``ingress``), not h4 (outside the swarm). The same forged
    VXLAN packet to a container on h2 is dropped from h4 and delivered from h1, so the first datagram the container sees is h1's; also after
    Seaway's table was deleted and the firewall guard restored it."""
    docker(lab, "h1", "run", "-d", "--name", "v1", "--network", "ovl", "busybox", "sleep", "600")
    docker(lab, "h2", "run", "-d", "--name", "v2", "--network", "ovl", "busybox", "sleep", "600")
    try:
        target = next(iter(inspect(lab, "h2", "ovl")["Containers"].values()))
        wait_for(lambda: sh(lab, "h2", "v2", "ping -c1 -W1 v1", check=False).returncode == 0, 10, "v2 → v1")
        vni = inspect(lab, "h1", "ovl")["Options"]["com.docker.network.driver.overlay.vxlanid_list"]
        v2 = sandbox(lab, "h2", "v2")
        assert first_forged(lab, v2, target, vni, ["h4", "h4", "h1"]) == "from-h1 from 10.0.1.250"

        h2_ns = f"/run/netns/{lab.host('h2').netns}"
        subprocess.run(["nsenter", f"--net={h2_ns}", "nft", "delete", "table", "inet", "seaway"], check=True)

        wait_for(lambda: lab.host("h1").address in members(lab, "h2"), 5, "the members restored")
        assert first_forged(lab, v2, target, vni, ["h4", "h1"]) == "from-h1 from 10.0.1.250"
    finally:
        docker(lab, "h1", "rm", "-f", "v1", check=False)
        docker(lab, "h2", "rm", "-f", "v2", check=False)


def test_non_attachable_networks_refuse_containers_and_in_use_networks_stay(lab: Lab) -> None:
    docker(lab, "h1", "network", "create", "-d", "overlay", "-o", "com.docker.network.driver.mtu=1400", "svc")
    refused = docker(lab, "h2", "run", "--rm", "--network", "svc", "busybox", "true", check=False)
    assert refused.returncode != 0 and "network svc not manually attachable" in refused.stderr
    refused = docker(lab, "h1", "run", "--rm", "--network", "svc", "busybox", "true", check=False)
    assert refused.returncode != 0 and "network svc not manually attachable" in refused.stderr

    docker(
        lab,
        "h1",
        "network",
        "create",
        "-d",
        "overlay",
        "--attachable",
        "-o",
        "com.docker.network.driver.mtu=1400",
        "small",
    )
    docker(lab, "h3", "run", "-d", "--name", "s3", "--network", "small", "busybox", "sleep", "600")
    try:
        # the option is the containers' MTU (Docker's meaning): 1372 bytes of ICMP payload with DF
        assert "mtu 1400" in sh(lab, "h3", "s3", "ip link show eth0").stdout
        docker(lab, "h1", "run", "-d", "--name", "s1", "--network", "small", "busybox", "sleep", "600")
        s1 = next(c for c in inspect(lab, "h1", "small")["Containers"].values() if c["Name"] == "s1")
        target = s1["IPv4Address"].split("/")[0]
        wait_for(lambda: df_ping(sandbox(lab, "h3", "s3"), target, 1372).returncode == 0, 5, "1372 bytes with DF")
        assert df_ping(sandbox(lab, "h3", "s3"), target, 1373).returncode != 0
        busy = docker(lab, "h1", "network", "rm", "small", check=False)
        assert busy.returncode != 0 and "has active endpoints" in busy.stderr
        assert "small" in names(lab, "h1")
    finally:
        docker(lab, "h3", "rm", "-f", "s3", check=False)
        docker(lab, "h1", "rm", "-f", "s1", check=False)
    docker(lab, "h1", "network", "rm", "small", "svc")
    assert "small" not in names(lab, "h1") and "svc" not in names(lab, "h1")
    wait_for(lambda: "small" not in names(lab, "h3"), 5, "the network gone on h3")


def test_a_static_address_moves_to_another_node_and_is_reached_at_once(lab: Lab) -> None:
    # (as in Docker, --ip needs a network with a subnet the user gave)
    docker(lab, "h1", "network", "create", "-d", "overlay", "--attachable", "--subnet", "10.20.0.0/24", "moves")
    docker(lab, "h1", "run", "-d", "--name", "m1", "--network", "moves", "busybox", "sleep", "600")
    docker(
        lab, "h2", "run", "-d", "--name", "mv", "--network", "moves", "--ip", "10.20.0.50", "busybox", "sleep", "600"
    )
    try:
        wait_for(lambda: sh(lab, "h1", "m1", "ping -c1 -W1 10.20.0.50", check=False).returncode == 0, 10, "first home")
        taken = docker(
            lab, "h3", "run", "--rm", "--network", "moves", "--ip", "10.20.0.50", "busybox", "true", check=False
        )
        assert taken.returncode != 0 and "Address already in use" in taken.stderr
        old_mac = sh(lab, "h2", "mv", "cat /sys/class/net/eth0/address").stdout.strip()
        docker(lab, "h2", "rm", "-f", "mv")
        docker(lab, "h3", "run", "-d", "--name", "mv", "--network", "moves", "--ip", "10.20.0.50", "--mac-address",
               "02:42:0a:14:00:99", "busybox", "sleep", "600")  # fmt: skip
        assert sh(lab, "h3", "mv", "cat /sys/class/net/eth0/address").stdout.strip() != old_mac
        took = wait_for(
            lambda: sh(lab, "h1", "m1", "ping -c1 -W1 10.20.0.50", check=False).returncode == 0, 10, "the new home"
        )
        assert took < 2.0, f"reachable at its new node after {took:.2f} s"
        assert "10.20.0.50" in sh(lab, "h1", "m1", "nslookup mv 127.0.0.11").stdout
    finally:
        for host, name in (("h1", "m1"), ("h2", "mv"), ("h3", "mv")):
            docker(lab, host, "rm", "-f", name, check=False)
        docker(lab, "h1", "network", "rm", "moves", check=False)


def test_overlays_leave_through_docker_gwbridge_masqueraded_and_internal_ones_do_not(lab: Lab) -> None:
    gw = inspect(lab, "h1", "docker_gwbridge")
    assert gw["Driver"] == "bridge" and gw["Options"]["com.docker.network.bridge.enable_icc"] == "false"
    docker(lab, "h1", "network", "create", "-d", "overlay", "--attachable", "--internal", "closed")
    docker(lab, "h1", "run", "-d", "--name", "out", "--network", "ovl", "busybox", "sleep", "600")
    docker(lab, "h1", "run", "-d", "--name", "shut", "--network", "closed", "busybox", "sleep", "600")
    try:
        routes = sh(lab, "h1", "out", "ip route").stdout
        assert "default via " in routes and "dev eth1" in routes, routes
        assert list(json.loads(docker(lab, "h1", "inspect", "out").stdout)[0]["NetworkSettings"]["Networks"]) == ["ovl"]
        # egress reaches another host's underlay address from the node's own address
        h2 = lab.host("h2")
        seen = udp_exchange(sandbox(lab, "h1", "out"), f"/run/netns/{h2.netns}", h2.address)
        assert seen == f"over-udp from {lab.host('h1').address}"
        # also to UDP 4789: h1 drops VXLAN *to itself* from non-members only; a container's
        # own VXLAN elsewhere is forwarded (to h4, outside the swarm: no VXLAN socket there)
        h4 = lab.host("h4")
        seen = udp_exchange(sandbox(lab, "h1", "out"), f"/run/netns/{h4.netns}", h4.address, 4789)
        assert seen == f"over-udp from {lab.host('h1').address}"
        assert "default" not in sh(lab, "h1", "shut", "ip route").stdout  # internal: no way out
        # the gateway bridge is no path between overlays: ICC is off on it
        shut_gw = sh(lab, "h1", "shut", "ip -4 -o addr show").stdout
        out_gw = next(
            line.split()[3].split("/")[0]
            for line in sh(lab, "h1", "out", "ip -4 -o addr show eth1").stdout.splitlines()
        )
        assert "eth1" not in shut_gw
        docker(lab, "h1", "network", "connect", "ovl", "shut")
        assert sh(lab, "h1", "shut", f"ping -c1 -W1 {out_gw}", check=False).returncode != 0
    finally:
        docker(lab, "h1", "rm", "-f", "out", "shut", check=False)
        docker(lab, "h1", "network", "rm", "closed", check=False)


def test_a_node_killed_with_its_container_leaves_nothing_once_back(lab: Lab) -> None:
    """seawayd and the container's process SIGKILLed on h3 (a crashed host): once h3's
    daemon is back, its endpoint record and address are gone from the store, the network
    can be removed, and its overlay namespace is gone from h3."""
    network_id = docker(lab, "h1", "network", "create", "-d", "overlay", "--attachable", "crash").stdout.strip()
    docker(lab, "h3", "run", "-d", "--name", "k", "--network", "crash", "busybox", "sleep", "600")
    pid = int(docker(lab, "h3", "inspect", "-f", "{{.State.Pid}}", "k").stdout)
    namespace = lab.host("h3").files.exec_root / "netns" / f"cluster-ov-{network_id[:12]}"
    assert namespace.exists()  # (ingress has one too: the routing mesh's, which stays)
    lab.kill("h3")
    os.kill(pid, signal.SIGKILL)
    lab.start("h3")
    try:
        wait_for(lambda: docker(lab, "h1", "network", "rm", "crash", check=False).returncode == 0, 20, "removal")
        wait_for(lambda: not namespace.exists(), 10, "reclaim")
        assert "crash" not in names(lab, "h3")
    finally:
        docker(lab, "h3", "rm", "-f", "k", check=False)
        docker(lab, "h1", "network", "rm", "crash", check=False)


def test_dual_stack_overlays_carry_ipv6_across_nodes_with_aaaa_names(lab: Lab) -> None:
    docker(lab, "h1", "network", "create", "-d", "overlay", "--attachable", "--ipv6", "dual")
    docker(lab, "h1", "run", "-d", "--name", "d1", "--network", "dual", "busybox", "sleep", "600")
    docker(lab, "h2", "run", "-d", "--name", "d2", "--network", "dual", "busybox", "sleep", "600")
    try:
        config = inspect(lab, "h1", "dual")["IPAM"]["Config"]
        assert config[1]["Subnet"].startswith("fd") and config[1]["Subnet"].endswith("::/64")
        d2 = next(iter(inspect(lab, "h2", "dual")["Containers"].values()))["IPv6Address"].split("/")[0]
        assert d2

        def reached() -> bool:
            argv = ["nsenter", f"--net={sandbox(lab, 'h1', 'd1')}", "ping", "-6", "-c1", "-W1", d2]
            return subprocess.run(argv, capture_output=True, timeout=10, check=False).returncode == 0

        wait_for(reached, 10, "d1 → d2 over IPv6")
        assert d2 in sh(lab, "h1", "d1", "nslookup -type=AAAA d2 127.0.0.11").stdout
    finally:
        docker(lab, "h1", "rm", "-f", "d1", check=False)
        docker(lab, "h2", "rm", "-f", "d2", check=False)
        docker(lab, "h1", "network", "rm", "dual", check=False)


def test_the_underlay_carries_vxlan_with_the_vni_and_broadcast_reaches_every_member(lab: Lab) -> None:
    docker(lab, "h1", "run", "-d", "--name", "b1", "--network", "ovl", "busybox", "sleep", "600")
    docker(lab, "h2", "run", "-d", "--name", "b2", "--network", "ovl", "busybox", "sleep", "600")
    docker(lab, "h3", "run", "-d", "--name", "b3", "--network", "ovl", "busybox", "sleep", "600")
    try:
        ns = {h: sandbox(lab, h, f"b{h[1]}") for h in ("h1", "h2", "h3")}
        b2 = next(c for c in inspect(lab, "h2", "ovl")["Containers"].values() if c["Name"] == "b2")
        addr2 = b2["IPv4Address"].split("/")[0]
        wait_for(lambda: sh(lab, "h1", "b1", f"ping -c1 -W1 {addr2}", check=False).returncode == 0, 10, "b1 → b2")
        # on h2's underlay: UDP 4789, the I flag, the network's VNI, an inner IPv4 Ethernet frame
        capture = in_netns(f"/run/netns/{lab.host('h2').netns}", CAPTURE, "4789")
        sh(lab, "h1", "b1", f"ping -c1 -W1 {addr2}", check=False)
        assert finish(capture) == "8 4097 0800"
        # a subnet broadcast from b1 reaches the members on both other nodes (head-end replication)
        listeners = [in_netns(ns[h], LISTEN_ALL) for h in ("h2", "h3")]
        subprocess.run(["nsenter", f"--net={ns['h1']}", sys.executable, "-c", BROADCAST, "10.0.1.255"], check=True)
        assert [finish(p) for p in listeners] == ["to-all", "to-all"]
    finally:
        for h in ("h1", "h2", "h3"):
            docker(lab, h, "rm", "-f", f"b{h[1]}", check=False)


NO_CONFIG = 'configuration network "mvcfg" does not exist'
WORKER_REFUSED = (
    "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. "
    "Please run this command on a manager node or promote the current node to a manager."
)


def test_node_local_swarm_networks_are_built_on_each_node_from_its_own_configuration(lab: Lab) -> None:
    """``--scope swarm --config-from`` (dockerd 20.10's behaviour, observed): each worker
    builds the macvlan network from its own config-only network (one subnet, a range per
    node), their containers reach each other over the LAN; the manager, without one,
    shows the swarm's record and refuses a container with dockerd's task error."""
    ranges = {"h2": "10.77.0.32/28", "h3": "10.77.0.64/28"}
    for host, ip_range in ranges.items():
        docker(lab, host, "network", "create", "--config-only", "--subnet", "10.77.0.0/24", "--gateway", "10.77.0.1", "--ip-range", ip_range,
               "-o", "parent=eth0", "mvcfg")  # fmt: skip
    try:
        given = docker(lab, "h1", "network", "create", "-d", "macvlan", "--scope", "swarm", "--config-from", "mvcfg",
                       "--subnet", "10.78.0.0/24", "bad", check=False)  # fmt: skip
        assert "user specified configurations are not supported if the network depends on a configuration network" in (
            given.stderr
        )
        opted = docker(lab, "h1", "network", "create", "-d", "macvlan", "--scope", "swarm", "--config-from", "mvcfg",
                       "-o", "parent=eth0", "bad", check=False)  # fmt: skip
        assert "network driver options are not supported if the network depends on a configuration network" in (
            opted.stderr
        )
        worker = docker(lab, "h2", "network", "create", "-d", "macvlan", "--scope", "swarm", "--config-from", "mvcfg",
                        "bad", check=False)  # fmt: skip
        assert WORKER_CREATE in worker.stderr
        docker(lab, "h1", "network", "create", "-d", "macvlan", "--scope", "swarm", "--config-from", "mvcfg",
               "--attachable", "mvs")  # fmt: skip
        seen = inspect(lab, "h1", "mvs")
        assert (seen["Scope"], seen["Driver"], seen["ConfigFrom"], seen["IPAM"]["Config"]) == (
            "swarm", "macvlan", {"Network": "mvcfg"}, []
        )  # fmt: skip
        refused = docker(lab, "h1", "run", "-d", "--name", "mv1", "--network", "mvs", "busybox", "sleep", "600",
                         check=False)  # fmt: skip
        assert refused.returncode != 0 and NO_CONFIG in refused.stderr
        for host in ranges:
            docker(lab, host, "run", "-d", "--name", f"mv{host[1]}", "--network", "mvs", "busybox", "sleep", "600")
        local = inspect(lab, "h3", "mvs")
        assert (local["Scope"], local["Driver"], local["ConfigFrom"]) == ("swarm", "macvlan", {"Network": "mvcfg"})
        assert local["IPAM"]["Config"] == [
            {"Subnet": "10.77.0.0/24", "Gateway": "10.77.0.1", "IPRange": "10.77.0.64/28"}
        ]
        assert local["Options"] == {"parent": "eth0"}
        addr = {h: docker(lab, h, "inspect", "-f", "{{.NetworkSettings.Networks.mvs.IPAddress}}", f"mv{h[1]}").stdout.strip()
                for h in ranges}  # fmt: skip
        assert addr["h2"].startswith("10.77.0.3") or addr["h2"].startswith("10.77.0.4"), addr
        assert 64 <= int(addr["h3"].rsplit(".", 1)[1]) < 80, addr
        sh(lab, "h2", "mv2", f"ping -c1 -W2 {addr['h3']}")
        assert "mvs" in names(lab, "h1") and "mvs" in names(lab, "h2")
        in_use = docker(lab, "h3", "network", "rm", "mvcfg", check=False)
        assert 'configuration network "mvcfg" is in use' in in_use.stderr
        rm = docker(lab, "h2", "network", "rm", "mvs", check=False)
        assert rm.returncode != 0 and WORKER_REFUSED in rm.stderr
        by_name = lab.host("h2").run(["docker", "network", "rm", "ingress"], input="y\n")  # dockerd: by ID only
        assert "network ingress not found" in by_name.stderr
    finally:
        docker(lab, "h2", "rm", "-f", "mv2", check=False)
        docker(lab, "h3", "rm", "-f", "mv3", check=False)
        docker(lab, "h1", "rm", "-f", "mv1", check=False)
        docker(lab, "h1", "network", "rm", "mvs", check=False)
        wait_for(lambda: all("mvs" not in names(lab, h) for h in ranges), 10, "mvs gone from the workers")
        for host in ranges:
            docker(lab, host, "network", "rm", "mvcfg", check=False)
