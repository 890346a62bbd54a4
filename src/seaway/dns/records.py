"""The embedded resolver's names, scoped by network, and the lookup rules. Pure.

Each network holds its members' ``DNSNames`` (container name, aliases, short ID,
hostname) and addresses. A query is answered from the networks the asking container
is attached to only; ``name.network`` pins one of them. Docker's answers:

* A/AAAA: every matching address (aliases may be shared), shuffled by the server, TTL 600;
* a known name without an address of the asked family: NOERROR with no answer;
* MX for a known name: NOERROR with no answer;
* PTR of a member's address: ``<container name>.<network name>.``;
* anything else: forwarded upstream (or SERVFAIL when the container may not forward).

Updates are per member (``set_member``/``drop_member``: the cost of one endpoint, not
of its network) and each step is one assignment, so a lookup on the event loop sees a
member either before or after, never half-made. ``set_network`` replaces a whole
network at once (tests, and rebuilding after a repair).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from enum import Enum

from seaway.model.network import IPAddress

TTL = 600


@dataclass(frozen=True, slots=True)
class Member:
    """One container on one network, as the resolver sees it."""

    container: str
    names: tuple[str, ...]
    ipv4: ipaddress.IPv4Address | None
    ipv6: ipaddress.IPv6Address | None


class Outcome(Enum):
    ANSWER = "answer"  # addresses or a PTR name
    EMPTY = "empty"  # NOERROR, no records
    FORWARD = "forward"  # not ours: ask upstream


@dataclass(frozen=True, slots=True)
class Result:
    outcome: Outcome
    addresses: tuple[IPAddress, ...] = ()
    ptr: str = ""


def member_names(container: str, aliases: tuple[str, ...], container_id: str, hostname: str) -> tuple[str, ...]:
    """A container's ``DNSNames`` on a network, in Docker's order: its name, the aliases,
    its short ID, its hostname; each once. The API shows exactly what the resolver serves."""
    return tuple(dict.fromkeys(n for n in (container, *aliases, container_id[:12], hostname) if n))


@dataclass(slots=True)
class _Index:
    name: str
    display: str  # the network's name as given (``name`` is lower-cased for lookups)
    by_name: dict[str, tuple[Member, ...]]
    by_address: dict[IPAddress, str]
    members: dict[str, Member]  # member key (endpoint ID) -> member

    def add(self, key: str, member: Member) -> None:
        self.members[key] = member
        for name in dict.fromkeys(n.lower() for n in member.names if n):
            self.by_name[name] = (*self.by_name.get(name, ()), member)
        for address in (member.ipv4, member.ipv6):
            if address is not None:
                self.by_address[address] = f"{member.container}.{self.display}."

    def remove(self, key: str) -> None:
        member = self.members.pop(key, None)
        if member is None:
            return
        for name in dict.fromkeys(n.lower() for n in member.names if n):
            left = tuple(m for m in self.by_name.get(name, ()) if m is not member)
            if left:
                self.by_name[name] = left
            else:
                self.by_name.pop(name, None)
        for address in (member.ipv4, member.ipv6):
            if address is not None and self.by_address.get(address) == f"{member.container}.{self.display}.":
                del self.by_address[address]


class Records:
    def __init__(self) -> None:
        self._networks: dict[str, _Index] = {}

    def set_network(self, network_id: str, network_name: str, members: list[Member]) -> None:
        index = _Index(network_name.lower(), network_name, {}, {}, {})
        for i, member in enumerate(members):
            index.add(str(i), member)
        self._networks[network_id] = index

    def set_member(self, network_id: str, network_name: str, key: str, member: Member) -> None:
        """Add (or replace) one member of a network; ``key`` names it (its endpoint's ID)."""
        index = self._networks.get(network_id)
        if index is None:
            index = self._networks[network_id] = _Index(network_name.lower(), network_name, {}, {}, {})
        index.remove(key)
        index.add(key, member)

    def drop_member(self, network_id: str, key: str) -> None:
        index = self._networks.get(network_id)
        if index is not None:
            index.remove(key)

    def drop_network(self, network_id: str) -> None:
        self._networks.pop(network_id, None)

    def address_records(self) -> dict[str, frozenset[str]]:
        """Per network ID, ``"<container> <address>"`` for every address it answers (doctor)."""
        out: dict[str, frozenset[str]] = {}
        for network_id, index in list(self._networks.items()):
            suffix = f".{index.display}."
            pointers = list(index.by_address.items())
            out[network_id] = frozenset(f"{ptr.removesuffix(suffix)} {a}" for a, ptr in pointers)
        return out

    def lookup(self, networks: list[str], qname: str, qtype: str) -> Result:
        """Answer ``qname`` (any case, with or without the final dot) for a container
        attached to ``networks`` (network IDs)."""
        name = qname.rstrip(".").lower()
        if qtype == "PTR":
            return self._ptr(networks, name)
        members = self._members(networks, name)
        if not members:
            return Result(Outcome.FORWARD)
        if qtype in ("A", "AAAA"):
            attr = "ipv4" if qtype == "A" else "ipv6"
            found = tuple(dict.fromkeys(getattr(m, attr) for m in members if getattr(m, attr) is not None))
            return Result(Outcome.ANSWER, found) if found else Result(Outcome.EMPTY)
        if qtype == "MX":
            return Result(Outcome.EMPTY)
        return Result(Outcome.FORWARD)

    def _members(self, networks: list[str], name: str) -> list[Member]:
        indexes = [self._networks[n] for n in networks if n in self._networks]
        found = [m for idx in indexes for m in idx.by_name.get(name, ())]
        if found:
            return found
        labels = name.split(".")
        for cut in range(1, len(labels)):  # name.network: strip labels, the rest is a network
            host, network = ".".join(labels[:cut]), ".".join(labels[cut:])
            for idx in indexes:
                if idx.name == network and host in idx.by_name:
                    return list(idx.by_name[host])
        return []

    def _ptr(self, networks: list[str], name: str) -> Result:
        address = reverse_pointer_address(name)
        if address is None:
            return Result(Outcome.FORWARD)
        for network_id in networks:
            idx = self._networks.get(network_id)
            if idx is not None and address in idx.by_address:
                return Result(Outcome.ANSWER, ptr=idx.by_address[address])
        return Result(Outcome.FORWARD)


def reverse_pointer_address(name: str) -> IPAddress | None:
    """``4.3.2.1.in-addr.arpa`` -> 1.2.3.4 (and ip6.arpa nibbles); None if not one."""
    if name.endswith(".in-addr.arpa"):
        parts = name.removesuffix(".in-addr.arpa").split(".")
        if len(parts) == 4:
            try:
                return ipaddress.IPv4Address(".".join(reversed(parts)))
            except ValueError:
                return None
    if name.endswith(".ip6.arpa"):
        nibbles = name.removesuffix(".ip6.arpa").split(".")
        if len(nibbles) == 32 and all(len(n) == 1 for n in nibbles):
            try:
                return ipaddress.IPv6Address(int("".join(reversed(nibbles)), 16))
            except ValueError:
                return None
    return None
