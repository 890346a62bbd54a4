"""The controller: lifecycle of networks, sandboxes and endpoints on one host.

Every operation runs the same sequence: validate everything (nothing touched yet) ->
persist the intent (state ``creating``/``deleting``) -> program the kernel in steps, each
pushing its undo onto an ``ExitStack`` -> mark the record ``ready`` (or delete it). A
failure unwinds the stack, so a failed operation leaves nothing. A crash leaves records
that are not ``ready``, which ``reconcile()`` finishes or undoes at the next start; it
also recreates kernel objects the store says exist and removes Seaway-marked kernel
objects the store does not know.

Must run in the host's network namespace (the engine's own). Operations are serialised
by one lock; they are short, and the daemon calls them from worker threads.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from seaway.daemon.config import EngineConfig
from seaway.drivers.base import NetworkDriver
from seaway.drivers.bridge import BridgeDriver, bridge_rules, check_bridge_ports, port_guard
from seaway.drivers.macvlan import SHIM_AUX, IpvlanDriver, MacvlanDriver
from seaway.drivers.null import HostDriver, NullDriver
from seaway.drivers.parent import Parents
from seaway.errors import (
    CleanupIncomplete,
    Conflict,
    Forbidden,
    InvalidParameter,
    NotFound,
    SeawayError,
    Unavailable,
    Unsupported,
)
from seaway.firewall import elements, hostfw, naming, ruleset
from seaway.ipam import pools
from seaway.ipam.allocator import AddressAllocator, first_free
from seaway.ipam.hostports import DEFAULT_EPHEMERAL, HostPorts
from seaway.kernel import addresses, fdlimit, features, links, netns, nft, nftnl, portholds, sandbox, sysctl
from seaway.model import options as opts
from seaway.model.endpoint import Endpoint, EndpointSpec, Sandbox, SandboxMode
from seaway.model.gateway import pick_default_routes
from seaway.model.ids import new_id, new_mac, short_id, validate_mac, validate_network_name
from seaway.model.network import (
    PREDEFINED_NETWORKS,
    BridgeOptions,
    IPAddress,
    IPAMConfigSpec,
    IPNetwork,
    Network,
    NetworkSpec,
    ParentOptions,
    Subnet,
)
from seaway.model.ports import WILDCARD, PortMapping, PortRequest
from seaway.state.store import CREATING, DELETING, READY, Store

log = logging.getLogger(__name__)

PortKey = tuple[str, IPAddress, int]  # protocol, host address, host port

NOT_YET_DRIVERS = ("overlay",)
CONFIG_ONLY_ENDPOINT = "cannot create endpoint on configuration-only network"
HOST_ONLY = "container cannot be disconnected from host network or connected to host network"
NONE_EXCLUSIVE = "container cannot be connected to multiple networks with one of the networks in private (none) mode"


class Controller:
    """The engine of one host. Create with ``Controller.start(config)``."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._store = Store(config.store_path)
        self._host = netns.route_socket(None)
        self._host_dumps = netns.route_socket(None, strict=True)
        self._elements = nftnl.ElementSocket()
        bridge = BridgeDriver(self._host, config.mtu, config.host_firewall, elements=self._elements)
        #: optional kernel features (``seaway.kernel.features``): probed once, shown in /info
        self.kernel_features = features.probe()
        self._parents = Parents(self._host, self.kernel_features)
        self._drivers: dict[str, NetworkDriver] = {
            "bridge": bridge,
            "host": HostDriver(),
            "null": NullDriver(),
            "macvlan": MacvlanDriver(self._host, self._parents, self._sandbox_key),
            "ipvlan": IpvlanDriver(self._host, self._parents, self._sandbox_key),
        }
        self._bridge = bridge
        self._networks: dict[str, Network] = {}
        self._names: dict[str, str] = {}
        self._sandboxes: dict[str, Sandbox] = {}
        self._endpoints: dict[str, Endpoint] = {}
        self._by_sandbox: dict[str, dict[str, str]] = {}  # sandbox id -> network id -> endpoint id
        self._by_network: dict[str, set[str]] = {}  # network id -> endpoint ids
        self._allocators: dict[str, list[AddressAllocator]] = {}
        self._host_ports = HostPorts(portholds.ephemeral_range() or DEFAULT_EPHEMERAL)
        self._holds = portholds.PortHolds()
        #: object ID -> why its kernel state could not be programmed (see ``status``)
        self._damage: dict[str, str] = {}
        self.host_id = ""
        #: host input rules host-firewall mode could not copy (shown in /info)
        self.host_firewall_skipped: list[str] = []

    @classmethod
    def start(cls, config: EngineConfig) -> Controller:
        if not nft.available():
            raise Unsupported("nftables: the nft command is not installed (Debian package nftables)")
        engine = cls(config)
        try:
            engine.reconcile()
        except BaseException:
            engine.close()
            raise
        return engine

    @property
    def store(self) -> Store:
        """The store, shared with the container manager (one SQLite file per daemon)."""
        return self._store

    def close(self) -> None:
        self._holds.close()
        self._elements.close()
        self._host.close()
        self._host_dumps.close()
        self._store.close()

    # ---------------------------------------------------------------- queries

    def _sandbox_key(self, sandbox_id: str) -> str | None:
        sb = self._sandboxes.get(sandbox_id)
        return None if sb is None else sb.key

    def upstream_routes(self, net: Network) -> list[str]:
        """Routes a router on an ipvlan L3 network's segment needs (``subnet via host``)."""
        driver = self._drivers.get(net.driver)
        return driver.upstream_routes(net) if isinstance(driver, IpvlanDriver) else []

    def networks(self) -> list[Network]:
        with self._lock:
            return sorted(self._networks.values(), key=lambda n: n.name)

    def network(self, term: str) -> Network:
        """Resolve a network as Docker does: full ID, then exact name, then unique ID prefix."""
        with self._lock:
            if term in self._networks:
                return self._networks[term]
            if term in self._names:
                return self._networks[self._names[term]]
            matches = [n for i, n in self._networks.items() if term and i.startswith(term)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise InvalidParameter(f"network {term} is ambiguous ({len(matches)} matches found based on ID prefix)")
            raise NotFound(f"network {term} not found")

    def endpoints_of_network(self, network_id: str) -> list[Endpoint]:
        with self._lock:
            return [self._endpoints[e] for e in sorted(self._by_network.get(network_id, ()))]

    def sandbox(self, sandbox_id: str) -> Sandbox:
        with self._lock:
            try:
                return self._sandboxes[sandbox_id]
            except KeyError:
                raise NotFound(f"sandbox {sandbox_id} not found") from None

    def sandboxes(self) -> list[Sandbox]:
        with self._lock:
            return list(self._sandboxes.values())

    def endpoints_of_sandbox(self, sandbox_id: str) -> list[Endpoint]:
        with self._lock:
            return [self._endpoints[e] for e in self._by_sandbox.get(sandbox_id, {}).values()]

    def endpoint(self, sandbox_id: str, network_term: str) -> Endpoint:
        with self._lock:
            net = self.network(network_term)
            sb = self.sandbox(sandbox_id)
            ep_id = self._by_sandbox.get(sb.id, {}).get(net.id)
            if ep_id is None:
                raise NotFound(f"container {sb.name} is not connected to network {net.name}")
            return self._endpoints[ep_id]

    # ---------------------------------------------------------------- networks

    def create_network(self, spec: NetworkSpec) -> Network:
        with self._lock:
            net = self._plan_network(spec, predefined=False)
            self._apply_network(net)
            return net

    def _apply_network(self, net: Network) -> None:
        driver = self._drivers[net.driver]
        with ExitStack() as undo:
            with self._store.transaction():
                self._store.put_network(net, CREATING)
            undo.callback(self._drop_network_record, net.id)
            driver.create_network(net, undo)
            with self._store.transaction():
                self._store.set_network_state(net.id, READY)
            undo.pop_all()
        self._index_network(net)
        log.info("network created name=%s id=%s driver=%s", net.name, short_id(net.id), net.driver)

    def _drop_network_record(self, network_id: str) -> None:
        with self._store.transaction():
            self._store.delete_network(network_id)

    def remove_network(self, term: str) -> None:
        with self._lock:
            net = self.network(term)
            if net.predefined:
                raise Forbidden(f"{net.name} is a pre-defined network and cannot be removed")
            self._remove_network(net)

    def _remove_network(self, net: Network) -> None:
        if net.config_only and any(n.config_from == net.name for n in self._networks.values()):
            raise Forbidden(f'error while removing network: configuration network "{net.name}" is in use')
        eps = self.endpoints_of_network(net.id)
        if eps:  # Docker's text (20.10): the network's name and ID
            raise Forbidden(f"error while removing network: network {net.name} id {net.id} has active endpoints")
        with self._store.transaction():
            self._store.set_network_state(net.id, DELETING)
        self._drivers[net.driver].delete_network(net)
        with self._store.transaction():
            self._store.delete_network(net.id)
        self._unindex_network(net)
        log.info("network removed name=%s id=%s", net.name, short_id(net.id))

    def _index_network(self, net: Network) -> None:
        self._networks[net.id] = net
        self._names[net.name] = net.id
        self._by_network.setdefault(net.id, set())
        self._allocators[net.id] = [AddressAllocator(s) for s in net.subnets]

    def _unindex_network(self, net: Network) -> None:
        self._networks.pop(net.id, None)
        self._names.pop(net.name, None)
        self._by_network.pop(net.id, None)
        self._allocators.pop(net.id, None)

    def _plan_network(self, spec: NetworkSpec, *, predefined: bool) -> Network:
        """Validate a create request and allocate its subnets; touches nothing."""
        validate_network_name(spec.name)
        if spec.name in PREDEFINED_NETWORKS and not predefined:
            raise Forbidden(f"operation is not permitted on predefined {spec.name} network ")
        if spec.name in self._names:
            raise Conflict(f"network with name {spec.name} already exists")
        driver = self._driver_for(spec.driver)
        if spec.scope not in ("", "local"):
            if spec.scope in ("swarm", "global"):
                raise Forbidden(f"cannot create a {spec.scope} scoped network when swarm is not active")
            raise InvalidParameter(f"invalid scope {spec.scope!r}: expected local, swarm or global")
        if spec.ipam_driver not in ("", "default"):
            raise NotFound(f'plugin "{spec.ipam_driver}" not found')
        if spec.config_only:
            return self._plan_config_only(spec)
        if spec.config_from:
            spec = self._apply_config_from(spec)
        network_id = new_id()
        parsed = driver.parse_options(spec, network_id)
        bridge = parsed if isinstance(parsed, BridgeOptions) else None
        parent = parsed if isinstance(parsed, ParentOptions) else None
        enable_ipv6 = spec.enable_ipv6 or opts.parse_bool(opts.ENABLE_IPV6, spec.options.get(opts.ENABLE_IPV6, "false"))
        internal = spec.internal or opts.parse_bool(opts.INTERNAL, spec.options.get(opts.INTERNAL, "false"))
        if parent is not None:
            self._check_parent_sharing(spec.driver, parent)
            internal = internal or parent.dummy  # Docker: no parent means an internal network
            subnets = self._plan_subnets(spec.ipam_configs, enable_ipv6, on_host_segment=True)
            subnets = _parent_subnets(parent, subnets)
        elif driver.has_interfaces:
            subnets = self._plan_subnets(spec.ipam_configs, enable_ipv6)
        else:
            self._check_single_instance(spec.driver)
            if spec.ipam_configs:
                raise InvalidParameter(f"invalid network config: the {spec.driver} driver takes no IPAM config")
            subnets = ()
        if bridge is not None:
            self._check_bridge_name(network_id, bridge.bridge_name)
        return Network(
            id=network_id,
            name=spec.name,
            driver=spec.driver,
            scope="local",
            created=datetime.now(UTC).isoformat(),
            subnets=subnets,
            enable_ipv6=enable_ipv6,
            internal=internal,
            attachable=spec.attachable,
            options=dict(spec.options),
            labels=dict(spec.labels),
            bridge=bridge,
            parent=parent,
            config_from=spec.config_from,
        )

    def _plan_config_only(self, spec: NetworkSpec) -> Network:
        """A ``--config-only`` network: stored subnets and options, no driver, no
        kernel objects, no address reservation (Docker's rules)."""
        if spec.internal or spec.attachable or spec.scope not in ("", "local"):
            raise Forbidden(
                "configuration network can only contain network specific fields. Network operator fields "
                "like [ ingress | internal | attachable | scope ] are not supported."
            )
        if spec.config_from:
            raise Forbidden("a configuration network cannot depend on another configuration network")
        return Network(
            id=new_id(),
            name=spec.name,
            driver="null",
            scope="local",
            created=datetime.now(UTC).isoformat(),
            subnets=tuple(pools.parse_config(c) for c in spec.ipam_configs),
            enable_ipv6=spec.enable_ipv6,
            internal=False,
            attachable=False,
            options=dict(spec.options),
            labels=dict(spec.labels),
            config_only=True,
        )

    def _apply_config_from(self, spec: NetworkSpec) -> NetworkSpec:
        """The create request with the subnets and options of its configuration network."""
        if spec.ipam_configs or spec.enable_ipv6 or spec.labels or spec.ipam_options:
            raise Forbidden(
                "user specified configurations are not supported if the network depends on a configuration network"
            )
        if spec.options:
            raise Forbidden(
                "network driver options are not supported if the network depends on a configuration network"
            )
        source = self._networks.get(self._names.get(spec.config_from, ""))
        if source is None or not source.config_only:
            raise NotFound(f'configuration network "{spec.config_from}" does not exist')
        configs = tuple(
            IPAMConfigSpec(
                subnet=str(s.subnet),
                ip_range=str(s.ip_range) if s.ip_range else "",
                gateway=str(s.gateway) if s.gateway else "",
                aux_addresses={k: str(v) for k, v in s.aux_addresses.items()},
            )
            for s in source.subnets
        )
        return replace(
            spec,
            ipam_configs=configs,
            options=dict(source.options),
            enable_ipv6=source.enable_ipv6,
            labels=dict(source.labels),
        )

    def _check_parent_sharing(self, driver: str, parent: ParentOptions) -> None:
        """Current Docker: networks may share a parent, except in passthru mode; a link
        cannot carry macvlan and ipvlan children at once (the kernel refuses)."""
        for other in self._networks.values():
            if other.parent is None or other.parent.parent != parent.parent:
                continue
            if other.driver != driver:
                raise Forbidden(f"{other.driver} network {other.id} is already using parent interface {parent.parent}")
            if parent.mode == "passthru":
                raise Forbidden(
                    f"cannot use mode passthru, {driver} network {other.id} is already using parent interface {parent.parent}"
                )
            if other.parent.mode == "passthru":
                raise Forbidden(
                    f"{driver} network {other.id} is already using parent interface {parent.parent} in mode passthru"
                )

    def _driver_for(self, name: str) -> NetworkDriver:
        if name in self._drivers:
            return self._drivers[name]
        if name in NOT_YET_DRIVERS:
            raise Unsupported(f"driver {name!r} is not supported by Seaway yet")
        raise NotFound(f'plugin "{name}" not found')

    def _check_single_instance(self, driver: str) -> None:
        if any(n.driver == driver for n in self._networks.values()):
            raise Forbidden(f'only one instance of "{driver}" network is allowed')

    def _check_bridge_name(self, network_id: str, name: str) -> None:
        for other in self._networks.values():
            if other.bridge is not None and other.bridge.bridge_name == name:
                raise Forbidden(
                    f"cannot create network {network_id} ({name}): conflicts with network "
                    f"{other.id} ({name}): networks have same bridge name"
                )

    def _taken_subnets(self) -> list[IPNetwork]:
        return [s.subnet for n in self._networks.values() if not n.config_only for s in n.subnets]

    def _plan_subnets(
        self, configs: tuple[IPAMConfigSpec, ...], enable_ipv6: bool, *, on_host_segment: bool = False
    ) -> tuple[Subnet, ...]:
        """``on_host_segment``: the subnet lives on a host link's segment (macvlan,
        ipvlan), so the host's own routes to it are expected, not a clash."""
        taken = self._taken_subnets()
        host_routes = [] if on_host_segment else addresses.onlink_routes(self._host_dumps)
        planned: list[Subnet] = []
        for config in configs:
            subnet = pools.parse_config(config)
            pools.check_no_overlap(subnet.subnet, taken + [p.subnet for p in planned])
            for route in host_routes:
                if route.overlaps(subnet.subnet):  # type: ignore[arg-type]
                    raise Forbidden(
                        f"invalid pool request: subnet {subnet.subnet} overlaps with the host's route to {route}"
                    )
            # an IPv6 subnet without IPv6 enabled is kept and shown, as dockerd 20.10 does,
            # but serves nothing: no gateway is taken and endpoints get no IPv6 address
            if subnet.gateway is None and (subnet.version == 4 or enable_ipv6):
                subnet = replace(subnet, gateway=first_free(subnet))
            planned.append(subnet)
        versions = {s.version for s in planned}
        if 4 not in versions:
            planned.insert(0, self._auto_subnet(4, taken, host_routes))
        if enable_ipv6 and 6 not in versions:
            planned.append(self._auto_subnet(6, taken, []))
        return tuple(planned)

    def _auto_subnet(self, version: int, taken: list[IPNetwork], reserved: list[IPNetwork]) -> Subnet:
        pool_list = self.config.default_address_pools if version == 4 else ()
        v6 = tuple(p for p in self.config.default_address_pools if p.base.version == 6)
        if version == 6:
            pool_list = v6 or (pools.ula_pool(self.host_id),)
        prefix = pools.choose_subnet(tuple(pool_list), version, taken, reserved)
        bare = Subnet(prefix, None, None, {}, user_given=False)
        return replace(bare, gateway=first_free(bare))

    # ---------------------------------------------------------------- sandboxes

    def create_sandbox(self, name: str, mode: str = SandboxMode.PRIVATE, hostname: str = "") -> Sandbox:
        """A network sandbox: a namespace of its own (``private``, ``none``) or the host's."""
        if mode not in (SandboxMode.PRIVATE, SandboxMode.HOST, SandboxMode.NONE):
            raise InvalidParameter(f"invalid sandbox mode {mode!r}: expected private, host or none")
        fdlimit.check_headroom(f"create sandbox {name}")
        with self._lock:
            sandbox_id = new_id()
            key = self._default_key() if mode == SandboxMode.HOST else self._key_for(sandbox_id)
            sb = Sandbox(id=sandbox_id, name=name, mode=mode, key=str(key), hostname=hostname)
            with ExitStack() as undo:
                with self._store.transaction():
                    self._store.put_sandbox(sb, CREATING)
                undo.callback(self._drop_sandbox_record, sb.id)
                if mode != SandboxMode.HOST:
                    netns.create(key)
                    undo.callback(netns.remove, key)
                    sandbox.init_loopback(str(key))
                with self._store.transaction():
                    self._store.set_sandbox_state(sb.id, READY)
                undo.pop_all()
            self._sandboxes[sb.id] = sb
            self._by_sandbox[sb.id] = {}
            return sb

    def _drop_sandbox_record(self, sandbox_id: str) -> None:
        with self._store.transaction():
            self._store.delete_sandbox(sandbox_id)

    def _key_for(self, sandbox_id: str) -> Path:
        return self.config.netns_dir / short_id(sandbox_id)

    def _default_key(self) -> Path:
        return self.config.netns_dir / "default"

    def remove_sandbox(self, sandbox_id: str) -> None:
        """Disconnect every endpoint and remove the namespace; tries every step."""
        with self._lock:
            sb = self.sandbox(sandbox_id)
            with self._store.transaction():
                self._store.set_sandbox_state(sb.id, DELETING)
            failures: list[BaseException] = []
            for ep in self.endpoints_of_sandbox(sb.id):
                try:
                    self._disconnect(sb, self._networks[ep.network_id], ep, update_routes=False)
                except SeawayError as exc:
                    failures.append(exc)
            if sb.mode != SandboxMode.HOST:
                try:
                    netns.remove(Path(sb.key))
                except SeawayError as exc:
                    failures.append(exc)
            if failures:
                raise CleanupIncomplete(f"remove sandbox {sb.name}", failures)
            self._drop_sandbox_record(sb.id)
            self._sandboxes.pop(sb.id, None)
            self._by_sandbox.pop(sb.id, None)

    # ---------------------------------------------------------------- endpoints

    def connect(self, sandbox_id: str, network_term: str, spec: EndpointSpec | None = None) -> Endpoint:
        """Attach a sandbox to a network: an endpoint with addresses, up, routed."""
        spec = spec or EndpointSpec()
        with self._lock:
            sb = self.sandbox(sandbox_id)
            net = self.network(network_term)
            self._check_connect(sb, net, spec)
            ep = self._plan_endpoint(sb, net, spec)
            try:
                self._apply_endpoint(sb, net, ep)
            except BaseException:
                self._release(ep)
                raise
            return ep

    def _check_connect(self, sb: Sandbox, net: Network, spec: EndpointSpec) -> None:
        joined = self._by_sandbox[sb.id]
        if net.config_only:
            raise Forbidden(CONFIG_ONLY_ENDPOINT)
        if net.id in joined:
            raise Conflict(f"container {sb.name} is already attached to network {net.name}")
        if (net.driver == "host") != (sb.mode == SandboxMode.HOST):
            raise Forbidden(HOST_ONLY)
        if sb.mode == SandboxMode.NONE and net.driver != "null":
            raise Forbidden(NONE_EXCLUSIVE)
        if net.driver == "null" and (joined or sb.mode != SandboxMode.NONE):
            raise Forbidden(NONE_EXCLUSIVE)
        if any(self._networks[n].driver == "null" for n in joined):
            raise Forbidden(NONE_EXCLUSIVE)
        is_default = net.bridge is not None and net.bridge.default_bridge
        if (spec.ipv4_address or spec.ipv6_address) and (net.predefined or is_default):
            raise Forbidden("user specified IP address is supported on user defined networks only")
        if spec.aliases and (net.predefined or is_default):
            raise Forbidden("network-scoped alias is supported only for containers in user defined networks")
        if spec.mac_address and net.driver == "ipvlan":
            raise InvalidParameter("ipvlan interfaces do not support custom mac address assignment")
        if spec.ipv4_address and not any(s.user_given and s.version == 4 for s in net.subnets):
            raise Forbidden(
                "user specified IP address is supported only when connecting to networks with user configured subnets"
            )
        if spec.ipv6_address and not any(s.user_given and s.version == 6 for s in net.subnets):
            raise Forbidden(
                "user specified IP address is supported only when connecting to networks with user configured subnets"
            )

    def _plan_endpoint(self, sb: Sandbox, net: Network, spec: EndpointSpec) -> Endpoint:
        if net.bridge is not None:
            check_bridge_ports(net.name, len(self._by_network.get(net.id, ())))
        mac = validate_mac(spec.mac_address) if spec.mac_address else new_mac()
        static4 = _parse_ip(spec.ipv4_address, 4) if spec.ipv4_address else None
        static6 = _parse_ip(spec.ipv6_address, 6) if spec.ipv6_address else None
        endpoint_id = new_id()
        while any(e.host_ifname == f"veth{endpoint_id[:7]}" for e in self._endpoints.values()):
            endpoint_id = new_id()
        ifname = ""
        if self._drivers[net.driver].has_interfaces:
            ifname = self._free_ifname(sb, net.bridge.iface_prefix if net.bridge is not None else "eth")
        ipv4, len4 = self._allocate(net, 4, static4)
        try:
            ipv6, len6 = self._allocate(net, 6, static6) if net.enable_ipv6 else (None, 0)
        except BaseException:
            if ipv4 is not None:
                self._release_address(net.id, ipv4)
            raise
        return Endpoint(
            id=endpoint_id,
            network_id=net.id,
            sandbox_id=sb.id,
            name=sb.name,
            ifname=ifname,
            host_ifname=f"veth{endpoint_id[:7]}" if ifname and net.bridge is not None else "",
            mac_address=mac if ifname and net.driver != "ipvlan" else "",
            ipv4=ipv4,
            ipv6=ipv6,
            ipv4_prefixlen=len4,
            ipv6_prefixlen=len6,
            aliases=tuple(spec.aliases),
            gw_priority=spec.gw_priority,
            static_ipv4=static4 is not None,
            static_ipv6=static6 is not None,
        )

    def _free_ifname(self, sb: Sandbox, prefix: str) -> str:
        used = {self._endpoints[e].ifname for e in self._by_sandbox[sb.id].values()}
        index = 0
        while f"{prefix}{index}" in used:
            index += 1
        return links.check_ifname(f"{prefix}{index}")

    def _allocate(self, net: Network, version: int, static: IPAddress | None) -> tuple[IPAddress | None, int]:
        candidates = [a for a in self._allocators[net.id] if a.subnet.version == version]
        if not candidates:
            if static is not None:
                raise InvalidParameter(f"invalid address {static}: it does not belong to any of this network's subnets")
            return None, 0
        if static is not None:
            for alloc in candidates:
                if static in alloc.subnet.subnet:
                    return alloc.request(static), alloc.subnet.subnet.prefixlen
            raise InvalidParameter(f"invalid address {static}: it does not belong to any of this network's subnets")
        for alloc in candidates:
            try:
                return alloc.allocate(), alloc.subnet.subnet.prefixlen
            except Unavailable:
                continue
        raise Unavailable(
            f"no available IPv{version} addresses on this network's address pools: {net.name} ({net.id}) "
            f"(its subnets are full: disconnect unused containers, or create a network with a larger --subnet)"
        )

    def _release_address(self, network_id: str, address: IPAddress) -> None:
        for alloc in self._allocators.get(network_id, ()):
            if address in alloc.subnet.subnet:
                alloc.release(address)

    def _release(self, ep: Endpoint) -> None:
        for address in (ep.ipv4, ep.ipv6):
            if address is not None:
                self._release_address(ep.network_id, address)

    def _apply_endpoint(self, sb: Sandbox, net: Network, ep: Endpoint) -> None:
        with ExitStack() as undo:
            with self._store.transaction():
                self._store.put_endpoint(ep, CREATING)
            undo.callback(self._drop_endpoint_record, ep.id)
            interface = self._drivers[net.driver].join(net, ep, sb.key, undo)
            self._index_endpoint(ep)
            undo.callback(self._unindex_endpoint, ep)
            routes = self._routes_for(sb)
            if interface is not None or routes is not None:
                sandbox.configure(sb.key, interface, routes)
            with self._store.transaction():
                self._store.set_endpoint_state(ep.id, READY)
            undo.pop_all()
        log.debug("endpoint ready sandbox=%s network=%s ifname=%s", sb.name, net.name, ep.ifname)

    def _drop_endpoint_record(self, endpoint_id: str) -> None:
        with self._store.transaction():
            self._store.delete_endpoint(endpoint_id)

    def _index_endpoint(self, ep: Endpoint) -> None:
        self._endpoints[ep.id] = ep
        self._by_sandbox.setdefault(ep.sandbox_id, {})[ep.network_id] = ep.id
        self._by_network.setdefault(ep.network_id, set()).add(ep.id)

    def _unindex_endpoint(self, ep: Endpoint) -> None:
        self._endpoints.pop(ep.id, None)
        self._by_sandbox.get(ep.sandbox_id, {}).pop(ep.network_id, None)
        self._by_network.get(ep.network_id, set()).discard(ep.id)

    def _routes_for(self, sb: Sandbox) -> sandbox.Routes | None:
        if sb.mode != SandboxMode.PRIVATE:
            return None
        members = [(ep, self._networks[ep.network_id]) for ep in self.endpoints_of_sandbox(sb.id)]
        return pick_default_routes(m for m in members if m[0].ifname)

    def _update_routes(self, sb: Sandbox) -> None:
        routes = self._routes_for(sb)
        if routes is not None:
            sandbox.configure(sb.key, None, routes)

    def disconnect(self, sandbox_id: str, network_term: str) -> None:
        with self._lock:
            sb = self.sandbox(sandbox_id)
            net = self.network(network_term)
            ep_id = self._by_sandbox[sb.id].get(net.id)
            if ep_id is None:
                raise Forbidden(f"container {sb.name} is not connected to network {net.name}")
            if net.driver == "host":
                raise Forbidden(HOST_ONLY)
            self._disconnect(sb, net, self._endpoints[ep_id], update_routes=True)

    def _disconnect(self, sb: Sandbox, net: Network, ep: Endpoint, *, update_routes: bool) -> None:
        with self._store.transaction():
            self._store.set_endpoint_state(ep.id, DELETING)
        self._unpublish(ep)
        self._drivers[net.driver].leave(net, ep)
        self._unindex_endpoint(ep)
        if update_routes and netns.is_pinned(Path(sb.key)):
            self._update_routes(sb)
        self._drop_endpoint_record(ep.id)
        self._release(ep)

    # ---------------------------------------------------------------- published ports

    def publish(self, sandbox_id: str, requests: tuple[PortRequest, ...]) -> tuple[PortMapping, ...]:
        """Forward host ports to the sandbox's gateway endpoint (the bridge endpoint that
        gives it its default route); Docker's ``ProgramExternalConnectivity``. Returns the
        mappings made; none when the sandbox has no such endpoint (host, none, internal)."""
        with self._lock:
            sb = self.sandbox(sandbox_id)
            ep = self._gateway_endpoint(sb)
            if ep is None or not requests:
                for other in self.endpoints_of_sandbox(sb.id) if requests else ():
                    if self._networks[other.network_id].parent is not None:  # Docker's warning
                        log.warning("%s driver does not support port mappings", self._networks[other.network_id].driver)
                return ()
            net = self._networks[ep.network_id]
            with ExitStack() as undo:
                try:
                    mappings = self._hold_ports(ep, net, requests, undo)
                    self._elements.apply(elements.publish(mappings), f"ports of {ep.name}")
                    undo.callback(lambda: self._elements.apply(elements.unpublish(mappings), f"ports of {ep.name}"))
                except (Conflict, Unavailable, Unsupported, InvalidParameter) as exc:
                    raise type(exc)(
                        f"driver failed programming external connectivity on endpoint {ep.name} ({ep.id}): {exc}"
                    ) from None
                published = replace(ep, ports=ep.ports + tuple(mappings))
                with self._store.transaction():
                    self._store.put_endpoint(published, READY)
                self._endpoints[ep.id] = published
                undo.pop_all()
            log.info("published %d port(s) of %s", len(mappings), ep.name)
            return tuple(mappings)

    def unpublish(self, sandbox_id: str) -> tuple[PortMapping, ...]:
        """Stop forwarding every published port of the sandbox (it stays connected)."""
        with self._lock:
            out: list[PortMapping] = []
            for ep in self.endpoints_of_sandbox(self.sandbox(sandbox_id).id):
                if ep.ports:
                    self._unpublish(ep)
                    bare = replace(ep, ports=())
                    with self._store.transaction():
                        self._store.put_endpoint(bare, READY)
                    self._endpoints[ep.id] = bare
                    out += ep.ports
            return tuple(out)

    def _unpublish(self, ep: Endpoint) -> None:
        if ep.ports:
            self._elements.apply(elements.unpublish(list(ep.ports)), f"ports of {ep.name}")
            self._release_ports(ep.ports)

    def _gateway_endpoint(self, sb: Sandbox) -> Endpoint | None:
        """The endpoint whose network gives the sandbox its IPv4 (else IPv6) default route."""
        if sb.mode != SandboxMode.PRIVATE:
            return None
        members = [
            (ep, self._networks[ep.network_id])
            for ep in self.endpoints_of_sandbox(sb.id)
            if ep.ifname and self._networks[ep.network_id].bridge is not None
        ]
        routes = pick_default_routes(members)
        for chosen in (routes[4], routes[6]):
            if chosen is not None:
                for ep, _net in members:
                    if ep.ifname == chosen[1]:
                        return ep
        return None

    def _hold_ports(
        self, ep: Endpoint, net: Network, requests: tuple[PortRequest, ...], undo: ExitStack
    ) -> list[PortMapping]:
        assert net.bridge is not None
        mappings: list[PortMapping] = []
        taken: list[PortKey] = []  # one undo for them all: a 10,000-port range is one request
        undo.callback(self._release_taken, taken)

        def mapped(req: PortRequest, host_ips: list[IPAddress], port: int) -> None:
            for host_ip in host_ips:
                container_ip = ep.ipv4 if host_ip.version == 4 else ep.ipv6
                assert container_ip is not None
                mappings.append(PortMapping(req.proto, req.container_port, host_ip, port, container_ip))

        # fixed host ports (what a range becomes) are checked and held in bulk, per address
        fixed: dict[tuple[str, str], list[PortRequest]] = {}
        for req in requests:
            if req.host_port_low and req.host_port_low == req.host_port_high:
                fixed.setdefault((req.proto, req.host_ip), []).append(req)
        for (proto, _), group in fixed.items():
            host_ips = self._binding_addresses(ep, net, group[0])
            self._take_ports(proto, host_ips, [r.host_port_low for r in group], taken)
            for req in group:
                mapped(req, host_ips, req.host_port_low)
        for req in requests:
            if not (req.host_port_low and req.host_port_low == req.host_port_high):
                host_ips = self._binding_addresses(ep, net, req)
                mapped(req, host_ips, self._choose_port(req, host_ips, taken))
        return mappings

    def _binding_addresses(self, ep: Endpoint, net: Network, req: PortRequest) -> list[IPAddress]:
        assert net.bridge is not None
        if req.host_ip:
            host_ip = ipaddress.ip_address(req.host_ip)
            if (host_ip.version == 4 and ep.ipv4 is None) or (host_ip.version == 6 and ep.ipv6 is None):
                raise InvalidParameter(
                    f"cannot publish {req.key} on {req.host_ip}: the container has no IPv{host_ip.version} "
                    f"address on network {net.name} (Seaway forwards, it does not proxy between families)"
                )
            return [host_ip]
        default = net.bridge.host_binding_ipv4
        out: list[IPAddress] = []
        if default.version == 4 and ep.ipv4 is not None:
            out.append(default)
        if ep.ipv6 is not None and (default.version == 6 or default == WILDCARD[4]):
            out.append(default if default.version == 6 else WILDCARD[6])
        return out

    def _choose_port(self, req: PortRequest, host_ips: list[IPAddress], taken: list[PortKey]) -> int:
        """An ephemeral port, or the first free one of a host range: free in Seaway's table
        and bindable on every address; held from here. (Fixed ports are taken in bulk.)"""
        if not host_ips:
            return 0
        attempts = 0
        failure: SeawayError | None = None
        for port in self._host_ports.candidates(req.proto, host_ips, req.host_port_low, req.host_port_high):
            try:
                self._take_port(req.proto, host_ips, port, taken)
            except Conflict as exc:  # another program holds it: try the next, as Docker does
                failure = exc
                attempts += 1
                if req.host_port_low == 0 and attempts >= 10:
                    break
                continue
            if req.host_port_low == 0:
                self._host_ports.handed_out(req.proto, port)
            return port
        if req.host_port_low:
            shown = f"[{host_ips[0]}]" if host_ips[0].version == 6 else str(host_ips[0])
            raise Conflict(
                f"Bind for {shown}:{req.host_port_low}-{req.host_port_high} failed: port is already allocated"
            )
        raise failure or Unavailable("all ports are allocated")

    def _take_port(self, proto: str, host_ips: list[IPAddress], port: int, taken: list[PortKey]) -> None:
        self._take_ports(proto, host_ips, [port], taken)

    def _take_ports(self, proto: str, host_ips: list[IPAddress], ports: list[int], taken: list[PortKey]) -> None:
        """Take the ports in Seaway's table and hold them on every address, or none."""
        start = len(taken)
        try:
            for host_ip in host_ips:
                self._host_ports.take_many(proto, host_ip, ports)
                try:
                    self._holds.hold_many(proto, host_ip, ports)
                except BaseException:
                    for port in ports:
                        self._host_ports.release(proto, host_ip, port)
                    raise
                taken.extend((proto, host_ip, port) for port in ports)
        except BaseException:
            self._release_taken(taken[start:])
            del taken[start:]
            raise

    def _release_taken(self, taken: list[PortKey]) -> None:
        for proto, host_ip, port in taken:
            self._holds.release(proto, host_ip, port)
            self._host_ports.release(proto, host_ip, port)

    def _release_ports(self, mappings: tuple[PortMapping, ...]) -> None:
        for m in mappings:
            self._holds.release(m.proto, m.host_ip, m.host_port)
            self._host_ports.release(m.proto, m.host_ip, m.host_port)

    def _rehold_ports(self, ep: Endpoint) -> None:
        """At start-up: take the persisted ports back (the old process's sockets died with it)."""
        for m in ep.ports:
            try:
                self._host_ports.take(m.proto, m.host_ip, m.host_port)
            except Conflict as exc:
                log.error("published port of %s: %s", ep.name, exc)
                continue
            try:
                self._holds.hold(m.proto, m.host_ip, m.host_port)
            except SeawayError as exc:
                log.warning("published port of %s is forwarded, but %s", ep.name, exc)

    # ---------------------------------------------------------------- reconcile

    def reconcile(self) -> None:
        """Make the kernel match the store, finishing or undoing interrupted operations."""
        with self._lock:
            netns.pin_self(self._default_key())
            sysctl.write("net/ipv4/ip_forward", "1")
            with self._store.transaction():
                host_id = self._store.get_meta("host_id")
                if host_id is None:
                    host_id = new_id()
                    self._store.set_meta("host_id", host_id)
            self.host_id = host_id
            self._reset_memory()
            networks = self._reconcile_networks()
            sandboxes = self._reconcile_sandboxes()
            self._reconcile_endpoints(networks, sandboxes)
            self._remove_stale_kernel_objects()
            nft.apply(self._full_ruleset(), "start-up ruleset")
            self.refresh_host_firewall()
            self._ensure_predefined()

    def firewall_commands(self) -> list[ruleset.Command]:
        """Seaway's whole nftables state for the networks and endpoints in memory."""
        with self._lock:
            return self._full_ruleset()

    def _full_ruleset(self) -> list[ruleset.Command]:
        icc_off = [
            e.host_ifname
            for e in self._endpoints.values()
            if (b := self._networks[e.network_id].bridge) is not None and not b.enable_icc
        ]
        bridges = [bridge_rules(n) for n in self._networks.values() if n.bridge is not None]
        published = [m for e in self._endpoints.values() for m in e.ports]
        guards = [port_guard(e) for e in self._endpoints.values() if e.host_ifname]
        return ruleset.full(bridges, icc_off, published, guards)

    def firewall_intact(self) -> bool:
        """Seaway's tables exist with all their rules (a flush or a firewall reload
        removes them). Cheap: rules are listed without set elements."""
        for family, count in ruleset.rule_counts().items():
            outline = nft.table_outline(family, naming.TABLE)
            if outline is None:
                return False
            rules = [o["rule"] for o in outline if "rule" in o]
            if sum(1 for r in rules if not r["chain"].startswith(naming.HOSTFW_PREFIX)) != count:
                return False
        return True

    def restore_firewall(self) -> None:
        """Rebuild Seaway's tables from what the engine knows, in one transaction."""
        with self._lock:
            nft.apply(self._full_ruleset(), "restored ruleset")
            self.refresh_host_firewall()

    def refresh_host_firewall(self) -> hostfw.Mirror:
        """Copy the host's input rules for networks in host-firewall mode (see
        ``seaway.firewall.hostfw``); remove the copy when no network uses the mode."""
        with self._lock:
            enabled = any(n.bridge is not None and n.bridge.host_firewall for n in self._networks.values())
            outline = nft.table_outline(naming.INET, naming.TABLE) or []
            chains = [o["chain"]["name"] for o in outline if "chain" in o]
            sets = {o[k]["name"]: k for o in outline for k in ("set", "map") if k in o}
            if not enabled and not any(c.startswith(naming.HOSTFW_PREFIX) for c in chains):
                return hostfw.Mirror()
            mirror = hostfw.build(nft.list_ruleset()) if enabled else hostfw.Mirror()
            nft.apply(hostfw.remove_previous(chains, sets) + mirror.commands, "host firewall copy")
            for note in mirror.skipped:
                log.warning("host-firewall mode: a host input rule was not copied: %s", note)
            self.host_firewall_skipped = list(mirror.skipped)
            return mirror

    def _reset_memory(self) -> None:
        for container in (self._networks, self._names, self._sandboxes, self._endpoints):
            container.clear()
        self._holds.close()
        self._host_ports = HostPorts(self._host_ports.ephemeral)
        self._by_sandbox.clear()
        self._by_network.clear()
        self._allocators.clear()

    def _reconcile_networks(self) -> dict[str, Network]:
        ready: dict[str, Network] = {}
        for net, state in self._store.networks():
            driver = self._drivers[net.driver]
            if state != READY:
                log.warning("finishing interrupted %s of network %s", state, net.name)
                self._quietly(driver.delete_network, net)
                self._drop_network_record(net.id)
                continue
            if isinstance(driver, BridgeDriver | MacvlanDriver):
                try:
                    with ExitStack() as undo:
                        driver.repair_network(net, undo)
                        undo.pop_all()
                    self._damage.pop(net.id, None)
                except SeawayError as exc:  # kept, and shown as damaged: one network must not stop the daemon
                    log.error("could not repair network %s: %s", net.name, exc)
                    self._damage[net.id] = f"could not be programmed: {exc}"
            self._index_network(net)
            ready[net.id] = net
        return ready

    def _reconcile_sandboxes(self) -> dict[str, Sandbox]:
        ready: dict[str, Sandbox] = {}
        for sb, state in self._store.sandboxes():
            alive = sb.mode == SandboxMode.HOST or netns.is_pinned(Path(sb.key))
            if state != READY or not alive:
                log.warning("removing sandbox %s (state %s, namespace present: %s)", sb.name, state, alive)
                if sb.mode != SandboxMode.HOST:
                    self._quietly(netns.remove, Path(sb.key))
                self._drop_sandbox_record(sb.id)
                continue
            ready[sb.id] = sb
            self._sandboxes[sb.id] = sb
            self._by_sandbox[sb.id] = {}
        return ready

    def _reconcile_endpoints(self, networks: dict[str, Network], sandboxes: dict[str, Sandbox]) -> None:
        rerouted: set[str] = set()
        for ep, state in self._store.endpoints():
            net = networks.get(ep.network_id)
            sb = sandboxes.get(ep.sandbox_id)
            if state != READY or net is None or sb is None:
                log.warning("removing endpoint %s (state %s)", ep.name, state)
                if net is not None:
                    self._quietly(self._drivers[net.driver].leave, net, ep)
                elif ep.host_ifname:
                    self._quietly(links.delete_link, self._host, ep.host_ifname)
                self._drop_endpoint_record(ep.id)
                continue
            driver = self._drivers[net.driver]
            if not driver.endpoint_present(net, ep):
                log.warning("recreating endpoint %s on network %s", ep.name, net.name)
                try:
                    with ExitStack() as undo:
                        driver.leave(net, ep)  # whatever half of the pair is left
                        if ep.ifname in sandbox.interface_names(sb.key):
                            raise InvalidParameter(f"interface {ep.ifname} is taken in sandbox {sb.name}")
                        interface = driver.join(net, ep, sb.key, undo)
                        if interface is not None:
                            sandbox.configure(sb.key, interface, None)
                        undo.pop_all()
                    rerouted.add(sb.id)
                except SeawayError as exc:
                    log.error("could not recreate endpoint %s: %s; removing it", ep.name, exc)
                    self._drop_endpoint_record(ep.id)
                    continue
            self._index_endpoint(ep)
            self._rehold_ports(ep)
            for alloc in self._allocators[net.id]:
                for address in (ep.ipv4, ep.ipv6):
                    if address is not None and address in alloc.subnet.subnet:
                        alloc.request(address)
        for sandbox_id in rerouted:
            self._update_routes(self._sandboxes[sandbox_id])

    def _remove_stale_kernel_objects(self) -> None:
        known = (
            {links.alias_for("net", i) for i in self._networks}
            | {links.alias_for("ep", i) for i in self._endpoints}
            | self._parents.marks()
        )
        for name, alias in links.owned_links(self._host).items():
            if alias not in known:
                log.warning("removing stale link %s (%s)", name, alias)
                self._quietly(links.delete_link, self._host, name)
        keys = {Path(sb.key).name for sb in self._sandboxes.values()} | {"default"}
        if self.config.netns_dir.is_dir():
            for entry in os.scandir(self.config.netns_dir):
                if entry.name not in keys:
                    log.warning("removing stale network namespace %s", entry.path)
                    self._quietly(netns.remove, Path(entry.path))

    def _quietly(self, fn, *args) -> None:  # type: ignore[no-untyped-def]
        """Run a clean-up step whose failure must not stop reconciliation; log it."""
        try:
            fn(*args)
        except SeawayError as exc:
            log.error("clean-up step failed: %s", exc)

    def _ensure_predefined(self) -> None:
        if "none" not in self._names:
            self._apply_network(self._plan_network(NetworkSpec(name="none", driver="null"), predefined=True))
        if "host" not in self._names:
            self._apply_network(self._plan_network(NetworkSpec(name="host", driver="host"), predefined=True))
        default = self._names.get("bridge")
        if self.config.bridge == "none":
            if default is not None and not self._by_network.get(default):
                self._remove_network(self._networks[default])
            return
        if default is None:
            self._apply_network(self._plan_network(self._default_bridge_spec(), predefined=True))

    def _default_bridge_spec(self) -> NetworkSpec:
        options = {
            opts.DEFAULT_BRIDGE: "true",
            opts.BRIDGE_NAME: self.config.bridge,
            opts.ENABLE_ICC: str(self.config.icc).lower(),
            opts.ENABLE_MASQ: str(self.config.ip_masq).lower(),
            opts.HOST_BINDING: "0.0.0.0",
        }
        if self.config.mtu:
            options[opts.MTU] = str(self.config.mtu)
        configs: tuple[IPAMConfigSpec, ...] = ()
        if self.config.bip:
            iface = ipaddress.ip_interface(self.config.bip)
            configs = (IPAMConfigSpec(subnet=str(iface.network), gateway=str(iface.ip)),)
        return NetworkSpec(name="bridge", driver="bridge", ipam_configs=configs, options=options)

    # ---------------------------------------------------------------- health (doctor, status, repair)

    def exclusive(self) -> threading.RLock:
        """The engine's lock, for a consistent look at store, memory and kernel (doctor)."""
        return self._lock

    def leases(self) -> dict[str, frozenset[str]]:
        """Per network, the addresses IPAM holds for endpoints (gateways and aux excluded)."""
        with self._lock:
            return {
                network_id: frozenset(str(a) for alloc in allocs for a in alloc.leases())
                for network_id, allocs in self._allocators.items()
            }

    def network_status(self, net: Network) -> tuple[str, str]:
        """``("ok", "")`` or ``("damaged", reason)``: a failed programming, or a bridge gone.

        One ioctl per call (no dump), so ``network inspect`` can afford it."""
        with self._lock:
            reason = self._damage.get(net.id)
        if reason:
            return "damaged", reason
        if net.bridge is not None and links.index_here(net.bridge.bridge_name) is None:
            return "damaged", f"bridge {net.bridge.bridge_name} is missing (deleted by hand?)"
        return "ok", ""

    def endpoint_status(self, ep: Endpoint) -> tuple[str, str]:
        """Like ``network_status``, for one endpoint: its network, then its host-side veth."""
        try:
            net = self.network(ep.network_id)
        except NotFound:
            return "damaged", "its network is gone"
        state, reason = self.network_status(net)
        if state != "ok":
            return state, f"network {net.name}: {reason}"
        if ep.host_ifname and links.index_here(ep.host_ifname) is None:
            return "damaged", f"host-side veth {ep.host_ifname} is missing"
        return "ok", ""

    def damaged(self) -> list[str]:
        """Reasons for every network or endpoint whose kernel objects are gone (cheap:
        one ioctl per bridge and per veth, no dump); empty when all is well."""
        with self._lock:
            out = [f"network {self._networks[i].name}: {r}" for i, r in self._damage.items() if i in self._networks]
            for net in self._networks.values():
                if net.bridge is not None and links.index_here(net.bridge.bridge_name) is None:
                    out.append(f"network {net.name}: bridge {net.bridge.bridge_name} is missing")
            for ep in self._endpoints.values():
                if ep.host_ifname and links.index_here(ep.host_ifname) is None:
                    out.append(f"endpoint {ep.name}: veth {ep.host_ifname} is missing")
            return out

    def repair(self) -> None:
        """Reconcile while running: recreate what is missing, remove what is stale. Every
        operation holds the same lock, so none is half-way while this runs."""
        with self._lock:
            log.warning("repairing: reconciling the kernel with the store")
            self.reconcile()


def _parse_ip(text: str, version: int) -> IPAddress:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise InvalidParameter(f"invalid IPv{version} address {text!r}") from None
    if address.version != version:
        raise InvalidParameter(f"invalid IPv{version} address {text!r}")
    return address


def _parent_subnets(parent: ParentOptions, subnets: tuple[Subnet, ...]) -> tuple[Subnet, ...]:
    """Subnets of a macvlan/ipvlan network: no gateway in ipvlan L3 modes (routes are
    on-link, Docker's "disable gateway service"); the host shim's address reserved."""
    if parent.mode in ("l3", "l3s"):
        subnets = tuple(replace(s, gateway=None) for s in subnets)
    if not parent.host_shim:
        return subnets
    out = list(subnets)
    for i, subnet in enumerate(out):
        if subnet.version != 4:
            continue
        if parent.host_shim == "auto":
            address = first_free(subnet)
        else:
            address = ipaddress.ip_address(parent.host_shim)
            if address not in subnet.subnet or address in subnet.reserved():
                raise InvalidParameter(f"invalid host_shim address {address}: not a free address of {subnet.subnet}")
        out[i] = replace(subnet, aux_addresses={**subnet.aux_addresses, SHIM_AUX: address})
        return tuple(out)
    raise InvalidParameter("the host shim needs an IPv4 subnet")
