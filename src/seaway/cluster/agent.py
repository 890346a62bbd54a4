"""The node agent: this daemon's part in a swarm.

It owns the node's local swarm state (``<data-root>/swarm/``: ``state.json``, the
certificates, the etcd member of a manager), carries out init, join and leave, and runs
the node's loops while it is in a swarm:

* **heartbeat** (every node): a lease of ``LEASE_TTL`` seconds renewed every
  ``HEARTBEAT`` seconds; the node's ``alive`` key hangs on it, so a node that dies is
  Down once the lease expires. The node also writes its description.
* **campaign** (managers): "create ``leader`` if absent" on the node's lease; the winner
  remembers the revision it won at and writes leader-only keys with a txn that compares
  ``leader``'s ``mod_revision`` with it (``Store.put_fenced``), so a deposed leader's
  writes fail. The leader promotes etcd learners that have caught up.
* **join API** (managers): ``seaway.cluster.joinapi`` on the listen address.
* **role watch** (every node): carries out ``docker node promote/demote`` of this node.
* **renewal** (every node): a new certificate for the node's own key at 50–80 % of its life.
* **tasks** (every node): ``seaway.cluster.taskagent`` runs the tasks assigned to it.
* **services** (the leader): ``seaway.cluster.servicelead`` runs the orchestrator.

Management calls (``require_manager``) answer Docker's texts: not in a swarm, a worker,
or a manager whose etcd has no quorum (503, "The swarm does not have a leader…").
Containers are never touched: leaving a swarm or losing quorum leaves them running.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import logging
import os
import platform
import random
import shutil
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization

from seaway.cluster import (
    addresses,
    etcdproc,
    identity,
    joinapi,
    networks,
    rbac,
    schema,
    servicedoc,
    services,
    servicespec,
    views,
)
from seaway.cluster.addrpool import ClusterAddresses
from seaway.cluster.netsync import LocalEngine, NetworkSync, forget
from seaway.cluster.servicelead import ServiceLead, task_record
from seaway.cluster.servicelead import read as read_services
from seaway.cluster.store import Credentials, NoLeader, Store
from seaway.cluster.taskagent import TaskAgent, TaskRuntime
from seaway.dns.records import Records
from seaway.errors import Conflict, Forbidden, InvalidParameter, NotFound, SeawayError, Unavailable
from seaway.kernel import features
from seaway.model.network import NetworkSpec

log = logging.getLogger(__name__)

LEASE_TTL = 5
HEARTBEAT = 1.25
CAMPAIGN = 1.0
READY_TIMEOUT = 30.0
ROLE_WATCH = 1.0
RENEW_CHECK = 3600.0  # seconds between looks at the certificate's age
RENEW_FROM, RENEW_TO = 0.5, 0.8
BUSY_MEMBERSHIP = ("unhealthy cluster", "too many learner members")
HOSTNAME_ENV = "SEAWAY_HOSTNAME"  # the hostname nodes show (labs set one per host); default the kernel's

NOT_IN_SWARM = "This node is not part of a swarm"
ALREADY_IN_SWARM = (
    'This node is already part of a swarm. Use "docker swarm leave" to leave this swarm and join another one.'
)
NOT_A_MANAGER = (
    'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node '
    "to swarm and try again."
)
WORKER_NETWORK_CREATE = (
    "Cannot create a multi-host network from a worker node. Please create the network from a manager node."
)
LOCAL_WAIT = 5.0
WORKER_REFUSED = (
    "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state. "
    "Please run this command on a manager node or promote the current node to a manager."
)
BAD_SECRET = "rpc error: code = InvalidArgument desc = A valid join token is necessary to join this cluster"
LEAVE_MANAGER = "You are attempting to leave the swarm on a node that is participating as a manager. "
LEAVE_LAST = "Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message. "
LEAVE_QUORUM = (
    "Removing this node leaves {left} managers out of {total}. Without a Raft quorum your swarm will be inaccessible. "
)
LEAVE_TAIL = (
    "The only way to restore a swarm that has lost consensus is to reinitialize it with `--force-new-cluster`. "
    "Use `--force` to suppress this message."
)


@dataclass
class LocalState:
    """What this node remembers of its swarm (``state.json``)."""

    node_id: str
    cluster_id: str
    role: str
    advertise_addr: str
    listen_addr: str
    listen_port: int
    data_path_addr: str = ""
    endpoints: list[str] = field(default_factory=list)  # etcd clients "ip:2379" (workers: the managers')
    remote_managers: list[str] = field(default_factory=list)  # "ip:2377"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Agent:
    def __init__(self, data_root: Path, engine_version: str) -> None:
        self.root = data_root / "swarm"
        self.engine_version = engine_version
        self.state: LocalState | None = None
        self.store: Store | None = None
        self.error = ""
        self._pending = False
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._watch: asyncio.Task[None] | None = None
        self._site: web.AppRunner | None = None
        self._lease = 0
        self._leader_revision = 0  # the revision this node won the leadership at (0: not leader)
        self._noted_term = 0  # the leadership the leader-term key records
        self._etcd_pid: int | None = None
        self._ca_pem = b""
        #: the node's engine and DNS records (``attach``), and while in a swarm its side
        #: of the swarm-scoped networks
        self._engine: LocalEngine | None = None
        self._records: Records | None = None
        self._runtime: TaskRuntime | None = None
        self.networking: NetworkSync | None = None
        self.task_agent: TaskAgent | None = None
        self.service_lead: ServiceLead | None = None

    def attach(self, engine: Any, records: Records | None, runtime: TaskRuntime | None = None) -> None:
        """The node's engine (``seaway.engine.Engine``) and embedded DNS records, which
        swarm-scoped networks are taken into, and the daemon's containers tasks run as."""
        self._engine = engine
        self._records = records
        self._runtime = runtime

    # -- files

    @property
    def certs(self) -> Path:
        return self.root / "certificates"

    @property
    def creds(self) -> Credentials:
        return Credentials(self.certs / "ca.pem", self.certs / "node.pem", self.certs / "node.key")

    @property
    def etcd_root(self) -> Path:
        return self.root / "etcd"

    def _save(self) -> None:
        assert self.state is not None
        tmp = self.root / "state.json.tmp"
        tmp.write_text(json.dumps(asdict(self.state), indent=2))
        tmp.rename(self.root / "state.json")

    def _write_certs(self, ca_pem: bytes, cert_pem: bytes, key_pem: bytes | None) -> None:
        self.certs.mkdir(parents=True, exist_ok=True)
        (self.certs / "ca.pem").write_bytes(ca_pem)
        (self.certs / "node.pem").write_bytes(cert_pem)
        if key_pem is not None:
            fd = os.open(self.certs / "node.key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(key_pem)
        self._ca_pem = ca_pem

    # -- what the API asks

    @property
    def local_state(self) -> str:
        if self._pending:
            return "pending"
        if self.state is None:
            return "error" if self.error else "inactive"
        return "active"

    @property
    def is_manager(self) -> bool:
        return self.state is not None and self.state.role == "manager"

    def ping_header(self) -> str:
        state = self.local_state
        if state == "active":
            return f"active/{'manager' if self.is_manager else 'worker'}"
        return state

    async def require_manager(self) -> Store:
        """The store, for a management call; Docker's texts when this node can't serve one."""
        if self.state is None or self.store is None:
            raise Unavailable(NOT_A_MANAGER)
        if not self.is_manager:
            raise Unavailable(WORKER_REFUSED)
        if not await self.store.leader_known():
            raise NoLeader()
        return self.store

    # -- start and stop

    async def start(self) -> None:
        """Resume the swarm this node was in when the daemon stopped (if any)."""
        path = self.root / "state.json"
        if not path.exists():
            return
        try:
            self.state = LocalState(**json.loads(path.read_text()))
            self._ca_pem = self.creds.ca.read_bytes()
            if self.is_manager:
                await self._start_etcd(new=False, initial=())
            await self._connect()
            self._activate()
            log.info("swarm: resumed as %s %s", self.state.role, self.state.node_id)
        except (OSError, ValueError, TypeError, SeawayError) as exc:
            self.error = f"could not resume the swarm: {exc}"
            log.error("swarm: %s", self.error)
            self.state = None

    async def close(self) -> None:
        """Stop the loops, the join API and (on a manager) etcd; the swarm state stays."""
        await self._deactivate()
        if self.store is not None:
            await self.store.close()
            self.store = None
        await asyncio.to_thread(etcdproc.stop, self.etcd_root)

    # -- init

    async def init(self, req: dict[str, Any]) -> str:
        async with self._lock:
            if self.state is not None:
                raise Unavailable(ALREADY_IN_SWARM)
            listen_host, listen_port = addresses.split(str(req.get("ListenAddr") or "0.0.0.0:2377"))
            listen = await asyncio.to_thread(addresses.resolve, listen_host)
            advertise = str(req.get("AdvertiseAddr") or "")
            if advertise:
                advertise = await asyncio.to_thread(addresses.resolve, addresses.split(advertise, listen_port)[0])
            elif listen not in ("0.0.0.0", "::"):
                advertise = listen
            else:
                advertise = await asyncio.to_thread(addresses.pick_for_init)
            data_path = str(req.get("DataPathAddr") or "")
            port = int(req.get("DataPathPort") or 4789)
            if not 1024 <= port <= 49151 and port != 4789:
                raise InvalidParameter(f"data path port {port} is not in the range 1024 to 49151")
            await asyncio.to_thread(addresses.check_local, advertise)
            cluster_id, node_id = identity.new_id(), identity.new_id()
            try:
                await self._init(req, cluster_id, node_id, advertise, listen, listen_port, data_path, port)
            except BaseException:
                await self._wipe()
                raise
            return node_id

    async def _init(
        self, req: dict[str, Any], cluster_id: str, node_id: str, advertise: str, listen: str, listen_port: int,
        data_path: str, data_path_port: int,
    ) -> None:  # fmt: skip
        self.root.mkdir(parents=True, exist_ok=True)
        ca = identity.new_ca(cluster_id)
        key = identity.new_key()
        cert = identity.sign_node(ca, identity.new_csr(key), node_id, "manager", cluster_id, [advertise])
        self._write_certs(ca.cert_pem, cert, identity.key_pem(key))
        self.state = LocalState(
            node_id, cluster_id, "manager", advertise, listen, listen_port, data_path,
            endpoints=["127.0.0.1:2379"], remote_managers=[f"{advertise}:{listen_port}"],
        )  # fmt: skip
        peer = etcdproc.url(advertise, etcdproc.PEER_PORT)
        await self._start_etcd(new=True, initial=((node_id, peer),))
        await self._connect()
        store = self.store
        assert store is not None
        await rbac.enable(store, node_id)
        now = _now()
        spec = {**views.DEFAULT_SPEC, **(req.get("Spec") or {})}
        pools = req.get("DefaultAddrPool") or ["10.0.0.0/8"]
        record = {
            "ID": cluster_id, "CreatedAt": now, "UpdatedAt": now, "Spec": spec, "DefaultAddrPool": pools,
            "SubnetSize": int(req.get("SubnetSize") or 24), "DataPathPort": data_path_port,
        }  # fmt: skip
        await store.put(schema.CLUSTER, record)
        await store.put(schema.CA, {"Cert": ca.cert_pem.decode(), "Key": ca.key_pem.decode()})
        await store.put(schema.TOKENS, {"worker": identity.new_secret(), "manager": identity.new_secret()})
        await self._register_manager(store, node_id, advertise, listen_port, await self._own_member_id(store))
        await store.put(schema.node_spec(node_id), _node_spec("manager", now))
        await networks.create_ingress(store)
        self._save()
        self._activate()
        await self._wait_ready(leader=True)

    async def _own_member_id(self, store: Store) -> int:
        assert self.state is not None
        members = await store.members()
        return next((m.id for m in members if m.name == self.state.node_id), 0)

    async def _register_manager(self, store: Store, node_id: str, addr: str, port: int, member_id: int) -> None:
        await store.put(
            schema.manager(node_id),
            {"Addr": f"{addr}:{port}", "Client": f"{addr}:{etcdproc.CLIENT_PORT}",
             "Peer": etcdproc.url(addr, etcdproc.PEER_PORT), "MemberID": str(member_id)},
        )  # fmt: skip

    # -- join (the joining side)

    async def join(self, req: dict[str, Any]) -> None:
        async with self._lock:
            if self.state is not None:
                raise Unavailable(ALREADY_IN_SWARM)
            token = identity.parse_token(str(req.get("JoinToken") or ""))
            remotes = [str(r) for r in req.get("RemoteAddrs") or []]
            if not remotes:
                raise InvalidParameter("at least 1 RemoteAddr is required to join")
            remote, remote_port = addresses.split(remotes[0])
            remote = await asyncio.to_thread(addresses.resolve, remote)
            listen_host, listen_port = addresses.split(str(req.get("ListenAddr") or "0.0.0.0:2377"))
            listen = await asyncio.to_thread(addresses.resolve, listen_host)
            advertise = str(req.get("AdvertiseAddr") or "")
            if advertise:
                advertise = await asyncio.to_thread(addresses.resolve, addresses.split(advertise, listen_port)[0])
            else:
                advertise = await asyncio.to_thread(addresses.source_toward, remote)
            await asyncio.to_thread(addresses.check_local, advertise)
            self._pending = True
            try:
                ca_pem = await joinapi.fetch_ca(remote, remote_port, token)
                key = identity.new_key()
                answer = await joinapi.request_join(
                    remote, remote_port, ca_pem,
                    {"Digest": token.digest, "Secret": token.secret, "CSR": identity.new_csr(key).decode(),
                     "Addr": advertise, "ListenPort": listen_port, "Description": self._description(advertise)},
                )  # fmt: skip
                await self._joined(
                    answer, ca_pem, key, advertise, listen, listen_port, str(req.get("DataPathAddr") or "")
                )
            except BaseException:
                await self._wipe()
                raise
            finally:
                self._pending = False

    async def _joined(
        self, answer: dict[str, Any], ca_pem: bytes, key: Any, advertise: str, listen: str, listen_port: int,
        data_path: str,
    ) -> None:  # fmt: skip
        self.root.mkdir(parents=True, exist_ok=True)
        self._write_certs(ca_pem, answer["Cert"].encode(), identity.key_pem(key))
        role = answer["Role"]
        others = [str(e) for e in answer["Endpoints"]]
        self.state = LocalState(
            answer["NodeID"], answer["ClusterID"], role, advertise, listen, listen_port, data_path,
            endpoints=others, remote_managers=[str(a) for a in answer["Managers"]],
        )  # fmt: skip
        if role == "manager":
            initial = tuple((str(n), str(u)) for n, u in answer["InitialCluster"])
            await self._start_etcd(new=False, initial=initial)
            await self._connect()  # through the other managers while this member is a learner
            assert self.store is not None
            await self._promote_self(int(answer["MemberID"]))
            await self._register_manager(
                self.store, self.state.node_id, advertise, listen_port, int(answer["MemberID"])
            )
            await self.store.close()
            self.state.endpoints = ["127.0.0.1:2379"]
        await self._connect()
        self._save()
        self._activate()
        await self._wait_ready(leader=False)

    async def _promote_self(self, member_id: int) -> None:
        """Promote this node's learner once etcd says it has caught up (3.4 refuses before)."""
        assert self.store is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT
        while True:
            try:
                member = next((m for m in await self.store.members() if m.id == member_id), None)
                if member is not None and not member.learner:
                    return  # the leader promoted it already
                await self.store.promote(member_id)
                return
            except SeawayError as exc:
                detail = getattr(exc, "detail", "") or str(exc)
                if loop.time() > deadline:
                    raise Unavailable(f"this node's etcd member did not catch up with the cluster: {detail}") from None
                log.debug("swarm: promoting this node's etcd member: %s", detail)
                await asyncio.sleep(0.3)

    def _description(self, addr: str) -> dict[str, Any]:
        return {
            "Hostname": os.environ.get(HOSTNAME_ENV) or socket.gethostname(), "Addr": addr, "EngineVersion": self.engine_version,
            "Architecture": platform.machine(), "NanoCPUs": (os.cpu_count() or 1) * 1_000_000_000,
            "MemoryBytes": features.memory_bytes(),
        }  # fmt: skip

    # -- join (the manager's side)

    async def accept_join(self, body: dict[str, Any]) -> dict[str, Any]:
        """Admit a node that presents a valid token (the join API's handler)."""
        store = await self.require_manager()
        assert self.state is not None
        tokens = await store.get(schema.TOKENS)
        ca_entry = await store.get(schema.CA)
        assert tokens is not None and ca_entry is not None
        ca = identity.KeyPair(ca_entry.value["Cert"].encode(), ca_entry.value["Key"].encode())
        if str(body.get("Digest")) != identity.ca_digest(ca.cert_pem):
            raise InvalidParameter(BAD_SECRET)
        secret = str(body.get("Secret", ""))
        role = next((r for r in ("manager", "worker") if identity.secret_matches(secret, tokens.value[r])), None)
        if role is None:
            raise InvalidParameter(BAD_SECRET)
        addr = str(body.get("Addr", ""))
        node_id = identity.new_id()
        cert = identity.sign_node(ca, str(body.get("CSR", "")).encode(), node_id, role, self.state.cluster_id, [addr])
        managers = await store.list(schema.MANAGERS)
        answer: dict[str, Any] = {
            "NodeID": node_id, "ClusterID": self.state.cluster_id, "Role": role, "Cert": cert.decode(),
            "Endpoints": [m.value["Client"] for m in managers], "Managers": [m.value["Addr"] for m in managers],
        }  # fmt: skip
        member_id = 0
        if role == "manager":  # first, as it is what may be refused; nothing is written before it
            member_id, members = await self._add_learner(store, etcdproc.url(addr, etcdproc.PEER_PORT))
            answer["MemberID"] = str(member_id)
            answer["InitialCluster"] = [(m.name or node_id, m.peer_urls[0]) for m in members if m.peer_urls]
        try:
            await rbac.add_node(store, node_id, role)
            await store.put(schema.node_desc(node_id), {**(body.get("Description") or {}), "Addr": addr})
            await store.put(schema.node_spec(node_id), _node_spec(role, _now()))
        except BaseException:
            await _undo_admission(store, node_id, member_id)
            raise
        log.info("swarm: node %s (%s) joined as %s", node_id, addr, role)
        return answer

    async def _add_learner(self, store: Store, peer_url: str) -> tuple[int, list[Any]]:
        return await _while_unhealthy(lambda: store.add_learner(peer_url))

    async def sign_renewal(self, node_id: str, csr: bytes) -> bytes:
        """A fresh certificate for a member (the join API's renewal handler): its role from
        its spec, never from what it asks."""
        store = await self.require_manager()
        assert self.state is not None
        spec = await store.get(schema.node_spec(node_id))
        ca_entry = await store.get(schema.CA)
        if spec is None or ca_entry is None:
            raise Forbidden(f"node {node_id} is not a member of this swarm")
        desc = await store.get(schema.node_desc(node_id))
        addr = str(desc.value.get("Addr", "")) if desc else ""
        ca = identity.KeyPair(ca_entry.value["Cert"].encode(), ca_entry.value["Key"].encode())
        role = str(spec.value.get("Role", "worker"))
        return identity.sign_node(ca, csr, node_id, role, self.state.cluster_id, [addr] if addr else [])

    async def _renew(self) -> None:
        """Renew this node's certificate once it has passed a random point between 50 and
        80 % of its life (swarmkit's spread, so a cluster's nodes don't all renew at once)."""
        fraction = RENEW_FROM + random.random() * (RENEW_TO - RENEW_FROM)
        while True:
            await asyncio.sleep(RENEW_CHECK)
            try:
                assert self.state is not None and self.store is not None
                info = identity.read_cert(self.creds.cert.read_bytes())
                if not identity.needs_renewal(info, fraction):
                    continue
                if self.is_manager:
                    await self._reissue(self.state.role)
                else:
                    addr, port = addresses.split(random.choice(self.state.remote_managers))
                    key = serialization.load_pem_private_key(self.creds.key.read_bytes(), password=None)
                    cert = await joinapi.request_renewal(
                        addr,
                        port,
                        self.creds.ca,
                        self.creds.cert,
                        self.creds.key,
                        identity.new_csr(key),  # type: ignore[arg-type]
                    )
                    self._write_certs(self._ca_pem, cert, None)
                fraction = RENEW_FROM + random.random() * (RENEW_TO - RENEW_FROM)
                log.info("swarm: renewed this node's certificate")
            except (SeawayError, OSError, ValueError) as exc:
                log.warning("swarm: renewing this node's certificate: %s", exc)

    # -- leave

    async def leave(self, force: bool) -> None:
        async with self._lock:
            if self.state is None:
                raise Unavailable(NOT_IN_SWARM)
            if self.is_manager and not force:
                raise Unavailable(await self._leave_refusal())
            await self._leave()

    async def _leave_refusal(self) -> str:
        msg = LEAVE_MANAGER
        try:
            store = await self.require_manager()
            reachable, unreachable = await self._manager_counts(store)
        except SeawayError:
            return msg + LEAVE_TAIL
        if reachable - 2 <= unreachable:  # removing this one loses quorum
            if reachable + unreachable <= 1:
                return msg + LEAVE_LAST
            msg += LEAVE_QUORUM.format(left=reachable - 1, total=reachable + unreachable)
        return msg + LEAVE_TAIL

    async def _manager_counts(self, store: Store) -> tuple[int, int]:
        views_ = await self._node_views(store)
        managers = [v for v in views_ if v.role == "manager"]
        reachable = sum(1 for v in managers if v.alive)
        return reachable, len(managers) - reachable

    async def _leave(self) -> None:
        assert self.state is not None
        store = self.store
        if store is not None:
            with contextlib.suppress(SeawayError):
                if self._lease:
                    await store.revoke(self._lease)  # Down at once, and the leadership is free
            if self.is_manager:
                with contextlib.suppress(SeawayError):
                    members = await store.members()
                    if len(members) > 1:
                        await store.delete(schema.manager(self.state.node_id))
                        own = await self._own_member_id(store)
                        if own:
                            await store.remove_member(own)
        await self._deactivate()
        if self.store is not None:
            await self.store.close()
            self.store = None
        await self._remove_tasks()
        await self._wipe()
        log.info("swarm: left")

    async def _remove_tasks(self) -> None:
        """A node that leaves takes its tasks' containers with it (as Docker); other
        containers keep running."""
        if self._runtime is None:
            return
        for task_id, container in (await asyncio.to_thread(self._runtime.task_containers)).items():
            try:
                await asyncio.to_thread(self._runtime.remove, container)
            except SeawayError as exc:
                log.warning("swarm: removing the container of task %s: %s", task_id[:12], exc)

    async def _wipe(self) -> None:
        """Forget the swarm here: loops, store, etcd, the VXLAN members and every file under swarm/."""
        await self._deactivate()
        if self._engine is not None:
            await forget(self._engine)
        if self.store is not None:
            await self.store.close()
            self.store = None
        await asyncio.to_thread(etcdproc.stop, self.etcd_root)
        with contextlib.suppress(OSError):  # kept for the operator: why the last member stopped
            (self.etcd_root / "etcd.log").replace(self.root.parent / "swarm-etcd.last.log")
        await asyncio.to_thread(shutil.rmtree, self.root, True)
        self.state = None
        self.error = ""

    # -- swarm-scoped networks

    def member_joined(self, net: Any, ep: Any, member: Any, container_id: str, service: str = "") -> None:
        """An endpoint of this node starts answering by name (``seaway.daemon.dnsfeed``)."""
        if self.networking is not None:
            self.networking.member_joined(net, ep, member, container_id, service)

    def member_withdrawn(self, network_id: str, endpoint_id: str) -> None:
        if self.networking is not None:
            self.networking.member_withdrawn(network_id, endpoint_id)

    def member_left(self, network_id: str, endpoint_id: str) -> None:
        if self.networking is not None:
            self.networking.member_left(network_id, endpoint_id)

    async def create_network(self, spec: NetworkSpec) -> dict[str, Any]:
        """A swarm-scoped network, allocated and stored (a manager's call), then taken
        into this node's engine before the answer."""
        if self.state is not None and not self.is_manager:
            raise Forbidden(WORKER_NETWORK_CREATE)
        store = await self.require_manager()
        cluster = await store.get(schema.CLUSTER)
        record = await networks.create(store, spec, cluster.value if cluster else {})
        await self._until_local(record["ID"], present=True)
        return record

    async def remove_network(self, ref: str) -> None:
        if self.state is not None and not self.is_manager:  # dockerd 20.10's worker: 503, the cluster-state text
            raise Unavailable(WORKER_REFUSED)
        store = await self.require_manager()
        record = await networks.remove(store, ref)
        await self._until_local(record["ID"], present=False)

    async def _until_local(self, network_id: str, present: bool) -> None:
        """Wait (bounded) until this node's engine has taken in, or let go of, a network."""
        if self._engine is None:
            return
        for _ in range(int(LOCAL_WAIT / 0.01)):
            if (network_id in self._engine.view.networks) == present:
                return
            await asyncio.sleep(0.01)
        log.warning("swarm: network %s not yet %s on this node", network_id, "taken in" if present else "let go")

    # -- etcd and the store

    async def _start_etcd(self, new: bool, initial: tuple[tuple[str, str], ...]) -> None:
        assert self.state is not None
        config = etcdproc.MemberConfig(
            self.etcd_root, self.state.node_id, self.state.advertise_addr, self.creds.ca, self.creds.cert,
            self.creds.key, initial, new,
        )  # fmt: skip
        if not new and not initial and not config.data_dir.exists():
            raise Unavailable("this manager has no etcd data; leave the swarm and join again")
        self._etcd_pid = await asyncio.to_thread(etcdproc.start, config)
        local = Store(["127.0.0.1:2379"], self.creds)
        await local.connect()
        try:
            # a learner or a member without quorum answers status; that is "started"
            await etcdproc.wait_started(self.etcd_root, self._etcd_pid, lambda: _answers(local))
        finally:
            await local.close()

    async def _connect(self) -> None:
        assert self.state is not None
        if self.store is not None:
            await self.store.close()
        self.store = Store(self.state.endpoints, self.creds)
        await self.store.connect()

    async def _wait_ready(self, leader: bool) -> None:
        """Wait until this node is Ready (and, for init, the leader)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT
        assert self.state is not None and self.store is not None
        while loop.time() < deadline:
            with contextlib.suppress(SeawayError):
                alive = await self.store.get(schema.node_alive(self.state.node_id))
                if alive is not None and (not leader or self._leader_revision):
                    return
            await asyncio.sleep(0.1)
        raise Unavailable(f"this node did not become ready within {READY_TIMEOUT:.0f} s")

    # -- loops

    def _activate(self) -> None:
        self._start_loops()
        self._watch = asyncio.create_task(self._watch_role(), name="swarm-role")

    def _start_loops(self) -> None:
        assert self.state is not None
        if self._engine is not None and self.store is not None:
            vtep = self.state.data_path_addr or self.state.advertise_addr
            hostname = os.environ.get(HOSTNAME_ENV) or socket.gethostname()
            self.networking = NetworkSync(self._engine, self._records, self.state.node_id, vtep, hostname)
            self._tasks.extend(self.networking.start(self.store))
            pools = ClusterAddresses(asyncio.get_running_loop(), lambda: self.store, self.state.node_id)
            self._engine.cluster_pools = pools.pool  # type: ignore[attr-defined]
        if self._runtime is not None and self.store is not None:
            drained = self.networking.barrier if self.networking is not None else None
            self.task_agent = TaskAgent(self._runtime, self.state.node_id, drained)
            self._tasks.extend(self.task_agent.start(self.store))
        self._tasks.append(asyncio.create_task(self._heartbeat(), name="swarm-heartbeat"))
        self._tasks.append(asyncio.create_task(self._renew(), name="swarm-renew"))
        if self.is_manager:
            self.service_lead = ServiceLead(
                lambda: self.store, self._node_docs, lambda: self._leader_revision, self._history_limit
            )
            self._tasks.append(asyncio.create_task(self.service_lead.run(), name="swarm-services"))
            self._tasks.append(asyncio.create_task(self._campaign(), name="swarm-campaign"))
            self._tasks.append(asyncio.create_task(self._serve_join_api(), name="swarm-join-api"))
        else:
            self._tasks.append(asyncio.create_task(self._follow_managers(), name="swarm-managers"))

    async def _deactivate(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None and watch is not asyncio.current_task():
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watch
        await self._stop_loops()

    async def _stop_loops(self) -> None:
        self.networking = None  # its loops are among the tasks
        self.task_agent = None
        self.service_lead = None
        if self._engine is not None:
            self._engine.cluster_pools = None  # type: ignore[attr-defined]
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if self._site is not None:
            await self._site.cleanup()
            self._site = None
        self._lease = 0
        self._leader_revision = 0

    async def _heartbeat(self) -> None:
        assert self.state is not None
        node_id = self.state.node_id
        boot = identity.new_id()
        while True:
            try:
                store = self.store
                assert store is not None
                if not self._lease or await store.keepalive(self._lease) <= 0:
                    self._lease = await store.grant(LEASE_TTL)
                    self._leader_revision = 0
                    await store.put(schema.node_desc(node_id), self._description(self.state.advertise_addr))
                    await store.put(schema.node_alive(node_id), {"Boot": boot}, lease=self._lease)
            except SeawayError as exc:
                log.warning("swarm: heartbeat: %s", getattr(exc, "detail", "") or exc)
            except Exception as exc:  # a long-running loop logs and goes on
                log.error("swarm: heartbeat: %s", exc)
            await asyncio.sleep(HEARTBEAT)

    async def _campaign(self) -> None:
        assert self.state is not None
        me = self.state.node_id
        while True:
            try:
                store = self.store
                assert store is not None
                if self._lease:
                    current = await store.get(schema.LEADER)
                    if current is None:
                        won = await store.create(schema.LEADER, {"NodeID": me}, lease=self._lease)
                        if won is not None:
                            self._leader_revision = won
                            log.info("swarm: this node is the leader (revision %d)", won)
                    elif current.value.get("NodeID") != me or current.lease != self._lease:
                        self._leader_revision = 0
                    if self._leader_revision:
                        await self._lead(store)
            except SeawayError as exc:
                log.debug("swarm: campaign: %s", exc)
            except Exception as exc:  # a long-running loop logs and goes on
                log.error("swarm: campaign: %s", exc)
            await asyncio.sleep(CAMPAIGN if self._lease else 0.05)  # campaign as soon as the lease exists

    async def _lead(self, store: Store) -> None:
        """The leader's duties: note the term once (a fenced write: it fails if the
        leadership was lost meanwhile), promote learners that have caught up."""
        assert self.state is not None
        if self._noted_term != self._leader_revision:
            ok = await store.put_fenced(
                schema.CLUSTER + "/leader-term",
                {"NodeID": self.state.node_id, "Since": self._leader_revision},
                schema.LEADER, self._leader_revision,
            )  # fmt: skip
            if not ok:
                self._leader_revision = 0
                return
            self._noted_term = self._leader_revision
        for member in await store.members():
            if member.learner:
                with contextlib.suppress(SeawayError):
                    await store.promote(member.id)

    async def _serve_join_api(self) -> None:
        assert self.state is not None
        app = joinapi.build_app(lambda: self._ca_pem, self.accept_join, self.sign_renewal)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        ctx = joinapi.server_context(self.creds.cert, self.creds.key, self.creds.ca)
        site = web.TCPSite(runner, self.state.listen_addr, self.state.listen_port, ssl_context=ctx, reuse_address=True)
        await site.start()
        self._site = runner
        await asyncio.Event().wait()

    async def _follow_managers(self) -> None:
        """A worker keeps its list of managers (etcd endpoints, join addresses) current."""
        while True:
            await asyncio.sleep(10)
            try:
                assert self.state is not None and self.store is not None
                managers = await self.store.list(schema.MANAGERS)
                endpoints = sorted(m.value["Client"] for m in managers)
                if endpoints and endpoints != sorted(self.state.endpoints):
                    self.state.endpoints = endpoints
                    self.state.remote_managers = sorted(m.value["Addr"] for m in managers)
                    self._save()
            except SeawayError as exc:
                log.debug("swarm: following managers: %s", exc)

    async def _watch_role(self) -> None:
        """Carry out ``docker node promote/demote`` of this node: a manager changed the
        role in the node's spec; the node itself moves its etcd membership, certificate
        and loops (it is the only one that can start or stop its member)."""
        while True:
            await asyncio.sleep(ROLE_WATCH)
            try:
                assert self.state is not None and self.store is not None
                spec = await self.store.get(schema.node_spec(self.state.node_id))
                wanted = spec.value.get("Role") if spec else None
                if wanted in identity.ROLES and wanted != self.state.role:
                    async with self._lock:
                        if wanted == "manager":
                            await self._become_manager()
                        else:
                            await self._become_worker()
            except SeawayError as exc:
                log.warning("swarm: changing this node's role: %s", getattr(exc, "detail", "") or exc)
            except Exception as exc:  # a long-running loop logs and goes on
                log.error("swarm: changing this node's role: %s", exc)

    async def _reissue(self, role: str) -> None:
        assert self.store is not None
        await self._reissue_with(self.store, role)

    async def _reissue_with(self, store: Store, role: str) -> None:
        """A certificate for this node's own key with ``role``, signed here (a manager,
        or a node just promoted, may read the CA)."""
        assert self.state is not None
        ca_entry = await store.get(schema.CA)
        if ca_entry is None:
            raise Unavailable("the cluster CA is not readable")
        ca = identity.KeyPair(ca_entry.value["Cert"].encode(), ca_entry.value["Key"].encode())
        key = serialization.load_pem_private_key(self.creds.key.read_bytes(), password=None)
        csr = identity.new_csr(key)  # type: ignore[arg-type]
        cert = identity.sign_node(ca, csr, self.state.node_id, role, self.state.cluster_id, [self.state.advertise_addr])
        self._write_certs(self._ca_pem, cert, None)

    async def _become_manager(self) -> None:
        assert self.state is not None and self.store is not None
        store = self.store
        await self._reissue("manager")  # the promoting manager gave this node's user etcd's root role
        member_id, members = await self._add_learner(store, etcdproc.url(self.state.advertise_addr, etcdproc.PEER_PORT))
        await self._stop_loops()
        self.state.role = "manager"
        initial = tuple((m.name or self.state.node_id, m.peer_urls[0]) for m in members if m.peer_urls)
        try:
            await self._start_etcd(new=False, initial=initial)
            await self._promote_self(member_id)
            await self._register_manager(
                store, self.state.node_id, self.state.advertise_addr, self.state.listen_port, member_id
            )
        except BaseException:  # back to a worker as it was; the watch tries again
            with contextlib.suppress(SeawayError):
                await store.remove_member(member_id)
            await asyncio.to_thread(etcdproc.stop, self.etcd_root)
            await asyncio.to_thread(shutil.rmtree, self.etcd_root, True)
            self.state.role = "worker"
            self._start_loops()
            raise
        self.state.endpoints = ["127.0.0.1:2379"]
        await self._connect()
        self._save()
        self._start_loops()
        log.info("swarm: this node is now a manager")

    async def _become_worker(self) -> None:
        assert self.state is not None and self.store is not None
        me = self.state.node_id
        others = [m for m in await self.store.list(schema.MANAGERS) if _manager_id(m.key) != me]
        if not others:
            raise Unavailable("refusing to demote the last manager")
        own = await self._own_member_id(self.store)
        remote = Store(sorted(m.value["Client"] for m in others), self.creds)
        await remote.connect()
        try:  # first what etcd may refuse for a while; nothing has changed here before it succeeds
            if own:
                await _while_unhealthy(lambda: remote.remove_member(own))
        except BaseException:
            await remote.close()
            raise
        await self._reissue_with(remote, "worker")
        await self._stop_loops()
        if self.store is not None:
            await self.store.close()
        self.store = remote
        self.state.endpoints = list(remote.endpoints)
        self.state.remote_managers = sorted(m.value["Addr"] for m in others)
        await remote.delete(schema.manager(me))
        with contextlib.suppress(SeawayError):
            cur = await remote.get(schema.LEADER)
            if cur is not None and cur.value.get("NodeID") == me:
                await remote.delete(schema.LEADER)  # the leadership is free at once
        await asyncio.to_thread(etcdproc.stop, self.etcd_root)
        await asyncio.to_thread(shutil.rmtree, self.etcd_root, True)
        self.state.role = "worker"
        self._save()
        await rbac.set_role(remote, me, "worker")  # last: after this the node has a worker's rights
        self._start_loops()
        log.info("swarm: this node is now a worker")

    # -- cluster and nodes (management calls)

    async def inspect(self) -> dict[str, Any]:
        store = await self.require_manager()
        entry = await store.get(schema.CLUSTER)
        tokens = await store.get(schema.TOKENS)
        if entry is None or tokens is None:
            raise Unavailable(NOT_A_MANAGER)
        out = views.cluster(entry.value, entry.mod_revision, self._ca_pem)
        digest = identity.ca_digest(self._ca_pem)
        out["JoinTokens"] = {
            "Worker": str(identity.JoinToken(digest, tokens.value["worker"])),
            "Manager": str(identity.JoinToken(digest, tokens.value["manager"])),
        }
        return out

    async def update(self, version: int, spec: dict[str, Any], rotate: tuple[str, ...]) -> None:
        store = await self.require_manager()
        entry = await store.get(schema.CLUSTER)
        if entry is None:
            raise Unavailable(NOT_A_MANAGER)
        if version != entry.mod_revision:
            raise InvalidParameter("update out of sequence")
        tokens = await store.get(schema.TOKENS)
        assert tokens is not None
        if rotate:
            secrets = {**tokens.value, **{role: identity.new_secret() for role in rotate}}
            if not await store.put_if(schema.TOKENS, secrets, tokens.mod_revision):
                raise Conflict("update out of sequence")
        record = {**entry.value, "Spec": {**views.DEFAULT_SPEC, **spec} if spec else entry.value["Spec"]}
        record["UpdatedAt"] = _now()
        if not await store.put_if(schema.CLUSTER, record, entry.mod_revision):
            raise InvalidParameter("update out of sequence")

    async def _node_views(self, store: Store) -> list[views.NodeView]:
        entries = await store.list(schema.NODES)
        leader = await store.get(schema.LEADER)
        managers = {
            schema.node_of(m.key.replace(schema.MANAGERS, schema.NODES)): m for m in await store.list(schema.MANAGERS)
        }
        leader_id = leader.value.get("NodeID") if leader else None
        by_node: dict[str, dict[str, Any]] = {}
        for e in entries:
            by_node.setdefault(schema.node_of(e.key), {})[e.key.rsplit("/", 1)[1]] = e
        out = []
        for node_id, parts in sorted(by_node.items()):
            spec = parts.get("spec")
            if spec is None:
                continue
            mgr = managers.get(node_id)
            out.append(
                views.NodeView(
                    node_id,
                    spec.value,
                    spec.mod_revision,
                    parts["desc"].value if "desc" in parts else {},
                    "alive" in parts,
                    mgr.value["Addr"] if mgr else "",
                    node_id == leader_id,
                )
            )
        return out

    async def nodes(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        store = await self.require_manager()
        return [views.node(v, self._ca_pem) for v in await self._node_views(store) if views.matches(v, filters)]

    async def _find(self, store: Store, ref: str) -> views.NodeView:
        found = await self._node_views(store)
        for match in (
            lambda v: v.id == ref,
            lambda v: v.desc.get("Hostname") == ref or v.spec.get("Name") == ref,
            lambda v: v.id.startswith(ref),
        ):
            hits = [v for v in found if match(v)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise InvalidParameter(f"node {ref} is ambiguous ({len(hits)} matches found)")
        raise NotFound(f"node {ref} not found")

    async def node(self, ref: str) -> dict[str, Any]:
        store = await self.require_manager()
        return views.node(await self._find(store, ref), self._ca_pem)

    async def update_node(self, ref: str, version: int, spec: dict[str, Any]) -> None:
        store = await self.require_manager()
        view = await self._find(store, ref)
        if version != view.spec_revision:
            raise InvalidParameter("update out of sequence")
        availability = spec.get("Availability", "active")
        if availability not in ("active", "pause", "drain"):
            raise InvalidParameter(f"invalid availability {availability!r}: expected active, pause or drain")
        role = spec.get("Role", view.role)
        if role not in identity.ROLES:
            raise InvalidParameter(f"invalid role {role!r}: expected worker or manager")
        if role != view.role:
            await self._check_role_change(store, view, role)
        new = {**view.spec, "Labels": spec.get("Labels") or {}, "Availability": availability, "Role": role}
        new["UpdatedAt"] = _now()
        if spec.get("Name"):
            new["Name"] = spec["Name"]
        else:
            new.pop("Name", None)
        if not await store.put_if(schema.node_spec(view.id), new, view.spec_revision):
            raise InvalidParameter("update out of sequence")

    async def _check_role_change(self, store: Store, view: views.NodeView, role: str) -> None:
        """Refuse what Docker refuses; grant the etcd rights a new manager needs (the node
        carries out the change itself: ``_watch_role``)."""
        if not view.alive:
            raise InvalidParameter(f"node {view.id} is down: its role can be changed once it is back")
        if role == "worker":
            registered = [m for m in await store.list(schema.MANAGERS) if _manager_id(m.key) != view.id]
            if not registered:
                raise InvalidParameter(
                    "rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm"
                )
            return
        await rbac.set_role(store, view.id, "manager")

    async def remove_node(self, ref: str, force: bool) -> None:
        store = await self.require_manager()
        view = await self._find(store, ref)
        if view.role == "manager":
            raise InvalidParameter(
                f"rpc error: code = FailedPrecondition desc = node {view.id} is a cluster manager and is a member "
                "of the raft cluster. It must be demoted to worker before removal"
            )
        if view.alive and not force:
            raise InvalidParameter(
                f"rpc error: code = FailedPrecondition desc = node {view.id} is not down and can't be removed"
            )
        await store.delete_prefix(schema.node(view.id))
        await rbac.remove_node(store, view.id)

    async def _node_docs(self, store: Store) -> list[dict[str, Any]]:
        return [views.node(v, self._ca_pem) for v in await self._node_views(store)]

    async def _history_limit(self) -> int:
        assert self.store is not None
        entry = await self.store.get(schema.CLUSTER)
        orchestration = ((entry.value if entry else {}).get("Spec") or {}).get("Orchestration") or {}
        return int(orchestration.get("TaskHistoryRetentionLimit", 5))

    # -- services and tasks (management calls)

    async def create_service(self, body: dict[str, Any]) -> dict[str, Any]:
        store = await self.require_manager()
        spec = servicespec.normalise_spec(body, await self._network_records(store))
        record = await services.create(store, spec)
        return {"ID": record["ID"]}

    async def _network_records(self, store: Store) -> dict[str, dict[str, Any]]:
        return {e.value["ID"]: e.value for e in await store.list(schema.NETWORKS) if "ID" in e.value}

    async def services(self, filters: dict[str, list[str]], status: bool) -> list[dict[str, Any]]:
        store = await self.require_manager()
        svcs, tasks, reports, _ = await read_services(store)
        match = servicedoc.service_filter(filters)
        by_service: dict[str, list[dict[str, Any]]] = {}
        for task in tasks:
            by_service.setdefault(task["ServiceID"], []).append(task)
        out = []
        for svc in svcs:
            if not match(svc):
                continue
            counts = servicedoc.status_counts(svc, by_service.get(svc["ID"], []), reports) if status else ()
            out.append(servicedoc.service_view(svc, svc["Version"]["Index"], *counts))
        return out

    async def service(self, ref: str, insert_defaults: bool = False) -> dict[str, Any]:
        store = await self.require_manager()
        entry = await services.find(store, ref)
        return servicedoc.service_view(entry.value, entry.mod_revision, with_defaults=insert_defaults)

    async def update_service(self, ref: str, version: int, body: dict[str, Any], rollback: bool) -> dict[str, Any]:
        store = await self.require_manager()
        spec = {} if rollback else servicespec.normalise_spec(body, await self._network_records(store))
        await services.update(store, ref, version, spec, rollback=rollback)
        return {}

    async def remove_service(self, ref: str) -> None:
        store = await self.require_manager()
        await services.remove(store, ref)

    async def _task_docs(self, store: Store, filters: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
        """Tasks as the API shows them (the filters match the stored tasks: ``_up-to-date``
        compares what the API does not show)."""
        svcs, tasks, reports, _ = await read_services(store)
        nets = {k: servicedoc.swarm_network(v, 0) for k, v in (await self._network_records(store)).items()}
        if filters:
            nodes = {n["ID"]: n for n in await self._node_docs(store)}
            match = servicedoc.task_filter(filters, {s["ID"]: s for s in svcs}, nodes)
            tasks = [t for t in tasks if match(t)]
        return [servicedoc.task_view(task_record(t, reports), reports.get(t["ID"]), t["Version"]["Index"], nets)
                for t in tasks]  # fmt: skip

    async def tasks(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        return await self._task_docs(await self.require_manager(), filters)

    async def task(self, ref: str) -> dict[str, Any]:
        docs = await self._task_docs(await self.require_manager())
        return servicedoc.find_task(ref, {t["ID"]: t for t in docs})

    # -- /info

    async def info(self) -> dict[str, Any]:
        """``/info``'s ``Swarm`` section, as Docker shows it for this node's role."""
        st = self.state
        out: dict[str, Any] = {
            "NodeID": st.node_id if st else "", "NodeAddr": st.advertise_addr if st else "",
            "LocalNodeState": self.local_state, "ControlAvailable": self.is_manager, "Error": self.error,
            "RemoteManagers": None,
        }  # fmt: skip
        if st is None or self.store is None:
            return out
        try:
            managers = await self.store.list(schema.MANAGERS, local=True)  # answers without quorum
            out["RemoteManagers"] = [
                {"NodeID": schema.node_of(m.key.replace(schema.MANAGERS, schema.NODES)), "Addr": m.value["Addr"]}
                for m in managers
            ]
            if self.is_manager:
                store = await self.require_manager()
                found = await self._node_views(store)
                out["Nodes"] = len(found)
                out["Managers"] = sum(1 for v in found if v.role == "manager")
                entry = await store.get(schema.CLUSTER)
                if entry is not None:
                    out["Cluster"] = views.cluster(entry.value, entry.mod_revision, self._ca_pem)
        except SeawayError as exc:
            out["Error"] = str(exc)
            out["RemoteManagers"] = [{"NodeID": "", "Addr": a} for a in st.remote_managers]
        return out


async def _while_unhealthy(call: Any) -> Any:
    """Retry a membership change etcd refuses for a while: after a member joined ("unhealthy
    cluster": a member is not yet connected to every peer, its strict reconfiguration
    check) or while another learner waits for promotion; other failures are raised at once."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT
    while True:
        try:
            return await call()
        except NoLeader as exc:
            # etcd 3.4 also takes one learner at a time ("too many learner members")
            if not any(t in exc.detail for t in BUSY_MEMBERSHIP) or loop.time() > deadline:
                raise
        await asyncio.sleep(0.3)


async def _undo_admission(store: Store, node_id: str, member_id: int) -> None:
    """Take back what admitting a node wrote (best effort: the join failed already)."""
    with contextlib.suppress(SeawayError):
        await store.delete_prefix(schema.node(node_id))
        await rbac.remove_node(store, node_id)
        if member_id:
            await store.remove_member(member_id)


def _manager_id(key: str) -> str:
    return key[len(schema.MANAGERS) :]


def _node_spec(role: str, now: str) -> dict[str, Any]:
    return {"Role": role, "Availability": "active", "Labels": {}, "CreatedAt": now, "UpdatedAt": now}


async def _answers(store: Store) -> bool:
    try:
        await store._call(store._client.maintenance.status, timeout=1.0)
    except SeawayError:
        return False
    return True
