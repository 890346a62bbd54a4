"""Addresses inside one subnet: lowest-free dynamic allocation, static requests, release.

Pure. Never handed out: the network address, the IPv4 broadcast address (for prefixes
shorter than /31), the IPv6 subnet-router anycast address (the all-zero host part, which
is the network address), the gateway and the auxiliary addresses. Dynamic allocations
come from the ``ip_range`` when there is one; static requests may be anywhere in the
subnet. Allocation is first-fit with a low-water mark, so each call is amortised O(1)
however many addresses are in use.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from seaway.errors import Forbidden, InvalidParameter, Unavailable
from seaway.model.network import IPAddress, Subnet

ADDRESS_IN_USE = "Address already in use"
POOL_FULL = "no available addresses on this pool"


class AddressAllocator:
    def __init__(self, subnet: Subnet, in_use: Iterable[IPAddress] = ()) -> None:
        self.subnet = subnet
        net = subnet.subnet
        self._first = int(net.network_address)
        self._last = int(net.broadcast_address)
        dynamic = subnet.ip_range or net
        self._dyn_first = max(int(dynamic.network_address), self._first + 1)
        self._dyn_last = int(dynamic.broadcast_address)
        self._never: set[int] = {self._first}
        if net.version == 4 and net.prefixlen < 31:
            self._never.add(self._last)
            self._dyn_last = min(self._dyn_last, self._last - 1)
        if net.version == 4 and net.prefixlen >= 31:
            self._never.discard(self._first)
            self._dyn_first = int(dynamic.network_address)
        self._used: set[int] = {int(a) for a in subnet.reserved()}
        self._used.update(int(a) for a in in_use)
        self._low = self._dyn_first

    def allocate(self, mac: str = "") -> IPAddress:
        """The lowest free address of the dynamic range (the MAC plays no part)."""
        cursor = self._low
        while cursor <= self._dyn_last and (cursor in self._used or cursor in self._never):
            cursor += 1
        if cursor > self._dyn_last:
            self._low = cursor
            raise Unavailable(POOL_FULL)
        self._used.add(cursor)
        self._low = cursor + 1
        return self._address(cursor)

    def request(self, address: IPAddress, mac: str = "") -> IPAddress:
        """Reserve one given address (a static ``--ip``)."""
        value = int(address)
        if address.version != self.subnet.version or not self._first <= value <= self._last:
            raise InvalidParameter(f"invalid address {address}: it does not belong to any of this network's subnets")
        if value in self._never:
            raise InvalidParameter(f"invalid address {address}: requested address is out of range")
        if value in self._used:
            raise Forbidden(ADDRESS_IN_USE)
        self._used.add(value)
        return address

    def release(self, address: IPAddress) -> None:
        value = int(address)
        if value in self._used and address not in self.subnet.reserved():
            self._used.discard(value)
            self._low = min(self._low, max(value, self._dyn_first))

    def restore(self, address: IPAddress) -> None:
        """At start-up: a stored endpoint's address is taken again."""
        self.request(address)

    def in_use(self) -> int:
        return len(self._used)

    def leases(self) -> list[IPAddress]:
        """The addresses handed out (the gateway and auxiliary addresses are not leases)."""
        reserved = {int(a) for a in self.subnet.reserved()}
        return [self._address(v) for v in sorted(self._used - reserved)]

    def _address(self, value: int) -> IPAddress:
        # ip_address(int) would turn a small IPv6 value (below 2**32) into an IPv4Address
        if self.subnet.version == 4:
            return ipaddress.IPv4Address(value)
        return ipaddress.IPv6Address(value)


def first_free(subnet: Subnet) -> IPAddress:
    """The gateway Docker's default IPAM picks: the first free address of the (sub)pool."""
    return AddressAllocator(subnet).allocate()
