"""Addresses of swarm-scoped networks, taken cluster-wide in etcd.

Each address in use is a key ``ipam/addr/<net>/<ip>`` naming the node that holds it; a
serial cursor per subnet (``ipam/next/<net>/<subnet>``) makes a freed address the last
to be handed out again (stale DNS answers and conntrack entries then point at nobody),
as swarmkit does. A dynamic allocation is one transaction in the common case: "the
cursor is still where I read it and the next address is free" → take it and move the
cursor. Static addresses (``--ip``) are one create-if-absent.

The engine's address planner is synchronous and runs in a worker thread; a pool here
satisfies ``seaway.ipam.pool.AddressPool`` by running its etcd calls on the daemon's
event loop and waiting for them (bounded by the store's deadline).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from seaway.cluster import schema
from seaway.cluster.store import TIMEOUT, Store
from seaway.errors import Forbidden, Unavailable
from seaway.ipam.allocator import ADDRESS_IN_USE, AddressAllocator
from seaway.model.network import IPAddress, Network, Subnet

log = logging.getLogger(__name__)

#: transactions tried one address at a time before the taken ones are read at once
SERIAL_TRIES = 8


class ClusterAddresses:
    """The pools of this node's swarm-scoped networks (``Engine.cluster_pools``)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, store: Callable[[], Store | None], node_id: str) -> None:
        self._loop = loop
        self._store = store
        self.node_id = node_id

    def pool(self, net: Network, subnet: Subnet) -> ClusterPool:
        return ClusterPool(self, net, subnet)

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(TIMEOUT * 4)

    def store(self) -> Store:
        store = self._store()
        if store is None:
            raise Unavailable("this node is not connected to its swarm")
        return store


class ClusterPool:
    def __init__(self, owner: ClusterAddresses, net: Network, subnet: Subnet) -> None:
        self._owner = owner
        self._net = net
        self.subnet = subnet
        self._held: set[IPAddress] = set()

    # AddressPool

    def allocate(self, mac: str = "") -> IPAddress:
        address = self._owner.run(self._allocate())
        self._held.add(address)
        return address

    def request(self, address: IPAddress, mac: str = "") -> IPAddress:
        AddressAllocator(self.subnet).request(address)  # out of the subnet, the network address, the gateway
        if not self._owner.run(self._take(address)):
            raise Forbidden(ADDRESS_IN_USE)
        self._held.add(address)
        return address

    def release(self, address: IPAddress) -> None:
        self._held.discard(address)
        try:
            self._owner.run(self._owner.store().delete(schema.address(self._net.id, str(address))))
        except Exception as exc:  # the key stays taken: logged, never a failed disconnect
            log.warning("swarm: could not free address %s of network %s: %s", address, self._net.name, exc)

    def restore(self, address: IPAddress) -> None:
        self._held.add(address)  # etcd still holds it for this node

    def leases(self) -> list[IPAddress]:
        return sorted(self._held, key=int)

    # etcd

    def _owner_value(self) -> dict[str, Any]:
        return {"Node": self._owner.node_id}

    async def _take(self, address: IPAddress) -> bool:
        store = self._owner.store()
        key = schema.address(self._net.id, str(address))
        return await store.create(key, self._owner_value()) is not None

    async def _allocate(self) -> IPAddress:
        return await allocate_next(self._owner.store(), self._net, self.subnet, self._owner_value())


async def allocate_next(store: Store, net: Network, subnet: Subnet, owner: dict[str, Any]) -> IPAddress:
    """The next free address of ``subnet`` after its cursor, taken for ``owner`` (the
    key's value: ``{"Node": id}`` for an endpoint, ``{"Service": id}`` for a VIP)."""
    cursor_key = schema.cursor(net.id, str(subnet.subnet))
    first, last = _dynamic_range(subnet)
    for _ in range(SERIAL_TRIES):
        entry = await store.get(cursor_key)
        previous = int(ipaddress.ip_address(entry.value["Last"])) if entry else first - 1
        candidate = _next_free(net, subnet, previous, first, last, set())
        key = schema.address(net.id, str(candidate))
        done = await store.transact(
            create={key: owner},
            put={cursor_key: {"Last": str(candidate)}},
            unchanged={cursor_key: entry.mod_revision if entry else 0},
        )
        if done is not None:
            return candidate
        if not await _cursor_moved(store, cursor_key, entry):  # the address was taken: step over it
            await store.put(cursor_key, {"Last": str(candidate)})
    # busy: read what is taken and pick past it
    taken = {int(ipaddress.ip_address(e.key.rsplit("/", 1)[1])) for e in await store.list(schema.addresses(net.id))}
    for _ in range(SERIAL_TRIES):
        entry = await store.get(cursor_key)
        previous = int(ipaddress.ip_address(entry.value["Last"])) if entry else first - 1
        candidate = _next_free(net, subnet, previous, first, last, taken)
        key = schema.address(net.id, str(candidate))
        done = await store.transact(create={key: owner}, put={cursor_key: {"Last": str(candidate)}})
        if done is not None:
            return candidate
        taken.add(int(candidate))
    raise Unavailable(f"could not allocate an address on network {net.name}: too many concurrent requests")


async def _cursor_moved(store: Store, key: str, entry: Any) -> bool:
    now = await store.get(key)
    return (now.mod_revision if now else 0) != (entry.mod_revision if entry else 0)


def _dynamic_range(subnet: Subnet) -> tuple[int, int]:
    net = subnet.subnet
    dynamic = subnet.ip_range or net
    first = max(int(dynamic.network_address), int(net.network_address) + 1)
    last = int(dynamic.broadcast_address)
    if net.version == 4 and net.prefixlen < 31:
        last = min(last, int(net.broadcast_address) - 1)
    return first, last


def _next_free(net: Network, subnet: Subnet, previous: int, first: int, last: int, taken: set[int]) -> IPAddress:
    reserved = {int(a) for a in subnet.reserved()}
    size = last - first + 1
    for step in range(1, size + 1):
        value = first + (previous + step - first) % size
        if value not in reserved and value not in taken:
            return ipaddress.IPv4Address(value) if subnet.version == 4 else ipaddress.IPv6Address(value)
    raise Unavailable(
        f"no available {'IPv4' if subnet.version == 4 else 'IPv6'} addresses on this network's address "
        f"pools: {net.name} ({net.id})"
    )
