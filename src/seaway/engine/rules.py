"""Docker's rules for which networks a container may be on, decided here only. Pure.

The engine checks them on connect; the container manager checks the same functions on
create and on connect of a stopped container (which has no sandbox yet), so both paths
give one answer with one text.
"""

from __future__ import annotations

from collections.abc import Iterable

from seaway.errors import Forbidden, InvalidParameter
from seaway.model.endpoint import EndpointSpec, SandboxMode
from seaway.model.network import Network

CONFIG_ONLY_ENDPOINT = "cannot create endpoint on configuration-only network"
HOST_ONLY = "container cannot be disconnected from host network or connected to host network"
NONE_EXCLUSIVE = "container cannot be connected to multiple networks with one of the networks in private (none) mode"
STATIC_IP_USER_NETWORKS = "user specified IP address is supported on user defined networks only"
ALIAS_USER_NETWORKS = "network-scoped alias is supported only for containers in user defined networks"
STATIC_IP_USER_SUBNETS = (
    "user specified IP address is supported only when connecting to networks with user configured subnets"
)

#: Docker's network modes ``host`` and ``none``: the one place a driver's name means a
#: rule; every other network gives its members a namespace of their own
EXCLUSIVE_MODES = {"host": SandboxMode.HOST, "null": SandboxMode.NONE}


def sandbox_mode(first: Network | None) -> str:
    """The sandbox a container gets, from its first network (Docker's network mode)."""
    if first is None:
        return SandboxMode.PRIVATE
    return EXCLUSIVE_MODES.get(first.driver, SandboxMode.PRIVATE)


def _exclusive_error(modes: set[str]) -> Forbidden:
    return Forbidden(HOST_ONLY if SandboxMode.HOST in modes else NONE_EXCLUSIVE)


def check_membership(current: Iterable[Network], new: Network, name: str) -> None:
    """May a container on ``current`` also join ``new``? ``name``: the container's."""
    current = list(current)
    if new.config_only and not new.placeholder:  # a placeholder is built by the connect
        raise Forbidden(CONFIG_ONLY_ENDPOINT)
    if any(n.id == new.id for n in current):
        raise Forbidden(f"endpoint with name {name} already exists in network {new.name}")
    if not current:
        return
    modes = {sandbox_mode(n) for n in [*current, new]} - {SandboxMode.PRIVATE}
    if modes:
        raise _exclusive_error(modes)


def check_mode(mode: str, net: Network) -> None:
    """May a sandbox of ``mode`` join ``net`` at all?"""
    implied = sandbox_mode(net)
    if implied != mode:
        raise _exclusive_error({implied, mode})


def check_leave(net: Network) -> None:
    if sandbox_mode(net) == SandboxMode.HOST:
        raise Forbidden(HOST_ONLY)


def check_endpoint_spec(net: Network, spec: EndpointSpec, refuses_mac: bool) -> None:
    """Static addresses, aliases and MACs only where Docker allows them (``refuses_mac``:
    the driver's interfaces cannot have a MAC of their own)."""
    if (spec.ipv4_address or spec.ipv6_address) and net.predefined:
        raise Forbidden(STATIC_IP_USER_NETWORKS)
    if spec.aliases and net.predefined:
        raise Forbidden(ALIAS_USER_NETWORKS)
    if spec.mac_address and refuses_mac:
        raise InvalidParameter(f"{net.driver} interfaces do not support custom mac address assignment")
    for given, version in ((spec.ipv4_address, 4), (spec.ipv6_address, 6)):
        if given and not any(s.user_given and s.version == version for s in net.subnets):
            raise Forbidden(STATIC_IP_USER_SUBNETS)
