"""Host ports handed to published container ports. Pure.

One table per (protocol, address family). A wildcard address (``0.0.0.0``, ``::``)
conflicts with every address of its family and every address conflicts with the
wildcard, as in current Docker; IPv4 and IPv6 are separate. Ephemeral ports are handed
out as Docker does: from the host's ``ip_local_port_range``, sequentially after the last
one handed out (wrapping), not lowest-free. Looking a port up is O(1).
"""

from __future__ import annotations

from collections.abc import Iterator

from seaway.errors import Conflict
from seaway.model.network import IPAddress
from seaway.model.ports import WILDCARD

DEFAULT_EPHEMERAL = (49153, 65535)  # Docker's fallback when the kernel's range is unreadable


def already_allocated(host_ip: IPAddress, port: int) -> Conflict:
    return Conflict(f"Bind for {_show(host_ip)}:{port} failed: port is already allocated")


def _show(ip: IPAddress) -> str:
    return f"[{ip}]" if ip.version == 6 else str(ip)


class HostPorts:
    def __init__(self, ephemeral: tuple[int, int] = DEFAULT_EPHEMERAL) -> None:
        self.ephemeral = ephemeral
        # (proto, family, port) -> host addresses holding it: a tuple, almost always of
        # one (no set per port: hashing an address is a Python call, and a range has 10,000)
        self._held: dict[tuple[str, int, int], tuple[IPAddress, ...]] = {}
        self._last: dict[str, int] = {}

    def conflict(self, proto: str, host_ip: IPAddress, port: int) -> bool:
        holders = self._held.get((proto, host_ip.version, port))
        if not holders:
            return False
        return host_ip in holders or host_ip == WILDCARD[host_ip.version] or WILDCARD[host_ip.version] in holders

    def take(self, proto: str, host_ip: IPAddress, port: int) -> None:
        if self.conflict(proto, host_ip, port):
            raise already_allocated(host_ip, port)
        key = (proto, host_ip.version, port)
        self._held[key] = (*self._held.get(key, ()), host_ip)

    def take_many(self, proto: str, host_ip: IPAddress, ports: list[int]) -> None:
        """Take every port for one address, or none of them: all are checked, then all
        taken (a port twice in ``ports`` clashes with itself, as two requests would)."""
        version = host_ip.version
        wildcard = WILDCARD[version]
        anything = host_ip == wildcard  # the wildcard clashes with every holder
        held = self._held
        if len(set(ports)) != len(ports):
            seen: set[int] = set()
            for port in ports:
                if port in seen:
                    raise already_allocated(host_ip, port)
                seen.add(port)
        for port in ports:
            holders = held.get((proto, version, port))
            if holders and (anything or wildcard in holders or host_ip in holders):
                raise already_allocated(host_ip, port)
        mine = (host_ip,)
        for port in ports:
            key = (proto, version, port)
            holders = held.get(key)
            held[key] = mine if holders is None else (*holders, host_ip)

    def release(self, proto: str, host_ip: IPAddress, port: int) -> None:
        key = (proto, host_ip.version, port)
        holders = self._held.get(key)
        if holders is not None:
            left = tuple(h for h in holders if h != host_ip)
            if left:
                self._held[key] = left
            else:
                del self._held[key]

    def free_for_all(self, proto: str, host_ips: list[IPAddress], port: int) -> bool:
        return not any(self.conflict(proto, ip, port) for ip in host_ips)

    def candidates(self, proto: str, host_ips: list[IPAddress], low: int = 0, high: int = 0) -> Iterator[int]:
        """Ports free for every one of ``host_ips``, in the order to try them.

        ``low == high == 0``: the ephemeral range, starting after the last port handed
        out for ``proto``; a range: its ports in order, first free first.
        """
        if low == 0 and high == 0:
            first, last = self.ephemeral
            start = self._last.get(proto, last) + 1
            if not first <= start <= last:
                start = first
            span = last - first + 1
            for i in range(span):
                port = first + (start - first + i) % span
                if self.free_for_all(proto, host_ips, port):
                    yield port
            return
        for port in range(low, high + 1):
            if self.free_for_all(proto, host_ips, port):
                yield port

    def handed_out(self, proto: str, port: int) -> None:
        """Remember the last ephemeral port given, so the next search starts after it."""
        first, last = self.ephemeral
        if first <= port <= last:
            self._last[proto] = port
