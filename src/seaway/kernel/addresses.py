"""Addresses and routes."""

from __future__ import annotations

import ipaddress
import socket

from pyroute2 import IPRoute

from seaway.errors import KernelError
from seaway.kernel.errors import is_exists, is_missing, translating
from seaway.model.network import IPAddress, IPNetwork

RT_SCOPE_LINK = 253


def add_address(ipr: IPRoute, index: int, ifname: str, address: IPAddress, prefixlen: int) -> None:
    """Add ``address/prefixlen``; already present counts as done. IPv6 without DAD."""
    attrs: dict[str, object] = {"index": index, "address": str(address), "prefixlen": prefixlen}
    if address.version == 6:
        attrs["flags"] = 0x02  # IFA_F_NODAD: usable at once, as Docker does
    try:
        with translating("add address", f"{address}/{prefixlen} to {ifname}"):
            ipr.addr("add", **attrs)
    except KernelError as exc:
        if not is_exists(exc):
            raise


def replace_default_route(ipr: IPRoute, gateway: IPAddress, index: int, ifname: str) -> None:
    dst = "0.0.0.0/0" if gateway.version == 4 else "::/0"
    family = socket.AF_INET if gateway.version == 4 else socket.AF_INET6
    with translating("set default route", f"via {gateway} dev {ifname}"):
        ipr.route("replace", dst=dst, gateway=str(gateway), oif=index, family=family)


def delete_default_route(ipr: IPRoute, version: int) -> None:
    dst = "0.0.0.0/0" if version == 4 else "::/0"
    family = socket.AF_INET if version == 4 else socket.AF_INET6
    try:
        with translating("delete default route", f"IPv{version}"):
            ipr.route("del", dst=dst, family=family)
    except KernelError as exc:
        if not is_missing(exc):
            raise


def onlink_routes(ipr: IPRoute, exclude_ifindexes: set[int]) -> list[IPNetwork]:
    """IPv4 routes with scope link of this namespace, except those on the given links.

    Docker reserves these when choosing and checking subnets, so a new network never
    shadows a subnet the host already reaches directly.
    """
    with translating("list routes of", "host namespace"):
        routes = ipr.route("dump", family=socket.AF_INET, table=254, scope=RT_SCOPE_LINK)
    out: list[IPNetwork] = []
    for msg in routes:
        if msg.get_attr("RTA_OIF") in exclude_ifindexes or msg["dst_len"] == 0:
            continue
        dst = msg.get_attr("RTA_DST")
        if dst:
            out.append(ipaddress.ip_network(f"{dst}/{msg['dst_len']}", strict=False))
    return out
