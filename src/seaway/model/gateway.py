"""Which endpoint gives a sandbox its default route. Pure.

Current Docker's order: higher gateway priority first; then non-internal networks before
internal ones; then endpoints with more gateways (IPv4 and IPv6) first; then network name
ascending. IPv4 and IPv6 are chosen independently: the first endpoint in that order whose
network has a gateway of the family wins. Internal networks never provide one, and host
and null networks have none.
"""

from __future__ import annotations

from collections.abc import Iterable

from seaway.model.endpoint import Endpoint
from seaway.model.network import IPAddress, Network


def _gateway(net: Network, version: int) -> IPAddress | None:
    if net.internal:
        return None
    for subnet in net.subnets_of(version):
        if subnet.gateway is not None:
            return subnet.gateway
    return None


def pick_default_routes(
    members: Iterable[tuple[Endpoint, Network]],
) -> dict[int, tuple[IPAddress, str] | None]:
    """Per IP version, ``(gateway, ifname)`` of the winning endpoint, or None."""

    def key(item: tuple[Endpoint, Network]) -> tuple[int, bool, int, str]:
        ep, net = item
        gateways = sum(1 for v in (4, 6) if _gateway(net, v) is not None and _has_family(ep, v))
        return (-ep.gw_priority, net.internal, -gateways, net.name)

    ordered = sorted(members, key=key)
    routes: dict[int, tuple[IPAddress, str] | None] = {}
    for version in (4, 6):
        routes[version] = None
        for ep, net in ordered:
            gw = _gateway(net, version)
            if gw is not None and _has_family(ep, version):
                routes[version] = (gw, ep.ifname)
                break
    return routes


def _has_family(ep: Endpoint, version: int) -> bool:
    return (ep.ipv4 if version == 4 else ep.ipv6) is not None
