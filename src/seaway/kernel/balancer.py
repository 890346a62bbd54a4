"""The service load balancer's kernel state inside an overlay network's namespace: the
node's LB address and the VIPs on the bridge, the sysctls balancing needs, the nftables
table (``seaway.firewall.balancer`` writes it), and the conntrack entries of a backend
that went.

The bridge answers ARP for the LB address and the VIPs (they are its own addresses, /32
each: no route of the subnet changes), and takes the bridge's MAC address once and for
all (``02:42`` + the LB address, as Docker's MACs): other nodes' static neighbour entries
point at it, and a bridge whose MAC is not set takes its lowest port's, which changes as
ports come and go. A balanced flow is routed out of the bridge it came in by; ICMP
redirects are off so no client is told to skip the balancer.
"""

from __future__ import annotations

import ipaddress
import socket

from pyroute2 import IPRoute
from pyroute2.conntrack import Conntrack
from pyroute2.netlink.nfnetlink.nfctsocket import NFCTAttrTuple

from seaway.errors import KernelError
from seaway.kernel import addresses, links, netns, nft, sysctl
from seaway.kernel.errors import is_missing, translating

#: conntrack's idle timeout of an established TCP flow in the namespace (5 days, the
#: kernel's default, set explicitly: IPVS's 900 s is the trap Docker users fall into)
ESTABLISHED_TIMEOUT = 432000
Address = ipaddress.IPv4Address


def mac_of(address: Address) -> str:
    return "02:42:" + ":".join(f"{b:02x}" for b in address.packed)


def install(path: str, bridge: str, lb_address: Address, vips: list[Address], ruleset: str) -> None:
    """Make the balancer of the namespace at ``path`` (idempotent: the table is made anew)."""

    def body() -> None:
        _balancing_sysctls(bridge)
        with IPRoute() as ipr:
            index = _bridge(bridge)
            with translating("set balancer MAC address on", bridge):
                ipr.link("set", index=index, address=mac_of(lb_address))
            for address in (lb_address, *vips):
                addresses.add_address(ipr, index, bridge, address, 32)
        nft.apply_text_in_process(ruleset, "service load balancer")

    netns.run(path, body)


def change(path: str, bridge: str, commands: str, added: list[Address], removed: list[Address]) -> None:
    """Apply the table ``commands`` (one transaction); VIPs ``added`` are taken by the
    bridge before, ``removed`` given up after."""

    def body() -> None:
        with IPRoute() as ipr:
            index = _bridge(bridge)
            for vip in added:
                addresses.add_address(ipr, index, bridge, vip, 32)
            nft.apply_text_in_process(commands, "service load balancer")
            for vip in removed:
                _delete_address(ipr, index, bridge, vip)

    netns.run(path, body)


def remove(path: str, bridge: str, lb_address: Address, vips: list[Address], table: str) -> None:
    """Take the balancer out of the namespace (the network stays)."""

    def body() -> None:
        nft.apply_text_in_process(f"add table ip {table}\ndelete table ip {table}\n", "service load balancer")
        with IPRoute() as ipr:
            index = _bridge(bridge)
            for address in (lb_address, *vips):
                _delete_address(ipr, index, bridge, address)

    netns.run(path, body)


def route_through(path: str) -> None:
    """The namespace at ``path`` forwards (a balancer between two of its interfaces: the
    routing mesh's sandbox), sends no ICMP redirect, and keeps idle flows as long as the
    balancers do."""

    netns.run(path, _balancing_sysctls, None)


def apply_in(path: str, commands: str, what: str) -> None:
    """One nftables transaction (nft's language) in the namespace at ``path``."""
    netns.run(path, nft.apply_text_in_process, commands, what)


def forget_flows(path: str, backends: list[Address]) -> int:
    """Delete the conntrack entries of flows balanced to ``backends`` (they are gone: the
    client's next packet is balanced anew and answered with a reset, not left hanging).
    The number deleted."""

    def body() -> int:
        count = 0
        with Conntrack() as ct:
            for backend in backends:
                with translating("list flows to", str(backend)):
                    entries = list(ct.dump_entries(tuple_reply=NFCTAttrTuple(saddr=str(backend))))
                for entry in entries:
                    try:
                        with translating("delete flow to", str(backend)):
                            ct.entry("del", tuple_orig=entry.tuple_orig)
                        count += 1
                    except KernelError as exc:
                        if not is_missing(exc):
                            raise
        return count

    return netns.run(path, body)


def _balancing_sysctls(interface: str | None) -> None:
    """In the calling thread's namespace: forwarding on, ICMP redirects off (also on
    ``interface``), conntrack's established timeout explicit."""
    settings = [
        ("net/ipv4/ip_forward", "1"),
        ("net/ipv4/conf/all/send_redirects", "0"),
        ("net/ipv4/conf/default/send_redirects", "0"),
        ("net/netfilter/nf_conntrack_tcp_timeout_established", str(ESTABLISHED_TIMEOUT)),
    ]
    if interface is not None:
        settings.append((f"net/ipv4/conf/{interface}/send_redirects", "0"))
    for key, value in settings:
        if sysctl.exists(key):
            sysctl.write(key, value)


def _bridge(bridge: str) -> int:
    index = links.index_here(bridge)
    if index is None:
        raise KernelError("program service load balancer", bridge, None, "bridge is missing")
    return index


def _delete_address(ipr: IPRoute, index: int, bridge: str, address: Address) -> None:
    try:
        with translating("delete address from", bridge):
            ipr.addr("del", index=index, address=str(address), prefixlen=32, family=socket.AF_INET)
    except KernelError as exc:
        if not is_missing(exc):
            raise
