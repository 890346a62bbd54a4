"""Engine configuration: one frozen object, validated once, passed down (never global)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from seaway.errors import InvalidParameter
from seaway.ipam.pools import DEFAULT_LOCAL_POOLS, PoolSpec
from seaway.plugins.client import DEFAULT_TIMEOUT
from seaway.plugins.discovery import DOCKER_SOCKET_DIR, DOCKER_SPEC_DIRS, PluginDirs

DEFAULT_DATA_ROOT = Path("/var/lib/seaway")
DEFAULT_EXEC_ROOT = Path("/run/seaway")
DEFAULT_BRIDGE = "docker0"  # as Docker: guides and firewall recipes name it; "none" disables it


@dataclass(frozen=True, slots=True)
class EngineConfig:
    data_root: Path = DEFAULT_DATA_ROOT
    exec_root: Path = DEFAULT_EXEC_ROOT
    bridge: str = DEFAULT_BRIDGE
    bip: str = ""  # CIDR of the default bridge's gateway, e.g. 172.17.0.1/16
    mtu: int = 0
    icc: bool = True
    ip_masq: bool = True
    #: published ports of new networks also pass the host's own input rules (opt-in)
    host_firewall: bool = False
    default_address_pools: tuple[PoolSpec, ...] = field(default=DEFAULT_LOCAL_POOLS)
    #: where plugins' sockets are looked for (None: Docker's /run/docker/plugins, then
    #: ``<exec-root>/plugins``) and their spec files (Docker's /etc/docker/plugins and
    #: /usr/lib/docker/plugins)
    plugin_socket_dirs: tuple[Path, ...] | None = None
    plugin_spec_dirs: tuple[Path, ...] = DOCKER_SPEC_DIRS
    #: seconds a plugin call may take, and within which an unreachable plugin is retried
    plugin_timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if self.bip:
            try:
                iface = ipaddress.ip_interface(self.bip)
            except ValueError:
                raise InvalidParameter(f"invalid --bip {self.bip!r}: expected CIDR like 172.17.0.1/16") from None
            if iface.version != 4 or iface.ip == iface.network.network_address:
                raise InvalidParameter(
                    f"invalid --bip {self.bip}: expected the bridge's IPv4 address with a prefix length"
                )
        if self.plugin_timeout <= 0:
            raise InvalidParameter(
                f"invalid plugin timeout {self.plugin_timeout}: expected a positive number of seconds"
            )
        if self.mtu < 0:
            raise InvalidParameter(f"invalid --mtu {self.mtu}: expected 0 or a positive number")

    @property
    def store_path(self) -> Path:
        return self.data_root / "seaway.db"

    @property
    def netns_dir(self) -> Path:
        return self.exec_root / "netns"

    @property
    def plugin_dirs(self) -> PluginDirs:
        sockets = self.plugin_socket_dirs
        if sockets is None:
            sockets = (DOCKER_SOCKET_DIR, self.exec_root / "plugins")
        return PluginDirs(sockets=tuple(sockets), specs=tuple(self.plugin_spec_dirs))
