"""Finding a plugin by name, as Docker does (``pkg/plugins/discovery.go``).

In order: a unix socket ``<dir>/<name>.sock`` or ``<dir>/<name>/<name>.sock`` in each
socket directory (Docker's ``/run/docker/plugins``, then Seaway's
``<exec-root>/plugins``); then a spec file in each spec directory (``/etc/docker/plugins``,
``/usr/lib/docker/plugins``): ``<name>.spec`` holding a URL (``unix:///path`` or
``tcp://host:port``), or ``<name>.json`` holding ``{"Name", "Addr", "TLSConfig"}``, also
inside a ``<name>/`` subdirectory. Every directory is configurable (tests point them
into their fake host). Reads files only.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from seaway.errors import InvalidParameter, Unsupported

DOCKER_SOCKET_DIR = Path("/run/docker/plugins")
DOCKER_SPEC_DIRS = (Path("/etc/docker/plugins"), Path("/usr/lib/docker/plugins"))


@dataclass(frozen=True, slots=True)
class PluginDirs:
    sockets: tuple[Path, ...]
    specs: tuple[Path, ...] = DOCKER_SPEC_DIRS


@dataclass(frozen=True, slots=True)
class PluginAddress:
    """Where a plugin listens: a unix socket path, or a TCP ``host:port``."""

    name: str
    unix: str = ""
    tcp: str = ""
    found_in: str = ""  # the socket or spec file it was found through

    def __str__(self) -> str:
        return f"unix://{self.unix}" if self.unix else f"tcp://{self.tcp}"


def _candidates(base: Path, name: str, ext: str) -> tuple[Path, Path]:
    return base / f"{name}{ext}", base / name / f"{name}{ext}"


def find(name: str, dirs: PluginDirs) -> PluginAddress | None:
    """The plugin's address, or None when no directory has it."""
    if not name or "/" in name or "\0" in name or name in (".", ".."):
        return None
    for base in dirs.sockets:
        for path in _candidates(base, name, ".sock"):
            if stat.S_ISSOCK(_mode(path)):
                return PluginAddress(name, unix=str(path), found_in=str(path))
    for base in dirs.specs:
        for ext in (".spec", ".json"):
            for path in _candidates(base, name, ext):
                if stat.S_ISREG(_mode(path)):
                    return _read_spec(name, path)
    return None


def _mode(path: Path) -> int:
    """The file's mode; 0 when there is none (absent, or a name too long for the file system)."""
    try:
        return path.stat().st_mode
    except (OSError, ValueError):
        return 0


def _read_spec(name: str, path: Path) -> PluginAddress:
    text = path.read_text()
    if path.suffix == ".json":
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise InvalidParameter(f"plugin spec {path}: invalid JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise InvalidParameter(f"plugin spec {path}: expected an object with Addr")
        tls = doc.get("TLSConfig") or {}
        if isinstance(tls, dict) and any(tls.get(k) for k in ("CAFile", "CertFile", "KeyFile")):
            raise Unsupported(f"plugin spec {path}: TLS to plugins is not supported by Seaway yet")
        addr = str(doc.get("Addr", ""))
    else:
        addr = text.strip()
    url = urlparse(addr)
    if not url.scheme:
        raise InvalidParameter(f"plugin spec {path}: Unknown protocol")  # Docker's words
    if url.scheme == "unix":
        return PluginAddress(name, unix=url.path, found_in=str(path))
    if url.scheme in ("tcp", "http") and url.netloc:
        return PluginAddress(name, tcp=url.netloc, found_in=str(path))
    raise Unsupported(f"plugin spec {path}: address {addr} is not supported (expected unix:// or tcp://)")
