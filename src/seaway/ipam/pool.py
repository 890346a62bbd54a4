"""What the engine asks of a pool of addresses, whoever keeps it. Pure.

Two kinds satisfy it: Seaway's own ``AddressAllocator`` (the built-in IPAM, whose state
is rebuilt from the endpoint records), and a remote IPAM plugin's pool
(``seaway.plugins.ipam.RemotePool``), whose leases the plugin keeps. ``restore`` is the
start-up step: an address a stored endpoint has is taken again (the built-in reserves
it; a plugin already holds it, so nothing is asked of it).
"""

from __future__ import annotations

from typing import Protocol

from seaway.model.network import IPAddress, Subnet


class AddressPool(Protocol):
    subnet: Subnet

    def allocate(self, mac: str = "") -> IPAddress:
        """A free address of the dynamic range (``mac``: for an IPAM that asks for it)."""

    def request(self, address: IPAddress, mac: str = "") -> IPAddress:
        """Reserve one given address (a static ``--ip``)."""

    def release(self, address: IPAddress) -> None: ...

    def restore(self, address: IPAddress) -> None:
        """At start-up: a stored endpoint's address is in use again."""

    def leases(self) -> list[IPAddress]:
        """The addresses handed out (the gateway and auxiliary addresses are not leases)."""
