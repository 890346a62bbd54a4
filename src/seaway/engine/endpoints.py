"""Planning an endpoint: the rules of a connect, its names and its addresses (IPAM).

``EndpointPlanner`` owns the address pools of every network (``seaway.ipam.pool``: Seaway's
own allocators, whose leases are rebuilt from the endpoint records at start-up, or a
remote IPAM plugin's pools, made by ``pools``). ``plan`` validates a connect and
allocates; ``release`` gives the addresses back. Nothing here touches the kernel; a
remote IPAM is the one other program asked.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from seaway.drivers.base import NetworkDriver
from seaway.engine import rules
from seaway.engine.snapshot import Snapshot
from seaway.errors import InvalidParameter, Unavailable
from seaway.ipam.allocator import AddressAllocator
from seaway.ipam.pool import AddressPool
from seaway.kernel import links
from seaway.model.endpoint import Endpoint, EndpointSpec, Sandbox
from seaway.model.ids import new_id, new_mac, validate_mac
from seaway.model.network import IPAddress, Network, Subnet

#: a network's pool for one of its subnets (None: Seaway's own allocator)
PoolMaker = Callable[[Network, Subnet], "AddressPool | None"]


class EndpointPlanner:
    def __init__(self, pools: PoolMaker | None = None) -> None:
        self._allocators: dict[str, list[AddressPool]] = {}
        self._pools = pools

    # ------------------------------------------------------------ networks' pools

    def add_network(self, net: Network) -> None:
        self._allocators[net.id] = [self._pool(net, s) for s in net.subnets]

    def _pool(self, net: Network, subnet: Subnet) -> AddressPool:
        pool = self._pools(net, subnet) if self._pools is not None else None
        return pool if pool is not None else AddressAllocator(subnet)

    def drop_network(self, network_id: str) -> None:
        self._allocators.pop(network_id, None)

    def clear(self) -> None:
        self._allocators.clear()

    def lease(self, ep: Endpoint) -> None:
        """At start-up: the endpoint's recorded addresses are taken again."""
        for alloc in self._allocators.get(ep.network_id, ()):
            for address in (ep.ipv4, ep.ipv6):
                if address is not None and address in alloc.subnet.subnet:
                    alloc.restore(address)

    def leases(self) -> dict[str, frozenset[str]]:
        """Per network, the addresses held for endpoints (gateways and aux excluded)."""
        return {
            network_id: frozenset(str(a) for alloc in allocs for a in alloc.leases())
            for network_id, allocs in self._allocators.items()
        }

    # ------------------------------------------------------------ plan and release

    def plan(self, view: Snapshot, sb: Sandbox, net: Network, driver: NetworkDriver, spec: EndpointSpec) -> Endpoint:
        """Check the connect against Docker's rules and allocate; touches nothing."""
        rules.check_membership([n for _, n in view.members(sb.id)], net, sb.name)
        rules.check_mode(sb.mode, net)
        rules.check_endpoint_spec(net, spec, refuses_mac=driver.has_interfaces and not driver.own_mac)
        driver.check_capacity(net, view.member_count(net.id))
        mac = validate_mac(spec.mac_address) if spec.mac_address else new_mac()
        static4 = _parse_ip(spec.ipv4_address, 4) if spec.ipv4_address else None
        static6 = _parse_ip(spec.ipv6_address, 6) if spec.ipv6_address else None
        endpoint_id = new_id()
        while driver.host_veth and links.index_here(f"veth{endpoint_id[:7]}") is not None:
            endpoint_id = new_id()  # the host-side name is taken (one lookup, not a scan)
        ifname = ""
        if driver.has_interfaces:
            ifname = _free_ifname(view, sb, driver.interface_prefix(net))
        ipv4, len4 = self._allocate(net, 4, static4, mac)
        try:
            ipv6, len6 = self._allocate(net, 6, static6, mac) if net.enable_ipv6 else (None, 0)
        except BaseException:
            if ipv4 is not None:
                self._release_address(net.id, ipv4)
            raise
        if net.scope == "swarm" and ipv4 is not None and not spec.mac_address:
            mac = "02:42:" + ":".join(f"{b:02x}" for b in ipv4.packed)  # Docker's overlay: the MAC follows the IPv4
        return Endpoint(
            id=endpoint_id,
            network_id=net.id,
            sandbox_id=sb.id,
            name=sb.name,
            ifname=ifname,
            host_ifname=f"veth{endpoint_id[:7]}" if ifname and driver.host_veth else "",
            mac_address=mac if ifname and driver.own_mac else "",
            ipv4=ipv4,
            ipv6=ipv6,
            ipv4_prefixlen=len4,
            ipv6_prefixlen=len6,
            aliases=tuple(spec.aliases),
            gw_priority=spec.gw_priority,
            static_ipv4=static4 is not None,
            static_ipv6=static6 is not None,
            static_mac=bool(spec.mac_address),
        )

    def release(self, ep: Endpoint) -> None:
        for address in (ep.ipv4, ep.ipv6):
            if address is not None:
                self._release_address(ep.network_id, address)

    def _allocate(self, net: Network, version: int, static: IPAddress | None, mac: str) -> tuple[IPAddress | None, int]:
        candidates = [a for a in self._allocators[net.id] if a.subnet.version == version]
        if not candidates:
            if static is not None:
                raise InvalidParameter(f"invalid address {static}: it does not belong to any of this network's subnets")
            return None, 0
        if static is not None:
            for alloc in candidates:
                if static in alloc.subnet.subnet:
                    return alloc.request(static, mac), alloc.subnet.subnet.prefixlen
            raise InvalidParameter(f"invalid address {static}: it does not belong to any of this network's subnets")
        for alloc in candidates:
            try:
                return alloc.allocate(mac), alloc.subnet.subnet.prefixlen
            except Unavailable:
                continue
        raise Unavailable(
            f"no available IPv{version} addresses on this network's address pools: {net.name} ({net.id}) "
            f"(its subnets are full: disconnect unused containers, or create a network with a larger --subnet)"
        )

    def _release_address(self, network_id: str, address: IPAddress) -> None:
        for alloc in self._allocators.get(network_id, ()):
            if address in alloc.subnet.subnet:
                alloc.release(address)


def _free_ifname(view: Snapshot, sb: Sandbox, prefix: str) -> str:
    used = {ep.ifname for ep in view.endpoints_of_sandbox(sb.id)}
    index = 0
    while f"{prefix}{index}" in used:
        index += 1
    return links.check_ifname(f"{prefix}{index}")


def _parse_ip(text: str, version: int) -> IPAddress:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise InvalidParameter(f"invalid IPv{version} address {text!r}") from None
    if address.version != version:
        raise InvalidParameter(f"invalid IPv{version} address {text!r}")
    return address
