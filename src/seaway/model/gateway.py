"""Which endpoint gives a sandbox its default route. Pure.

Current Docker's order: higher gateway priority first; then non-internal networks before
internal ones; then endpoints with more gateways (IPv4 and IPv6) first; then network name
ascending. IPv4 and IPv6 are chosen independently: the first endpoint in that order whose
network has a gateway of the family wins. Internal networks never provide one, and host
and null networks have none. An ipvlan network in L3 mode routes everything on-link
(``default dev eth0``, Docker's choice): its "gateway" is the device itself. An
endpoint whose driver named its gateways when it joined (a network plugin's ``Join``
answer, ``Endpoint.gateways``) routes through those, or gives no default route when
the driver named none. Swarm-scoped (overlay) networks give none either: a container on
one leaves through ``docker_gwbridge``, as in Docker.
"""

from __future__ import annotations

from collections.abc import Iterable

from seaway.model.endpoint import Endpoint
from seaway.model.network import IPAddress, Network

#: the gateway of a network whose default route is on-link (``default dev <ifname>``)
ON_LINK = "on-link"


def _gateway(net: Network, version: int, ep: Endpoint | None = None) -> IPAddress | str | None:
    if net.internal or net.multi_host:  # an overlay's way out is docker_gwbridge, as in Docker
        return None
    if ep is not None and ep.gateways is not None:
        return next((g for g in ep.gateways if g.version == version), None)
    if net.driver_options is not None and net.driver_options.on_link_default:
        return ON_LINK if net.subnets_of(version) else None
    for subnet in net.subnets_of(version):
        if subnet.gateway is not None:
            return subnet.gateway
    return None


def pick_default_routes(
    members: Iterable[tuple[Endpoint, Network]],
) -> dict[int, tuple[IPAddress | None, str] | None]:
    """Per IP version, ``(gateway, ifname)`` of the winning endpoint (gateway None: an
    on-link default route), or None."""

    def key(item: tuple[Endpoint, Network]) -> tuple[int, bool, int, str]:
        ep, net = item
        gateways = sum(1 for v in (4, 6) if _gateway(net, v, ep) is not None and _has_family(ep, v))
        return (-ep.gw_priority, net.internal, -gateways, net.name)

    ordered = sorted(members, key=key)
    routes: dict[int, tuple[IPAddress | None, str] | None] = {}
    for version in (4, 6):
        routes[version] = None
        for ep, net in ordered:
            gw = _gateway(net, version, ep)
            if gw is not None and _has_family(ep, version):
                routes[version] = (None if gw == ON_LINK else gw, ep.ifname)  # type: ignore[assignment]
                break
    return routes


def _has_family(ep: Endpoint, version: int) -> bool:
    return (ep.ipv4 if version == 4 else ep.ipv6) is not None
