"""The ``null`` driver (network ``none``) and the ``host`` driver: no kernel objects.

A sandbox on ``none`` has loopback only; a sandbox on ``host`` is the host's namespace.
Neither has IPAM, interfaces or firewall state, and at most one network of each exists.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack

from seaway.errors import InvalidParameter
from seaway.kernel.sandbox import Interface
from seaway.model.endpoint import Endpoint
from seaway.model.expected import NOTHING, Expected
from seaway.model.network import DriverOptions, Network, NetworkSpec


class _NoKernelDriver:
    name = ""
    has_interfaces = False
    on_host_segment = False
    single_instance = True
    lazy = False
    host_veth = False
    own_mac = False

    def parse_options(self, spec: NetworkSpec, network_id: str) -> DriverOptions | None:
        if spec.options:
            key = sorted(spec.options)[0]
            raise InvalidParameter(f"invalid option {key!r} for driver {self.name}: it takes no options")
        return None

    def check_capacity(self, net: Network, members: int) -> None:
        return None

    def check_network(self, net: Network, others: Iterable[Network]) -> None:
        return None

    def plan_subnets(self, net: Network) -> Network:
        return net

    def names_members(self, net: Network) -> bool:
        return False

    def interface_prefix(self, net: Network) -> str:
        return ""

    def create_network(self, net: Network, undo: ExitStack) -> None:
        return None

    def delete_network(self, net: Network) -> None:
        return None

    def join(self, net: Network, ep: Endpoint, sandbox_key: str, undo: ExitStack) -> Interface | None:
        return None

    def leave(self, net: Network, ep: Endpoint, sandbox_key: str | None) -> None:
        return None

    def expect_network(self, net: Network) -> Expected:
        return NOTHING

    def expect_endpoint(self, net: Network, ep: Endpoint) -> Expected:
        return NOTHING


class NullDriver(_NoKernelDriver):
    name = "null"


class HostDriver(_NoKernelDriver):
    name = "host"
