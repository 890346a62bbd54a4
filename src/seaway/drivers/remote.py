"""The remote network driver: a network plugin speaking Docker's ``NetworkDriver``
protocol (libnetwork's ``drivers/remote``), behind Seaway's driver contract.

Activated on first use (``Plugin.Activate``, then ``GetCapabilities``), by name: the
driver of ``docker network create -d NAME``. The calls follow libnetwork's order:

* create: ``CreateNetwork`` (after the IPAM allocated the pools); remove: ``DeleteNetwork``;
* connect: ``CreateEndpoint`` (the interface's addresses and MAC; the plugin may add
  what was not given), ``Join`` (it answers the name of the interface it made,
  ``InterfaceName.SrcName``, the prefix of its name in the sandbox, ``DstPrefix``, the
  gateways and static routes), then Seaway moves that interface into the sandbox as
  ``<DstPrefix><N>`` (``eth<N>``), gives it the MAC and addresses, brings it up and adds
  the routes; the sandbox's default route goes through the gateway ``Join`` named (none
  named: none through this endpoint); then ``ProgramExternalConnectivity`` and
  ``EndpointOperInfo``;
* disconnect: ``RevokeExternalConnectivity``, ``Leave``, the interface back to the host
  under its own name, ``DeleteEndpoint``.

A failed step undoes the ones before it (``DeleteEndpoint`` after a failed ``Join``,
as libnetwork's rollback), so nothing is left half-made; the plugin's error text is
what the user sees, as ``remote: <text>``. Errors while taking an endpoint apart are
logged and the teardown goes on (Docker does the same). The plugin keeps its own
state: reconciliation never replays creates or joins to it (the ``Plugin`` capability).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Iterable
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

from seaway.errors import InternalError, InvalidParameter
from seaway.kernel import links, sandbox
from seaway.kernel.netns import RouteSocket
from seaway.kernel.sandbox import Interface, StaticRoute
from seaway.model.endpoint import Endpoint
from seaway.model.expected import NOTHING, Expected, SandboxLink
from seaway.model.ids import validate_mac
from seaway.model.network import DriverOptions, IPAddress, Network, NetworkSpec
from seaway.plugins.client import MethodNotFound, PluginClient, PluginError, PluginTimeout
from seaway.plugins.registry import NETWORK_DRIVER, Plugins

log = logging.getLogger(__name__)

GENERIC = "com.docker.network.generic"  # libnetwork's netlabel.GenericData: the -o options
ENABLE_IPV4 = "com.docker.network.enable_ipv4"
ENABLE_IPV6 = "com.docker.network.enable_ipv6"
INTERNAL = "com.docker.network.internal"
PORTMAP = "com.docker.network.portmap"
EXPOSED_PORTS = "com.docker.network.endpoint.exposedports"
ROUTE_CONNECTED = 1  # libnetwork's types.CONNECTED: a static route with no next hop


class RemoteDriver:
    has_interfaces = True
    on_host_segment = False
    single_instance = False
    lazy = False
    own_mac = True
    host_veth = False

    def __init__(self, name: str, plugins: Plugins, host: RouteSocket) -> None:
        self.name = name
        self.plugin_name = name  # the ``Plugin`` capability
        self._plugins = plugins
        self._host = host
        self._lock = threading.Lock()
        self._client: PluginClient | None = None
        self.scope = "local"
        self.connectivity_scope = "local"
        #: endpoint ID -> the plugin's name of its interface (to give it back on leave)
        self._src_names: dict[str, str] = {}
        #: endpoint ID -> the endpoint as the plugin's Join shaped it (until it leaves)
        self._joined: dict[str, Endpoint] = {}

    # ------------------------------------------------------------ the plugin

    def activate(self) -> None:
        """Find and activate the plugin, and ask its capabilities (once)."""
        with self._lock:
            if self._client is not None:
                return
            client = self._plugins.get(self.name, NETWORK_DRIVER)
            caps = _call(client, "GetCapabilities", None)
            scope = caps.get("Scope", "")
            if scope not in ("local", "global"):
                raise PluginError(f"invalid capability: expecting 'local' or 'global', got {scope}")
            connectivity = caps.get("ConnectivityScope", "") or scope
            if connectivity not in ("local", "global"):
                raise PluginError(f"invalid capability: expecting 'local' or 'global', got {scope}")
            self.scope, self.connectivity_scope = scope, connectivity
            self._client = client

    def _call(self, method: str, body: Any) -> dict[str, Any]:
        self.activate()
        assert self._client is not None
        return _call(self._client, method, body)

    def _step(self, method: str, body: Any, undo: ExitStack, undo_method: str, undo_body: Any) -> dict[str, Any]:
        """A call whose effect ``undo_method`` takes back if the operation fails later; a
        call that timed out may have taken effect in the plugin all the same, so it is
        taken back at once (Docker, which never times out, has no such case)."""
        try:
            answer = self._call(method, body)
        except PluginTimeout:
            self._quietly(undo_method, undo_body)
            raise
        undo.callback(self._quietly, undo_method, undo_body)
        return answer

    def _quietly(self, method: str, body: Any, *, tolerate_missing: bool = False) -> None:
        """A teardown call: its failure is logged, and the teardown goes on (Docker's way)."""
        try:
            self._call(method, body)
        except MethodNotFound:
            if not tolerate_missing:
                log.warning("plugin %s: %s is not implemented", self.name, method)
        except PluginError as exc:
            log.warning("plugin %s: %s", self.name, exc)

    # ------------------------------------------------------------ planning

    def parse_options(self, spec: NetworkSpec, network_id: str) -> DriverOptions | None:
        self.activate()
        return None  # the -o options go to the plugin as they are (Network.options)

    def check_capacity(self, net: Network, members: int) -> None:
        return None

    def check_network(self, net: Network, others: Iterable[Network]) -> None:
        return None

    def plan_subnets(self, net: Network) -> Network:
        return replace(net, scope=self.scope)  # Docker: the scope is the plugin's

    def names_members(self, net: Network) -> bool:
        return True

    def interface_prefix(self, net: Network) -> str:
        return "eth"

    # ------------------------------------------------------------ networks

    def create_network(self, net: Network, undo: ExitStack) -> None:
        self._step("CreateNetwork", network_request(net), undo, "DeleteNetwork", {"NetworkID": net.id})

    def delete_network(self, net: Network) -> None:
        self._call("DeleteNetwork", {"NetworkID": net.id})

    def expect_network(self, net: Network) -> Expected:
        return NOTHING  # the plugin's own objects: Seaway does not know them

    # ------------------------------------------------------------ endpoints

    def join(self, net: Network, ep: Endpoint, sandbox_key: str, undo: ExitStack) -> Interface | None:
        ids = {"NetworkID": net.id, "EndpointID": ep.id}
        request = {**ids, "Options": {}, "Interface": _interface(ep)}
        try:
            created = self._step("CreateEndpoint", request, undo, "DeleteEndpoint", ids)
        except PluginError as exc:  # libnetwork's words around the plugin's
            raise PluginError(f"failed to create endpoint {ep.name} on network {net.name}: {exc}") from exc
        chosen_mac = _check_interface(ep, created.get("Interface"))
        if chosen_mac:
            ep = replace(ep, mac_address=chosen_mac)  # the plugin's choice, as libnetwork's SetMacAddress
        joined = self._step("Join", {**ids, "SandboxKey": sandbox_key, "Options": {}}, undo, "Leave", ids)
        names = joined.get("InterfaceName") or {}
        if not isinstance(names, dict):
            names = {}
        src = str(names.get("SrcName") or "")
        routes, gateways = _default_routes_as_gateways(_static_routes(joined), _gateways(joined))
        shaped = replace(ep, gateways=gateways)
        if src:
            prefix = str(names.get("DstPrefix") or self.interface_prefix(net))
            if prefix != self.interface_prefix(net):  # e.g. weave's "ethwe": ethwe0, ethwe1, …
                shaped = replace(shaped, ifname=_free_name(prefix, _names_in(sandbox_key)))
            addrs = [(a, p) for a, p in ((ep.ipv4, ep.ipv4_prefixlen), (ep.ipv6, ep.ipv6_prefixlen)) if a]
            undo.callback(sandbox.give_back_interface, sandbox_key, shaped.ifname, src)  # also after half of it
            sandbox.adopt_interface(sandbox_key, self._host, src, shaped.ifname, ep.mac_address, addrs, routes)
            self._src_names[ep.id] = src
            undo.callback(self._src_names.pop, ep.id, None)
        else:
            log.warning("plugin %s: Join named no interface (InterfaceName.SrcName) for %s", self.name, ep.name)
        if joined.get("DisableGatewayService"):
            # libnetwork then keeps the sandbox off docker_gwbridge; Seaway has none to keep it off
            log.debug("plugin %s: DisableGatewayService for %s", self.name, ep.name)
        self._joined[ep.id] = shaped
        undo.callback(self._joined.pop, ep.id, None)
        try:
            self._call("ProgramExternalConnectivity", {**ids, "Options": {PORTMAP: [], EXPOSED_PORTS: []}})
        except MethodNotFound:
            pass  # not mandatory (libnetwork tolerates a 404)
        else:
            undo.callback(self._quietly, "RevokeExternalConnectivity", ids, tolerate_missing=True)
        try:
            self._call("EndpointOperInfo", ids)
        except MethodNotFound:
            pass
        return None  # configured here, in the sandbox; the engine only sets the default routes

    def leave(self, net: Network, ep: Endpoint, sandbox_key: str | None) -> None:
        ids = {"NetworkID": net.id, "EndpointID": ep.id}
        self._quietly("RevokeExternalConnectivity", ids, tolerate_missing=True)
        self._quietly("Leave", ids)
        src = self._src_names.pop(ep.id, "")
        self._joined.pop(ep.id, None)
        if sandbox_key is not None:
            given_back = False
            try:
                if src:
                    sandbox.give_back_interface(sandbox_key, ep.ifname, src)
                    given_back = True
            except InternalError as exc:  # e.g. the plugin made another link of that name meanwhile
                log.warning("plugin %s: could not give %s back as %s: %s", self.name, ep.ifname, src, exc)
            if not given_back and ep.ifname in _names_in(sandbox_key):  # after a restart: name unknown
                sandbox.remove_interface(sandbox_key, ep.ifname)
        self._quietly("DeleteEndpoint", ids)

    def joined(self, ep: Endpoint) -> Endpoint:
        return self._joined.get(ep.id, ep)

    def expect_endpoint(self, net: Network, ep: Endpoint) -> Expected:
        addrs = frozenset(f"{a}/{p}" for a, p in ((ep.ipv4, ep.ipv4_prefixlen), (ep.ipv6, ep.ipv6_prefixlen)) if a)
        return Expected(sandbox_links=(SandboxLink(ep.ifname, ep.mac_address, addrs),))

    # ------------------------------------------------------------ cluster calls (a manager's)

    def allocate_network(self, net: Network) -> dict[str, str]:
        """``AllocateNetwork``: a swarm manager's allocation for a global-scope plugin."""
        body = network_request(net)
        answer = self._call(
            "AllocateNetwork",
            {**body, "Options": {k: str(v) for k, v in net.options.items()}},
        )
        return {str(k): str(v) for k, v in (answer.get("Options") or {}).items()}

    def free_network(self, net: Network) -> None:
        self._call("FreeNetwork", {"NetworkID": net.id})

    def discover_new(self, address: str, is_self: bool) -> None:
        """``DiscoverNew``: a node joined (libnetwork's NodeDiscovery, type 1)."""
        self._call("DiscoverNew", {"DiscoveryType": 1, "DiscoveryData": {"Address": address, "self": is_self}})

    def discover_delete(self, address: str, is_self: bool) -> None:
        self._call("DiscoverDelete", {"DiscoveryType": 1, "DiscoveryData": {"Address": address, "self": is_self}})


def _call(client: PluginClient, method: str, body: Any) -> dict[str, Any]:
    """``NetworkDriver.<method>``; an answer with ``Err`` is ``remote: <Err>``."""
    answer = client.call(f"{NETWORK_DRIVER}.{method}", body)
    err = answer.get("Err")
    if err:
        raise PluginError(f"remote: {err}")
    return answer


def network_request(net: Network) -> dict[str, Any]:
    """``CreateNetwork``'s body: the options as libnetwork passes them, the pools."""
    options: dict[str, Any] = {
        GENERIC: dict(net.options),
        ENABLE_IPV4: bool(net.subnets_of(4)),
        ENABLE_IPV6: net.enable_ipv6,
    }
    if net.internal:
        options[INTERNAL] = True
    return {
        "NetworkID": net.id,
        "Options": options,
        "IPv4Data": ipam_data(net, 4),
        "IPv6Data": ipam_data(net, 6),
    }


def ipam_data(net: Network, version: int) -> list[dict[str, Any]]:
    """libnetwork's ``IPAMData`` as JSON: the gateway and aux addresses with the pool's length."""
    out = []
    for s in net.subnets_of(version):
        item: dict[str, Any] = {"AddressSpace": s.address_space, "Pool": str(s.subnet)}
        if s.gateway is not None:
            item["Gateway"] = f"{s.gateway}/{s.subnet.prefixlen}"
        if s.aux_addresses:
            item["AuxAddresses"] = {k: f"{v}/{s.subnet.prefixlen}" for k, v in s.aux_addresses.items()}
        out.append(item)
    return out


def _interface(ep: Endpoint) -> dict[str, str]:
    """libnetwork's ``Interface``: every field, empty when not given; the MAC only when it
    was the user's (otherwise the plugin may choose one)."""
    return {
        "Address": f"{ep.ipv4}/{ep.ipv4_prefixlen}" if ep.ipv4 is not None else "",
        "AddressIPv6": f"{ep.ipv6}/{ep.ipv6_prefixlen}" if ep.ipv6 is not None else "",
        "MacAddress": ep.mac_address if ep.static_mac else "",
    }


def _check_interface(ep: Endpoint, answered: Any) -> str:
    """The MAC the plugin chose ("" for none). It may fill in only what was not given
    (libnetwork refuses the rest and rolls the endpoint back); the addresses are always
    given (the IPAM's), so it may choose none of them."""
    if not isinstance(answered, dict):
        return ""
    given = _interface(ep)
    for key, what in (("MacAddress", "MAC address"), ("Address", "address"), ("AddressIPv6", "address")):
        value = str(answered.get(key) or "")
        if value and value != given[key] and (given[key] or key != "MacAddress"):
            raise InternalError(
                f"driver modified interface {what}: endpoint interface {what} present ({given[key]}). "
                f"Cannot be modified with {value}."
            )
    mac = str(answered.get("MacAddress") or "")
    if mac and not given["MacAddress"]:
        try:
            return validate_mac(mac)
        except InvalidParameter:
            raise PluginError(f"address {mac}: invalid MAC address") from None
    return ""


def _static_routes(joined: dict[str, Any]) -> list[StaticRoute]:
    routes: list[StaticRoute] = []
    for raw in joined.get("StaticRoutes") or []:
        if not isinstance(raw, dict):
            raise InvalidParameter("invalid static route in the plugin's Join answer")
        try:
            destination = ipaddress.ip_network(str(raw.get("Destination", "")), strict=False)
        except ValueError:
            raise PluginError(f"invalid CIDR address: {raw.get('Destination', '')}") from None
        next_hop = None
        if raw.get("NextHop") and raw.get("RouteType", 0) != ROUTE_CONNECTED:
            try:
                next_hop = ipaddress.ip_address(str(raw["NextHop"]))
            except ValueError:
                raise PluginError(f"failed to parse nexthop IP {raw['NextHop']}") from None
        routes.append((destination, next_hop))
    return routes


def _gateways(joined: dict[str, Any]) -> tuple[IPAddress, ...]:
    """The gateways a ``Join`` answer names (none: no default route through the endpoint,
    as in libnetwork, where only the driver's ``SetGateway`` gives one)."""
    out: list[IPAddress] = []
    for key, version in (("Gateway", 4), ("GatewayIPv6", 6)):
        value = joined.get(key)
        if value:
            try:
                address = ipaddress.ip_address(str(value))
            except ValueError:
                raise PluginError(f'unable to parse {key} "{value}"') from None
            if address.version != version:
                raise PluginError(f'unable to parse {key} "{value}"')
            out.append(address)
    return tuple(out)


def _default_routes_as_gateways(
    routes: list[StaticRoute], gateways: tuple[IPAddress, ...]
) -> tuple[list[StaticRoute], tuple[IPAddress, ...]]:
    """A static default route via a next hop is a gateway (libnetwork counts it as one:
    no docker_gwbridge then); the sandbox's default route is the engine's to set."""
    out: list[StaticRoute] = []
    for destination, next_hop in routes:
        if destination.prefixlen == 0 and next_hop is not None:
            if not any(g.version == next_hop.version for g in gateways):
                gateways = (*gateways, next_hop)
            continue
        out.append((destination, next_hop))
    return out, gateways


def _free_name(prefix: str, taken: set[str]) -> str:
    index = 0
    while f"{prefix}{index}" in taken:
        index += 1
    return links.check_ifname(f"{prefix}{index}")


def _names_in(sandbox_key: str) -> set[str]:
    try:
        return sandbox.interface_names(sandbox_key)
    except InternalError:
        return set()
