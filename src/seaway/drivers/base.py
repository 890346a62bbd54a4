"""The driver protocol: what the controller asks of every network driver.

The controller has already validated the request and allocated addresses when it calls
a driver; drivers only turn a validated ``Network`` or ``Endpoint`` into kernel state.
Every ``create_*``/``join`` pushes one undo per kernel step onto the ``undo`` stack it is
given, so a failure later in the operation removes exactly what was made. ``delete_*``
and ``leave`` succeed when their objects are already gone.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Protocol

from seaway.kernel.sandbox import Interface
from seaway.model.endpoint import Endpoint
from seaway.model.network import BridgeOptions, Network, NetworkSpec, ParentOptions


class NetworkDriver(Protocol):
    name: str
    #: the driver puts endpoints in their own namespace (False: host and null)
    has_interfaces: bool

    def parse_options(self, spec: NetworkSpec, network_id: str) -> BridgeOptions | ParentOptions | None:
        """Typed options of a create request; raises InvalidParameter for bad ones (and
        Unsupported for what this kernel cannot do)."""

    def create_network(self, net: Network, undo: ExitStack) -> None:
        """Make (or, at start-up, repair) the network's kernel objects."""

    def delete_network(self, net: Network) -> None: ...

    def join(self, net: Network, ep: Endpoint, sandbox_key: str, undo: ExitStack) -> Interface | None:
        """Give the sandbox its interface on this network; return what the controller
        must configure inside the sandbox (it does so in one visit, with the routes)."""

    def leave(self, net: Network, ep: Endpoint) -> None: ...

    def endpoint_present(self, net: Network, ep: Endpoint) -> bool:
        """The endpoint's kernel objects exist (used when reconciling)."""
