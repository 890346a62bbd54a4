"""The host's resolvers, read from the daemon's own namespace and re-read on change."""

from __future__ import annotations

import os
from pathlib import Path

from seaway.dns.resolvconf import nameservers


class HostResolvConf:
    """Nameservers of ``path``; a changed file (by mtime and size) is read again on the
    next query, so editing the host's resolv.conf needs no restart."""

    def __init__(self, path: Path, override: tuple[str, ...] = ()) -> None:
        self.path = path
        self._override = override
        self._stamp: tuple[int, int] | None = None
        self._servers: list[str] = []

    def servers(self) -> list[str]:
        if self._override:
            return list(self._override)
        try:
            st = os.stat(self.path)
        except OSError:
            return []
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            try:
                self._servers = nameservers(self.path.read_text())
            except OSError:
                self._servers = []
            self._stamp = stamp
        return self._servers

    def text(self) -> str:
        try:
            return self.path.read_text()
        except OSError:
            return ""
