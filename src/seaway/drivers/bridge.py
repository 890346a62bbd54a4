"""The ``bridge`` driver: a Linux bridge per network, a veth pair per endpoint.

Must run in the host's namespace (the engine's own). The bridge carries the gateway
address of each subnet; each endpoint's veth has its host side enslaved to the bridge
and its peer created directly in the sandbox. Isolation, ICC, internal networks and
masquerade are set elements in Seaway's nftables tables (``seaway.firewall.ruleset``).
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ExitStack

from seaway.drivers.base import EndpointFirewall
from seaway.errors import Forbidden, KernelError, Unavailable
from seaway.firewall import ruleset
from seaway.kernel import addresses, links, sandbox, sysctl
from seaway.kernel.netns import RouteSocket
from seaway.kernel.sandbox import Interface
from seaway.model import options as opts
from seaway.model.endpoint import Endpoint
from seaway.model.expected import Expected, HostLink, SandboxLink
from seaway.model.ids import short_id
from seaway.model.network import BridgeOptions, IPAddress, Network, NetworkSpec
from seaway.model.ports import WILDCARD, PortRequest

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


def options_of(net: Network) -> BridgeOptions:
    """A bridge network's typed options."""
    assert isinstance(net.driver_options, BridgeOptions), net.driver
    return net.driver_options


def bridge_rules(net: Network) -> ruleset.NetworkRules:
    b = options_of(net)
    return ruleset.NetworkRules(
        bridge=b.bridge_name,
        internal=net.internal,
        icc=b.enable_icc,
        host_firewall=b.host_firewall,
        masquerade=b.enable_ip_masquerade,
        subnets=tuple(s.subnet for s in net.subnets),
        host_access=b.host_access,
        gateway_modes=(b.gateway_mode_ipv4, b.gateway_mode_ipv6),
    )


def _gateway_addresses(net: Network) -> list[tuple[IPAddress, int]]:
    """The bridge's addresses: each subnet's gateway (none for IPv4 with inhibit_ipv4,
    none for a family whose gateway mode is isolated)."""
    b = options_of(net)
    isolated = {v for v, m in ((4, b.gateway_mode_ipv4), (6, b.gateway_mode_ipv6)) if m == "isolated"}
    return [
        (s.gateway, s.subnet.prefixlen)
        for s in net.subnets
        if s.gateway is not None and not (s.version == 4 and b.inhibit_ipv4) and s.version not in isolated
    ]


class BridgeDriver:
    name = "bridge"
    has_interfaces = True
    on_host_segment = False
    single_instance = False
    lazy = False
    own_mac = True
    host_veth = True

    def __init__(self, host: RouteSocket, default_mtu: int, host_firewall: bool) -> None:
        self._host = host
        self._default_mtu = default_mtu
        self._host_firewall = host_firewall

    def parse_options(self, spec: NetworkSpec, network_id: str) -> BridgeOptions:
        parsed = opts.parse_bridge_options(
            spec.options, f"br-{short_id(network_id)}", self._default_mtu, self._host_firewall
        )
        links.check_ifname(parsed.bridge_name)
        opts.check_gateway_modes(parsed.gateway_mode_ipv4, parsed.gateway_mode_ipv6, spec.internal)
        return parsed

    def check_capacity(self, net: Network, members: int) -> None:
        check_bridge_ports(net.name, members)

    def check_network(self, net: Network, others: Iterable[Network]) -> None:
        name = options_of(net).bridge_name
        for other in others:
            if isinstance(other.driver_options, BridgeOptions) and other.driver_options.bridge_name == name:
                raise Forbidden(
                    f"cannot create network {net.id} ({name}): conflicts with network "
                    f"{other.id} ({name}): networks have same bridge name"
                )

    def plan_subnets(self, net: Network) -> Network:
        return net

    def names_members(self, net: Network) -> bool:
        return not options_of(net).default_bridge  # Docker: no names on the default bridge

    def interface_prefix(self, net: Network) -> str:
        return options_of(net).iface_prefix

    # networks

    def create_network(self, net: Network, undo: ExitStack) -> None:
        """Bridge present, addressed and up (idempotent; the firewall is the engine's)."""
        b = options_of(net)
        name = b.bridge_name
        index, created = links.ensure_bridge(self._host, name, mtu=b.mtu, alias=links.alias_for("net", net.id))
        if created:
            undo.callback(links.delete_link, self._host, name)
        if net.enable_ipv6:
            sysctl.write(f"net/ipv6/conf/{name}/accept_ra", "0")
            sysctl.write("net/ipv6/conf/all/forwarding", "1")
        # the host reaches its published ports on 127.0.0.1: loopback-sourced packets,
        # translated to a container, may leave through the bridge (then are masqueraded);
        # loopback-addressed packets arriving from containers are dropped by the ruleset
        sysctl.write(f"net/ipv4/conf/{name}/route_localnet", "1")
        if not created:  # a new bridge is up already
            links.set_up(self._host, index, name)
        for gateway, prefixlen in _gateway_addresses(net):
            own_route = gateway.version == 4  # see addresses.RTPROT_SEAWAY
            addresses.add_address(self._host, index, name, gateway, prefixlen, prefix_route=not own_route)
            if own_route:
                subnet = next(s.subnet for s in net.subnets if s.gateway == gateway)
                addresses.ensure_subnet_route(self._host, subnet, index, name, gateway)

    def delete_network(self, net: Network) -> None:
        name = options_of(net).bridge_name
        # a bridge Seaway did not create (no alias mark) is left alone, as Docker does
        if links.owned(links.link_alias(self._host, name)):
            links.delete_link(self._host, name)

    def expect_network(self, net: Network) -> Expected:
        name = options_of(net).bridge_name
        gateways = _gateway_addresses(net)
        v4_gateways = {g for g, _ in gateways if g.version == 4}
        return Expected(
            host_links=(HostLink(name, kind="bridge", addresses=frozenset(f"{a}/{p}" for a, p in gateways)),),
            routes=tuple(f"{s.subnet} dev {name}" for s in net.subnets if s.gateway in v4_gateways),
        )

    # endpoints

    def join(self, net: Network, ep: Endpoint, sandbox_key: str, undo: ExitStack) -> Interface:
        b = options_of(net)
        master = links.index_here(b.bridge_name)
        if master is None:
            raise KernelError("attach to bridge", b.bridge_name, None, "bridge is missing")
        with sandbox.netns_fd(sandbox_key) as fd:
            links.create_veth(
                self._host,
                ep.host_ifname,
                peer_name=ep.ifname,
                peer_netns_fd=fd,
                master=master,
                mtu=b.mtu,
                peer_mac=ep.mac_address,
                alias=links.alias_for("ep", ep.id),
            )
        undo.callback(links.delete_link, self._host, ep.host_ifname)
        return ep.ifname, _endpoint_addresses(ep)

    def leave(self, net: Network, ep: Endpoint, sandbox_key: str | None) -> None:
        b = options_of(net)
        links.delete_link(self._host, ep.host_ifname)
        bridge = links.index_here(b.bridge_name)
        for address in (ep.ipv4, ep.ipv6):
            if address is not None and bridge is not None:
                addresses.forget_neighbour(self._host, address, bridge, b.bridge_name)

    def expect_endpoint(self, net: Network, ep: Endpoint) -> Expected:
        return Expected(
            host_links=(HostLink(ep.host_ifname, kind="veth", master=options_of(net).bridge_name),),
            sandbox_links=(SandboxLink(ep.ifname, ep.mac_address, _address_texts(ep)),),
        )

    # capabilities: Firewalled, PublishesPorts

    def firewall_network(self, net: Network) -> ruleset.NetworkRules:
        return bridge_rules(net)

    def firewall_endpoint(self, net: Network, ep: Endpoint) -> EndpointFirewall:
        icc_off = "" if options_of(net).enable_icc else ep.host_ifname
        return EndpointFirewall(guard=port_guard(ep), icc_off_port=icc_off)

    def binding_addresses(self, net: Network, ep: Endpoint, req: PortRequest) -> list[IPAddress]:
        """For a port published without a host address: the network's host binding, per
        family the endpoint has (the IPv4 wildcard also binds the IPv6 one)."""
        default = options_of(net).host_binding_ipv4
        out: list[IPAddress] = []
        if default.version == 4 and ep.ipv4 is not None:
            out.append(default)
        if ep.ipv6 is not None and (default.version == 6 or default == WILDCARD[4]):
            out.append(default if default.version == 6 else WILDCARD[6])
        return out


def _endpoint_addresses(ep: Endpoint) -> list[tuple[IPAddress, int]]:
    return [(a, p) for a, p in ((ep.ipv4, ep.ipv4_prefixlen), (ep.ipv6, ep.ipv6_prefixlen)) if a]


def _address_texts(ep: Endpoint) -> frozenset[str]:
    return frozenset(f"{a}/{p}" for a, p in _endpoint_addresses(ep))


def port_guard(ep: Endpoint) -> ruleset.PortGuard:
    """What an endpoint's bridge port may send as (anti-spoofing)."""
    return ruleset.PortGuard(ep.host_ifname, ep.mac_address, ep.ipv4, ep.ipv6)  # type: ignore[arg-type]
