"""Addresses and routes."""

from __future__ import annotations

import ipaddress
import socket

from pyroute2 import IPRoute

from seaway.errors import KernelError
from seaway.kernel import rtnl
from seaway.kernel.errors import is_missing, translating
from seaway.kernel.routedump import RouteDumps
from seaway.model.network import IPAddress, IPNetwork

RT_SCOPE_LINK = 253
IFA_F_NODAD = 0x02
IFA_F_NOPREFIXROUTE = 0x200

#: The route protocol number on Seaway's own subnet routes (``ip route`` shows
#: ``proto 211``). Marking them lets the host-route overlap check ask the kernel for
#: everyone else's routes only, so its cost does not grow with Seaway's networks.
RTPROT_SEAWAY = 211
#: Protocols whose on-link routes count as the host's own: addresses' prefix routes
#: (kernel), ``ip route add`` (boot), static, router advertisements and DHCP. (On-link
#: routes of routing daemons are not considered: one dump per protocol is the price.)
FOREIGN_PROTOCOLS = (2, 3, 4, 9, 16)


def add_address(
    ipr: IPRoute, index: int, ifname: str, address: IPAddress, prefixlen: int, *, prefix_route: bool = True
) -> None:
    """Add ``address/prefixlen``; already present counts as done. IPv6 without DAD.
    ``ipr`` names the namespace: the calling thread's (one raw rtnetlink request).

    With ``prefix_route=False`` the kernel adds no subnet route (``ensure_subnet_route``
    adds Seaway's own)."""
    flags = 0 if prefix_route else IFA_F_NOPREFIXROUTE
    if address.version == 6:
        flags |= IFA_F_NODAD  # usable at once, as Docker does
    with rtnl.RouteLink() as link:
        link.send([rtnl.add_address(index, ifname, address, prefixlen, flags)])


def replace_host_route(ipr: IPRoute, address: IPAddress, index: int, ifname: str, src: IPAddress | None) -> None:
    """An on-link route to the single address ``address`` through ``ifname``."""
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    attrs: dict[str, object] = {"dst": f"{address}/{address.max_prefixlen}", "oif": index, "family": family}
    if src is not None:
        attrs["prefsrc"] = str(src)
    with translating("set route", f"{address} dev {ifname}"):
        ipr.route("replace", proto=RTPROT_SEAWAY, scope=RT_SCOPE_LINK, **attrs)


def delete_host_route(ipr: IPRoute, address: IPAddress, index: int) -> None:
    """Remove the route ``replace_host_route`` made; a missing one counts as removed."""
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    try:
        with translating("delete route", str(address)):
            ipr.route("del", dst=f"{address}/{address.max_prefixlen}", oif=index, family=family)
    except KernelError as exc:
        if not is_missing(exc):
            raise


def forget_neighbour(ipr: IPRoute, address: IPAddress, index: int, ifname: str) -> None:
    """Drop the neighbour (ARP/NDP) entry for ``address`` on a link, if there is one.

    A container that goes away leaves the host's entry for its address behind, pointing
    at its MAC; a new container given the same address (usually: lowest free) has
    another MAC, and the kernel ignores its gratuitous ARP for ``locktime`` after the
    entry's last use, so without this the host keeps sending to the old MAC for seconds.
    """
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        with translating("forget neighbour", f"{address} on {ifname}"):
            ipr.neigh("del", dst=str(address), ifindex=index, family=family)
    except KernelError as exc:
        if not is_missing(exc):
            raise


def ensure_subnet_route(ipr: IPRoute, subnet: IPNetwork, index: int, ifname: str, src: IPAddress) -> None:
    """The on-link route to ``subnet`` via ``ifname``, marked with Seaway's protocol
    (``ipr`` names the namespace: the calling thread's; one raw rtnetlink request)."""
    with rtnl.RouteLink() as link:
        link.send([rtnl.replace_subnet_route(subnet, index, ifname, src, RTPROT_SEAWAY)])


def onlink_routes(dumps: RouteDumps) -> list[IPNetwork]:
    """IPv4 on-link (scope link) routes of the host's main table that are not Seaway's.

    Docker reserves these when choosing and checking subnets, so a new network never
    shadows a subnet the host already reaches directly. The kernel filters each dump by
    table and protocol, so Seaway's own routes (one per network) are never sent, let
    alone parsed.
    """
    return list(dumps.onlink_ipv4(254, FOREIGN_PROTOCOLS))


def first_address(ipr: IPRoute, ifname: str, version: int) -> IPAddress | None:
    """The first global address of family ``version`` on link ``ifname``, or None."""
    family = socket.AF_INET if version == 4 else socket.AF_INET6
    with translating("list addresses of", ifname):
        index = ipr.link_lookup(ifname=ifname)
        if not index:
            return None
        for msg in ipr.get_addr(family=family, index=index[0]):
            if msg["scope"] == 0:
                return ipaddress.ip_address(msg.get_attr("IFA_ADDRESS"))
    return None
