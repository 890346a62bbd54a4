"""Published-port map elements in the kernel's own encoding. Pure.

Publishing a port is the hot path: one more element in two maps. Running ``nft`` for it
costs a process and, worse, a read of the whole ruleset cache — which grows with every
published port. So the engine sends these elements to the kernel itself, as one
nfnetlink batch (``seaway.kernel.nftnl``); this module turns mappings into that batch's
messages. Keys are concatenations, every field padded to 4 bytes; single ports live in hash maps
(constant time to add and delete), runs in an interval map (the kernel's ``pipapo``),
whose elements also carry a key end, the field-wise end of the element.
``ruleset.port_entries`` decides the elements, for both paths.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from seaway.firewall import naming as n
from seaway.firewall.ruleset import (
    NetworkRules,
    PortEntry,
    PortGuard,
    container_port_runs_by_version,
    network_subnet_sets,
    port_entries,
)
from seaway.model.network import IPAddress
from seaway.model.ports import PortMapping

NFPROTO_INET = 1
NFPROTO_BRIDGE = 7
IFNAMSIZ = 16
PROTO_NUMBERS = {"tcp": 6, "udp": 17, "sctp": 132}


@dataclass(frozen=True, slots=True)
class Element:
    key: bytes
    key_end: bytes
    data: bytes
    flags: int = 0  # NFT_SET_ELEM_INTERVAL_END on the closing element of an interval


#: NFT_SET_ELEM_INTERVAL_END: an interval set (not concatenated) holds an interval as its
#: start element and, one past its last address, an element with this flag
INTERVAL_END = 1


@dataclass(frozen=True, slots=True)
class ElementBatch:
    """Elements added to (``add``) or deleted from (``delete``) one set or map."""

    op: str
    family: int
    table: str
    name: str
    elements: tuple[Element, ...]


def _field(raw: bytes) -> bytes:
    return raw + b"\0" * (-len(raw) % 4)


def _address(ip: object) -> bytes:
    return ip.packed  # type: ignore[attr-defined, no-any-return]


def _key(e: PortEntry) -> tuple[bytes, bytes]:
    """Key and key end: field-wise start and end (equal unless an interval element)."""
    proto = _field(bytes([PROTO_NUMBERS[e.first.proto]]))
    start_port = _field(struct.pack("!H", e.first.host_port))
    end_port = _field(struct.pack("!H", e.last.host_port))
    if not e.addressed:
        return proto + start_port, proto + end_port
    start = _address(e.first.host_ip)
    end = b"\xff" * len(start) if e.first.wildcard else start
    return _field(start) + proto + start_port, _field(end) + proto + end_port


def port_batches(op: str, mappings: list[PortMapping]) -> list[ElementBatch]:
    """The elements of ``mappings``; ``op`` is ``add`` or ``delete``. Only the interval
    map's elements carry a key end."""
    groups: dict[str, list[Element]] = {}
    for e in port_entries(mappings):
        key, key_end = _key(e)
        data = _address(e.first.container_ip) if e.value == "addr" else struct.pack("!H", e.first.container_port)
        groups.setdefault(e.name, []).append(Element(key, key_end if e.interval else b"", data))
    out = [ElementBatch(op, NFPROTO_INET, n.TABLE, name, tuple(elems)) for name, elems in sorted(groups.items())]
    by_version = container_port_runs_by_version(mappings)
    for version in (4, 6):
        direct = tuple(
            Element(
                _field(_address(ip)) + proto_field + _field(struct.pack("!H", first)),
                _field(_address(ip)) + proto_field + _field(struct.pack("!H", last)),
                b"",
            )
            for ip, proto, first, last in by_version.get(version, [])
            for proto_field in (_field(bytes([PROTO_NUMBERS[proto]])),)
        )
        if direct:
            out.append(ElementBatch(op, NFPROTO_INET, n.TABLE, n.SET_CONTAINER_PORTS[version], direct))
    return out


def publish(mappings: list[PortMapping]) -> list[ElementBatch]:
    return port_batches("add", mappings)


def unpublish(mappings: list[PortMapping]) -> list[ElementBatch]:
    """Added first, then deleted, in one batch: an already-missing element cannot fail it."""
    return port_batches("add", mappings) + port_batches("delete", mappings)


# anti-spoofing: an endpoint's port, MAC and addresses (``ruleset.PortGuard``)


def _ifname(name: str) -> bytes:
    return name.encode().ljust(IFNAMSIZ, b"\0")  # nft's ifname: IFNAMSIZ bytes


def _guard_batches(op: str, guard: PortGuard) -> list[ElementBatch]:
    port = _ifname(guard.port)

    def one(name: str, key: bytes) -> ElementBatch:
        return ElementBatch(op, NFPROTO_BRIDGE, n.TABLE, name, (Element(key, b"", b""),))

    out = [
        one(n.SET_GUARDED_PORTS, port),
        one(n.SET_PORT_MACS, port + _field(bytes.fromhex(guard.mac.replace(":", "")))),
    ]
    if guard.ipv4 is not None:
        out.append(one(n.SET_PORT_IPV4, port + _address(guard.ipv4)))
    if guard.ipv6 is not None:
        out.append(one(n.SET_PORT_IPV6, port + _address(guard.ipv6)))
    return out


def guard(guard: PortGuard) -> list[ElementBatch]:
    return _guard_batches("add", guard)


def unguard(guard: PortGuard) -> list[ElementBatch]:
    """Added first, then deleted, in one batch: an already-missing element cannot fail it."""
    return _guard_batches("add", guard) + _guard_batches("delete", guard)


# ICC off: the host-side ports of an ICC-off network's endpoints (``icc-off-ports``)


def _icc_off(op: str, port: str) -> list[ElementBatch]:
    return [ElementBatch(op, NFPROTO_BRIDGE, n.TABLE, n.SET_ICC_OFF_PORTS, (Element(_ifname(port), b"", b""),))]


def add_icc_off_port(port: str) -> list[ElementBatch]:
    return _icc_off("add", port)


def remove_icc_off_port(port: str) -> list[ElementBatch]:
    """Added first, then deleted, in one batch: an already-missing element cannot fail it."""
    return _icc_off("add", port) + _icc_off("delete", port)


# a network's elements (``ruleset.add_network`` as data): no nft process per network create


def _prefix_elements(prefix: object) -> tuple[Element, ...]:
    """An interval set's two elements for a prefix: its first address, and one past its
    last with the interval-end flag (none past the top of the address space), as nft
    sends them."""
    start = prefix.network_address  # type: ignore[attr-defined]
    after = int(start) + prefix.num_addresses  # type: ignore[attr-defined]
    out = [Element(_address(start), b"", b"")]
    if after < 2 ** (len(_address(start)) * 8):
        out.append(Element(type(start)(after).packed, b"", b"", INTERVAL_END))
    return tuple(out)


def _network_batches(op: str, net: NetworkRules) -> list[ElementBatch]:
    bridge = _ifname(net.bridge)

    def one(name: str, *elements: Element) -> ElementBatch:
        return ElementBatch(op, NFPROTO_INET, n.TABLE, name, elements)

    out = [one(n.SET_BRIDGES, Element(bridge, b"", b"")), one(n.SET_SAME_BRIDGE, Element(bridge + bridge, b"", b""))]
    for flag, name in ((net.host_access, n.SET_HOST_ACCESS), (net.internal, n.SET_INTERNAL)):
        if flag:
            out.append(one(name, Element(bridge, b"", b"")))
    if net.host_firewall:
        out.append(one(n.SET_HOST_FIREWALL, Element(bridge, b"", b"")))
    if not net.icc:
        out.append(one(n.SET_ICC_OFF_PAIRS, Element(bridge + bridge, b"", b"")))
    for set_name, subnets in network_subnet_sets(net):
        out.append(one(set_name, *(e for s in subnets for e in _prefix_elements(s))))
    return out


def add_network(net: NetworkRules) -> list[ElementBatch]:
    """The elements ``ruleset.add_network`` adds, for the element socket."""
    return _network_batches("add", net)


def remove_network(net: NetworkRules) -> list[ElementBatch]:
    """Added first, then deleted, in one batch: an already-missing element cannot fail it."""
    return _network_batches("add", net) + _network_batches("delete", net)


# VXLAN from member VTEPs only (``ruleset.VxlanMembers``): the data-path port and the VTEPs


def _vxlan_batches(op: str, port: int | None, vteps: Iterable[IPAddress]) -> list[ElementBatch]:
    out = []
    for version in (4, 6):
        members = tuple(Element(_address(a), b"", b"") for a in sorted(vteps, key=int) if a.version == version)
        if members:
            out.append(ElementBatch(op, NFPROTO_INET, n.TABLE, n.SET_VTEPS[version], members))
    if port is not None:  # an inet_service key: two bytes, network order
        out.append(
            ElementBatch(op, NFPROTO_INET, n.TABLE, n.SET_VXLAN_PORTS, (Element(struct.pack("!H", port), b"", b""),))
        )
    return out


def change_vxlan_members(
    added: Iterable[IPAddress],
    removed: Iterable[IPAddress],
    port: int | None = None,
    old_port: int | None = None,
) -> list[ElementBatch]:
    """VTEPs in and out, a new port in and an old one out (pass ``old_port`` only when it
    differs from ``port``), in one atomic batch; removed elements are added first, so an
    already-missing one cannot fail it."""
    removed = list(removed)
    return (
        _vxlan_batches("add", None, added)
        + _vxlan_batches("add", port, ())
        + _vxlan_batches("add", old_port, removed)
        + _vxlan_batches("delete", old_port, removed)
    )
