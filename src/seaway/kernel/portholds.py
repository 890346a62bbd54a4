"""Holding host ports: one bound socket per published host address and port.

Published traffic never reaches these sockets (it is translated to the container before
local delivery); they exist so that no other program on the host, and no other
container, can take a published port while it is published, as Docker's placeholder
listeners do. A TCP socket listens (so another listener fails to bind even with
``SO_REUSEADDR``); a UDP socket is bound. IPv6 sockets are IPv6-only, so ``::`` and
``0.0.0.0`` are held separately. Sockets are made in the calling thread's namespace:
the engine's own, the host's.
"""

from __future__ import annotations

import _socket
import errno
import socket
from pathlib import Path

from seaway.errors import Conflict, SeawayError, Unavailable, Unsupported
from seaway.model.network import IPAddress

_TYPES = {"tcp": (socket.SOCK_STREAM, 0), "udp": (socket.SOCK_DGRAM, 0), "sctp": (socket.SOCK_STREAM, 132)}

Key = tuple[str, IPAddress, int]


def show(proto: str, host_ip: IPAddress, port: int) -> str:
    host = f"[{host_ip}]" if host_ip.version == 6 else str(host_ip)
    return f"{host}:{port}/{proto}"


def sctp_supported() -> bool:
    return Path("/proc/net/sctp").exists()


def ephemeral_range() -> tuple[int, int] | None:
    """The kernel's ``ip_local_port_range`` (the host namespace's), or None."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return None


class PortHolds:
    def __init__(self) -> None:
        # (proto, address) -> port -> socket: no key tuple per port
        self._socks: dict[tuple[str, str], dict[int, _socket.socket]] = {}

    def __len__(self) -> int:
        return sum(len(ports) for ports in self._socks.values())

    def hold(self, proto: str, host_ip: IPAddress, port: int) -> None:
        """Bind (and for TCP/SCTP listen on) the port; idempotent for one key."""
        self.hold_many(proto, host_ip, [port])

    def hold_many(self, proto: str, host_ip: IPAddress, ports: list[int]) -> None:
        """Hold every port on one address, or none of them (a range is one request).

        The loop is the whole cost of a 10,000-port range: four system calls per port
        (``socket``, ``setsockopt``, ``bind``, ``listen``) and as little Python as can
        be around them, on the C socket type (no Python ``__init__`` per port)."""
        if proto == "sctp" and not sctp_supported():
            raise Unsupported("sctp is not supported by this kernel (CONFIG_IP_SCTP)")
        kind, number = _TYPES[proto]
        v6 = host_ip.version == 6
        family = socket.AF_INET6 if v6 else socket.AF_INET
        addr = str(host_ip)
        stream = kind == socket.SOCK_STREAM
        made: list[int] = []
        socks = self._socks.setdefault((proto, addr), {})
        make = _socket.socket
        port = 0
        try:
            for port in ports:
                if port in socks:
                    continue
                sock = make(family, kind, number)
                socks[port] = sock  # before binding: a failure below closes it with the others
                made.append(port)
                if v6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if stream:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind((addr, port))
                    sock.listen(1)
                else:
                    sock.bind((addr, port))
        except BaseException as exc:
            for made_port in made:
                socks.pop(made_port).close()
            if isinstance(exc, OSError):
                raise _failure(exc, proto, host_ip, port) from None
            raise

    def release(self, proto: str, host_ip: IPAddress, port: int) -> None:
        socks = self._socks.get((proto, str(host_ip)))
        sock = socks.pop(port, None) if socks is not None else None
        if sock is not None:
            sock.close()

    def close(self) -> None:
        for socks in self._socks.values():
            for sock in socks.values():
                sock.close()
        self._socks.clear()


def _failure(exc: OSError, proto: str, host_ip: IPAddress, port: int) -> SeawayError:
    """What a failed ``socket`` or ``bind`` of a held port means, in Docker's words."""
    where = show(proto, host_ip, port)
    if exc.errno in (errno.EMFILE, errno.ENFILE):
        return Unavailable(
            f"failed to bind host port {where}: too many open files "
            f"(each published port holds one; raise the daemon's open-files limit, LimitNOFILE)"
        )
    if exc.errno == errno.EADDRINUSE:
        return Conflict(f"failed to bind host port {where}: address already in use")
    if exc.errno == errno.EADDRNOTAVAIL:
        return Conflict(f"failed to bind host port {where}: cannot assign requested address")
    return Conflict(f"failed to bind host port {where}: {exc.strerror}")
