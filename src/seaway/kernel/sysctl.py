"""Sysctls of the namespace the calling thread is in (``/proc/sys`` resolves per thread).

Keys are written with slashes (``net/ipv4/ip_forward``) so interface names containing
dots (``eth0.100``) need no escaping.
"""

from __future__ import annotations

from pathlib import Path

from seaway.kernel.errors import translating

PROC_SYS = Path("/proc/sys")


def exists(key: str) -> bool:
    return (PROC_SYS / key).exists()


def read(key: str) -> str:
    with translating("read sysctl", key):
        return (PROC_SYS / key).read_text().strip()


def write(key: str, value: str) -> None:
    """Set ``key``; writing the value it already has does nothing."""
    with translating("write sysctl", f"{key}={value}"):
        path = PROC_SYS / key
        if path.read_text().strip() != value:
            path.write_text(value)
