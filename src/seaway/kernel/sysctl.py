"""Sysctls of the namespace the calling thread is in (``/proc/sys`` resolves per thread).

Keys are written with slashes (``net/ipv4/ip_forward``) so interface names containing
dots (``eth0.100``) need no escaping.
"""

from __future__ import annotations

import os
from pathlib import Path

from seaway.kernel.errors import translating

PROC_SYS = Path("/proc/sys")


def exists(key: str) -> bool:
    return (PROC_SYS / key).exists()


def read(key: str) -> str:
    with translating("read sysctl", key):
        return (PROC_SYS / key).read_text().strip()


def write(key: str, value: str) -> None:
    """Set ``key``; writing the value it already has does nothing. One descriptor for
    the read and the write, at offset 0 (a tenth of what two pathlib round trips cost:
    an attach writes two, a sandbox four)."""
    with translating("write sysctl", f"{key}={value}"):
        fd = os.open(f"/proc/sys/{key}", os.O_RDWR | os.O_CLOEXEC)
        try:
            wanted = value.encode()
            if os.read(fd, 4096).strip() != wanted:
                os.pwrite(fd, wanted, 0)
        finally:
            os.close(fd)
