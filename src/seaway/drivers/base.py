"""The driver contract: what the engine asks of every network driver, and the optional
capabilities a driver may have.

The engine has already validated the request and allocated addresses when it calls a
driver; drivers only turn a validated ``Network`` or ``Endpoint`` into kernel state, and
say, purely, what kernel state that is (``expect_network``/``expect_endpoint``: the one
description the realizer and the doctor share). Every ``create_network``/``join`` pushes
one undo per kernel step onto the ``undo`` stack it is given, so a failure later in the
operation removes exactly what was made; ``create_network`` is idempotent (it also
repairs). ``delete_network`` and ``leave`` succeed when their objects are already gone.

Options are the driver's own ``DriverOptions`` subclass: the engine never looks inside
and never checks a driver's type. What only some drivers do is a small protocol below,
tested with ``isinstance`` against the protocol (a capability), never a class:

* ``Firewalled``: the driver's networks and endpoints have elements in Seaway's
  nftables tables (the full ruleset is rebuilt from them after a flush);
* ``PublishesPorts``: published ports may be forwarded to its endpoints;
* ``RoutesUpstream``: a router next to the host needs routes to the network;
* ``KnowsPeers``: the driver is told about the network's endpoints on other hosts
  (an overlay; the cluster's agent calls it), and may create its network lazily, on the
  first local join (``lazy``);
* ``Balances``: the driver balances services' VIPs on its networks (the overlay: a
  load balancer in each network's namespace; the cluster's agent tells it the node's LB
  address and each VIP's backends);
* ``Plugin``: the driver is another program (a network plugin, ``seaway.drivers.remote``)
  that keeps its own state: reconciliation trusts ready records and replays nothing to
  it (Docker does not call a plugin's CreateNetwork or Join again at start-up either);
  a swarm manager may ask it to allocate global-scope networks, and it may be told of
  nodes joining and leaving.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Protocol, runtime_checkable

from seaway.firewall import ruleset
from seaway.kernel.sandbox import Interface
from seaway.model.endpoint import Endpoint, RemoteEndpoint
from seaway.model.expected import Expected
from seaway.model.network import DriverOptions, IPAddress, Network, NetworkSpec
from seaway.model.ports import PortRequest


@dataclass(frozen=True, slots=True)
class EndpointFirewall:
    """An endpoint's elements in Seaway's tables."""

    guard: ruleset.PortGuard | None = None  # what its port may send as (anti-spoofing)
    icc_off_port: str = ""  # its port, when its network has inter-container traffic off


class NetworkDriver(Protocol):
    name: str
    #: endpoints get an interface in their sandbox (False: host and null)
    has_interfaces: bool
    #: subnets live on a host link's segment (macvlan, ipvlan): the host's own routes to
    #: them are expected, not a clash
    on_host_segment: bool
    #: at most one network of this driver may exist (host, null)
    single_instance: bool
    #: the network is created on its first local endpoint and removed with its last
    lazy: bool
    #: endpoints have a MAC of their own (False: ipvlan children share the parent's)
    own_mac: bool
    #: endpoints have a host-side veth, named ``veth<endpoint id[:7]>``
    host_veth: bool

    def check_capacity(self, net: Network, members: int) -> None:
        """Refuse one more endpoint on a network that has ``members`` (Unavailable)."""

    def parse_options(self, spec: NetworkSpec, network_id: str) -> DriverOptions | None:
        """Typed options of a create request; raises InvalidParameter for bad ones (and
        Unsupported for what this kernel cannot do)."""

    def check_network(self, net: Network, others: Iterable[Network]) -> None:
        """Refuse a planned network that clashes with existing ones (same bridge name,
        a parent already taken); touches nothing."""

    def plan_subnets(self, net: Network) -> Network:
        """The network with its subnets adjusted to the driver (no gateway where routes
        are on-link, addresses the driver reserves)."""

    def names_members(self, net: Network) -> bool:
        """The network's members have names in the embedded DNS."""

    def interface_prefix(self, net: Network) -> str:
        """The prefix of endpoint interface names in the sandbox (``eth``)."""

    def create_network(self, net: Network, undo: ExitStack) -> None:
        """Make (or repair: idempotent) the network's kernel objects."""

    def delete_network(self, net: Network) -> None: ...

    def join(self, net: Network, ep: Endpoint, sandbox_key: str, undo: ExitStack) -> Interface | None:
        """Give the sandbox its interface on this network; return what the engine must
        configure inside the sandbox (it does so in one visit, with the routes)."""

    def leave(self, net: Network, ep: Endpoint, sandbox_key: str | None) -> None: ...

    def expect_network(self, net: Network) -> Expected:
        """The kernel state the network has when it is programmed. Pure."""

    def expect_endpoint(self, net: Network, ep: Endpoint) -> Expected:
        """The kernel state the endpoint has when it is joined. Pure."""


@runtime_checkable
class Firewalled(Protocol):
    def firewall_network(self, net: Network) -> ruleset.NetworkRules | None:
        """The network's part of Seaway's ruleset (None: it has none)."""

    def firewall_endpoint(self, net: Network, ep: Endpoint) -> EndpointFirewall:
        """The endpoint's elements (anti-spoofing guard, ICC-off port)."""


@runtime_checkable
class PublishesPorts(Protocol):
    def binding_addresses(self, net: Network, ep: Endpoint, req: PortRequest) -> list[IPAddress]:
        """The host addresses a published port of the endpoint listens on."""


@runtime_checkable
class RoutesUpstream(Protocol):
    def upstream_routes(self, net: Network) -> list[str]:
        """Routes a router on the network's segment needs (``subnet via host``)."""


@runtime_checkable
class KnowsPeers(Protocol):
    def set_peers(self, net: Network, peers: Iterable[RemoteEndpoint]) -> None:
        """The network's endpoints on other hosts, all of them (idempotent); kept and
        programmed once the network exists on this host (a lazy network)."""

    def change_peers(self, net: Network, added: Iterable[RemoteEndpoint], removed: Iterable[str]) -> None:
        """Endpoints on other hosts that appeared or changed, and those that went (by
        endpoint ID); the cost is per change, not per peer."""


@runtime_checkable
class Balances(Protocol):
    def set_balancer(
        self, net: Network, address: IPv4Address | None, vips: Mapping[IPv4Address, Sequence[IPv4Address]]
    ) -> None:
        """The node's LB address on the network and every VIP's backends (idempotent;
        ``address`` None: no balancer); kept and programmed once the network exists on
        this host."""

    def change_vips(
        self,
        net: Network,
        changes: Mapping[IPv4Address, Sequence[IPv4Address] | None],
        gone: Sequence[IPv4Address] = (),
    ) -> None:
        """VIPs whose backends changed (None: the VIP goes), in one transaction; the
        flows to backends ``gone`` (removed, not draining) are forgotten."""


@runtime_checkable
class Plugin(Protocol):
    #: the plugin's name (``docker network create -d NAME``)
    plugin_name: str
    #: the plugin's capabilities: ``local`` or ``global`` (data and connectivity)
    scope: str
    connectivity_scope: str

    def joined(self, ep: Endpoint) -> Endpoint:
        """The endpoint as the plugin's ``Join`` shaped it (the interface's name from
        ``DstPrefix``, the gateways it named); ``ep`` itself when nothing changed."""

    def allocate_network(self, net: Network) -> dict[str, str]:
        """``AllocateNetwork`` (a manager's, for a global-scope plugin): options to keep."""

    def free_network(self, net: Network) -> None: ...

    def discover_new(self, address: str, is_self: bool) -> None:
        """``DiscoverNew``: a node joined the cluster."""

    def discover_delete(self, address: str, is_self: bool) -> None: ...
