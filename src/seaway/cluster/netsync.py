"""Every node's side of swarm-scoped networks: the store's networks taken into the local
engine, other nodes' endpoints programmed as static peers and served by the embedded
DNS, and this node's endpoints published for the others.

* **In**: the node lists ``networks/`` and ``nodes/`` (a snapshot and its revision),
  aligns the engine and the peers with it (a full diff), then watches both prefixes from
  the next revision and applies each batch of changes as it comes: an endpoint that
  appears or goes costs its own netlink entries and DNS names, whatever the size of the
  network (``Engine.change_peers``). Every ``RESYNC`` seconds, and after any failure of
  the watch, it starts over with a snapshot (the periodic full diff).
* **Out**: the daemon tells it (``member_joined``/``member_left``, from the engine's
  threads, the same calls that feed the DNS) of this node's endpoints on swarm-scoped
  networks; they are written to ``nodes/<me>/endpoints/<net>/<ep>`` in order by one task.
  Records of endpoints the engine no longer has, and addresses taken for them (a daemon
  killed mid-way; endpoints its restart cleaned up before it rejoined the swarm), are
  deleted at each full diff.

Networks are adopted on every node (the overlay driver is lazy: nothing is made in the
kernel before a local endpoint), so a container can attach on any node at once.

**Members**: VXLAN to the data-path port is accepted only from member VTEPs: this node's
own data-path address and every VTEP of another node's endpoint records. A ``Counter``
of those records per VTEP tells when one becomes a member (its first endpoint) or stops
being one (its last); only those changes reach the engine (``change_vxlan_members``).
Each full diff sends the whole set again (``set_vxlan_members``), so a set the kernel
lost is refilled within ``RESYNC``; the agent clears it when the node leaves (``forget``).

**Down nodes**: an endpoint of a node whose ``alive`` key is gone (its lease expired: the
node is Down) leaves the DNS answers at once and is back when the node is; its static
FDB and neighbour entries stay, so traffic resumes without a change when it returns.

**Services**: it also follows ``services/``; a service in vip mode answers by its name
and its aliases with its VIP on each of its networks (a member keyed ``vip-<service>``);
a service removed, or off a network, stops answering there on the watch event. Tasks
answer by their own endpoints' aliases (``tasks.<service>``; in dnsrr mode the service's
names too: ``seaway.cluster.taskagent``).

**Load balancing**: a task's endpoint record names its service (``Service``) and whether
it serves (``Serving``: false while it is drained before a stop, or unhealthy). Every
node follows all nodes' records, its own included, into ``seaway.cluster.backends`` and
programs each network's balancer with the VIPs whose backends changed (one transaction
per batch and network, ``Engine.change_vips``). While this node has endpoints on a
network it holds an LB address there (``ipam/addr/<net>/<ip>`` = ``{"Node", "LB"}``,
the source of the flows it balances) and publishes it as an endpoint record
(``nodes/<me>/endpoints/<net>/lb-<me>``, ``LB`` true: a peer for the others, no name),
so replies find their way back; both go with its last endpoint there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any, Protocol

from seaway.cluster import addrpool, netrecords, schema
from seaway.cluster.backends import Backends
from seaway.cluster.mesh import SANDBOX, IngressMesh, mesh_ports
from seaway.cluster.store import Event, Store
from seaway.dns.records import Member, Records
from seaway.drivers.overlay import VXLAN_PORT
from seaway.errors import SeawayError
from seaway.kernel import balancer
from seaway.model import options as opts
from seaway.model.endpoint import Endpoint, RemoteEndpoint
from seaway.model.network import IPAddress, Network, NetworkSpec

log = logging.getLogger(__name__)

RESYNC = 60.0
#: Docker's gateway bridge of a swarm node: the overlays' way out (made once, kept after a leave)
GATEWAY_BRIDGE = NetworkSpec(
    name="docker_gwbridge",
    options={opts.BRIDGE_NAME: "docker_gwbridge", opts.ENABLE_ICC: "false", opts.ENABLE_MASQ: "true"},
)
RETRY = 1.0
#: how long a task's stop waits for every node to have taken its endpoint out of the balancers
DRAIN_BARRIER = 10.0
WITHDRAWN: dict[str, Any] = {}  # the outbox's mark of a record that stops serving (its value kept)


class LocalEngine(Protocol):
    """What this module asks of the node's engine (``seaway.engine.Engine``, a layer up)."""

    @property
    def view(self) -> Any: ...  # the engine's Snapshot: ``networks`` by ID

    def networks(self) -> list[Network]: ...

    def endpoints_of_network(self, network_id: str) -> list[Endpoint]: ...

    def adopt_network(self, net: Network) -> Network: ...

    def create_network(self, spec: NetworkSpec) -> Network: ...

    def remove_network(self, term: str) -> None: ...

    def reclaim_idle(self, network_id: str) -> None: ...

    def set_peers(self, network_term: str, peers: Iterable[RemoteEndpoint]) -> None: ...

    def change_peers(self, network_id: str, added: Iterable[RemoteEndpoint], removed: Iterable[str]) -> None: ...

    def set_vxlan_members(self, port: int | None, vteps: Iterable[IPAddress]) -> None: ...

    def change_vxlan_members(self, added: Iterable[IPAddress], removed: Iterable[IPAddress]) -> None: ...

    def set_balancer(self, network_id: str, address: Any, vips: Any) -> None: ...

    def sandboxes(self) -> list[Any]: ...

    def create_sandbox(self, name: str) -> Any: ...

    def remove_sandbox(self, sandbox_id: str) -> None: ...

    def connect(self, sandbox_id: str, network_term: str, spec: Any = None) -> Any: ...

    def endpoints_of_sandbox(self, sandbox_id: str) -> list[Endpoint]: ...

    def publish(self, sandbox_id: str, requests: Any) -> Any: ...

    def unpublish(self, sandbox_id: str) -> Any: ...

    def change_vips(self, network_id: str, changes: Any, gone: Any = ()) -> None: ...


async def forget(engine: LocalEngine) -> None:
    """The node left the swarm: VXLAN is no longer filtered (no port, no members), the
    routing mesh's sandbox goes (its ports are free again)."""
    try:
        await asyncio.to_thread(engine.set_vxlan_members, None, ())
        for sb in [s for s in engine.sandboxes() if s.name == SANDBOX]:
            await asyncio.to_thread(engine.remove_sandbox, sb.id)
    except SeawayError as exc:
        log.error("swarm: clearing the VXLAN members and the routing mesh: %s", exc)


class NetworkSync:
    def __init__(self, engine: LocalEngine, records: Records | None, node_id: str, vtep: str, hostname: str) -> None:
        self._engine = engine
        self._records = records
        self._me = node_id
        self.vtep = vtep
        self.hostname = hostname
        self._port = VXLAN_PORT  # the cluster's data-path port, read at each full diff
        self._store: Store | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._outbox: asyncio.Queue[tuple[str, dict[str, Any] | None]] = asyncio.Queue()
        #: the store's networks by ID, and other nodes' endpoints per network (ID → record)
        self._networks: dict[str, dict[str, Any]] = {}
        self._remote: dict[str, dict[str, dict[str, Any]]] = {}
        #: other nodes' endpoint records per VTEP (a VTEP is a member while it has one)
        self._vteps: Counter[IPAddress] = Counter()
        #: nodes that are up (their ``alive`` key exists), and the node of each remote endpoint
        self._alive: set[str] = set()
        self._node_of: dict[str, str] = {}
        #: the services' VIP names per network: service ID → {network ID: member}
        self._vips: dict[str, dict[str, Member]] = {}
        #: the services' backends as all nodes' records say (``Backends``)
        self._backends = Backends()
        #: this node's endpoints per network (its own records), and its LB address on each
        self._local: dict[str, set[str]] = {}
        self._lb: dict[str, ipaddress.IPv4Address] = {}
        #: the routing mesh on this node (with the swarm's ingress network), and each
        #: service's mesh ports
        self._mesh: IngressMesh | None = None
        self._mesh_ports: dict[str, list[Any]] = {}
        #: the records this node last published, by key (a withdrawal keeps the value)
        self._sent: dict[str, dict[str, Any]] = {}
        #: the revision of this node's last published record, and the one up to which it has
        #: applied endpoint changes (written to ``applied/<me>`` by one task)
        self._published = 0
        self._applied = 0
        self._applied_due = asyncio.Event()
        #: set by each full diff (tests and the API wait on the first)
        self.synced = asyncio.Event()

    # -- lifecycle (on the daemon's loop)

    def start(self, store: Store) -> list[asyncio.Task[None]]:
        """Its loops, for the caller to cancel when the node leaves or changes role."""
        self._store = store
        self._loop = asyncio.get_running_loop()
        return [
            asyncio.create_task(self._follow(), name="swarm-networks"),
            asyncio.create_task(self._publish(), name="swarm-endpoints"),
            asyncio.create_task(self._report_applied(), name="swarm-applied"),
        ]

    # -- out: this node's endpoints (called from the engine's worker threads)

    def member_joined(self, net: Network, ep: Endpoint, member: Member, container_id: str, service: str = "") -> None:
        if not net.multi_host or self._loop is None:  # a node-local network's endpoints stay on their node
            return
        record = {
            "Name": member.container,
            "Names": list(member.names),
            "IPv4": str(ep.ipv4) if ep.ipv4 else "",
            "IPv6": str(ep.ipv6) if ep.ipv6 else "",
            "MAC": ep.mac_address,
            "VTEP": self.vtep,
            "Host": self.hostname,
            "Container": container_id,
        }
        if service:
            record |= {"Service": service, "Serving": True}
        self._send(schema.node_endpoint(self._me, net.id, ep.id), record)

    def member_withdrawn(self, network_id: str, endpoint_id: str) -> None:
        """The endpoint stays but stops serving (a task being stopped, or unhealthy)."""
        if network_id in self._networks and self._loop is not None:
            self._send(schema.node_endpoint(self._me, network_id, endpoint_id), WITHDRAWN)

    def member_left(self, network_id: str, endpoint_id: str) -> None:
        if network_id in self._networks and self._loop is not None:
            self._send(schema.node_endpoint(self._me, network_id, endpoint_id), None)

    def _send(self, key: str, value: dict[str, Any] | None) -> None:
        assert self._loop is not None
        self._loop.call_soon_threadsafe(self._outbox.put_nowait, (key, value))

    async def _publish(self) -> None:
        while True:
            key, value = await self._outbox.get()
            if value is WITHDRAWN:
                if key not in self._sent or self._sent[key].get("Serving") is not True:
                    continue  # not a serving task's record
                value = {**self._sent[key], "Serving": False}
            if value is None:
                self._sent.pop(key, None)
            else:
                self._sent[key] = value
            while self._store is not None:
                try:
                    if value is None:
                        await self._store.delete(key)
                    else:
                        self._published = await self._store.put(key, value)
                    break
                except SeawayError as exc:  # the store is away: the record waits (in order)
                    log.warning("swarm: publishing endpoint %s: %s", key.rsplit("/", 1)[-1][:12], exc)
                    await asyncio.sleep(RETRY)
            self._outbox.task_done()

    # -- the drain barrier

    async def barrier(self, timeout: float = DRAIN_BARRIER) -> bool:
        """Wait until this node's records are published and every node that is up has
        applied them (``applied/<node>``), at most ``timeout`` seconds: a task being
        stopped has then left every balancer. False when some node did not get there."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            await asyncio.wait_for(self._outbox.join(), timeout)
        except TimeoutError:
            return False
        wanted, late = self._published, set()
        while self._store is not None and loop.time() < deadline:
            applied = {
                e.key[len(schema.APPLIED) :]: int(e.value.get("Revision", 0))
                for e in await self._store.list(schema.APPLIED)
            }
            late = {n for n in self._alive | {self._me} if applied.get(n, 0) < wanted}
            if not late:
                return True
            await asyncio.sleep(0.05)
        log.warning("swarm: nodes %s did not confirm a drain within %.0f s", ", ".join(sorted(late)), timeout)
        return False

    def _note_applied(self, revision: int) -> None:
        if revision > self._applied:
            self._applied = revision
            self._applied_due.set()

    async def _report_applied(self) -> None:
        written = 0
        while True:
            await self._applied_due.wait()
            self._applied_due.clear()
            if self._store is None or self._applied <= written:
                continue
            revision = self._applied
            try:
                await self._store.put(schema.applied(self._me), {"Revision": revision})
                written = revision
            except SeawayError as exc:
                log.warning("swarm: reporting the applied revision: %s", exc)
                await asyncio.sleep(RETRY)
                self._applied_due.set()

    # -- in: the store's networks and the other nodes' endpoints

    async def _follow(self) -> None:
        while True:
            try:
                revision = await self._resync()
                self.synced.set()
                await self._watch(revision + 1)
            except SeawayError as exc:
                log.warning("swarm: following networks: %s", getattr(exc, "detail", "") or exc)
                await asyncio.sleep(RETRY)
            except Exception as exc:  # a long-running loop logs and goes on
                log.error("swarm: following networks: %s", exc, exc_info=True)
                await asyncio.sleep(RETRY)

    async def _resync(self) -> int:
        """The full diff: engine networks, peers, DNS names and this node's records."""
        store = self._store
        assert store is not None
        if GATEWAY_BRIDGE.name not in self._engine.view.names:  # an operator-made one is used as it is
            try:
                await asyncio.to_thread(self._engine.create_network, GATEWAY_BRIDGE)
            except SeawayError as exc:
                log.error("swarm: cannot make docker_gwbridge (overlays have no way out): %s", exc)
        cluster = await store.get(schema.CLUSTER)
        if cluster is not None:
            self._port = int(cluster.value.get("DataPathPort") or VXLAN_PORT)
        nets, r1 = await store.snapshot(schema.NETWORKS)
        nodes, r2 = await store.snapshot(schema.NODES)
        svcs, r3 = await store.snapshot(schema.SERVICES)
        self._networks = {e.value["ID"]: e.value for e in nets if e.key == schema.network(e.value.get("ID", ""))}
        remote: dict[str, dict[str, dict[str, Any]]] = {}
        mine: list[tuple[str, str, str, dict[str, Any]]] = []
        self._alive = {schema.node_of(e.key) for e in nodes if e.key == schema.node_alive(schema.node_of(e.key))}
        self._node_of = {}
        backends = self._backends = Backends()
        for node in self._alive | {self._me}:
            backends.node(node, True)
        for e in nodes:
            where = schema.endpoint_of(e.key)
            if where is None:
                continue
            node, network_id, endpoint_id = where
            backends.endpoint(node, network_id, endpoint_id, e.value)
            if node == self._me:
                mine.append((e.key, network_id, endpoint_id, e.value))
            else:
                remote.setdefault(network_id, {})[endpoint_id] = e.value
                self._node_of[endpoint_id] = node
        old_remote, self._remote = self._remote, remote
        self._vteps = Counter(v for records in remote.values() for r in records.values() if (v := _vtep(r)))
        own = [a for a in (_address(self.vtep),) if a is not None]
        await asyncio.to_thread(self._engine.set_vxlan_members, self._port, {*self._vteps, *own})
        for net in [n for n in self._engine.networks() if n.scope == "swarm" and n.id not in self._networks]:
            await self._drop(net.id)  # first: a new swarm's network may have an old one's name (ingress)
        for record in list(self._networks.values()):
            await self._adopt(record)
        for network_id in self._networks:
            if network_id in self._engine.view.networks and not self._engine.endpoints_of_network(network_id):
                await asyncio.to_thread(self._engine.reclaim_idle, network_id)  # leftovers of a kill
            if network_id in self._engine.view.networks and not netrecords.is_node_local(self._networks[network_id]):
                peers = [_peer(i, r) for i, r in remote.get(network_id, {}).items()]
                await asyncio.to_thread(self._engine.set_peers, network_id, peers)
                self._dns_all(network_id, old_remote.get(network_id, {}), remote.get(network_id, {}))
        view = self._engine.view
        self._lb = {}
        for network_id in self._networks:  # addresses this node holds for endpoints it no longer has
            held = {str(a) for ep in self._engine.endpoints_of_network(network_id) for a in (ep.ipv4, ep.ipv6) if a}
            for e in await store.list(schema.addresses(network_id)):
                if e.value.get("Node") == self._me and e.key.rsplit("/", 1)[1] not in held:
                    if e.value.get("LB") and network_id not in self._lb:  # this node's balancer there
                        self._lb[network_id] = ipaddress.IPv4Address(e.key.rsplit("/", 1)[1])
                        continue
                    await store.delete(e.key)
        self._local = {}
        for key, network_id, endpoint_id, record in mine:  # records of endpoints this node no longer has
            if record.get("LB") and endpoint_id.startswith("lb-"):
                continue  # its balancer's (the routing mesh's sandbox's is an engine endpoint)
            if network_id not in view.networks or not any(
                ep.id == endpoint_id for ep in view.endpoints_of_network(network_id)
            ):
                await store.delete(key)
            else:
                self._local.setdefault(network_id, set()).add(endpoint_id)
                self._sent.setdefault(key, record)  # a withdrawal after a restart keeps it
        wanted = {e.value["ID"]: e.value for e in svcs if e.key == schema.service(e.value.get("ID", ""))}
        for service_id in set(self._vips) - set(wanted):
            self._set_vips(service_id, None)
        for service_id, record in wanted.items():
            self._set_vips(service_id, record)
            backends.service(service_id, record)
        for network_id in set(self._lb) | set(self._local):
            await self._balance(network_id)
        for network_id, address in self._lb.items():
            if network_id in self._engine.view.networks:
                await asyncio.to_thread(self._engine.set_balancer, network_id, address, backends.vips(network_id))
        backends.take()  # what it says is in the balancers just set (or waits for theirs)
        self._mesh_ports = {sid: ports for sid, r in wanted.items() if (ports := mesh_ports(r))}
        await self._sync_mesh(set(self._mesh_ports) | set(self._mesh.services() if self._mesh else ()))
        self._note_applied(min(r1, r2, r3))
        return min(r1, r2, r3)

    async def _watch(self, start: int) -> None:
        store = self._store
        assert store is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + RESYNC
        async with store.follow((schema.NETWORKS, schema.NODES, schema.SERVICES), start) as changes:
            while (events := await changes.next(deadline - loop.time())) is not None:
                await self._apply(events)

    async def _apply(self, events: list[Event]) -> None:
        changes: dict[str, tuple[list[RemoteEndpoint], list[str]]] = {}
        touched: set[str] = set()  # networks where this node's endpoints changed
        meshed: set[str] = set()  # services whose routing-mesh ports changed
        before = set(self._vteps)
        for ev in events:
            if ev.key.startswith(schema.NETWORKS):
                network_id = ev.key[len(schema.NETWORKS) :]
                if ev.value is None:
                    self._networks.pop(network_id, None)
                    await self._drop(network_id)
                else:
                    self._networks[network_id] = ev.value
                    await self._adopt(ev.value)
                continue
            if ev.key.startswith(schema.SERVICES):
                service_id = ev.key[len(schema.SERVICES) :]
                self._set_vips(service_id, ev.value)
                self._backends.service(service_id, ev.value)
                ports = mesh_ports(ev.value) if ev.value is not None else []
                if ports != self._mesh_ports.get(service_id, []):
                    meshed.add(service_id)
                    if ports:
                        self._mesh_ports[service_id] = ports
                    else:
                        self._mesh_ports.pop(service_id, None)
                continue
            where = schema.endpoint_of(ev.key)
            if where is None:
                self._note_alive(ev)
                continue
            node, network_id, endpoint_id = where
            self._backends.endpoint(node, network_id, endpoint_id, ev.value)
            if node == self._me:
                if not (ev.value or {}).get("LB"):
                    local = self._local.setdefault(network_id, set())
                    (local.add if ev.value is not None else local.discard)(endpoint_id)
                    touched.add(network_id)
                continue
            self._node_of[endpoint_id] = node
            added, removed = changes.setdefault(network_id, ([], []))
            known = self._remote.setdefault(network_id, {})
            self._count(known.get(endpoint_id), -1)
            if ev.value is None:
                known.pop(endpoint_id, None)
                self._node_of.pop(endpoint_id, None)
                removed.append(endpoint_id)
                self._dns_drop(network_id, endpoint_id)
            else:
                self._count(ev.value, +1)
                known[endpoint_id] = ev.value
                added.append(_peer(endpoint_id, ev.value))
                self._dns_set(network_id, endpoint_id, ev.value)
        own = _address(self.vtep)
        joined, gone = set(self._vteps) - before, before - set(self._vteps) - {own}
        if joined or gone:  # members first: the peers' traffic is accepted once they are programmed
            await asyncio.to_thread(self._engine.change_vxlan_members, joined, gone)
        for network_id, (added, removed) in changes.items():
            if network_id in self._engine.view.networks:
                await asyncio.to_thread(self._engine.change_peers, network_id, added, removed)
        for network_id in touched:
            await self._balance(network_id)
        for network_id, change in self._backends.take().items():
            if network_id in self._lb and network_id in self._engine.view.networks:
                await asyncio.to_thread(self._engine.change_vips, network_id, change.vips, change.gone)
            if self._mesh is not None and network_id == self._mesh.ingress_id:
                meshed.update(change.services)
        if meshed:
            await self._sync_mesh(meshed)
        # endpoint changes only: other nodes' heartbeats would make every node write at each
        self._note_applied(max((ev.mod_revision for ev in events if schema.endpoint_of(ev.key)), default=0))

    # -- this node's balancers

    async def _sync_mesh(self, services: set[str]) -> None:
        """The routing mesh: its sandbox made with the ingress network, then these
        services' ports and tasks in it."""
        ingress = next((n for n, r in self._networks.items() if r.get("Ingress")), None)
        if self._mesh is not None and self._mesh.ingress_id != ingress:
            await asyncio.to_thread(self._mesh.remove)
            self._mesh = None
        if ingress is None or ingress not in self._engine.view.networks:
            return
        if self._mesh is None:
            mesh = IngressMesh(self._engine, ingress)
            try:
                ep = await asyncio.to_thread(mesh.ensure, GATEWAY_BRIDGE.name)
            except SeawayError as exc:
                log.error("swarm: the routing mesh cannot be set up on this node: %s", exc)
                return
            self._mesh = mesh
            services = services | set(self._mesh_ports)
            if self._store is not None:
                record = self._peer_record("ingress-endpoint", str(ep.ipv4 or ""), ep.mac_address)
                await self._store.put(schema.node_endpoint(self._me, ingress, ep.id), record)
        for service_id in sorted(services):
            ports = self._mesh_ports.get(service_id, [])
            backends = self._backends.backends(ingress, service_id) if ports else []
            try:
                await asyncio.to_thread(self._mesh.set_service, service_id, ports, backends)
            except SeawayError as exc:
                log.error("swarm: routing mesh of service %s: %s", service_id[:12], exc)

    async def _balance(self, network_id: str) -> None:
        """This node holds an LB address on a network while it has endpoints there
        (not on ingress: the routing mesh balances there, from its own sandbox)."""
        if (self._networks.get(network_id) or {}).get("Ingress"):
            return
        if self._local.get(network_id) and network_id not in self._lb:
            await self._take_lb(network_id)
        elif not self._local.get(network_id) and network_id in self._lb:
            await self._give_lb(network_id)

    async def _take_lb(self, network_id: str) -> None:
        store, net = self._store, self._engine.view.networks.get(network_id)
        subnet = next((s for s in net.subnets if s.version == 4), None) if net is not None else None
        if store is None or net is None or subnet is None:
            return  # not here yet, or IPv6 only (VIPs are IPv4)
        address = await addrpool.allocate_next(store, net, subnet, {"Node": self._me, "LB": True})
        assert isinstance(address, ipaddress.IPv4Address)
        self._lb[network_id] = address
        record = self._peer_record(f"lb-{net.name}", str(address), balancer.mac_of(address))
        await store.put(self._lb_key(network_id), record)
        await asyncio.to_thread(self._engine.set_balancer, network_id, address, self._backends.vips(network_id))
        log.info("swarm: load balancer of network %s on this node at %s", net.name, address)

    async def _give_lb(self, network_id: str) -> None:
        store = self._store
        address = self._lb.pop(network_id)
        assert store is not None
        if network_id in self._engine.view.networks:
            await asyncio.to_thread(self._engine.set_balancer, network_id, None, {})
        await store.delete(self._lb_key(network_id))
        await store.delete(schema.address(network_id, str(address)))

    def _peer_record(self, name: str, ipv4: str, mac: str) -> dict[str, Any]:
        """The record of an endpoint of this node that is a peer only (``LB``: no name, no
        backend): a balancer's address, the routing mesh's sandbox."""
        return {
            "Name": name, "Names": [], "IPv4": ipv4, "IPv6": "", "MAC": mac,
            "VTEP": self.vtep, "Host": self.hostname, "Container": "", "LB": True,
        }  # fmt: skip

    def _lb_key(self, network_id: str) -> str:
        return schema.node_endpoint(self._me, network_id, f"lb-{self._me[:12]}")

    def _note_alive(self, ev: Event) -> None:
        """A node's ``alive`` key came or went: its endpoints answer by name, or stop."""
        node = schema.node_of(ev.key)
        if ev.key != schema.node_alive(node) or node == self._me:
            return
        if (ev.value is not None) == (node in self._alive):
            return
        if ev.value is None:
            self._alive.discard(node)
        else:
            self._alive.add(node)
        self._backends.node(node, ev.value is not None)
        for network_id, records in self._remote.items():
            for endpoint_id, record in records.items():
                if self._node_of.get(endpoint_id) == node:
                    if ev.value is None:
                        self._dns_drop(network_id, endpoint_id)
                    else:
                        self._dns_set(network_id, endpoint_id, record)

    def _count(self, record: dict[str, Any] | None, step: int) -> None:
        vtep = _vtep(record) if record is not None else None
        if vtep is not None:
            self._vteps[vtep] += step
            if self._vteps[vtep] <= 0:
                del self._vteps[vtep]

    async def _adopt(self, record: dict[str, Any]) -> None:
        if record["ID"] in self._engine.view.networks:
            return
        net = netrecords.to_network(record, self.vtep, self._port)
        try:
            await asyncio.to_thread(self._engine.adopt_network, net)
        except SeawayError as exc:
            log.error("swarm: network %s cannot be used on this node: %s", record["Name"], exc)
            return
        peers = [_peer(i, r) for i, r in self._remote.get(net.id, {}).items()]
        if peers and net.multi_host:
            await asyncio.to_thread(self._engine.set_peers, net.id, peers)
        self._dns_all(net.id, {}, self._remote.get(net.id, {}))
        if self._records is not None:
            for service_id, members in self._vips.items():
                if net.id in members:
                    self._records.set_member(net.id, net.name, f"vip-{service_id}", members[net.id])

    async def _drop(self, network_id: str) -> None:
        if network_id not in self._engine.view.networks:
            return
        if self._engine.endpoints_of_network(network_id):
            name = self._engine.view.networks[network_id].name
            log.warning("swarm: network %s was removed from the swarm but has endpoints on this node", name)
            return
        try:
            await asyncio.to_thread(self._engine.reclaim_idle, network_id)  # what a crash may have left
            await asyncio.to_thread(self._engine.remove_network, network_id)
        except SeawayError as exc:
            log.error("swarm: removing network %s: %s", network_id, exc)
        if self._records is not None:
            self._records.drop_network(network_id)

    # -- the embedded DNS: other nodes' members

    def _dns_all(self, network_id: str, before: dict[str, Any], now: dict[str, Any]) -> None:
        for endpoint_id in before.keys() - now.keys():
            self._dns_drop(network_id, endpoint_id)
        for endpoint_id, record in now.items():
            self._dns_set(network_id, endpoint_id, record)

    def _dns_set(self, network_id: str, endpoint_id: str, record: dict[str, Any]) -> None:
        net = self._engine.view.networks.get(network_id)
        if self._records is None or net is None:
            return
        if record.get("LB") or net.ingress:
            return  # a node's balancer, or the routing mesh's network: a peer, not a name
        if self._node_of.get(endpoint_id, "") not in self._alive or record.get("Serving") is False:
            self._records.drop_member(network_id, endpoint_id)  # a Down node's, or a drained task's
            return
        member = Member(
            record.get("Name", ""),
            tuple(record.get("Names") or ()),
            ipaddress.IPv4Address(record["IPv4"]) if record.get("IPv4") else None,
            ipaddress.IPv6Address(record["IPv6"]) if record.get("IPv6") else None,
        )
        self._records.set_member(network_id, net.name, endpoint_id, member)

    def _dns_drop(self, network_id: str, endpoint_id: str) -> None:
        if self._records is not None:
            self._records.drop_member(network_id, endpoint_id)

    def _set_vips(self, service_id: str, record: dict[str, Any] | None) -> None:
        """The names a service's VIPs answer to, per network (``record`` None: removed)."""
        wanted = netrecords.vip_members(record) if record is not None else {}
        before = self._vips.pop(service_id, {})
        if wanted:
            self._vips[service_id] = wanted
        if self._records is None:
            return
        key = f"vip-{service_id}"
        for network_id in before.keys() - wanted.keys():
            self._records.drop_member(network_id, key)
        for network_id, member in wanted.items():
            net = self._engine.view.networks.get(network_id)
            if net is not None and before.get(network_id) != member:
                self._records.set_member(network_id, net.name, key, member)

    # -- queries

    def record(self, network_id: str) -> dict[str, Any] | None:
        return self._networks.get(network_id)

    def balancer(self, network_id: str) -> tuple[ipaddress.IPv4Address, str] | None:
        """This node's LB address on the network and its MAC, while it has one."""
        address = self._lb.get(network_id)
        return (address, balancer.mac_of(address)) if address is not None else None

    def remote_endpoints(self, network_id: str) -> dict[str, dict[str, Any]]:
        return dict(self._remote.get(network_id, {}))


def _address(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _vtep(record: dict[str, Any]) -> IPAddress | None:
    return _address(str(record.get("VTEP") or ""))


def _peer(endpoint_id: str, record: dict[str, Any]) -> RemoteEndpoint:
    return RemoteEndpoint(
        endpoint_id=endpoint_id,
        mac_address=record["MAC"],
        vtep=ipaddress.ip_address(record["VTEP"]),
        ipv4=ipaddress.ip_address(record["IPv4"]) if record.get("IPv4") else None,
        ipv6=ipaddress.ip_address(record["IPv6"]) if record.get("IPv6") else None,
    )
