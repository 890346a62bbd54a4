"""Work done inside a sandbox's namespace, each call on one throwaway thread.

One attach enters the sandbox once: ``configure`` adds the addresses, sets the IPv6
sysctl, brings the link up and applies the gateway choice in a single visit, its
rtnetlink requests in one write (``seaway.kernel.rtnl``).
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyroute2 import IPRoute

from seaway.errors import KernelError
from seaway.kernel import addresses, links, netns, rtnl, sysctl
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


def create(path: str) -> None:
    """A new sandbox namespace pinned at ``path``, its loopback up and every interface
    announcing itself when it comes up (gratuitous ARP, unsolicited neighbour
    advertisement): a restarted container usually gets its old address back with a new
    MAC, and the host and its neighbours must not keep sending to the old one until
    their caches expire (seconds of lost traffic). One thread does it all."""
    netns.create(Path(path), _init_here)


def _init_here() -> None:
    index = links.index_here("lo")
    if index is not None:
        with rtnl.RouteLink() as link:
            link.send([rtnl.set_up(index, "lo")])
    for scope in ("all", "default"):  # default: interfaces made here later inherit it
        sysctl.write(f"net/ipv4/conf/{scope}/arp_notify", "1")
        if sysctl.exists(f"net/ipv6/conf/{scope}/ndisc_notify"):
            sysctl.write(f"net/ipv6/conf/{scope}/ndisc_notify", "1")


#: per IP version, the (gateway, ifname) of the default route (gateway None: on-link), or None for none
Routes = dict[int, "tuple[IPAddress | None, str] | None"]
#: a new interface to configure: its name and its addresses with prefix lengths
Interface = tuple[str, list[tuple[IPAddress, int]]]


def configure(path: str, interface: Interface | None, routes: Routes | None) -> None:
    """One visit: configure a new interface, then apply the default-route choice (the
    requests in one rtnetlink write, in that order)."""

    def body() -> None:
        requests = _interface_requests(*interface) if interface is not None else []
        if routes is not None:
            requests += _route_requests(routes)
        with rtnl.RouteLink() as link:
            link.send(requests)

    netns.run(path, body)


def _interface_requests(ifname: str, addrs: list[tuple[IPAddress, int]]) -> list[rtnl.Request]:
    """Addresses on ``ifname``, then the link up (IPv6 is turned off on it here and now
    when it has no IPv6 address). Run inside the sandbox."""
    index = links.index_here(ifname)
    if index is None:
        raise KernelError("configure interface", ifname, None, "not found in the sandbox")
    if not any(a.version == 6 for a, _ in addrs):
        # current Docker: an interface without an IPv6 address gets no link-local one
        sysctl.write(f"net/ipv6/conf/{ifname}/disable_ipv6", "1")
    flags = {4: 0, 6: addresses.IFA_F_NODAD}  # IPv6 usable at once, as Docker does
    requests = [rtnl.add_address(index, ifname, a, p, flags[a.version]) for a, p in addrs]
    return [*requests, rtnl.set_up(index, ifname)]


def _route_requests(routes: Routes) -> list[rtnl.Request]:
    """Per IP version, ``(gateway, ifname)`` to route through, or None for no default route."""
    requests = []
    for version, choice in routes.items():
        if choice is None:
            requests.append(rtnl.delete_default_route(version))
            continue
        gateway, ifname = choice
        index = links.index_here(ifname)
        if index is not None:
            requests.append(rtnl.replace_default_route(version, gateway, index, ifname))
    return requests


def remove_interface(path: str, ifname: str) -> None:
    """Delete link ``ifname`` of the sandbox; an absent one counts as removed."""
    _inside(path, links.delete_link, ifname)


def interface_names(path: str) -> set[str]:
    return _inside(path, links.link_names)  # type: ignore[no-any-return]


#: a static route a plugin asked for: destination, next hop (None: on-link through the interface)
StaticRoute = tuple["ipaddress.IPv4Network | ipaddress.IPv6Network", "IPAddress | None"]


def adopt_interface(
    path: str,
    host: IPRoute,
    src_name: str,
    ifname: str,
    mac: str,
    addrs: list[tuple[IPAddress, int]],
    routes: list[StaticRoute],
) -> None:
    """Move link ``src_name`` (made by someone else, a network plugin) from the calling
    thread's namespace into the sandbox as ``ifname``, with ``mac`` (when given), the
    addresses, up, and the static routes; what libnetwork's sandbox does with a remote
    driver's interface. Call from the host's namespace; ``host`` is a socket there."""
    index = links.index_here(src_name)
    if index is None:
        raise KernelError("move interface", src_name, None, "not found in the host's namespace")
    with netns_fd(path) as fd, translating("move interface", f"{src_name} into sandbox {path}"):
        host.link("set", index=index, net_ns_fd=fd)

    def body(ipr: IPRoute) -> None:
        inner = links.index_here(src_name)
        if inner is None:
            raise KernelError("configure interface", src_name, None, "not found in the sandbox")
        with translating("rename interface", f"{src_name} to {ifname}"):
            ipr.link("set", index=inner, state="down")
            ipr.link("set", index=inner, ifname=ifname)
        if mac:
            with translating("set MAC address", f"{mac} on {ifname}"):
                ipr.link("set", index=inner, address=mac)
        with rtnl.RouteLink() as link:
            link.send(_interface_requests(ifname, addrs))
        for destination, next_hop in routes:
            _add_static_route(ipr, inner, ifname, destination, next_hop)

    _inside(path, body)


def _add_static_route(ipr: IPRoute, index: int, ifname: str, destination, next_hop) -> None:  # type: ignore[no-untyped-def]
    family = socket.AF_INET if destination.version == 4 else socket.AF_INET6
    attrs: dict[str, object] = {"dst": str(destination), "oif": index, "family": family}
    if next_hop is None:
        attrs["scope"] = 253  # RT_SCOPE_LINK: on-link (libnetwork's RouteType 1, "connected")
    else:
        attrs["gateway"] = str(next_hop)
    with translating("add route", f"{destination} {'via ' + str(next_hop) if next_hop else 'dev'} {ifname}"):
        ipr.route("replace", **attrs)


def give_back_interface(path: str, ifname: str, src_name: str) -> None:
    """Move ``ifname`` out of the sandbox into the calling thread's namespace, named
    ``src_name`` again (libnetwork's release of a remote driver's interface); an absent
    interface or sandbox counts as given back. An interface still under ``src_name`` (an
    adoption that stopped half-way) is given back too. Call from the host's namespace."""
    if not netns.is_pinned(Path(path)):
        return
    with netns_fd("/proc/thread-self/ns/net") as host_fd:

        def body(ipr: IPRoute) -> None:
            index = links.index_here(ifname)
            if index is None:
                index = links.index_here(src_name)
            if index is None:
                return
            with translating("move interface", f"{ifname} out of sandbox {path}"):
                ipr.link("set", index=index, state="down")
                ipr.link("set", index=index, ifname=src_name, net_ns_fd=host_fd)

        _inside(path, body)
