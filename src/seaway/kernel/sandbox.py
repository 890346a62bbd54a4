"""Work done inside a sandbox's namespace, each call on one throwaway thread.

One attach enters the sandbox once: ``configure_interface`` adds the addresses, sets
the IPv6 sysctl and brings the link up in a single visit; ``set_default_routes``
applies the gateway choice.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from pyroute2 import IPRoute

from seaway.errors import KernelError
from seaway.kernel import addresses, links, netns, sysctl
from seaway.kernel.errors import translating
from seaway.model.network import IPAddress


@contextmanager
def netns_fd(path: str) -> Iterator[int]:
    """An open file descriptor of the namespace at ``path`` (for IFLA_NET_NS_FD)."""
    with translating("open network namespace", path):
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        yield fd
    finally:
        os.close(fd)


def _inside(path: str, fn, *args):  # type: ignore[no-untyped-def]
    def body():  # type: ignore[no-untyped-def]
        with IPRoute() as ipr:
            return fn(ipr, *args)

    return netns.run(path, body)


def init_loopback(path: str) -> None:
    """Loopback up; and every interface announces itself when it comes up (gratuitous
    ARP, unsolicited neighbour advertisement): a restarted container usually gets its
    old address back with a new MAC, and the host and its neighbours must not keep
    sending to the old one until their caches expire (seconds of lost traffic)."""

    def body(ipr: IPRoute) -> None:
        index = links.index_here("lo")
        if index is not None:
            links.set_up(ipr, index, "lo")
        for scope in ("all", "default"):  # default: interfaces made here later inherit it
            sysctl.write(f"net/ipv4/conf/{scope}/arp_notify", "1")
            if sysctl.exists(f"net/ipv6/conf/{scope}/ndisc_notify"):
                sysctl.write(f"net/ipv6/conf/{scope}/ndisc_notify", "1")

    _inside(path, body)


#: per IP version, the (gateway, ifname) of the default route (gateway None: on-link), or None for none
Routes = dict[int, "tuple[IPAddress | None, str] | None"]
#: a new interface to configure: its name and its addresses with prefix lengths
Interface = tuple[str, list[tuple[IPAddress, int]]]


def configure(path: str, interface: Interface | None, routes: Routes | None) -> None:
    """One visit: configure a new interface, then apply the default-route choice."""

    def body(ipr: IPRoute) -> None:
        if interface is not None:
            _configure_interface(ipr, *interface)
        if routes is not None:
            _set_default_routes(ipr, routes)

    _inside(path, body)


def _configure_interface(ipr: IPRoute, ifname: str, addrs: list[tuple[IPAddress, int]]) -> None:
    """Addresses on ``ifname``, IPv6 off on it when it has no IPv6 address, link up."""
    index = links.index_here(ifname)
    if index is None:
        raise KernelError("configure interface", ifname, None, "not found in the sandbox")
    if not any(a.version == 6 for a, _ in addrs):
        # current Docker: an interface without an IPv6 address gets no link-local one
        sysctl.write(f"net/ipv6/conf/{ifname}/disable_ipv6", "1")
    for address, prefixlen in addrs:
        addresses.add_address(ipr, index, ifname, address, prefixlen)
    links.set_up(ipr, index, ifname)


def _set_default_routes(ipr: IPRoute, routes: Routes) -> None:
    """Per IP version, ``(gateway, ifname)`` to route through, or None for no default route."""
    for version, choice in routes.items():
        if choice is None:
            addresses.delete_default_route(ipr, version)
            continue
        gateway, ifname = choice
        index = links.index_here(ifname)
        if index is not None:
            addresses.replace_default_route(ipr, version, gateway, index, ifname)


def remove_interface(path: str, ifname: str) -> None:
    """Delete link ``ifname`` of the sandbox; an absent one counts as removed."""
    _inside(path, links.delete_link, ifname)


def interface_names(path: str) -> set[str]:
    return _inside(path, links.link_names)  # type: ignore[no-any-return]
