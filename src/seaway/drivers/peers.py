"""A multi-host network's endpoints on other hosts, as one host keeps them, and what a
change does to the static entries that stand for them. Pure.

Each change costs its own entries, whatever the number of peers: VTEPs are counted (a
flood entry goes with the last endpoint behind it) and each address remembers the
endpoint holding it. An address two endpoints claim for a moment (a ``--ip`` moving to
another host: the new holder may be told before the old one is gone) belongs to the one
told last, so the old one's removal leaves the new neighbour entry alone (and if the
holder goes first, the address is the older claimant's again).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from seaway.model.endpoint import RemoteEndpoint
from seaway.model.network import IPAddress


@dataclass
class Delta:
    added: list[RemoteEndpoint] = field(default_factory=list)
    #: entries whose FDB entry (MAC to VTEP) goes
    removed: list[RemoteEndpoint] = field(default_factory=list)
    #: addresses no peer holds any more (their neighbour entries go)
    stale_addresses: list[IPAddress] = field(default_factory=list)
    vteps_added: list[IPAddress] = field(default_factory=list)
    vteps_removed: list[IPAddress] = field(default_factory=list)


class PeerTable:
    def __init__(self) -> None:
        self._by_id: dict[str, RemoteEndpoint] = {}
        self._vteps: Counter[IPAddress] = Counter()
        self._macs: Counter[tuple[str, IPAddress]] = Counter()
        #: per address, the endpoints claiming it, the holder last
        self._claims: dict[IPAddress, list[str]] = {}

    def endpoints(self) -> list[RemoteEndpoint]:
        """Oldest first: an address held twice is the later one's."""
        return list(self._by_id.values())

    def vteps(self) -> list[IPAddress]:
        return sorted(self._vteps, key=str)

    def __len__(self) -> int:
        return len(self._by_id)

    def change(self, added: list[RemoteEndpoint], removed: list[str]) -> Delta:
        delta = Delta()
        released: set[IPAddress] = set()
        for endpoint_id in removed:
            old = self._by_id.pop(endpoint_id, None)
            if old is not None:
                self._forget(old, delta, released)
        for p in added:
            old = self._by_id.pop(p.endpoint_id, None)
            if old is not None:
                self._forget(old, delta, released)
            self._by_id[p.endpoint_id] = p
            self._vteps[p.vtep] += 1
            if self._vteps[p.vtep] == 1:
                delta.vteps_added.append(p.vtep)
            self._macs[(p.mac_address.lower(), p.vtep)] += 1
            for address in _addresses(p):
                self._claims.setdefault(address, []).append(p.endpoint_id)
                released.discard(address)
            delta.added.append(p)
        for address in list(released):  # an older claimant holds it again
            claims = self._claims.get(address)
            if claims:
                released.discard(address)
                heir = self._by_id[claims[-1]]
                if heir not in delta.added:
                    delta.added.append(heir)
        delta.stale_addresses = sorted(released, key=str)
        still = set(delta.vteps_added)
        delta.vteps_removed = [v for v in delta.vteps_removed if v not in still]
        delta.vteps_added = [v for v in delta.vteps_added if v not in set(delta.vteps_removed)]
        delta.removed = [p for p in delta.removed if not self._macs[(p.mac_address.lower(), p.vtep)]]
        return delta

    def _forget(self, old: RemoteEndpoint, delta: Delta, released: set[IPAddress]) -> None:
        self._vteps[old.vtep] -= 1
        if not self._vteps[old.vtep]:
            del self._vteps[old.vtep]
            delta.vteps_removed.append(old.vtep)
        key = (old.mac_address.lower(), old.vtep)
        self._macs[key] -= 1
        if not self._macs[key]:
            del self._macs[key]
        delta.removed.append(old)
        for address in _addresses(old):
            claims = self._claims.get(address, [])
            if claims and claims[-1] == old.endpoint_id:
                released.add(address)
            if old.endpoint_id in claims:
                claims.remove(old.endpoint_id)
            if not claims:
                self._claims.pop(address, None)


def _addresses(p: RemoteEndpoint) -> list[IPAddress]:
    return [a for a in (p.ipv4, p.ipv6) if a is not None]
