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
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from seaway.drivers.parent import Parents
from seaway.errors import InvalidParameter, NotFound
from seaway.kernel import addresses, links, netns, sandbox
from seaway.kernel.netns import RouteSocket
from seaway.kernel.sandbox import Interface
from seaway.model import options as opts
from seaway.model.endpoint import Endpoint
from seaway.model.ids import short_id
from seaway.model.network import Network, NetworkSpec, ParentOptions

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

    def __init__(self, host: RouteSocket, parents: Parents, sandbox_key: Callable[[str], str | None]) -> None:
        self._host = host
        self._parents = parents
        self._sandbox_key = sandbox_key

    def parse_options(self, spec: NetworkSpec, network_id: str) -> ParentOptions:
        internal = spec.internal or opts.parse_bool(opts.INTERNAL, spec.options.get(opts.INTERNAL, "false"))
        parsed = opts.parse_parent_options(self.name, spec.options, short_id(network_id), internal)
        if parsed.host_shim and parsed.mode in ("private", "passthru"):
            raise InvalidParameter(f"the host shim needs macvlan_mode bridge or vepa, not {parsed.mode}")
        self._parents.check(self.name, parsed)
        return parsed

    # networks

    def create_network(self, net: Network, undo: ExitStack) -> None:
        self.repair_network(net, undo)

    def repair_network(self, net: Network, undo: ExitStack) -> None:
        """Parent (and shim) present and up (idempotent)."""
        assert net.parent is not None
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
        assert net.parent is not None
        if shim_address(net) is not None:
            links.delete_link(self._host, shim_name(net.id))
        self._parents.release(net)

    # endpoints

    def join(self, net: Network, ep: Endpoint, sandbox_key: str, undo: ExitStack) -> Interface:
        assert net.parent is not None
        parent = links.index_here(net.parent.parent)
        if parent is None:
            raise NotFound(f"the requested parent interface {net.parent.parent} was not found on the Docker host")
        with sandbox.netns_fd(sandbox_key) as fd:
            links.create_child(
                self._host,
                ep.ifname,
                kind=self.name,
                parent=parent,
                mode=net.parent.mode,
                flag=net.parent.flag,
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

    def leave(self, net: Network, ep: Endpoint) -> None:
        self._shim_route(net, ep, add=False)
        key = self._sandbox_key(ep.sandbox_id)
        if key is not None and netns.is_pinned(Path(key)):
            sandbox.remove_interface(key, ep.ifname)

    def endpoint_present(self, net: Network, ep: Endpoint) -> bool:
        key = self._sandbox_key(ep.sandbox_id)
        return key is not None and ep.ifname in sandbox.interface_names(key)


class IpvlanDriver(MacvlanDriver):
    """ipvlan: as macvlan, but every child shares the parent's MAC; in L3 modes the
    parent routes between its children and the upstream router needs routes to the
    networks' subnets through the host (``upstream_routes``)."""

    name = "ipvlan"

    def create_network(self, net: Network, undo: ExitStack) -> None:
        super().create_network(net, undo)
        routes = self.upstream_routes(net)
        if routes:
            log.info("network %s: the upstream router needs the routes %s", net.name, "; ".join(routes))

    def upstream_routes(self, net: Network) -> list[str]:
        """What a router on the parent's segment needs to reach an L3 network."""
        assert net.parent is not None
        if net.parent.mode not in ("l3", "l3s"):
            return []
        out = []
        for subnet in net.subnets:
            via = addresses.first_address(self._host, net.parent.parent, subnet.version)
            out.append(f"{subnet.subnet} via {via or f'<an address of this host on {net.parent.parent}>'}")
        return out
