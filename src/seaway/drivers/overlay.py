"""The ``overlay`` driver's data plane: a VXLAN network across hosts, with static peers.

Each overlay network that has an endpoint on this host gets a namespace of its own,
``<exec-root>/netns/cluster-ov-<network id[:12]>`` (owner ``cluster``: the local
engine's reconciliation leaves it alone), holding bridge ``br0`` with the subnets'
gateway addresses and VXLAN link ``vx0`` as its port. ``vx0`` is made from the host's
namespace, so its UDP socket sits on the underlay; it learns nothing and answers ARP/ND
by proxy from the neighbour table. An endpoint is a veth whose side in the overlay's
namespace (``veth<endpoint id[:7]>``) is a port of ``br0`` and whose peer is created
directly in the container's sandbox as ``eth<N>``.

Endpoints on other hosts are not discovered: they are told (``set_peers``, the
``KnowsPeers`` capability), by whoever knows the cluster (the cluster's agent, or a test),
and programmed as permanent neighbour and FDB entries, plus one all-zero FDB entry per
remote host for broadcast. The network is lazy: it is created with its first local
endpoint and removed with its last.

Services' VIPs are balanced in the same namespace (``Balances``): the cluster's agent
gives the node's LB address on the network and each VIP's backends; the bridge holds
both, and a fixed nftables table there spreads new flows over the backends
(``seaway.firewall.balancer``, ``seaway.kernel.balancer``). Like peers, the balancer is
kept while the network is absent here and programmed with its namespace.

The VNI, the local tunnel address and the MTU are options (allocated by the cluster in
swarm mode). The inner MTU is the base (``com.docker.network.driver.mtu``, else 1500)
less the VXLAN overhead: 50 bytes over IPv4, 70 over IPv6 (1450, as Docker).

This driver is not registered by default: Docker creates overlay networks only in swarm
mode, which wires it (``Engine.register_driver``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from seaway.drivers.bridge import check_bridge_ports
from seaway.drivers.peers import PeerTable
from seaway.errors import Conflict, InvalidParameter
from seaway.firewall import balancer as lbrules
from seaway.kernel import balancer as lbkernel
from seaway.kernel import links, netns, overlay, sandbox
from seaway.kernel.netns import RouteSocket
from seaway.kernel.sandbox import Interface
from seaway.model import options as opts
from seaway.model import ownership
from seaway.model.endpoint import Endpoint, RemoteEndpoint
from seaway.model.expected import NOTHING, Expected, SandboxLink
from seaway.model.ids import short_id
from seaway.model.network import DriverOptions, Network, NetworkSpec, register_options

OWNER = "cluster"
VXLAN_PORT = 4789
VNI_OPTION = "com.docker.network.driver.overlay.vxlanid_list"
LOCAL_OPTION = "seaway.overlay.local"
PORT_OPTION = "seaway.overlay.port"
BRIDGE, VXLAN = "br0", "vx0"
OVERHEAD = {4: 50, 6: 70}


@register_options
@dataclass(frozen=True, slots=True)
class OverlayOptions(DriverOptions):
    KIND: ClassVar[str] = "overlay"

    vni: int
    local: str  # this host's tunnel (data-path) address
    port: int = VXLAN_PORT
    mtu: int = 1450  # the inner MTU


@dataclass
class Balancer:
    """A network's load balancer on this node: its LB address and each VIP's backends."""

    address: ipaddress.IPv4Address
    vips: dict[ipaddress.IPv4Address, list[ipaddress.IPv4Address]] = field(default_factory=dict)


def options_of(net: Network) -> OverlayOptions:
    assert isinstance(net.driver_options, OverlayOptions), net.driver
    return net.driver_options


def namespace_path(netns_dir: Path, network_id: str) -> Path:
    return netns_dir / ownership.netns_file(OWNER, f"ov-{short_id(network_id)}")


class OverlayDriver:
    name = "overlay"
    has_interfaces = True
    on_host_segment = False
    single_instance = False
    lazy = True
    own_mac = True
    host_veth = True

    def __init__(self, host: RouteSocket, netns_dir: Path) -> None:
        self._host = host
        self._netns_dir = netns_dir
        #: per network, its remote endpoints by ID, oldest first (an address two peers
        #: claim for a moment, during a move, is the newer one's)
        self._peers: dict[str, PeerTable] = {}
        #: per network, its balancer on this node (``Balances``)
        self._balancers: dict[str, Balancer] = {}

    def parse_options(self, spec: NetworkSpec, network_id: str) -> OverlayOptions:
        allowed = {VNI_OPTION, LOCAL_OPTION, PORT_OPTION, opts.MTU}
        for key in sorted(spec.options):
            if key not in allowed:
                raise InvalidParameter(
                    f"invalid option {key!r} for driver overlay: accepted options are {', '.join(sorted(allowed))}"
                )
        try:
            vni = int(spec.options.get(VNI_OPTION, "").split(",")[0])
            local = ipaddress.ip_address(spec.options.get(LOCAL_OPTION, ""))
            port = int(spec.options.get(PORT_OPTION, str(VXLAN_PORT)))
        except ValueError:
            raise InvalidParameter(
                f"an overlay network needs {VNI_OPTION}=<VNI> and {LOCAL_OPTION}=<this host's tunnel address>"
            ) from None
        if not 1 <= vni <= 0xFFFFFF:
            raise InvalidParameter(f"invalid VXLAN id {vni}: expected 1 to {0xFFFFFF}")
        base = opts.parse_mtu(spec.options[opts.MTU]) if opts.MTU in spec.options else 1500
        return OverlayOptions(vni=vni, local=str(local), port=port, mtu=base - OVERHEAD[local.version])

    def check_capacity(self, net: Network, members: int) -> None:
        check_bridge_ports(net.name, members)

    def check_network(self, net: Network, others: Iterable[Network]) -> None:
        vni = options_of(net).vni
        for other in others:
            if isinstance(other.driver_options, OverlayOptions) and other.driver_options.vni == vni:
                raise Conflict(f"VXLAN id {vni} is already used by network {other.name}")

    def plan_subnets(self, net: Network) -> Network:
        return net

    def names_members(self, net: Network) -> bool:
        return not net.ingress  # the routing mesh's network answers no name (Docker's)

    def interface_prefix(self, net: Network) -> str:
        return "eth"

    # networks (made with the first local endpoint, removed with the last)

    def create_network(self, net: Network, undo: ExitStack) -> None:
        o = options_of(net)
        path = namespace_path(self._netns_dir, net.id)
        if not netns.is_pinned(path):
            netns.create(path)
            undo.callback(netns.remove, path)
        if not self._vxlan_present(path):
            with sandbox.netns_fd(str(path)) as fd:
                overlay.create_vxlan(
                    self._host,
                    VXLAN,
                    vni=o.vni,
                    local=ipaddress.ip_address(o.local),
                    port=o.port,
                    mtu=o.mtu,
                    netns_fd=fd,
                    alias=links.alias_for("net", net.id, OWNER),
                )
        gateways = [(s.gateway, s.subnet.prefixlen) for s in net.subnets if s.gateway is not None]
        overlay.ensure_inside(str(path), BRIDGE, VXLAN, o.mtu, gateways, links.alias_for("net", net.id, OWNER))
        self._program(net)
        self._install_balancer(net)

    def _vxlan_present(self, path: Path) -> bool:
        return VXLAN in sandbox.interface_names(str(path))

    def delete_network(self, net: Network) -> None:
        netns.remove(namespace_path(self._netns_dir, net.id))  # its bridge and VXLAN link go with it

    def expect_network(self, net: Network) -> Expected:
        return NOTHING  # its objects live in its own namespace, not the host's

    # endpoints

    def join(self, net: Network, ep: Endpoint, sandbox_key: str, undo: ExitStack) -> Interface:
        path = str(namespace_path(self._netns_dir, net.id))
        overlay.add_port(
            path,
            BRIDGE,
            ep.host_ifname,
            peer_name=ep.ifname,
            peer_path=sandbox_key,
            mtu=options_of(net).mtu,
            peer_mac=ep.mac_address,
            alias=links.alias_for("ep", ep.id, OWNER),
        )
        undo.callback(sandbox.remove_interface, path, ep.host_ifname)
        addrs = [(a, p) for a, p in ((ep.ipv4, ep.ipv4_prefixlen), (ep.ipv6, ep.ipv6_prefixlen)) if a]
        return ep.ifname, addrs

    def leave(self, net: Network, ep: Endpoint, sandbox_key: str | None) -> None:
        path = namespace_path(self._netns_dir, net.id)
        if netns.is_pinned(path):
            sandbox.remove_interface(str(path), ep.host_ifname)

    def expect_endpoint(self, net: Network, ep: Endpoint) -> Expected:
        addrs = frozenset(f"{a}/{p}" for a, p in ((ep.ipv4, ep.ipv4_prefixlen), (ep.ipv6, ep.ipv6_prefixlen)) if a)
        return Expected(sandbox_links=(SandboxLink(ep.ifname, ep.mac_address, addrs),))

    # capability: KnowsPeers

    def set_peers(self, net: Network, peers: Iterable[RemoteEndpoint]) -> None:
        table = PeerTable()
        table.change([p for p in peers if str(p.vtep) != options_of(net).local], [])
        self._peers[net.id] = table
        if netns.is_pinned(namespace_path(self._netns_dir, net.id)):
            self._program(net)

    def change_peers(self, net: Network, added: Iterable[RemoteEndpoint], removed: Iterable[str]) -> None:
        """Endpoints on other hosts that appeared or changed (``added``) and that went
        (``removed``, by ID): only their entries are touched."""
        local = options_of(net).local
        table = self._peers.setdefault(net.id, PeerTable())
        delta = table.change([p for p in added if str(p.vtep) != local], list(removed))
        if not netns.is_pinned(namespace_path(self._netns_dir, net.id)):
            return  # programmed with the first local endpoint
        overlay.change_peers(
            str(namespace_path(self._netns_dir, net.id)),
            VXLAN,
            added=[_entry(p) for p in delta.added],
            removed=[_entry(p) for p in delta.removed],
            stale_addresses=delta.stale_addresses,
            vteps_added=delta.vteps_added,
            vteps_removed=delta.vteps_removed,
            bridge=BRIDGE,
        )

    def peers(self, net: Network) -> list[RemoteEndpoint]:
        """The remote endpoints this host knows for the network."""
        table = self._peers.get(net.id)
        return table.endpoints() if table else []

    # capability: Balances

    def set_balancer(
        self,
        net: Network,
        address: ipaddress.IPv4Address | None,
        vips: Mapping[ipaddress.IPv4Address, Sequence[ipaddress.IPv4Address]],
    ) -> None:
        old = self._balancers.pop(net.id, None)
        wanted = Balancer(address, {v: sorted(set(b)) for v, b in vips.items()}) if address is not None else None
        if wanted is not None:
            self._balancers[net.id] = wanted
        if old == wanted or not netns.is_pinned(namespace_path(self._netns_dir, net.id)):
            return
        if wanted is None:
            assert old is not None
            path = str(namespace_path(self._netns_dir, net.id))
            lbkernel.remove(path, BRIDGE, old.address, list(old.vips), lbrules.TABLE)
            return
        if old is not None and old.address != wanted.address:
            lbkernel.remove(
                str(namespace_path(self._netns_dir, net.id)), BRIDGE, old.address, list(old.vips), lbrules.TABLE
            )
        self._install_balancer(net)

    def change_vips(
        self,
        net: Network,
        changes: Mapping[ipaddress.IPv4Address, Sequence[ipaddress.IPv4Address] | None],
        gone: Sequence[ipaddress.IPv4Address] = (),
    ) -> None:
        lb = self._balancers.get(net.id)
        if lb is None:
            return  # no balancer here yet: ``set_balancer`` brings the whole state
        commands, added, removed = [], [], []
        for vip, backends in changes.items():
            before = lb.vips.get(vip)
            after = sorted(set(backends)) if backends is not None else None
            commands.append(lbrules.change(vip, before, after))
            if after is None:
                lb.vips.pop(vip, None)
                if before is not None:
                    removed.append(vip)
            else:
                lb.vips[vip] = after
                if before is None:
                    added.append(vip)
        path = namespace_path(self._netns_dir, net.id)
        if not netns.is_pinned(path):
            return
        lbkernel.change(str(path), BRIDGE, "".join(commands), added, removed)
        if gone:
            lbkernel.forget_flows(str(path), list(gone))

    def balancer(self, net: Network) -> Balancer | None:
        return self._balancers.get(net.id)

    def _install_balancer(self, net: Network) -> None:
        lb = self._balancers.get(net.id)
        if lb is not None:
            path = str(namespace_path(self._netns_dir, net.id))
            lbkernel.install(path, BRIDGE, lb.address, list(lb.vips), lbrules.table(lb.address, lb.vips))

    def _program(self, net: Network) -> None:
        table = self._peers.get(net.id) or PeerTable()
        path = str(namespace_path(self._netns_dir, net.id))
        overlay.set_peers(path, VXLAN, [_entry(p) for p in table.endpoints()], table.vteps())


def _entry(p: RemoteEndpoint) -> overlay.PeerEntry:
    return overlay.PeerEntry(p.mac_address, p.vtep, p.ipv4, p.ipv6)  # type: ignore[arg-type]
