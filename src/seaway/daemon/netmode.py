"""``--network container:<name|id>``: a container in another container's network stack.

It has no sandbox and no endpoints of its own: its processes join the other container's
namespace, and it sees that container's ``/etc/hosts``, ``/etc/resolv.conf`` and host
name. What would configure a network stack of its own conflicts with the mode, and is
refused at create with Docker's texts (runconfig's ``validateNetContainerMode``). Pure.
"""

from __future__ import annotations

from seaway.errors import Conflict, InvalidParameter
from seaway.model.container import ContainerSpec

PREFIX = "container:"


def target_of(mode: str) -> str | None:
    """The container a ``container:<name|id>`` mode names; None for other modes."""
    if not mode.startswith(PREFIX):
        return None
    target = mode.removeprefix(PREFIX)
    if not target:
        raise InvalidParameter("Invalid network mode: invalid container format container:<name|id>")
    return target


def check_spec(spec: ContainerSpec) -> None:
    """What a container sharing another's network stack cannot also ask for."""
    if spec.hostname:
        raise InvalidParameter("conflicting options: hostname and the network mode")
    if spec.links:
        raise InvalidParameter(
            "conflicting options: container type network can't be used with links. "
            "This would result in undefined behavior"
        )
    if spec.dns:
        raise InvalidParameter("conflicting options: dns and the network mode")
    if spec.extra_hosts:
        raise InvalidParameter("conflicting options: custom host-to-IP mapping and the network mode")
    if spec.mac_address:
        raise InvalidParameter("conflicting options: mac-address and the network mode")
    if spec.port_bindings or spec.publish_all:
        raise InvalidParameter("conflicting options: port publishing and the container type network mode")
    if spec.exposed_ports:
        raise InvalidParameter("conflicting options: port exposing and the container type network mode")


def not_running(container_id: str) -> Conflict:
    return Conflict(f"cannot join network of a non running container: {container_id}")


SHARED_CANNOT_CONNECT = (
    "container sharing network namespace with another container or host cannot be connected to any other network"
)
