"""The engine of one host: networks, sandboxes and endpoints, and their published ports.

Every change runs the same sequence: plan (validate and allocate, nothing touched:
``NetworkPlanner``, ``EndpointPlanner``) -> persist the intent (state ``creating`` or
``deleting``) -> realize it (``Realizer``: kernel steps, each pushing its undo onto an
``ExitStack``) -> mark the record ``ready`` (or delete it) -> swap in a new snapshot. A
failure unwinds the stack, so a failed operation leaves nothing; a crash leaves records
that are not ``ready``, which ``reconcile`` finishes or undoes at the next start.

Changes are serialised by one lock and run on worker threads. Reads never take it: they
answer from the current ``Snapshot``, so API reads and DNS answers never wait behind
kernel work (a long ``repair`` included). Must run in the host's network namespace.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import replace
from ipaddress import IPv4Address

from seaway.drivers.base import Balances, KnowsPeers, NetworkDriver, PublishesPorts, RoutesUpstream
from seaway.drivers.bridge import BridgeDriver
from seaway.drivers.macvlan import IpvlanDriver, MacvlanDriver
from seaway.drivers.null import HostDriver, NullDriver
from seaway.drivers.overlay import OverlayDriver
from seaway.drivers.parent import Parents
from seaway.drivers.remote import RemoteDriver
from seaway.engine import defaults, firewall, health
from seaway.engine.config import EngineConfig
from seaway.engine.endpoints import EndpointPlanner
from seaway.engine.networks import NetworkPlanner
from seaway.engine.ports import PortPublisher
from seaway.engine.realizer import Realizer
from seaway.engine.reconcile import Reconciler
from seaway.engine.rules import check_leave
from seaway.engine.snapshot import Snapshot
from seaway.engine.swarmpool import ClusterPools, SwarmPool
from seaway.errors import (
    CleanupIncomplete,
    Conflict,
    Forbidden,
    InvalidParameter,
    NotFound,
    SeawayError,
    Unsupported,
)
from seaway.firewall import elements, hostfw, ruleset
from seaway.ipam.pool import AddressPool
from seaway.kernel import addresses, fdlimit, features, netns, nft, nftnl, routedump, sysctl
from seaway.model.endpoint import Endpoint, EndpointSpec, RemoteEndpoint, Sandbox, SandboxMode
from seaway.model.expected import Expected
from seaway.model.gateway import pick_default_routes
from seaway.model.ids import new_id, short_id
from seaway.model.network import IPAddress, Network, NetworkSpec, Subnet
from seaway.model.ports import PortMapping, PortRequest
from seaway.plugins.ipam import RemoteIpam
from seaway.plugins.registry import Plugins
from seaway.state.store import CREATING, DELETING, READY, Store

log = logging.getLogger(__name__)


class Engine:
    """The engine of one host. Create with ``Engine.start(config)``."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self._lock = threading.RLock()
        self._store = Store(config.store_path)
        self._host = netns.route_socket(None)
        self._host_dumps = routedump.RouteDumps()
        self._elements = nftnl.ElementSocket()
        #: optional kernel features (``seaway.kernel.features``): probed once, shown in /info
        self.kernel_features = features.probe()
        self._parents = Parents(self._host, self.kernel_features)
        self._drivers: dict[str, NetworkDriver] = {}
        for driver in (
            BridgeDriver(self._host, config.mtu, config.host_firewall),
            HostDriver(),
            NullDriver(),
            MacvlanDriver(self._host, self._parents),
            IpvlanDriver(self._host, self._parents),
            OverlayDriver(self._host, config.netns_dir),
        ):
            self.register_driver(driver)
        #: network and IPAM plugins, found by name and activated on first use
        self._plugins = Plugins(config.plugin_dirs, config.plugin_timeout)
        self._ipams: dict[str, RemoteIpam] = {}
        self._networks = NetworkPlanner(
            config,
            self._drivers,
            lambda: addresses.onlink_routes(self._host_dumps),
            lambda: self.host_id,
            plugin_driver=self._plugin_driver,
            remote_ipam=self._remote_ipam,
        )
        #: the pools of swarm-scoped networks' subnets (the cluster's, set while in a swarm)
        self.cluster_pools: ClusterPools | None = None
        self._addresses = EndpointPlanner(self._pool_of)
        self._realizer = Realizer(self._drivers, self._host, self._elements)
        self._ports = PortPublisher(self._elements)
        self._view = Snapshot()
        #: object ID -> why its kernel state could not be programmed (see ``health``)
        self._damage: dict[str, str] = {}
        self.host_id = ""
        #: host input rules host-firewall mode could not copy (shown in /info)
        self.host_firewall_skipped: list[str] = []
        #: in a swarm: VXLAN is accepted from these VTEPs only (kept here, so a restore has
        #: them, and in the store, so a restarted daemon's first ruleset has them too)
        self._vxlan = _load_vxlan(self._store.get_meta(VXLAN_META))

    @classmethod
    def start(cls, config: EngineConfig) -> Engine:
        if not nft.available():
            raise Unsupported("nftables: the nft command is not installed (Debian package nftables)")
        engine = cls(config)
        try:
            engine.reconcile()
        except BaseException:
            engine.close()
            raise
        return engine

    def register_driver(self, driver: NetworkDriver) -> None:
        """Make a driver available to ``create_network`` (the contract is open)."""
        self._drivers[driver.name] = driver

    def _plugin_driver(self, name: str, *, activate: bool = True) -> NetworkDriver:
        """A network plugin as a driver (``seaway.drivers.remote``), activated now unless
        it only stands for the driver of stored networks (start-up: the plugin may not be
        up yet, and is asked nothing until it is used)."""
        driver = RemoteDriver(name, self._plugins, self._host)
        if activate:
            driver.activate()
        self.register_driver(driver)
        return driver

    def _remote_ipam(self, name: str, *, activate: bool = True) -> RemoteIpam:
        ipam = self._ipams.get(name)
        if ipam is None:
            ipam = RemoteIpam(name, self._plugins)
            if activate:
                ipam.activate()
            self._ipams[name] = ipam
        return ipam

    def _pool_of(self, net: Network, subnet: Subnet) -> AddressPool | None:
        """The pool of a subnet of a network with a remote IPAM (None: Seaway's own)."""
        if net.multi_host:
            return SwarmPool(net, subnet, lambda: self.cluster_pools)
        if net.config_only or net.ipam_driver in ("", "default"):
            return None
        return self._remote_ipam(net.ipam_driver, activate=False).pool(subnet)

    @property
    def host_socket(self) -> netns.RouteSocket:
        """The engine's netlink socket of the host's namespace (for drivers registered later)."""
        return self._host

    @property
    def store(self) -> Store:
        """The store, shared with the container manager (one SQLite file per daemon)."""
        return self._store

    def close(self) -> None:
        self._ports.close()
        self._elements.close()
        self._host.close()
        self._host_dumps.close()
        self._store.close()

    # ---------------------------------------------------------------- reads (never wait)

    @property
    def view(self) -> Snapshot:
        """The current records, immutable: take it once for a consistent look."""
        return self._view

    def networks(self) -> list[Network]:
        return sorted(self._view.networks.values(), key=lambda n: n.name)

    def network(self, term: str) -> Network:
        return self._view.network(term)

    def endpoints_of_network(self, network_id: str) -> list[Endpoint]:
        return self._view.endpoints_of_network(network_id)

    def sandbox(self, sandbox_id: str) -> Sandbox:
        return self._view.sandbox(sandbox_id)

    def sandboxes(self) -> list[Sandbox]:
        return list(self._view.sandboxes.values())

    def endpoints_of_sandbox(self, sandbox_id: str) -> list[Endpoint]:
        return self._view.endpoints_of_sandbox(sandbox_id)

    def endpoint(self, sandbox_id: str, network_term: str) -> Endpoint:
        view = self._view
        net, sb = view.network(network_term), view.sandbox(sandbox_id)
        ep = view.endpoint_in(sb.id, net.id)
        if ep is None:
            raise NotFound(f"container {sb.name} is not connected to network {net.name}")
        return ep

    def names_members(self, net: Network) -> bool:
        """The network's members have names in the embedded DNS (decided by its driver)."""
        driver = self._drivers.get(net.driver)
        return driver is not None and not net.config_only and driver.names_members(net)

    def upstream_routes(self, net: Network) -> list[str]:
        """Routes a router on the network's segment needs (``subnet via host``)."""
        driver = self._drivers.get(net.driver)
        return driver.upstream_routes(net) if isinstance(driver, RoutesUpstream) else []

    def set_peers(self, network_term: str, peers: Iterable[RemoteEndpoint]) -> None:
        """Tell a multi-host network's driver its endpoints on other hosts (all of them)."""
        with self._lock:
            net, driver = self._peer_driver(network_term)
            driver.set_peers(net, list(peers))

    def change_peers(self, network_id: str, added: Iterable[RemoteEndpoint], removed: Iterable[str]) -> None:
        """Tell a multi-host network's driver of endpoints on other hosts that appeared
        (or changed) and of those that went (by endpoint ID): a cost per change, not per
        peer."""
        with self._lock:
            net, driver = self._peer_driver(network_id)
            driver.change_peers(net, list(added), list(removed))

    def set_balancer(
        self, network_id: str, address: IPv4Address | None, vips: Mapping[IPv4Address, Sequence[IPv4Address]]
    ) -> None:
        """Tell a network's driver this node's LB address on it and every VIP's backends."""
        with self._lock:
            net, driver = self._balancer_driver(network_id)
            driver.set_balancer(net, address, vips)

    def change_vips(
        self,
        network_id: str,
        changes: Mapping[IPv4Address, Sequence[IPv4Address] | None],
        gone: Sequence[IPv4Address] = (),
    ) -> None:
        """VIPs of a network whose backends changed (None: gone), one transaction; flows
        to the backends ``gone`` are forgotten."""
        with self._lock:
            net, driver = self._balancer_driver(network_id)
            driver.change_vips(net, changes, gone)

    def _balancer_driver(self, network_term: str) -> tuple[Network, Balances]:
        net = self._view.network(network_term)
        driver = self._drivers[net.driver]
        if not isinstance(driver, Balances):
            raise InvalidParameter(f"network {net.name} ({net.driver}) balances no service")
        return net, driver

    def _peer_driver(self, network_term: str) -> tuple[Network, KnowsPeers]:
        net = self._view.network(network_term)
        driver = self._drivers[net.driver]
        if not isinstance(driver, KnowsPeers):
            raise InvalidParameter(f"network {net.name} ({net.driver}) has no endpoints on other hosts")
        return net, driver

    def expected(self, view: Snapshot) -> dict[str, Expected]:
        """Per network and endpoint ID, the kernel state its driver describes (the doctor)."""
        return health.expected(view, self._drivers)

    # ---------------------------------------------------------------- networks

    def create_network(self, spec: NetworkSpec, *, predefined: bool = False) -> Network:
        with self._lock:
            net = self._networks.plan(spec, self._view, predefined=predefined)
            self._install_network(net, release=True)
            log.info("network created name=%s id=%s driver=%s", net.name, short_id(net.id), net.driver)
            return net

    def _install_network(self, net: Network, *, release: bool) -> None:
        """Store a planned network and make what a non-lazy driver makes; undone on failure
        (``release``: a remote IPAM's pools given back too)."""
        with ExitStack() as undo:
            if release:
                undo.callback(self._networks.release, net)
            with self._store.transaction():
                self._store.put_network(net, CREATING)
            undo.callback(self._drop_record, self._store.delete_network, net.id)
            if not net.config_only and not self._drivers[net.driver].lazy:
                self._realizer.ensure_network(net, undo)
            with self._store.transaction():
                self._store.set_network_state(net.id, READY)
            undo.pop_all()
        self._addresses.add_network(net)
        self._view = self._view.with_network(net)

    def adopt_network(self, net: Network) -> Network:
        """Take in a network planned elsewhere (a swarm-scoped network the cluster
        allocated): stored as given, its ID and subnets kept; a lazy driver makes nothing
        until the first local endpoint."""
        with self._lock:
            view = self._view
            if net.id in view.networks:
                return view.networks[net.id]
            if net.name in view.names:
                raise Conflict(f"network with name {net.name} already exists")
            if not net.config_only:
                self._drivers[net.driver].check_network(net, [n for n in view.networks.values() if not n.config_only])
            self._install_network(net, release=False)
            log.info("network adopted name=%s id=%s driver=%s", net.name, short_id(net.id), net.driver)
            return net

    def _build_node_local(self, placeholder: Network) -> Network:
        """This node's own instance of a node-local swarm network (``--config-from``),
        planned from its configuration network of that name, in place of the placeholder:
        Docker's ``configuration network "X" does not exist`` when the node has none."""
        spec = NetworkSpec(
            name=placeholder.name,
            driver=placeholder.driver,
            internal=placeholder.internal,
            attachable=placeholder.attachable,
            config_from=placeholder.config_from,
        )
        planned = self._networks.plan(spec, self._view.without_network(placeholder.id))
        net = replace(planned, id=placeholder.id, scope="swarm", created=placeholder.created)
        try:
            self._install_network(net, release=True)
        except BaseException:
            with self._store.transaction():  # the failed install took the placeholder's row with it
                self._store.put_network(placeholder, READY)
            self._view = self._view.with_network(placeholder)
            raise
        log.info("network built name=%s id=%s from=%s", net.name, short_id(net.id), net.config_from)
        return net

    def reclaim_idle(self, network_id: str) -> None:
        """A lazy network without local endpoints holds no kernel objects: remove any a
        daemon killed after its last endpoint went left behind (idempotent)."""
        with self._lock:
            net = self._view.networks.get(network_id)
            if net is None or net.config_only or self._view.member_count(net.id):
                return
            driver = self._drivers[net.driver]
            if driver.lazy:
                driver.delete_network(net)

    def remove_network(self, term: str, *, predefined: bool = False) -> None:
        with self._lock:
            view = self._view
            net = view.network(term)
            if net.predefined and not predefined:
                raise Forbidden(f"{net.name} is a pre-defined network and cannot be removed")
            if net.config_only and any(n.config_from == net.name and not n.placeholder for n in view.networks.values()):
                raise Forbidden(f'error while removing network: configuration network "{net.name}" is in use')
            eps = view.endpoints_of_network(net.id)
            if eps:  # Docker's text (20.10): the network's name and ID
                raise Forbidden(f"error while removing network: network {net.name} id {net.id} has active endpoints")
            with self._store.transaction():
                self._store.set_network_state(net.id, DELETING)
            if not net.config_only and not self._drivers[net.driver].lazy:
                try:
                    self._realizer.remove_network(net)
                except SeawayError:  # a plugin refused or could not be reached: the network stays
                    with self._store.transaction():
                        self._store.set_network_state(net.id, READY)
                    raise
            self._networks.release(net)
            with self._store.transaction():
                self._store.delete_network(net.id)
            self._addresses.drop_network(net.id)
            self._view = self._view.without_network(net.id)
            log.info("network removed name=%s id=%s", net.name, short_id(net.id))

    # ---------------------------------------------------------------- sandboxes

    def create_sandbox(self, name: str, mode: str = SandboxMode.PRIVATE, hostname: str = "") -> Sandbox:
        """A network sandbox: a namespace of its own (``private``, ``none``) or the host's."""
        if mode not in (SandboxMode.PRIVATE, SandboxMode.HOST, SandboxMode.NONE):
            raise InvalidParameter(f"invalid sandbox mode {mode!r}: expected private, host or none")
        fdlimit.check_headroom(f"create sandbox {name}")
        with self._lock:
            sandbox_id = new_id()
            key = self.config.netns_dir / ("default" if mode == SandboxMode.HOST else short_id(sandbox_id))
            sb = Sandbox(id=sandbox_id, name=name, mode=mode, key=str(key), hostname=hostname)
            with ExitStack() as undo:
                with self._store.transaction():
                    self._store.put_sandbox(sb, CREATING)
                undo.callback(self._drop_record, self._store.delete_sandbox, sb.id)
                self._realizer.ensure_sandbox(sb, undo)
                with self._store.transaction():
                    self._store.set_sandbox_state(sb.id, READY)
                undo.pop_all()
            self._view = self._view.with_sandbox(sb)
            return sb

    def remove_sandbox(self, sandbox_id: str) -> None:
        """Disconnect every endpoint and remove the namespace; tries every step."""
        with self._lock:
            sb = self._view.sandbox(sandbox_id)
            with self._store.transaction():
                self._store.set_sandbox_state(sb.id, DELETING)
            failures: list[BaseException] = []
            for ep in self._view.endpoints_of_sandbox(sb.id):
                try:
                    self._disconnect(sb, self._view.networks[ep.network_id], ep, update_routes=False)
                except SeawayError as exc:
                    failures.append(exc)
            try:
                self._realizer.remove_sandbox(sb)
            except SeawayError as exc:
                failures.append(exc)
            if failures:
                raise CleanupIncomplete(f"remove sandbox {sb.name}", failures)
            self._drop_record(self._store.delete_sandbox, sb.id)
            self._view = self._view.without_sandbox(sb.id)

    # ---------------------------------------------------------------- endpoints

    def connect(
        self,
        sandbox_id: str,
        network_term: str,
        spec: EndpointSpec | None = None,
        *,
        record: Callable[[], None] | None = None,
    ) -> Endpoint:
        """Attach a sandbox to a network: an endpoint with addresses, up, routed.
        ``record``: the caller's own record of the membership (the container's), written
        in the transaction that marks the endpoint ready, so a crash never separates them."""
        spec = spec or EndpointSpec()
        with self._lock:
            view = self._view
            sb, net = view.sandbox(sandbox_id), view.network(network_term)
            if (
                net.scope == "swarm" and not net.attachable and not spec.swarm_task
            ):  # Docker's text (the manager's refusal)
                raise Forbidden(
                    f"Could not attach to network {net.name}: rpc error: code = PermissionDenied "
                    f"desc = network {net.name} not manually attachable"
                )
            if net.placeholder:
                net = self._build_node_local(net)
                view = self._view
            driver = self._drivers[net.driver]
            ep = self._addresses.plan(view, sb, net, driver, spec)
            try:
                with ExitStack() as undo:
                    with self._store.transaction():
                        self._store.put_endpoint(ep, CREATING)
                    undo.callback(self._drop_record, self._store.delete_endpoint, ep.id)
                    if driver.lazy and not view.member_count(net.id):
                        self._realizer.ensure_network(net, undo)
                    members = [*view.members(sb.id), (ep, net)]
                    self._realizer.ensure_endpoint(sb, net, ep, members, undo, fresh=True)
                    joined = self._realizer.as_joined(net, ep)  # a plugin's interface name and gateways
                    with self._store.transaction():
                        if joined is ep:
                            self._store.set_endpoint_state(ep.id, READY)
                        else:
                            self._store.put_endpoint(joined, READY)
                            ep = joined
                        if record is not None:
                            record()
                    undo.pop_all()
            except BaseException:
                self._addresses.release(ep)
                raise
            self._view = self._view.with_endpoint(ep)
            log.debug("endpoint ready sandbox=%s network=%s ifname=%s", sb.name, net.name, ep.ifname)
            return ep

    def disconnect(self, sandbox_id: str, network_term: str, *, record: Callable[[], None] | None = None) -> None:
        """Detach a sandbox from a network. ``record``: the caller's record of the
        membership, written in the transaction that starts the removal (a crash after it
        finishes the removal at the next start)."""
        with self._lock:
            view = self._view
            sb, net = view.sandbox(sandbox_id), view.network(network_term)
            ep = view.endpoint_in(sb.id, net.id)
            if ep is None:
                raise Forbidden(f"container {sb.name} is not connected to network {net.name}")
            check_leave(net)
            self._disconnect(sb, net, ep, update_routes=True, record=record)

    def _disconnect(
        self, sb: Sandbox, net: Network, ep: Endpoint, *, update_routes: bool, record: Callable[[], None] | None = None
    ) -> None:
        with self._store.transaction():
            self._store.set_endpoint_state(ep.id, DELETING)
            if record is not None:
                record()
        self._ports.unpublish(ep)
        self._realizer.remove_endpoint(sb, net, ep)
        self._view = self._view.without_endpoint(ep)
        if self._drivers[net.driver].lazy and not self._view.member_count(net.id):
            self._realizer.remove_network(net)
        if update_routes:
            self._realizer.set_routes(sb, self._view.members(sb.id))
        self._drop_record(self._store.delete_endpoint, ep.id)
        self._addresses.release(ep)

    def _drop_record(self, delete, object_id: str) -> None:  # type: ignore[no-untyped-def]
        with self._store.transaction():
            delete(object_id)

    # ---------------------------------------------------------------- published ports

    def publish(self, sandbox_id: str, requests: tuple[PortRequest, ...]) -> tuple[PortMapping, ...]:
        """Forward host ports to the sandbox's gateway endpoint (the endpoint that gives
        it its default route, on a network whose driver publishes ports). Returns the
        mappings made; none when there is no such endpoint (host, none, internal)."""
        with self._lock:
            sb = self._view.sandbox(sandbox_id)
            ep = self._gateway_endpoint(sb)
            if ep is None or not requests:
                for _, net in self._view.members(sb.id) if requests else ():
                    if not isinstance(self._drivers[net.driver], PublishesPorts) and net.driver_options is not None:
                        log.warning("%s driver does not support port mappings", net.driver)  # Docker's warning
                return ()
            net = self._view.networks[ep.network_id]
            driver = self._drivers[net.driver]
            assert isinstance(driver, PublishesPorts)
            with ExitStack() as undo:
                mappings = self._ports.publish(driver, net, ep, requests, undo)
                published = replace(ep, ports=ep.ports + tuple(mappings))
                with self._store.transaction():
                    self._store.put_endpoint(published, READY)
                undo.pop_all()
            self._view = self._view.with_endpoint(published)
            log.info("published %d port(s) of %s", len(mappings), ep.name)
            return tuple(mappings)

    def unpublish(self, sandbox_id: str) -> tuple[PortMapping, ...]:
        """Stop forwarding every published port of the sandbox (it stays connected)."""
        with self._lock:
            out: list[PortMapping] = []
            for ep in self._view.endpoints_of_sandbox(self._view.sandbox(sandbox_id).id):
                if ep.ports:
                    self._ports.unpublish(ep)
                    bare = replace(ep, ports=())
                    with self._store.transaction():
                        self._store.put_endpoint(bare, READY)
                    self._view = self._view.with_endpoint(bare)
                    out += ep.ports
            return tuple(out)

    def _gateway_endpoint(self, sb: Sandbox) -> Endpoint | None:
        """The endpoint whose network gives the sandbox its IPv4 (else IPv6) default route."""
        if sb.mode != SandboxMode.PRIVATE:
            return None
        members = [
            (ep, net)
            for ep, net in self._view.members(sb.id)
            if ep.ifname and isinstance(self._drivers[net.driver], PublishesPorts)
        ]
        routes = pick_default_routes(members)
        for chosen in (routes[4], routes[6]):
            if chosen is not None:
                for ep, _net in members:
                    if ep.ifname == chosen[1]:
                        return ep
        return None

    # ---------------------------------------------------------------- reconcile and firewall

    def reconcile(self) -> None:
        """Make the kernel match the store, finishing or undoing interrupted operations."""
        with self._lock:
            netns.pin_self(self.config.netns_dir / "default")
            sysctl.write("net/ipv4/ip_forward", "1")
            with self._store.transaction():
                host_id = self._store.get_meta("host_id")
                if host_id is None:
                    host_id = new_id()
                    self._store.set_meta("host_id", host_id)
            self.host_id = host_id
            for net, _state in self._store.networks():
                if not net.config_only and net.driver not in self._drivers:
                    self._plugin_driver(net.driver, activate=False)  # a plugin's: asked nothing yet
            reconciler = Reconciler(
                self._store,
                self._drivers,
                self._realizer,
                self._addresses,
                self._ports,
                self._host,
                self.config.netns_dir,
                self._parents.marks,
            )
            self._view = reconciler.run(self._damage)
            nft.apply(self.firewall_commands(), "start-up ruleset")
            self.refresh_host_firewall()
            defaults.ensure_predefined(self)

    def firewall_commands(self) -> list[ruleset.Command]:
        """Seaway's whole nftables state for the records of the current snapshot."""
        return firewall.full_ruleset(self._view, self._drivers, self._vxlan)

    def set_vxlan_members(self, port: int | None, vteps: Iterable[IPAddress]) -> None:
        """VXLAN to UDP ``port`` addressed to this host is dropped unless it comes from one
        of ``vteps`` (``None``: not in a swarm, nothing is dropped). Every member is sent
        again (a set emptied behind the guard's back is refilled), departed ones deleted."""
        with self._lock:
            old, new = self._vxlan, ruleset.VxlanMembers(port, frozenset(vteps))
            old_port = old.port if old.port != new.port else None
            batches = elements.change_vxlan_members(new.vteps, old.vteps - new.vteps, new.port, old_port)
            self._elements.apply(batches, "vxlan members")
            self._vxlan = new
            self._save_vxlan()

    def change_vxlan_members(self, added: Iterable[IPAddress], removed: Iterable[IPAddress]) -> None:
        """VTEPs that became members or stopped being ones: costs the change only."""
        with self._lock:
            added = set(added)
            removed = set(removed) - added
            if self._vxlan.port is None or not (added or removed):
                return
            self._elements.apply(elements.change_vxlan_members(added, removed), "vxlan members")
            self._vxlan = replace(self._vxlan, vteps=(self._vxlan.vteps | added) - removed)
            self._save_vxlan()

    def _save_vxlan(self) -> None:
        """The members as they are now (a membership change is a node-level event: rare,
        and the set is one row whatever the number of endpoints)."""
        members = {"port": self._vxlan.port, "vteps": sorted(str(v) for v in self._vxlan.vteps)}
        self._store.set_meta(VXLAN_META, json.dumps(members))

    def firewall_intact(self) -> bool:
        return firewall.intact()

    def restore_firewall(self) -> None:
        """Rebuild Seaway's tables from the records, in one transaction."""
        with self._lock:
            nft.apply(self.firewall_commands(), "restored ruleset")
            self.refresh_host_firewall()

    def refresh_host_firewall(self) -> hostfw.Mirror:
        with self._lock:
            enabled = any(r.host_firewall for r in firewall.network_rules(self._view, self._drivers))
            mirror = firewall.refresh_host_firewall(enabled)
            self.host_firewall_skipped = list(mirror.skipped)
            return mirror

    # ---------------------------------------------------------------- health (doctor, status, repair)

    def exclusive(self) -> threading.RLock:
        """The engine's lock, for a consistent look at store, records and kernel (doctor)."""
        return self._lock

    def leases(self) -> dict[str, frozenset[str]]:
        """Per network, the addresses IPAM holds for endpoints (gateways and aux excluded)."""
        with self._lock:
            return self._addresses.leases()

    def network_status(self, net: Network) -> tuple[str, str]:
        """``("ok", "")`` or ``("damaged", reason)``; cheap enough for ``network inspect``."""
        return health.network_status(net, self._damage, self._drivers, self._realizer)

    def endpoint_status(self, ep: Endpoint) -> tuple[str, str]:
        return health.endpoint_status(ep, self._view, self._damage, self._drivers, self._realizer)

    def damaged(self) -> list[str]:
        """Reasons for every network or endpoint whose kernel objects are gone; empty when all is well."""
        return health.damaged(self._view, self._damage, self._drivers, self._realizer)

    def repair(self) -> None:
        """Reconcile while running: recreate what is missing, remove what is stale. Reads
        go on answering from the last snapshot meanwhile."""
        with self._lock:
            log.warning("repairing: reconciling the kernel with the store")
            self.reconcile()


VXLAN_META = "vxlan_members"


def _load_vxlan(text: str | None) -> ruleset.VxlanMembers:
    """The VXLAN members a previous run of the daemon kept (none: not in a swarm)."""
    if not text:
        return ruleset.VxlanMembers()
    try:
        doc = json.loads(text)
        return ruleset.VxlanMembers(doc.get("port"), frozenset(ipaddress.ip_address(v) for v in doc.get("vteps", [])))
    except (ValueError, TypeError, AttributeError):
        return ruleset.VxlanMembers()
