"""What a host announces over BGP. Pure.

Only the routed families of bridge networks (``gateway_mode_ipv4|ipv6=routed``) are
announced: their containers' own addresses are what the fabric reaches. Per network,
``seaway.bridge.bgp_announce`` picks the subnet (the default), the host routes of its
containers (``/32`` and ``/128``, which follow a container to whichever host runs it),
both, or nothing. A NAT network is never announced: nothing outside may reach its
addresses anyway.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from seaway.bgp.frrconf import IPNetwork
from seaway.model.endpoint import Endpoint
from seaway.model.network import BridgeOptions, IPAddress, Network


def prefixes(networks: Iterable[Network], endpoints_of: Callable[[str], Iterable[Endpoint]]) -> frozenset[IPNetwork]:
    """The prefixes to announce for these networks (``endpoints_of(network_id)``: its
    local endpoints, asked only of networks that announce host routes)."""
    found: set[IPNetwork] = set()
    for net in networks:
        opts = net.driver_options
        if net.driver != "bridge" or not isinstance(opts, BridgeOptions) or opts.bgp_announce == "none":
            continue
        routed = {v for v, mode in ((4, opts.gateway_mode_ipv4), (6, opts.gateway_mode_ipv6)) if mode == "routed"}
        if not routed or net.internal:
            continue
        if opts.bgp_announce in ("subnet", "both"):
            found.update(s.subnet for s in net.subnets if s.version in routed)
        if opts.bgp_announce in ("hosts", "both"):
            for ep in endpoints_of(net.id):
                for address in (ep.ipv4, ep.ipv6):
                    if address is not None and address.version in routed:
                        found.add(_host_route(address))
    return frozenset(found)


def _host_route(address: IPAddress) -> IPNetwork:
    return ipaddress.ip_network(f"{address}/{address.max_prefixlen}")
