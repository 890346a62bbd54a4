"""Route dumps straight from rtnetlink, filtered by the kernel: no pyroute2 message
objects.

Network create asks for the host's on-link routes of other programs (Docker reserves
their subnets) once per protocol: a dump through pyroute2 costs a fraction of a
millisecond of Python per request even when the kernel sends nothing back, which made
it the largest single step of ``network create``. Here a request is one ``send`` of 28
bytes and each answer is read for three fields.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
import threading

from seaway.errors import KernelError
from seaway.kernel.rtnl import frames

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_GET_STRICT_CHK = 12
RTM_NEWROUTE, RTM_GETROUTE = 24, 26
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTA_DST = 1
RT_SCOPE_LINK = 253
_HEADER = struct.Struct("=IHHII")  # nlmsghdr
_RTMSG = struct.Struct("=BBBBBBBBI")  # family, dst_len, src_len, tos, table, protocol, scope, type, flags


class RouteDumps:
    """One rtnetlink socket of the namespace it was made in, with the kernel's strict
    dump filtering on; thread-safe."""

    def __init__(self) -> None:
        self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        self._sock.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
        self._sock.bind((0, 0))
        self._sock.settimeout(5)
        self._lock = threading.Lock()
        self._seq = int.from_bytes(os.urandom(3), "big")

    def onlink_ipv4(self, table: int, protocols: tuple[int, ...]) -> list[ipaddress.IPv4Network]:
        """Destinations of the IPv4 scope-link routes (not default) of ``table`` made by
        any of ``protocols``: one kernel-filtered dump per protocol."""
        out: list[ipaddress.IPv4Network] = []
        with self._lock:
            for proto in protocols:
                self._seq += 1
                body = _RTMSG.pack(socket.AF_INET, 0, 0, 0, table, proto, 0, 0, 0)
                request = _HEADER.pack(_HEADER.size + len(body), RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, self._seq, 0)
                try:
                    self._sock.send(request + body)
                    out += self._collect(self._seq)
                except OSError as exc:
                    raise KernelError("list routes of", "host namespace", exc.errno, exc.strerror or str(exc)) from None
        return out

    def _collect(self, seq: int) -> list[ipaddress.IPv4Network]:
        found: list[ipaddress.IPv4Network] = []
        while True:
            data = self._sock.recv(1 << 16)
            for msg_type, msg_seq, start, end in frames(data):
                if msg_seq != seq:
                    continue
                if msg_type == NLMSG_DONE:
                    return found
                if msg_type == NLMSG_ERROR:
                    (code,) = struct.unpack_from("=i", data, start)
                    raise OSError(-code, os.strerror(-code))
                if msg_type == RTM_NEWROUTE:
                    network = _onlink_destination(data, start, end)
                    if network is not None:
                        found.append(network)

    def close(self) -> None:
        self._sock.close()


def _onlink_destination(data: bytes, start: int, end: int) -> ipaddress.IPv4Network | None:
    family, dst_len, *_rest = _RTMSG.unpack_from(data, start)
    scope = data[start + 6]
    if family != socket.AF_INET or scope != RT_SCOPE_LINK or dst_len == 0:
        return None
    offset = start + _RTMSG.size
    while offset + 4 <= end:
        attr_len, attr_type = struct.unpack_from("=HH", data, offset)
        if attr_len < 4:
            return None
        if attr_type == RTA_DST and attr_len == 8:
            return ipaddress.IPv4Network((data[offset + 4 : offset + 8], dst_len), strict=False)
        offset += (attr_len + 3) & ~3
    return None
