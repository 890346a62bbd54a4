"""What kernel state a network or an endpoint should have: one description, written by
its driver, read by both the realizer (is it there? make it) and the doctor (does the
kernel agree?). Pure.

A description names objects, never kernel handles: links in the host's namespace with
the bridge they are a port of and the addresses they carry, Seaway-protocol routes, and
interfaces inside the endpoint's sandbox. What a driver does not describe is not checked
(the host and null drivers describe nothing).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HostLink:
    """A link in the host's namespace."""

    name: str
    kind: str = ""  # "bridge", "veth", "macvlan"; "" when any kind will do
    master: str = ""  # the bridge it must be a port of ("" for none)
    addresses: frozenset[str] = frozenset()  # "address/prefixlen" it must carry
    up: bool = True


@dataclass(frozen=True, slots=True)
class SandboxLink:
    """An interface inside the endpoint's sandbox."""

    name: str
    mac: str = ""  # "" when the driver does not choose it
    addresses: frozenset[str] = frozenset()  # exactly these global addresses


@dataclass(frozen=True, slots=True)
class Expected:
    host_links: tuple[HostLink, ...] = ()
    routes: tuple[str, ...] = ()  # Seaway-protocol host routes, "subnet dev ifname"
    sandbox_links: tuple[SandboxLink, ...] = ()


NOTHING = Expected()
