"""Holding host ports: one bound socket per published host address and port.

Published traffic never reaches these sockets (it is translated to the container before
local delivery); they exist so that no other program on the host, and no other
container, can take a published port while it is published, as Docker's placeholder
listeners do. A socket is bound without ``SO_REUSEADDR`` (so every other bind of the
port fails, with the option or without); a TCP port that cannot be bound so (a
TIME_WAIT leftover) is held by a listener with the option. IPv6 sockets are IPv6-only, so ``::`` and
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
        """Hold one port (see ``hold_many``); idempotent for one key."""
        self.hold_many(proto, host_ip, [port])

    def hold_many(self, proto: str, host_ip: IPAddress, ports: list[int]) -> None:
        """Hold every port on one address, or none of them (a range is one request).

        The loop is the whole cost of a 10,000-port range: two system calls per port
        (``socket``, ``bind``) and as little Python as can be around them, on the C
        socket type (no Python ``__init__`` per port). A bound socket without
        ``SO_REUSEADDR`` refuses every other bind of its port, with or without that
        option, and keeps it out of the ephemeral range; only where the bind fails (a
        connection of an earlier program still in TIME_WAIT on the port, or a real
        holder) is the port tried as a listener with ``SO_REUSEADDR``, which passes the
        first and refuses the second."""
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
                try:
                    sock.bind((addr, port))
                except OSError as exc:
                    if not (stream and exc.errno == errno.EADDRINUSE):
                        raise
                    socks[port] = _listener(family, kind, number, v6, addr, port)
                    sock.close()
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


def _listener(family: int, kind: int, number: int, v6: bool, addr: str, port: int) -> _socket.socket:
    """A TCP/SCTP port held by a listener with ``SO_REUSEADDR``: binds beside TIME_WAIT
    leftovers; listening, it still refuses other binds, with the option or without."""
    sock = _socket.socket(family, kind, number)
    try:
        if v6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((addr, port))
        sock.listen(1)
    except BaseException:
        sock.close()
        raise
    return sock


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
