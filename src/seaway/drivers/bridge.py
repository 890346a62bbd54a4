"""The ``bridge`` driver: a Linux bridge per network, a veth pair per endpoint.

Must run in the host's namespace (the engine's own). The bridge carries the gateway
address of each subnet; each endpoint's veth has its host side enslaved to the bridge
and its peer created directly in the sandbox. Isolation, ICC, internal networks and
masquerade are set elements in Seaway's nftables tables (``seaway.firewall.ruleset``).
"""

from __future__ import annotations

from contextlib import ExitStack

from seaway.errors import KernelError, Unavailable
from seaway.firewall import elements, ruleset
from seaway.kernel import addresses, links, nft, sandbox, sysctl
from seaway.kernel.netns import RouteSocket
from seaway.kernel.nftnl import ElementSocket
from seaway.kernel.sandbox import Interface
from seaway.model import options as opts
from seaway.model.endpoint import Endpoint
from seaway.model.ids import short_id
from seaway.model.network import BridgeOptions, Network, NetworkSpec

#: the kernel's BR_MAX_PORTS is 1024 port numbers, of which 0 is never used: a bridge
#: takes 1,023 ports, and the 1,024th veth fails with a bare EXFULL
BRIDGE_MAX_PORTS = 1023


def check_bridge_ports(network: str, in_use: int) -> None:
    """Refuse the endpoint that would not fit on the bridge, before anything is made."""
    if in_use >= BRIDGE_MAX_PORTS:
        raise Unavailable(
            f"network {network} has {in_use} endpoints: a Linux bridge takes at most {BRIDGE_MAX_PORTS} ports; "
            f"put further containers on another network"
        )


def bridge_rules(net: Network) -> ruleset.NetworkRules:
    assert net.bridge is not None
    return ruleset.NetworkRules(
        bridge=net.bridge.bridge_name,
        internal=net.internal,
        icc=net.bridge.enable_icc,
        host_firewall=net.bridge.host_firewall,
        masquerade=net.bridge.enable_ip_masquerade,
        subnets=tuple(s.subnet for s in net.subnets),
        host_access=net.bridge.host_access,
    )


class BridgeDriver:
    name = "bridge"
    has_interfaces = True

    def __init__(self, host: RouteSocket, default_mtu: int, host_firewall: bool, elements: ElementSocket) -> None:
        self._elements = elements  # per-endpoint set elements go this way (no nft process per attach)
        self._host = host
        self._default_mtu = default_mtu
        self._host_firewall = host_firewall

    def parse_options(self, spec: NetworkSpec, network_id: str) -> BridgeOptions:
        parsed = opts.parse_bridge_options(
            spec.options, f"br-{short_id(network_id)}", self._default_mtu, self._host_firewall
        )
        links.check_ifname(parsed.bridge_name)
        return parsed

    # networks

    def create_network(self, net: Network, undo: ExitStack) -> None:
        self.repair_network(net, undo)
        nft.apply(ruleset.add_network(bridge_rules(net)), f"network {net.name}")
        undo.callback(nft.apply, ruleset.remove_network(bridge_rules(net)), f"network {net.name}")

    def repair_network(self, net: Network, undo: ExitStack) -> None:
        """Bridge present, addressed and up (idempotent; no firewall work)."""
        assert net.bridge is not None
        name = net.bridge.bridge_name
        index, created = links.ensure_bridge(self._host, name, mtu=net.bridge.mtu, alias=links.alias_for("net", net.id))
        if created:
            undo.callback(links.delete_link, self._host, name)
        if net.enable_ipv6:
            sysctl.write(f"net/ipv6/conf/{name}/accept_ra", "0")
            sysctl.write("net/ipv6/conf/all/forwarding", "1")
        # the host reaches its published ports on 127.0.0.1: loopback-sourced packets,
        # translated to a container, may leave through the bridge (then are masqueraded);
        # loopback-addressed packets arriving from containers are dropped by the ruleset
        sysctl.write(f"net/ipv4/conf/{name}/route_localnet", "1")
        links.set_up(self._host, index, name)
        for subnet in net.subnets:
            if subnet.gateway is None or (subnet.version == 4 and net.bridge.inhibit_ipv4):
                continue
            own_route = subnet.version == 4  # see addresses.RTPROT_SEAWAY
            prefixlen = subnet.subnet.prefixlen
            addresses.add_address(self._host, index, name, subnet.gateway, prefixlen, prefix_route=not own_route)
            if own_route:
                addresses.ensure_subnet_route(self._host, subnet.subnet, index, name, subnet.gateway)

    def delete_network(self, net: Network) -> None:
        assert net.bridge is not None
        nft.apply(ruleset.remove_network(bridge_rules(net)), f"network {net.name}")
        name = net.bridge.bridge_name
        # a bridge Seaway did not create (no alias mark) is left alone, as Docker does
        if links.owned(links.link_alias(self._host, name)):
            links.delete_link(self._host, name)

    # endpoints

    def join(self, net: Network, ep: Endpoint, sandbox_key: str, undo: ExitStack) -> Interface:
        assert net.bridge is not None
        master = links.index_here(net.bridge.bridge_name)
        if master is None:
            raise KernelError("attach to bridge", net.bridge.bridge_name, None, "bridge is missing")
        # the port is guarded (and ICC-filtered) before it exists: its name is known
        self._guard(ep, undo)
        if not net.bridge.enable_icc:
            self._elements.apply(elements.add_icc_off_port(ep.host_ifname), f"endpoint {ep.name}")
            undo.callback(self._elements.apply, elements.remove_icc_off_port(ep.host_ifname), f"endpoint {ep.name}")
        with sandbox.netns_fd(sandbox_key) as fd:
            links.create_veth(
                self._host,
                ep.host_ifname,
                peer_name=ep.ifname,
                peer_netns_fd=fd,
                master=master,
                mtu=net.bridge.mtu,
                peer_mac=ep.mac_address,
                alias=links.alias_for("ep", ep.id),
            )
        undo.callback(links.delete_link, self._host, ep.host_ifname)
        addrs = [(a, p) for a, p in ((ep.ipv4, ep.ipv4_prefixlen), (ep.ipv6, ep.ipv6_prefixlen)) if a]
        return ep.ifname, addrs

    def leave(self, net: Network, ep: Endpoint) -> None:
        assert net.bridge is not None
        links.delete_link(self._host, ep.host_ifname)
        bridge = links.index_here(net.bridge.bridge_name)
        for address in (ep.ipv4, ep.ipv6):
            if address is not None and bridge is not None:
                addresses.forget_neighbour(self._host, address, bridge, net.bridge.bridge_name)
        if not net.bridge.enable_icc:
            self._elements.apply(elements.remove_icc_off_port(ep.host_ifname), f"endpoint {ep.name}")
        self._unguard(ep)

    def _guard(self, ep: Endpoint, undo: ExitStack) -> None:
        self._elements.apply(elements.guard(port_guard(ep)), f"endpoint {ep.name}")
        undo.callback(self._unguard, ep)

    def _unguard(self, ep: Endpoint) -> None:
        self._elements.apply(elements.unguard(port_guard(ep)), f"endpoint {ep.name}")

    def endpoint_present(self, net: Network, ep: Endpoint) -> bool:
        """The host-side veth exists and is still a port of the network's bridge."""
        assert net.bridge is not None
        master = links.link_master(self._host, ep.host_ifname)
        return master is not None and master == links.index_here(net.bridge.bridge_name)


def port_guard(ep: Endpoint) -> ruleset.PortGuard:
    """What an endpoint's bridge port may send as (anti-spoofing)."""
    return ruleset.PortGuard(ep.host_ifname, ep.mac_address, ep.ipv4, ep.ipv6)  # type: ignore[arg-type]
