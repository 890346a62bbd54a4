"""BGP from the host, on one lab for the module: two hosts, each on its own segment,
each seawayd speaking BGP (FRR) with a router between them that runs FRR too. Routed
networks are announced and withdrawn, containers reach each other across the hosts
with their own addresses (no NAT, no overlay), FRR is started again when it dies, and a
stopped seawayd leaves no FRR process, route or file behind."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import docker.types
import pytest
from tests.integration.checks import WHOAMI_SERVER, address_seen_by, wait_until

from seaway.bgp import speaker
from seaway.bgp.speaker import FRR_TMP
from seaway.errors import SeawayError
from seaway.kernel import process
from seaway.lab import Lab, status
from seaway.lab import state as lab_state
from seaway.testing.plugin import lab_session

pytestmark = pytest.mark.netns

MODE4 = "com.docker.network.bridge.gateway_mode_ipv4"
ANNOUNCE = "seaway.bridge.bgp_announce"
ROUTED = {MODE4: "routed"}
TOPOLOGY = {
    "name": "bgp",
    "segments": [{"name": "rack1"}, {"name": "rack2"}],
    "routers": [{"name": "r1", "links": ["rack1", "rack2"], "asn": 65000}],
    "hosts": [
        {"name": "h1", "links": ["rack1"], "asn": 65001,
         "networks": [{"name": "rnet", "subnet": "10.71.0.0/24", "options": ROUTED}]},
        {"name": "h2", "links": ["rack2"], "asn": 65002,
         "networks": [{"name": "rnet", "subnet": "10.72.0.0/24", "options": ROUTED}]},
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def fabric(_made_here: set[str]) -> Iterator[Lab]:
    yield from lab_session(TOPOLOGY, _made_here)


def bgp_routes(lab: Lab, node: str) -> dict[str, str]:
    """The node's kernel routes installed by zebra for BGP: destination -> gateway."""
    out = lab.node_run(node, ["ip", "-j", "-4", "route", "show", "proto", "bgp"]).stdout
    return {r["dst"]: r.get("gateway", "") for r in json.loads(out or "[]")}


def frr_root(lab: Lab, host: str) -> Path:
    return lab.host(host).files.data_root / "bgp"


def frr_pid(lab: Lab, host: str, daemon: str) -> int | None:
    root = frr_root(lab, host)
    try:
        pid = int((root / f"{daemon}.pid").read_text())
    except (OSError, ValueError):
        return None
    return pid if process.runs(pid, str(root)) else None


def test_containers_on_routed_networks_reach_each_other_across_hosts_with_their_own_address(fabric: Lab) -> None:
    h1, h2 = fabric.host("h1"), fabric.host("h2")
    wait_until(lambda: "10.71.0.0/24" in bgp_routes(fabric, "h2"), 30, "h2 learns h1's routed subnet")
    wait_until(lambda: "10.72.0.0/24" in bgp_routes(fabric, "h1"), 30, "h1 learns h2's routed subnet")
    r1_rack1 = str(fabric.plan.node("r1").interfaces[0].address.ip)
    assert bgp_routes(fabric, "h1")["10.72.0.0/24"] == r1_rack1  # the next hop: the router, no tunnel
    web = h2.docker.containers.run("busybox", ["sh", "-c", WHOAMI_SERVER], name="web", network="rnet",
                                   ports={"80/tcp": 8080}, detach=True)  # fmt: skip
    cli = h1.docker.containers.run("busybox", ["sleep", "600"], name="cli", network="rnet", detach=True)
    try:
        web.reload()
        cli.reload()
        web_ip = web.attrs["NetworkSettings"]["Networks"]["rnet"]["IPAddress"]
        cli_ip = cli.attrs["NetworkSettings"]["Networks"]["rnet"]["IPAddress"]
        assert cli.exec_run(["ping", "-c1", "-W2", web_ip]).exit_code == 0
        wait_until(lambda: address_seen_by(cli, web_ip) != "", 30, "httpd answers across the hosts")
        assert address_seen_by(cli, web_ip) == cli_ip  # the client container's own address: no NAT on either host
    finally:
        for c in (web, cli):
            c.remove(force=True)


def test_networks_are_announced_and_withdrawn_and_host_routes_follow_containers(fabric: Lab) -> None:
    h1 = fabric.host("h1")
    extra = h1.docker.networks.create("extra", options=ROUTED, ipam=_ipam("10.73.0.0/24"))
    natted = h1.docker.networks.create("natted", ipam=_ipam("10.74.0.0/24"))
    hosts = h1.docker.networks.create("mobile", options={**ROUTED, ANNOUNCE: "hosts"}, ipam=_ipam("10.75.0.0/24"))
    try:
        took = wait_until(lambda: "10.73.0.0/24" in bgp_routes(fabric, "h2"), 10, "a new routed network is announced")
        print(f"announced on the far host after {took:.2f} s")
        assert "10.74.0.0/24" not in bgp_routes(fabric, "h2")  # a NAT network never is
        assert "10.75.0.0/24" not in bgp_routes(fabric, "h2")  # announce=hosts: no subnet route
        ctr = h1.docker.containers.run("busybox", ["sleep", "600"], network="mobile", detach=True)
        try:
            ctr.reload()
            host_route = ctr.attrs["NetworkSettings"]["Networks"]["mobile"]["IPAddress"]
            wait_until(lambda: host_route in bgp_routes(fabric, "h2"), 10, "the container's /32 is announced")
            ctr.stop(timeout=1)
            took = wait_until(lambda: host_route not in bgp_routes(fabric, "h2"), 10, "a stopped container's /32 goes")
            print(f"host route withdrawn on the far host {took:.2f} s after the container stopped")
        finally:
            ctr.remove(force=True)
        extra.remove()
        took = wait_until(lambda: "10.73.0.0/24" not in bgp_routes(fabric, "h2"), 10, "a removed network is withdrawn")
        print(f"withdrawn on the far host {took:.2f} s after the network was removed")
        assert "10.73.0.0/24" not in bgp_routes(fabric, "r1")
    finally:
        for net in (natted, hosts):
            net.remove()


def _ipam(subnet: str) -> docker.types.IPAMConfig:
    return docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])


def test_status_shows_each_speakers_sessions_and_routes(fabric: Lab) -> None:
    wait_until(lambda: "10.72.0.0/24" in bgp_routes(fabric, "h1"), 30, "h1 learns h2's routed subnet")
    tree = status.tree(fabric)
    h1_addr, h2_addr = fabric.host("h1").address, fabric.host("h2").address
    assert f"peer h1 {h1_addr} AS 65001  Established  1 received" in tree, tree
    assert f"peer h2 {h2_addr} AS 65002  Established  1 received" in tree, tree
    assert "bgp AS 65001  router-id " + h1_addr in tree


@pytest.mark.parametrize("daemon", ["bgpd", "zebra"])
def test_frr_is_started_again_when_it_dies(fabric: Lab, daemon: str) -> None:
    old = {d: frr_pid(fabric, "h1", d) for d in ("zebra", "bgpd")}
    killed = old[daemon]
    assert killed is not None
    os.kill(killed, signal.SIGKILL)
    restarted = ["zebra", "bgpd"] if daemon == "zebra" else ["bgpd"]  # bgpd goes with zebra
    for d in restarted:
        wait_until(lambda d=d: frr_pid(fabric, "h1", d) not in (None, old[d]), 15, f"seawayd starts {d} again")
    wait_until(lambda: established(fabric, "h1"), 30, "the new bgpd's session is up and exchanges routes")
    wait_until(lambda: "10.71.0.0/24" in bgp_routes(fabric, "h2"), 30, "h1's subnet is announced again")
    wait_until(lambda: "10.72.0.0/24" in bgp_routes(fabric, "h1"), 30, "h1 installs h2's subnet again")
    assert not (FRR_TMP / f"{daemon}.{killed}").exists()  # the killed daemon's crash-log buffer is removed


def established(lab: Lab, host: str) -> bool:
    """The host's session is up and has received and sent a prefix."""
    try:
        found = speaker.sessions(speaker.summary(frr_root(lab, host), lab.host(host).netns))
    except SeawayError:
        return False
    return bool(found) and all(s["state"] == "Established" and s["received"] and s["sent"] for s in found)


def test_a_killed_daemons_frr_is_replaced_by_the_next_daemons(fabric: Lab) -> None:
    old = {d: frr_pid(fabric, "h1", d) for d in ("zebra", "bgpd")}
    assert None not in old.values(), fabric.host("h1").files.log.read_text()[-3000:]
    fabric.kill("h1")  # SIGKILL: FRR runs on without its daemon
    assert all(pid is not None and process.runs(pid, str(frr_root(fabric, "h1"))) for pid in old.values())
    fabric.start("h1")
    for daemon, pid in old.items():
        assert pid is not None and not process.runs(pid, str(frr_root(fabric, "h1")))
        assert frr_pid(fabric, "h1", daemon) not in (None, pid)
    wait_until(lambda: established(fabric, "h1"), 30, "the new FRR's session is up")
    wait_until(lambda: "10.72.0.0/24" in bgp_routes(fabric, "h1"), 30, "the new FRR learns h2's subnet")
    wait_until(lambda: "10.71.0.0/24" in bgp_routes(fabric, "h2"), 30, "and announces h1's")


def test_a_stopped_daemon_leaves_no_frr_route_or_file(fabric: Lab) -> None:
    wait_until(lambda: "10.72.0.0/24" in bgp_routes(fabric, "h1"), 30, "h1 learns h2's routed subnet")
    pids = {d: frr_pid(fabric, "h1", d) for d in ("zebra", "bgpd")}
    assert None not in pids.values()
    st = lab_state.read(fabric.plan.root)
    seawayd = st.pids["h1"]
    process.stop(seawayd, st.marker, timeout=30)  # SIGTERM: the daemon stops as it would at shutdown
    for daemon, pid in pids.items():
        assert pid is not None and not process.runs(pid, str(frr_root(fabric, "h1")))
        assert not (FRR_TMP / f"{daemon}.{pid}").exists()
    assert bgp_routes(fabric, "h1") == {}  # zebra took the learned routes out
    leftovers = sorted(p.name for p in frr_root(fabric, "h1").iterdir() if p.suffix in (".pid", ".vty", ".api"))
    assert leftovers == []
    wait_until(lambda: "10.71.0.0/24" not in bgp_routes(fabric, "h2"), 15, "h1's subnet is withdrawn from h2")
