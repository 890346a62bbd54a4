"""Plugins by name: found on first use (lazily, as Docker), activated once with the
``Plugin.Activate`` handshake, and kept while the engine runs.

A name no directory has is Docker's ``plugin "NAME" not found`` (404); a plugin that
does not implement what is asked of it (``NetworkDriver``, ``IpamDriver``) is Docker's
``legacy plugin: Plugin does not implement the requested driver``. Activation goes
through ``PluginClient.call``, so a plugin that is starting up is waited for.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from seaway.errors import InternalError, NotFound
from seaway.plugins import discovery
from seaway.plugins.client import DEFAULT_TIMEOUT, PluginClient, PluginError
from seaway.plugins.discovery import PluginDirs

log = logging.getLogger(__name__)

NETWORK_DRIVER = "NetworkDriver"
IPAM_DRIVER = "IpamDriver"


@dataclass(frozen=True, slots=True)
class Activated:
    client: PluginClient
    implements: tuple[str, ...]


class Plugins:
    def __init__(self, dirs: PluginDirs, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.dirs = dirs
        self.timeout = timeout
        self._active: dict[str, Activated] = {}
        self._lock = threading.Lock()

    def get(self, name: str, kind: str) -> PluginClient:
        """The client of an activated plugin implementing ``kind``."""
        with self._lock:
            plugin = self._active.get(name)
            if plugin is None:
                plugin = self._activate(name)
                self._active[name] = plugin
        if kind not in plugin.implements:
            raise InternalError("legacy plugin: Plugin does not implement the requested driver")
        return plugin.client

    def _activate(self, name: str) -> Activated:
        address = discovery.find(name, self.dirs)
        if address is None:
            raise NotFound(f'plugin "{name}" not found')
        client = PluginClient(address, self.timeout)
        try:
            manifest = client.call("Plugin.Activate")
        except PluginError as exc:
            raise PluginError(f"legacy plugin: {exc}") from exc
        implements = manifest.get("Implements") or []
        if not isinstance(implements, list):
            raise PluginError("legacy plugin: Plugin.Activate: Implements is not a list")
        log.info("plugin %s activated at %s (found through %s): implements %s", name, address, address.found_in,
                 ", ".join(map(str, implements)))  # fmt: skip
        return Activated(client, tuple(str(i) for i in implements))
