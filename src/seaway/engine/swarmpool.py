"""The address pool of a swarm-scoped network's subnet, as the engine holds it: it hands
each call to the cluster's pool of the moment (``Engine.cluster_pools``), so the engine
can start, and keep its swarm networks, before the node has rejoined its swarm (or
after it left). Without a cluster, taking an address is refused; giving one back is
left to the cluster (its keys name the node), and a stored endpoint's address stays
recorded."""

from __future__ import annotations

import logging
from collections.abc import Callable

from seaway.errors import Unavailable
from seaway.ipam.pool import AddressPool
from seaway.model.network import IPAddress, Network, Subnet

log = logging.getLogger(__name__)

ClusterPools = Callable[[Network, Subnet], AddressPool]


class SwarmPool:
    def __init__(self, net: Network, subnet: Subnet, cluster: Callable[[], ClusterPools | None]) -> None:
        self._net = net
        self.subnet = subnet
        self._cluster = cluster
        self._pool: AddressPool | None = None
        self._made_by: ClusterPools | None = None
        self._restored: set[IPAddress] = set()

    def _live(self) -> AddressPool:
        pools = self._cluster()
        if pools is None:
            self._pool = None
            raise Unavailable(f"network {self._net.name} is swarm-scoped and this node is not in a swarm")
        if self._pool is None or pools is not self._made_by:  # the first call, or another swarm
            self._pool, self._made_by = pools(self._net, self.subnet), pools
            for address in self._restored:
                self._pool.restore(address)
        return self._pool

    def allocate(self, mac: str = "") -> IPAddress:
        return self._live().allocate(mac)

    def request(self, address: IPAddress, mac: str = "") -> IPAddress:
        return self._live().request(address, mac)

    def release(self, address: IPAddress) -> None:
        self._restored.discard(address)
        try:
            self._live().release(address)
        except Unavailable:
            log.info("address %s of swarm network %s left to the cluster", address, self._net.name)

    def restore(self, address: IPAddress) -> None:
        self._restored.add(address)
        if self._pool is not None:
            self._pool.restore(address)

    def leases(self) -> list[IPAddress]:
        return self._pool.leases() if self._pool is not None else sorted(self._restored, key=int)
