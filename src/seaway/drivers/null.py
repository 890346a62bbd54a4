"""The ``null`` driver (network ``none``) and the ``host`` driver: no kernel objects.

A sandbox on ``none`` has loopback only; a sandbox on ``host`` is the host's namespace.
Neither has IPAM, interfaces or firewall state.
"""

from __future__ import annotations

from contextlib import ExitStack

from seaway.errors import InvalidParameter
from seaway.kernel.sandbox import Interface
from seaway.model.endpoint import Endpoint
from seaway.model.network import BridgeOptions, Network, NetworkSpec


class _NoKernelDriver:
    name = ""
    has_interfaces = False

    def parse_options(self, spec: NetworkSpec, network_id: str) -> BridgeOptions | None:
        if spec.options:
            key = sorted(spec.options)[0]
            raise InvalidParameter(f"invalid option {key!r} for driver {self.name}: it takes no options")
        return None

    def create_network(self, net: Network, undo: ExitStack) -> None:
        return None

    def delete_network(self, net: Network) -> None:
        return None

    def join(self, net: Network, ep: Endpoint, sandbox_key: str, undo: ExitStack) -> Interface | None:
        return None

    def leave(self, net: Network, ep: Endpoint) -> None:
        return None

    def endpoint_present(self, net: Network, ep: Endpoint) -> bool:
        return True


class NullDriver(_NoKernelDriver):
    name = "null"


class HostDriver(_NoKernelDriver):
    name = "host"
