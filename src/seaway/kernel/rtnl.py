"""rtnetlink requests for the attach path, framed here: no pyroute2 message objects.

An endpoint's attach is seven rtnetlink requests (the veth pair, its host side's mark,
hairpin and up, then inside the sandbox an address, up and the default route). Through
pyroute2 each costs 0.15-0.4 ms of Python (request objects, encoding, a proxy, a lock,
the answer parsed attribute by attribute) on top of the kernel's work; here a request is
a few ``struct.pack`` calls and the answer is read for its error code only. Requests
that do not depend on each other's answers go to the kernel in one ``send``, which
processes them in order and acknowledges each.

Sockets belong to the namespace of the thread that made them (see ``seaway.kernel.netns``).
"""

from __future__ import annotations

import errno
import os
import socket
import struct
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from seaway.errors import KernelError
from seaway.model.network import IPAddress, IPNetwork

NETLINK_ROUTE = 0
RTM_NEWLINK, RTM_NEWADDR, RTM_NEWROUTE, RTM_DELROUTE = 16, 20, 24, 25
NLM_F_REQUEST, NLM_F_ACK, NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x100, 0x200, 0x400
NLMSG_ERROR = 2
IFF_UP = 0x1
# link attributes (linux/if_link.h)
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO, IFLA_IFALIAS = 1, 3, 4, 10, 18, 20
IFLA_NET_NS_FD = 28
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 2, 4, 5
VETH_INFO_PEER = 1
IFLA_BRPORT_MODE = 4  # hairpin
# address and route attributes (linux/if_addr.h, linux/rtnetlink.h)
IFA_ADDRESS, IFA_LOCAL, IFA_FLAGS = 1, 2, 8
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PREFSRC = 1, 4, 5, 7
RT_TABLE_MAIN, RTPROT_BOOT, RTN_UNICAST = 254, 3, 1
RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RT_SCOPE_NOWHERE = 0, 253, 255

_HEADER = struct.Struct("=IHHII")  # nlmsghdr
_IFINFO = struct.Struct("=BBHiII")  # family, pad, type, index, flags, change
_IFADDR = struct.Struct("=BBBBI")  # family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst/src len, tos, table, protocol, scope, type, flags


def _attr(kind: int, payload: bytes) -> bytes:
    return struct.pack("=HH", 4 + len(payload), kind) + payload + b"\0" * (-len(payload) % 4)


def _string(text: str) -> bytes:
    return text.encode() + b"\0"


def _mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


@dataclass(frozen=True, slots=True)
class Request:
    """One rtnetlink request: its message type, flags beyond REQUEST|ACK, body, and what
    a failure is reported as (``<op> <target>: <reason>``)."""

    msg_type: int
    flags: int
    body: bytes
    op: str
    target: str
    #: errnos that count as done (an address already there, a route already gone)
    done: tuple[int, ...] = ()


def new_veth(host_name: str, peer_name: str, *, peer_netns_fd: int, master: int, mtu: int, peer_mac: str) -> Request:
    """A veth pair: ``host_name`` here, enslaved to ``master``, and its peer created
    directly in the namespace of ``peer_netns_fd``, both down. (The kernel ignores
    IFLA_IFALIAS in RTM_NEWLINK: ``set_port`` marks the link.)"""
    mtu_attr = _attr(IFLA_MTU, struct.pack("=I", mtu)) if mtu else b""
    peer = (
        _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0, 0)
        + _attr(IFLA_IFNAME, _string(peer_name))
        + _attr(IFLA_NET_NS_FD, struct.pack("=I", peer_netns_fd))
        + _attr(IFLA_ADDRESS, _mac(peer_mac))
        + mtu_attr
    )
    info = _attr(IFLA_INFO_KIND, _string("veth")) + _attr(IFLA_INFO_DATA, _attr(VETH_INFO_PEER, peer))
    body = (
        _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0, 0)
        + _attr(IFLA_IFNAME, _string(host_name))
        + _attr(IFLA_MASTER, struct.pack("=I", master))
        + mtu_attr
        + _attr(IFLA_LINKINFO, info)
    )
    return Request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body, "create veth", host_name)


def new_bridge(name: str, mtu: int) -> Request:
    """A bridge, up from the start (the kernel applies the message's IFF_UP on creation)."""
    body = (
        _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, IFF_UP, IFF_UP)
        + _attr(IFLA_IFNAME, _string(name))
        + (_attr(IFLA_MTU, struct.pack("=I", mtu)) if mtu else b"")
        + _attr(IFLA_LINKINFO, _attr(IFLA_INFO_KIND, _string("bridge")))
    )
    return Request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body, "create bridge", name)


def mark(index: int, name: str, alias: str, op: str) -> Request:
    """Link ``index`` marked with ``alias`` and up."""
    body = _IFINFO.pack(socket.AF_UNSPEC, 0, 0, index, IFF_UP, IFF_UP) + _attr(IFLA_IFALIAS, _string(alias))
    return Request(RTM_NEWLINK, 0, body, op, name)


def set_port(index: int, name: str, *, alias: str, hairpin: bool) -> Request:
    """A bridge port marked with ``alias``, up, and with hairpin mode as given (one
    RTM_NEWLINK on the existing link: the bridge's port options ride as slave data)."""
    slave = _attr(IFLA_INFO_SLAVE_KIND, _string("bridge")) + _attr(
        IFLA_INFO_SLAVE_DATA, _attr(IFLA_BRPORT_MODE, struct.pack("=B", int(hairpin)))
    )
    marked = mark(index, name, alias, "set up veth")
    return Request(RTM_NEWLINK, 0, marked.body + _attr(IFLA_LINKINFO, slave), marked.op, name)


def set_up(index: int, name: str) -> Request:
    return Request(RTM_NEWLINK, 0, _IFINFO.pack(socket.AF_UNSPEC, 0, 0, index, IFF_UP, IFF_UP), "set link up", name)


def add_address(index: int, name: str, address: IPAddress, prefixlen: int, flags: int = 0) -> Request:
    """``address/prefixlen`` on link ``index`` (with IFA_F_* ``flags``); already there
    counts as done."""
    family = socket.AF_INET if address.version == 4 else socket.AF_INET6
    packed = address.packed
    body = (
        _IFADDR.pack(family, prefixlen, flags & 0xFF, RT_SCOPE_UNIVERSE, index)
        + _attr(IFA_LOCAL, packed)
        + _attr(IFA_ADDRESS, packed)
        + (_attr(IFA_FLAGS, struct.pack("=I", flags)) if flags > 0xFF else b"")
    )
    target = f"{address}/{prefixlen} to {name}"
    return Request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, body, "add address", target, (errno.EEXIST,))


def replace_default_route(version: int, gateway: IPAddress | None, index: int, name: str) -> Request:
    """The default route of the main table via ``gateway``, or on-link through link
    ``index`` when it is None (as ``addresses.replace_default_route``)."""
    family = socket.AF_INET if version == 4 else socket.AF_INET6
    scope = RT_SCOPE_LINK if gateway is None and version == 4 else RT_SCOPE_UNIVERSE
    body = _RTMSG.pack(family, 0, 0, 0, RT_TABLE_MAIN, RTPROT_BOOT, scope, RTN_UNICAST, 0)
    body += _attr(RTA_OIF, struct.pack("=I", index))
    if gateway is not None:
        body += _attr(RTA_GATEWAY, gateway.packed)
    target = f"dev {name}" if gateway is None else f"via {gateway} dev {name}"
    return Request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, body, "set default route", target)


def replace_subnet_route(subnet: IPNetwork, index: int, name: str, src: IPAddress, protocol: int) -> Request:
    """The on-link route to ``subnet`` through link ``index``, from ``src``, made by ``protocol``."""
    family = socket.AF_INET if subnet.version == 4 else socket.AF_INET6
    body = _RTMSG.pack(family, subnet.prefixlen, 0, 0, RT_TABLE_MAIN, protocol, RT_SCOPE_LINK, RTN_UNICAST, 0)
    body += _attr(RTA_DST, subnet.network_address.packed) + _attr(RTA_OIF, struct.pack("=I", index))
    body += _attr(RTA_PREFSRC, src.packed)
    return Request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, body, "set route", f"{subnet} dev {name}")


def delete_default_route(version: int) -> Request:
    """The main table's default route of IP ``version`` removed; none counts as done."""
    family = socket.AF_INET if version == 4 else socket.AF_INET6
    body = _RTMSG.pack(family, 0, 0, 0, RT_TABLE_MAIN, 0, RT_SCOPE_NOWHERE, 0, 0)  # any scope, protocol, type
    return Request(RTM_DELROUTE, 0, body, "delete default route", f"IPv{version}", (errno.ESRCH, errno.ENOENT))


def frames(data: bytes) -> Iterator[tuple[int, int, int, int]]:
    """The netlink messages of one read: ``(type, sequence, payload start, end)``."""
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, msg_type, _flags, seq, _pid = _HEADER.unpack_from(data, offset)
        if length < _HEADER.size:
            raise OSError(0, "malformed netlink answer")
        yield msg_type, seq, offset + _HEADER.size, offset + length
        offset += (length + 3) & ~3


class RouteLink:
    """One rtnetlink socket of the namespace of the thread that made it; thread-safe."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, NETLINK_ROUTE)
        self._sock.bind((0, 0))
        self._sock.settimeout(5)
        self._lock = threading.Lock()
        self._seq = int.from_bytes(os.urandom(3), "big")

    def send(self, requests: Sequence[Request]) -> None:
        """Send ``requests`` in one write; the kernel runs them in order. The first that
        fails (beyond its ``done`` errnos) raises ``KernelError``; those after it were
        still run, so a batch holds only requests whose undo does not depend on which
        of them ran (the callers undo by deleting the link)."""
        if not requests:
            return
        with self._lock:
            first = self._seq + 1
            frames = []
            for i, req in enumerate(requests):
                size = _HEADER.size + len(req.body)
                frames.append(_HEADER.pack(size, req.msg_type, NLM_F_REQUEST | NLM_F_ACK | req.flags, first + i, 0))
                frames.append(req.body)
            self._seq += len(requests)
            try:
                self._sock.send(b"".join(frames))
                codes = self._acks(first, len(requests))
            except OSError as exc:
                raise KernelError(requests[0].op, requests[0].target, exc.errno, exc.strerror or str(exc)) from None
        for req, code in zip(requests, codes, strict=True):
            if code and code not in req.done:
                raise KernelError(req.op, req.target, code, os.strerror(code))

    def _acks(self, first: int, count: int) -> list[int]:
        codes: dict[int, int] = {}
        while len(codes) < count:
            data = self._sock.recv(1 << 16)
            for msg_type, seq, start, _end in frames(data):
                if msg_type == NLMSG_ERROR and first <= seq < first + count:
                    codes[seq] = -struct.unpack_from("=i", data, start)[0]
        return [codes[first + i] for i in range(count)]

    def close(self) -> None:
        self._sock.close()

    def __enter__(self) -> RouteLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
