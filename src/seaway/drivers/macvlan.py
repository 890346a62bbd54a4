"""The ``macvlan`` and ``ipvlan`` drivers: containers' interfaces hang off a host link.

Each endpoint is one macvlan (own MAC) or ipvlan (the parent's MAC) link on the
network's parent (``seaway.drivers.parent``), created directly inside the sandbox with
its final name. There is no bridge, no NAT and no firewall state: the containers sit on
the parent's L2 segment and the gateway is the segment's existing router.

The kernel does not pass traffic between a macvlan child and its parent, so the host
cannot reach its own macvlan containers. With ``-o host_shim=true`` (or an address) the
driver adds a macvlan link of its own on the parent in the host namespace
(``sh-<id12>``, bridge mode), with that address and one host route per endpoint.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from seaway.drivers.parent import Parents, options_of
from seaway.errors import Forbidden, InvalidParameter, NotFound
from seaway.ipam.allocator import first_free
from seaway.kernel import addresses, links, netns, sandbox
from seaway.kernel.netns import RouteSocket
from seaway.kernel.sandbox import Interface
from seaway.model import options as opts
from seaway.model.endpoint import Endpoint
from seaway.model.expected import Expected, HostLink, SandboxLink
from seaway.model.ids import short_id
from seaway.model.network import Network, NetworkSpec, ParentOptions, Subnet

log = logging.getLogger(__name__)

#: the name of a network's host shim
SHIM_PREFIX = "sh-"
#: the aux-address name under which a network records its shim's address
SHIM_AUX = "seaway-host-shim"


def shim_name(network_id: str) -> str:
    return SHIM_PREFIX + short_id(network_id)


def shim_address(net: Network) -> ipaddress.IPv4Address | None:
    for subnet in net.subnets_of(4):
        if SHIM_AUX in subnet.aux_addresses:
            return subnet.aux_addresses[SHIM_AUX]  # type: ignore[return-value]
    return None


class MacvlanDriver:
    name = "macvlan"
    has_interfaces = True
    on_host_segment = True
    single_instance = False
    lazy = False
    host_veth = False
    own_mac = True

    def __init__(self, host: RouteSocket, parents: Parents) -> None:
        self._host = host
        self._parents = parents

    def parse_options(self, spec: NetworkSpec, network_id: str) -> ParentOptions:
        internal = spec.internal or opts.parse_bool(opts.INTERNAL, spec.options.get(opts.INTERNAL, "false"))
        parsed = opts.parse_parent_options(self.name, spec.options, short_id(network_id), internal)
        if parsed.host_shim and parsed.mode in ("private", "passthru"):
            raise InvalidParameter(f"the host shim needs macvlan_mode bridge or vepa, not {parsed.mode}")
        self._parents.check(self.name, parsed)
        return parsed

    def check_capacity(self, net: Network, members: int) -> None:
        return None

    def check_network(self, net: Network, others: Iterable[Network]) -> None:
        """Current Docker: networks may share a parent, except in passthru mode; a link
        cannot carry macvlan and ipvlan children at once (the kernel refuses)."""
        parent = options_of(net)
        for other in others:
            theirs = other.driver_options
            if not isinstance(theirs, ParentOptions) or theirs.parent != parent.parent:
                continue
            if other.driver != self.name:
                raise Forbidden(f"{other.driver} network {other.id} is already using parent interface {parent.parent}")
            if parent.mode == "passthru":
                raise Forbidden(
                    f"cannot use mode passthru, {self.name} network {other.id} is already using parent interface "
                    f"{parent.parent}"
                )
            if theirs.mode == "passthru":
                raise Forbidden(
                    f"{self.name} network {other.id} is already using parent interface {parent.parent} in mode passthru"
                )

    def plan_subnets(self, net: Network) -> Network:
        """No gateway in ipvlan L3 modes (routes are on-link, Docker's "disable gateway
        service"); the host shim's address reserved; no parent means an internal network."""
        parent = options_of(net)
        subnets = net.subnets
        if parent.on_link_default:
            subnets = tuple(replace(s, gateway=None) for s in subnets)
        if parent.host_shim:
            subnets = _reserve_shim(parent, subnets)
        return replace(net, subnets=subnets, internal=net.internal or parent.dummy)

    def names_members(self, net: Network) -> bool:
        return True

    def interface_prefix(self, net: Network) -> str:
        return "eth"

    # networks

    def create_network(self, net: Network, undo: ExitStack) -> None:
        """Parent (and shim) present and up (idempotent)."""
        parent = self._parents.acquire(net, undo)
        address = shim_address(net)
        if address is None:
            return
        name = shim_name(net.id)
        index = links.index_here(name)
        if index is None:
            links.create_child(
                self._host, name, kind="macvlan", parent=parent, mode="bridge", alias=links.alias_for("net", net.id)
            )
            undo.callback(links.delete_link, self._host, name)
            index = links.index_here(name)
            assert index is not None
        addresses.add_address(self._host, index, name, address, 32)

    def delete_network(self, net: Network) -> None:
        if shim_address(net) is not None:
            links.delete_link(self._host, shim_name(net.id))
        self._parents.release(net)

    def expect_network(self, net: Network) -> Expected:
        parent = options_of(net)
        found = (HostLink(parent.parent),)
        address = shim_address(net)
        if address is not None:
            found += (HostLink(shim_name(net.id), kind="macvlan", addresses=frozenset({f"{address}/32"})),)
        return Expected(host_links=found)

    # endpoints

    def join(self, net: Network, ep: Endpoint, sandbox_key: str, undo: ExitStack) -> Interface:
        parent_opts = options_of(net)
        parent = links.index_here(parent_opts.parent)
        if parent is None:
            raise NotFound(f"the requested parent interface {parent_opts.parent} was not found on the Docker host")
        with sandbox.netns_fd(sandbox_key) as fd:
            links.create_child(
                self._host,
                ep.ifname,
                kind=self.name,
                parent=parent,
                mode=parent_opts.mode,
                flag=parent_opts.flag,
                netns_fd=fd,
                mac=ep.mac_address,
            )
        undo.callback(sandbox.remove_interface, sandbox_key, ep.ifname)
        self._shim_route(net, ep, add=True)
        undo.callback(self._shim_route, net, ep, add=False)
        addrs = [(a, p) for a, p in ((ep.ipv4, ep.ipv4_prefixlen), (ep.ipv6, ep.ipv6_prefixlen)) if a]
        return ep.ifname, addrs

    def _shim_route(self, net: Network, ep: Endpoint, *, add: bool) -> None:
        address = shim_address(net)
        if address is None or ep.ipv4 is None:
            return
        name = shim_name(net.id)
        index = links.index_here(name)
        if index is None:
            return
        if add:
            addresses.replace_host_route(self._host, ep.ipv4, index, name, address)
        else:
            addresses.delete_host_route(self._host, ep.ipv4, index)

    def leave(self, net: Network, ep: Endpoint, sandbox_key: str | None) -> None:
        self._shim_route(net, ep, add=False)
        if sandbox_key is not None and netns.is_pinned(Path(sandbox_key)):
            sandbox.remove_interface(sandbox_key, ep.ifname)

    def expect_endpoint(self, net: Network, ep: Endpoint) -> Expected:
        addrs = frozenset(f"{a}/{p}" for a, p in ((ep.ipv4, ep.ipv4_prefixlen), (ep.ipv6, ep.ipv6_prefixlen)) if a)
        return Expected(sandbox_links=(SandboxLink(ep.ifname, ep.mac_address, addrs),))


class IpvlanDriver(MacvlanDriver):
    """ipvlan: as macvlan, but every child shares the parent's MAC; in L3 modes the
    parent routes between its children and the upstream router needs routes to the
    networks' subnets through the host (``upstream_routes``)."""

    name = "ipvlan"
    own_mac = False  # children share the parent's MAC

    def create_network(self, net: Network, undo: ExitStack) -> None:
        super().create_network(net, undo)
        routes = self.upstream_routes(net)
        if routes:
            log.info("network %s: the upstream router needs the routes %s", net.name, "; ".join(routes))

    def upstream_routes(self, net: Network) -> list[str]:
        """What a router on the parent's segment needs to reach an L3 network."""
        parent = options_of(net)
        if not parent.on_link_default:
            return []
        out = []
        for subnet in net.subnets:
            via = addresses.first_address(self._host, parent.parent, subnet.version)
            out.append(f"{subnet.subnet} via {via or f'<an address of this host on {parent.parent}>'}")
        return out


def _reserve_shim(parent: ParentOptions, subnets: tuple[Subnet, ...]) -> tuple[Subnet, ...]:
    out = list(subnets)
    for i, subnet in enumerate(out):
        if subnet.version != 4:
            continue
        if parent.host_shim == "auto":
            address = first_free(subnet)
        else:
            address = ipaddress.ip_address(parent.host_shim)
            if address not in subnet.subnet or address in subnet.reserved():
                raise InvalidParameter(f"invalid host_shim address {address}: not a free address of {subnet.subnet}")
        out[i] = replace(subnet, aux_addresses={**subnet.aux_addresses, SHIM_AUX: address})
        return tuple(out)
    raise InvalidParameter("the host shim needs an IPv4 subnet")
