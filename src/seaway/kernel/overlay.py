"""An overlay network's kernel objects: its own namespace holding a bridge and a VXLAN
link, and the static peer entries that replace learning.

The VXLAN link is created from the host's namespace straight into the overlay's (its UDP
socket stays on the underlay, its L2/L3 side is isolated with the bridge), with learning
off and ARP/ND proxy on: the kernel answers neighbour queries from the neighbour table
and never tunnels them. Remote endpoints are programmed as permanent neighbour and FDB
entries, remote VTEPs as all-zero FDB entries (head-end replication of broadcast and
multicast). Nothing is learned, so nothing ages out.

``set_peers`` replaces the whole peer state in one visit of the namespace (idempotent:
what is there and wanted is kept); ``change_peers`` adds and removes given entries only,
at a cost per change whatever the number of peers.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from pyroute2 import IPRoute

from seaway.errors import KernelError
from seaway.kernel import addresses, links, netns, sysctl
from seaway.kernel.errors import is_exists, is_missing, translating
from seaway.kernel.sandbox import netns_fd as open_netns
from seaway.model.network import IPAddress

NUD_PERMANENT = 0x80
NTF_SELF = 0x02
FLOOD_MAC = "00:00:00:00:00:00"


@dataclass(frozen=True, slots=True)
class PeerEntry:
    """One remote endpoint: its MAC and addresses, behind the VTEP ``vtep``."""

    mac: str
    vtep: IPAddress
    ipv4: ipaddress.IPv4Address | None = None
    ipv6: ipaddress.IPv6Address | None = None


def create_vxlan(
    ipr: IPRoute,  # a socket of the host's (underlay's) namespace
    name: str,
    *,
    vni: int,
    local: IPAddress,
    port: int,
    mtu: int,
    netns_fd: int,
    alias: str,
) -> None:
    """A VXLAN link made in the host's namespace directly inside the namespace of
    ``netns_fd``: learning off, proxy on, no miss notifications."""
    attrs: dict[str, object] = {
        "ifname": name,
        "kind": "vxlan",
        "vxlan_id": vni,
        "vxlan_port": port,
        "vxlan_learning": 0,
        "vxlan_proxy": 1,
        "vxlan_l2miss": 0,
        "vxlan_l3miss": 0,
        "net_ns_fd": netns_fd,
        "ifalias": alias,
    }
    attrs["vxlan_local6" if local.version == 6 else "vxlan_local"] = str(local)
    if mtu:
        attrs["mtu"] = mtu
    links.add_link(ipr, "create vxlan link", name, attrs)


def ensure_inside(
    path: str, bridge: str, vxlan: str, mtu: int, gateways: list[tuple[IPAddress, int]], alias: str
) -> None:
    """Inside the overlay's namespace: loopback up, the bridge (with each subnet's gateway
    address) and the VXLAN link as its port, all up. Idempotent."""

    def body() -> None:
        with IPRoute() as ipr:
            lo = links.index_here("lo")
            if lo is not None:
                links.set_up(ipr, lo, "lo")
            index, _ = links.ensure_bridge(ipr, bridge, mtu=mtu, alias=alias)
            sysctl.write("net/ipv6/conf/all/forwarding", "1")
            for gateway, prefixlen in gateways:
                addresses.add_address(ipr, index, bridge, gateway, prefixlen)
            links.set_up(ipr, index, bridge)
            vx = links.index_here(vxlan)
            if vx is None:
                raise KernelError("attach vxlan link", vxlan, None, "not found in the overlay namespace")
            with translating("attach vxlan link", vxlan):
                ipr.link("set", index=vx, master=index, state="up")

    netns.run(path, body)


def add_port(
    path: str, bridge: str, name: str, *, peer_name: str, peer_path: str, mtu: int, peer_mac: str, alias: str
) -> None:
    """A veth whose side ``name`` is a port of ``bridge`` in the overlay's namespace and
    whose peer is created directly in the sandbox at ``peer_path``."""

    def body() -> None:
        master = links.index_here(bridge)
        if master is None:
            raise KernelError("attach to overlay bridge", bridge, None, "bridge is missing")
        with IPRoute() as ipr, open_netns(peer_path) as fd:
            links.create_veth(
                ipr, name, peer_name=peer_name, peer_netns_fd=fd, master=master, mtu=mtu, peer_mac=peer_mac, alias=alias
            )

    netns.run(path, body)


def set_peers(path: str, vxlan: str, peers: list[PeerEntry], vteps: list[IPAddress]) -> None:
    """Make the VXLAN link's static entries exactly ``peers`` and ``vteps`` (one visit)."""

    def body() -> None:
        with IPRoute() as ipr:
            vx = links.index_here(vxlan)
            if vx is None:
                raise KernelError("program overlay peers", vxlan, None, "vxlan link not found")
            _sync_fdb(ipr, vx, vxlan, peers, vteps)
            _sync_neighbours(ipr, vx, vxlan, peers)

    netns.run(path, body)


def change_peers(
    path: str,
    vxlan: str,
    *,
    added: list[PeerEntry],
    removed: list[PeerEntry],
    stale_addresses: list[IPAddress],
    vteps_added: list[IPAddress],
    vteps_removed: list[IPAddress],
    bridge: str,
) -> None:
    """Remove the FDB entries of ``removed`` and the neighbour entries of
    ``stale_addresses`` (addresses no peer holds any more), then add ``added`` and the
    flood entries of new VTEPs, and announce ``added`` on ``bridge`` (one visit). Entries
    already gone are not an error.

    The announcement is a gratuitous ARP per added peer's IPv4 address, sent to this
    host's containers: a cache holding the address's previous MAC (the address moved to
    another host, or a container came back with a new MAC) is updated at once instead of
    after its probes fail. Proxy mode keeps ARP off the tunnel, so the far end's own
    announcement never arrives; this one is sent on its behalf."""
    frames = [_garp(p.mac, p.ipv4) for p in added if p.ipv4 is not None and p.ipv4.version == 4]

    def body() -> None:
        with IPRoute() as ipr:
            vx = links.index_here(vxlan)
            if vx is None:
                raise KernelError("program overlay peers", vxlan, None, "vxlan link not found")
            for p in removed:
                _fdb_del(ipr, vx, p.mac.lower(), str(p.vtep))
            for vtep in vteps_removed:
                _fdb_del(ipr, vx, FLOOD_MAC, str(vtep))
            for address in stale_addresses:
                _neigh_del(ipr, vx, str(address), _family(address))
            for vtep in vteps_added:
                _fdb_add(ipr, vx, FLOOD_MAC, str(vtep))
            for p in added:
                _fdb_add(ipr, vx, p.mac.lower(), str(p.vtep))
                for address in (p.ipv4, p.ipv6):
                    if address is not None:
                        _neigh_set(ipr, vx, str(address), _family(address), p.mac)
        if frames:
            with translating("announce peers on", bridge), socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
                sock.bind((bridge, 0))
                for frame in frames:
                    sock.send(frame)

    netns.run(path, body)


def _garp(mac: str, address: IPAddress) -> bytes:
    hw = bytes.fromhex(mac.replace(":", ""))
    ip = address.packed
    ethernet = b"\xff" * 6 + hw + b"\x08\x06"
    arp = b"\x00\x01\x08\x00\x06\x04\x00\x01" + hw + ip + b"\x00" * 6 + ip
    return ethernet + arp


def _fdb_add(ipr: IPRoute, vx: int, mac: str, dst: str) -> None:
    try:
        with translating("add fdb entry", f"{mac} dst {dst}"):
            ipr.fdb("append", ifindex=vx, lladdr=mac, dst=dst, state=NUD_PERMANENT, flags=NTF_SELF)
    except KernelError as exc:
        if not is_exists(exc):
            raise


def _fdb_del(ipr: IPRoute, vx: int, mac: str, dst: str) -> None:
    try:
        with translating("delete fdb entry", f"{mac} dst {dst}"):
            ipr.fdb("del", ifindex=vx, lladdr=mac, dst=dst, flags=NTF_SELF)
    except KernelError as exc:
        if not is_missing(exc):
            raise


def _family(address: IPAddress) -> int:
    return socket.AF_INET if address.version == 4 else socket.AF_INET6


def _neigh_set(ipr: IPRoute, vx: int, address: str, family: int, mac: str) -> None:
    with translating("add neighbour", address):
        ipr.neigh("replace", family=family, dst=address, lladdr=mac, ifindex=vx, state=NUD_PERMANENT)


def _neigh_del(ipr: IPRoute, vx: int, address: str, family: int) -> None:
    try:
        with translating("delete neighbour", address):
            ipr.neigh("del", family=family, dst=address, ifindex=vx)
    except KernelError as exc:
        if not is_missing(exc):
            raise


def _sync_fdb(ipr: IPRoute, vx: int, vxlan: str, peers: list[PeerEntry], vteps: list[IPAddress]) -> None:
    wanted = {(p.mac.lower(), str(p.vtep)) for p in peers} | {(FLOOD_MAC, str(v)) for v in vteps}
    with translating("list fdb of", vxlan):
        present = {
            (m.get_attr("NDA_LLADDR"), m.get_attr("NDA_DST"))
            for m in ipr.fdb("dump", ifindex=vx)
            if m["ifindex"] == vx and m.get_attr("NDA_DST") is not None
        }
    for mac, dst in sorted(present - wanted):
        _fdb_del(ipr, vx, mac, dst)
    for mac, dst in sorted(wanted - present):
        _fdb_add(ipr, vx, mac, dst)


def _sync_neighbours(ipr: IPRoute, vx: int, vxlan: str, peers: list[PeerEntry]) -> None:
    wanted: dict[str, tuple[int, str]] = {}
    for p in peers:
        for address in (p.ipv4, p.ipv6):
            if address is not None:
                wanted[str(address)] = (_family(address), p.mac.lower())
    with translating("list neighbours of", vxlan):
        present = {
            m.get_attr("NDA_DST"): (m["family"], (m.get_attr("NDA_LLADDR") or "").lower())
            for family in (socket.AF_INET, socket.AF_INET6)
            for m in ipr.get_neighbours(family=family, ifindex=vx)
            if m["state"] & NUD_PERMANENT
        }
    for dst, (family, _) in present.items():
        if dst not in wanted:
            _neigh_del(ipr, vx, dst, family)
    for dst, (family, mac) in wanted.items():
        if present.get(dst) != (family, mac):
            _neigh_set(ipr, vx, dst, family, mac)
