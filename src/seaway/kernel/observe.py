"""Read-only snapshots of kernel state for the invariant checker (``seaway system doctor``).

Unlike the hot paths elsewhere in this package, these functions dump: every link and
address of a namespace, every route with Seaway's protocol mark, every element of
Seaway's nftables sets. That is the point of a doctor (look at everything) and it runs
only on request. Nothing here changes kernel state, apart from ``remove_route`` and
``remove_element``, which ``seaway system gc`` uses for Seaway-marked leftovers.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from pathlib import Path

from pyroute2 import IPRoute

from seaway.errors import KernelError
from seaway.firewall import naming
from seaway.invariants import LinkState, SandboxState, elements_of_listing
from seaway.kernel import addresses, netns, nft
from seaway.kernel.errors import is_missing, translating

IFF_UP = 0x1


def links(ipr: IPRoute) -> dict[str, LinkState]:
    """Every link of the socket's namespace with its global addresses."""
    with translating("list links of", "namespace"):
        msgs = ipr.get_links()
        addrs = ipr.get_addr()
    names = {int(m["index"]): m.get_attr("IFLA_IFNAME") for m in msgs}
    by_index: dict[int, set[str]] = {}
    for a in addrs:
        if a["scope"] != 0:  # global only: link-local IPv6 addresses come and go
            continue
        by_index.setdefault(int(a["index"]), set()).add(f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}")
    out: dict[str, LinkState] = {}
    for m in msgs:
        info = m.get_attr("IFLA_LINKINFO")
        kind = (info.get_attr("IFLA_INFO_KIND") if info is not None else None) or ""
        master = m.get_attr("IFLA_MASTER")
        name = m.get_attr("IFLA_IFNAME")
        out[name] = LinkState(
            name=name,
            kind=kind,
            alias=m.get_attr("IFLA_IFALIAS") or "",
            master=names.get(master, str(master)) if master else "",
            up=bool(m["flags"] & IFF_UP),
            mac=m.get_attr("IFLA_ADDRESS") or "",
            addresses=frozenset(by_index.get(int(m["index"]), set())),
        )
    return out


def seaway_routes(strict: IPRoute) -> frozenset[str]:
    """The host's routes carrying Seaway's protocol mark, as ``subnet dev ifname``.
    ``strict`` must have NETLINK_GET_STRICT_CHK (the kernel filters by protocol)."""
    with translating("list routes of", "host namespace"):
        msgs = strict.route("dump", family=socket.AF_INET, table=254, proto=addresses.RTPROT_SEAWAY)
        names = {int(m["index"]): m.get_attr("IFLA_IFNAME") for m in strict.get_links()}
    out = set()
    for m in msgs:
        dst = m.get_attr("RTA_DST")
        if dst is None:
            continue
        subnet = ipaddress.ip_network(f"{dst}/{m['dst_len']}", strict=False)
        oif = m.get_attr("RTA_OIF")
        out.add(f"{subnet} dev {names.get(oif, oif)}")
    return frozenset(out)


def _default_routes(ipr: IPRoute) -> dict[int, str]:
    out: dict[int, str] = {}
    names = {int(m["index"]): m.get_attr("IFLA_IFNAME") for m in ipr.get_links()}
    for version, family in ((4, socket.AF_INET), (6, socket.AF_INET6)):
        for m in ipr.get_routes(family=family, table=254):
            if m["dst_len"] != 0 or m.get_attr("RTA_OIF") is None:
                continue
            device = names.get(m.get_attr("RTA_OIF"), "?")
            gateway = m.get_attr("RTA_GATEWAY")  # none: an on-link default route (ipvlan L3)
            out[version] = f"{gateway} dev {device}" if gateway is not None else f"dev {device}"
    return out


def sandbox(path: str) -> SandboxState | None:
    """The links and default routes inside a sandbox; None if it cannot be entered."""

    def body() -> SandboxState:
        with IPRoute() as ipr:
            return SandboxState(links=links(ipr), default_routes=_default_routes(ipr))

    try:
        return netns.run(path, body)
    except (OSError, KernelError):
        return None


def namespace_files(directory: Path) -> dict[str, bool]:
    """Files in a netns directory, each with whether a namespace is mounted on it."""
    if not directory.is_dir():
        return {}
    return {entry.name: netns.is_pinned(Path(entry.path)) for entry in os.scandir(directory)}


def nft_elements() -> frozenset[str] | None:
    """The elements of every set of Seaway's tables; None if one of the tables is missing."""
    out: set[str] = set()
    for family in (naming.INET, naming.BRIDGE):
        listing = nft.list_table(family, naming.TABLE)
        if listing is None:
            return None
        out |= elements_of_listing(listing)
    return frozenset(out)


def remove_route(ipr: IPRoute, route: str) -> None:
    """Delete a ``subnet dev ifname`` route with Seaway's protocol mark (gc)."""
    subnet = route.split(" ", 1)[0]
    try:
        with translating("delete route", route):
            ipr.route("del", dst=subnet, proto=addresses.RTPROT_SEAWAY, table=254)
    except KernelError as exc:
        if not is_missing(exc):
            raise


def remove_element(element: str) -> None:
    """Delete one element given as ``family set value`` (``invariants.element_key``) from
    Seaway's table (gc)."""
    family, set_name, value = element.split(" ", 2)
    parts = value.split(" : ")[0].split(" . ")  # a map element is deleted by its key
    elem: object = {"concat": [_value(p) for p in parts]} if len(parts) > 1 else _value(value)
    ref = {"family": family, "table": naming.TABLE, "name": set_name, "elem": [elem]}
    nft.apply([{"add": {"element": ref}}, {"delete": {"element": ref}}], f"stale element {element}")


def _value(text: str) -> object:
    if "/" in text:
        addr, length = text.split("/")
        return {"prefix": {"addr": addr, "len": int(length)}}
    return int(text) if text.isdigit() else text
