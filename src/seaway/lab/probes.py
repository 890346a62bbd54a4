"""Bounded reachability probes from inside a lab node's namespace (each one answers
within its timeout, so a partition or a dropped link costs seconds, never a hang)."""

from __future__ import annotations

import socket
import urllib.request

from seaway.kernel import netns, process


def ping(node_netns: str, address: str, timeout: float = 1) -> bool:
    """One ICMP echo; True when answered within ``timeout`` seconds."""
    argv = ["ping", "-n", "-q", "-c", "1", "-W", str(max(1, round(timeout))), address]
    return process.run(node_netns, argv, check=False, timeout=timeout + 5).returncode == 0


def http_get(node_netns: str, url: str, timeout: float = 3) -> str | None:
    """The body of ``GET url`` fetched from inside the namespace, or None."""

    def fetch() -> str | None:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return response.read().decode(errors="replace")  # type: ignore[no-any-return]
        except (OSError, ValueError):
            return None

    return netns.run(process.netns_path(node_netns), fetch)


def tcp_open(node_netns: str, address: str, port: int, timeout: float = 1) -> bool:
    """A TCP connection to ``address:port`` is accepted within ``timeout`` seconds."""

    def connect() -> bool:
        try:
            socket.create_connection((address, port), timeout=timeout).close()
            return True
        except OSError:
            return False

    return netns.run(process.netns_path(node_netns), connect)
