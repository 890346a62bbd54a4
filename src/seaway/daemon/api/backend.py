"""What the routes need from the daemon: the engine, the containers, exec sessions,
and the views that join them (a network's containers, a container's networks)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from seaway.cluster.agent import Agent
from seaway.daemon.api import schemas
from seaway.daemon.api.fields import LATEST
from seaway.daemon.containers import Containers
from seaway.engine import Engine
from seaway.engine.config import EngineConfig
from seaway.errors import NotFound
from seaway.model.container import Container
from seaway.model.endpoint import INGRESS_SANDBOX
from seaway.model.network import Network
from seaway.model.ports import PortMapping
from seaway.resolver.server import Resolver

T = TypeVar("T")


@dataclass
class ExecSession:
    id: str
    container_id: str
    cmd: list[str]
    env: list[str]
    tty: bool
    workdir: str
    attach_stdout: bool
    attach_stderr: bool
    attach_stdin: bool = False
    running: bool = False
    exit_code: int | None = None
    pid: int = 0


@dataclass
class Backend:
    config: EngineConfig
    engine: Engine
    containers: Containers
    version: str
    resolver: Resolver | None = None
    swarm: Agent = field(default=None)  # type: ignore[assignment]  # set by the daemon (seaway.cluster.agent)
    execs: dict[str, ExecSession] = field(default_factory=dict)
    #: set when the daemon shuts down: streaming handlers (wait, attach, logs -f) end
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Blocking engine work, off the event loop."""
        return await asyncio.to_thread(fn, *args)

    def network_containers(self, network_id: str) -> dict[str, dict[str, Any]]:
        out = {}
        for ep in self.engine.endpoints_of_network(network_id):
            ctr = self.containers.container_of_sandbox(ep.sandbox_id)
            if ctr is None and ep.name == INGRESS_SANDBOX:  # Docker's entry of the routing mesh's sandbox
                out[INGRESS_SANDBOX] = schemas.network_container_entry("ingress-endpoint", ep)
                continue
            key = ctr.id if ctr else f"ep-{ep.id}"
            out[key] = schemas.network_container_entry(ctr.name if ctr else ep.name, ep)
        return out

    def network_balancer(self, net: Network) -> tuple[str, dict[str, str]] | None:
        """Docker's ``lb-<network>`` entry of a swarm network's ``Containers``: this node's
        load balancer there (its address is the source of the flows it balances)."""
        sync = self.swarm.networking
        found = sync.balancer(net.id) if sync is not None else None
        if found is None:
            return None
        address, mac = found
        prefix = next((s.subnet.prefixlen for s in net.subnets if address in s.subnet), 32)
        endpoint_id = hashlib.sha256(f"lb/{net.id}/{sync.vtep}".encode()).hexdigest()  # type: ignore[union-attr]
        return f"lb-{net.name}", {
            "Name": f"{net.name}-endpoint", "EndpointID": endpoint_id, "MacAddress": mac,
            "IPv4Address": f"{address}/{prefix}", "IPv6Address": "",
        }  # fmt: skip

    def network_peers(self, net: Network) -> list[dict[str, str]]:
        """Docker's ``Peers`` of a swarm-scoped network: the nodes with an endpoint on it."""
        sync = self.swarm.networking
        peers: dict[str, str] = {}
        if sync is not None:
            if self.engine.endpoints_of_network(net.id):
                peers[sync.vtep] = sync.hostname
            for record in sync.remote_endpoints(net.id).values():
                peers.setdefault(record.get("VTEP", ""), record.get("Host", ""))
        return [{"Name": name, "IP": ip} for ip, name in sorted(peers.items())]

    def container_networks(self, ctr: Container, version: tuple[int, int] = LATEST) -> dict[str, dict[str, Any]]:
        endpoints = {}
        if ctr.sandbox_id:
            endpoints = {e.network_id: e for e in self.engine.endpoints_of_sandbox(ctr.sandbox_id)}
        out = {}
        for network_id, spec in ctr.networks.items():
            try:
                net = self.engine.network(network_id)
            except Exception:  # removed meanwhile
                continue
            out[net.name] = schemas.endpoint_settings(
                net, spec, endpoints.get(network_id), ctr, named=self.engine.names_members(net), version=version
            )
        return out

    def container_ports(self, ctr: Container) -> list[PortMapping]:
        """Host ports forwarded to a running container."""
        if not ctr.sandbox_id or not ctr.running:
            return []
        return [m for e in self.engine.endpoints_of_sandbox(ctr.sandbox_id) for m in e.ports]

    def image_ref(self, ctr: Container) -> str:
        return ctr.spec.image

    # Seaway's status, an extra ``SeawayStatus`` key in inspect answers (clients ignore
    # keys they do not know): {"State": "ok" | "damaged", "Reason": why, what to do}

    def network_status(self, net: Network) -> dict[str, str]:
        return _status(*self.engine.network_status(net))

    def container_status(self, ctr: Container) -> dict[str, str]:
        if not ctr.running or not ctr.sandbox_id:
            return _status("ok", "")
        try:
            endpoints = self.engine.endpoints_of_sandbox(ctr.sandbox_id)
            self.engine.sandbox(ctr.sandbox_id)
        except NotFound:
            return _status("damaged", "its network sandbox is gone")
        for ep in endpoints:
            state, reason = self.engine.endpoint_status(ep)
            if state != "ok":
                return _status(state, reason)
        return _status("ok", "")


def _status(state: str, reason: str) -> dict[str, str]:
    if reason:
        reason += "; `seaway system repair` (or a restart of seawayd) rebuilds it"
    return {"State": state, "Reason": reason}
