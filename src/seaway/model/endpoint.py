"""Endpoints (a sandbox's membership in a network) and sandboxes. Pure."""

from __future__ import annotations

from dataclasses import dataclass, field

from seaway.model.network import IPAddress
from seaway.model.ports import PortMapping


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """What a connect request asks for (Docker's ``EndpointSettings`` input)."""

    ipv4_address: str = ""
    ipv6_address: str = ""
    mac_address: str = ""
    aliases: tuple[str, ...] = ()
    gw_priority: int = 0
    #: kept and shown back as given (Docker passes them to drivers; Seaway's use none)
    driver_opts: dict[str, str] = field(default_factory=dict)
    link_local_ips: tuple[str, ...] = ()
    #: legacy links on a user-defined network, ``container[:alias]`` (resolved by DNS)
    links: tuple[str, ...] = ()
    #: the endpoint of a swarm task (``seaway.cluster.taskagent``): allowed on a swarm
    #: network that is not attachable (never set from an API request)
    swarm_task: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    network_id: str
    sandbox_id: str
    name: str
    ifname: str
    host_ifname: str
    mac_address: str
    ipv4: IPAddress | None
    ipv6: IPAddress | None
    ipv4_prefixlen: int
    ipv6_prefixlen: int
    aliases: tuple[str, ...]
    gw_priority: int
    static_ipv4: bool = False
    static_ipv6: bool = False
    #: the MAC was the user's (``--mac-address``), not Seaway's choice
    static_mac: bool = False
    #: published ports forwarded to this endpoint's addresses
    ports: tuple[PortMapping, ...] = ()
    #: the gateways its driver gave when it joined (a network plugin's Join answer):
    #: None for the network's own, an empty tuple for none (no default route through it)
    gateways: tuple[IPAddress, ...] | None = None


#: the sandboxes the daemon itself keeps, owned by no container: a swarm node's routing
#: mesh (``seaway.cluster.mesh``; made again by the cluster after a restart)
INGRESS_SANDBOX = "ingress-sbox"
DAEMON_SANDBOXES = frozenset({INGRESS_SANDBOX})


class SandboxMode:
    PRIVATE = "private"  # a network namespace of its own
    HOST = "host"  # the host's namespace
    NONE = "none"  # a namespace with loopback only


@dataclass(frozen=True, slots=True)
class Sandbox:
    id: str
    name: str
    mode: str
    key: str  # the path of the network namespace file
    hostname: str = ""
    # (its endpoints are the endpoint records that name it: membership is held there only)


@dataclass(frozen=True, slots=True)
class RemoteEndpoint:
    """An endpoint of a multi-host network on another host, as this host programs it:
    its MAC and addresses, reached through the VXLAN tunnel endpoint ``vtep`` (that
    host's data-path address)."""

    endpoint_id: str
    mac_address: str
    vtep: IPAddress
    ipv4: IPAddress | None = None
    ipv6: IPAddress | None = None
