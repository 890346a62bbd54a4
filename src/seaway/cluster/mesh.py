"""The ingress routing mesh on one node: its ingress sandbox, the host ports it holds,
and each service's ports and tasks in the sandbox's table (``seaway.firewall.mesh``).

The sandbox ``ingress-sbox`` is an engine sandbox (it survives restarts like any other,
and the engine reconciles it) with an endpoint on ``ingress`` (the first: ``eth0``) and
one on ``docker_gwbridge`` (its default route). Each routing-mesh port of a service is
published on the gwbridge endpoint with the engine's own machinery, so the host holds it
(``docker run -p`` on it fails "port is already allocated"), its firewall contract and
user chain apply, and a port this node cannot take is skipped here and logged at error
while the other nodes answer it. The sandbox's ingress endpoint is published to the
other nodes as a peer (``LB``: no name, no backend), so tasks' replies come back.

Called from ``NetworkSync`` on its event loop: ``sync`` with the whole state at each full
diff, ``service_changed``/``backends_changed`` per batch; engine calls run in threads.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from seaway.errors import SeawayError
from seaway.firewall import mesh as rules
from seaway.firewall.mesh import MeshPort
from seaway.kernel import balancer as lbkernel
from seaway.model.endpoint import INGRESS_SANDBOX, Endpoint, EndpointSpec, Sandbox
from seaway.model.ports import PortRequest

log = logging.getLogger(__name__)

SANDBOX = INGRESS_SANDBOX
Address = ipaddress.IPv4Address


class MeshEngine(Protocol):
    @property
    def view(self) -> Any: ...

    def sandboxes(self) -> list[Sandbox]: ...

    def create_sandbox(self, name: str) -> Sandbox: ...

    def remove_sandbox(self, sandbox_id: str) -> None: ...

    def connect(self, sandbox_id: str, network_term: str, spec: EndpointSpec | None = None) -> Endpoint: ...

    def endpoints_of_sandbox(self, sandbox_id: str) -> list[Endpoint]: ...

    def publish(self, sandbox_id: str, requests: tuple[PortRequest, ...]) -> Any: ...

    def unpublish(self, sandbox_id: str) -> Any: ...


def mesh_ports(service: Mapping[str, Any]) -> list[MeshPort]:
    """A service's routing-mesh ports (``Endpoint.Ports`` in ingress mode)."""
    out = []
    for p in (service.get("Endpoint") or {}).get("Ports") or []:
        if (p.get("PublishMode") or "ingress") == "ingress" and p.get("PublishedPort"):
            protocol = str(p.get("Protocol") or "tcp")
            if protocol in ("tcp", "udp"):
                out.append(MeshPort(protocol, int(p["PublishedPort"]), int(p["TargetPort"])))
    return sorted(set(out))


class IngressMesh:
    def __init__(self, engine: MeshEngine, ingress_id: str) -> None:
        self._engine = engine
        self.ingress_id = ingress_id
        self.sandbox: Sandbox | None = None
        self.endpoint: Endpoint | None = None  # the sandbox's on ingress
        #: per service: its mesh ports and backends as the table has them
        self._told: dict[str, tuple[list[MeshPort], list[Address]]] = {}
        #: the host ports held for the mesh: (protocol, port) → owning service
        self._held: dict[tuple[str, int], str] = {}

    # -- the sandbox

    def ensure(self, gateway_network: str) -> Endpoint:
        """The sandbox and its two endpoints (idempotent; in a thread)."""
        sb = next((s for s in self._engine.sandboxes() if s.name == SANDBOX), None)
        if sb is None:
            sb = self._engine.create_sandbox(SANDBOX)
        have = {ep.network_id: ep for ep in self._engine.endpoints_of_sandbox(sb.id)}
        if self.ingress_id not in have:
            have[self.ingress_id] = self._engine.connect(sb.id, self.ingress_id, EndpointSpec(swarm_task=True))
        gateway = self._engine.view.names.get(gateway_network)
        if gateway is not None and gateway not in have:
            self._engine.connect(sb.id, gateway)
        self.sandbox, self.endpoint = sb, have[self.ingress_id]
        self._install()
        return self.endpoint

    def remove(self) -> None:
        if self.sandbox is not None:
            self._engine.remove_sandbox(self.sandbox.id)
        self.sandbox = self.endpoint = None
        self._told.clear()
        self._held.clear()

    def _install(self) -> None:
        assert self.sandbox is not None and self.endpoint is not None and self.endpoint.ipv4 is not None
        lbkernel.route_through(self.sandbox.key)
        text = rules.table(self.endpoint.ipv4, self._told, self.endpoint.ifname)  # type: ignore[arg-type]
        lbkernel.apply_in(self.sandbox.key, text, "ingress routing mesh")

    # -- services

    def set_service(self, service_id: str, ports: Sequence[MeshPort], backends: Sequence[Address]) -> None:
        """One service's mesh ports and tasks (empty ports: off the mesh); in a thread."""
        if self.sandbox is None:
            return
        before = self._told.get(service_id, ([], []))
        after = (sorted(set(ports)), sorted(set(backends)))
        text = rules.change(before[0], before[1], after[0], after[1])
        if not text and after[0] == before[0]:
            return
        if after[0]:
            self._told[service_id] = after
        else:
            self._told.pop(service_id, None)
        if text:
            lbkernel.apply_in(self.sandbox.key, text, "ingress routing mesh")
        if after[0] != before[0]:
            self._hold()

    def services(self) -> list[str]:
        return list(self._told)

    def _hold(self) -> None:
        """The host ports: every service's mesh ports, published on the sandbox's gateway
        endpoint; one this node cannot take is skipped (logged) and the rest go on."""
        assert self.sandbox is not None
        wanted = {(p.protocol, p.published): sid for sid, (ports, _) in self._told.items() for p in ports}
        if set(wanted) - set(self._held) and not set(self._held) - set(wanted):
            todo = {k: v for k, v in wanted.items() if k not in self._held}
        else:  # a port went: the engine unpublishes a sandbox's ports together
            self._engine.unpublish(self.sandbox.id)
            self._held.clear()
            todo = wanted
        for (protocol, port), service_id in sorted(todo.items()):
            request = PortRequest(protocol, port, host_port_low=port, host_port_high=port)
            try:
                self._engine.publish(self.sandbox.id, (request,))
                self._held[(protocol, port)] = service_id
            except SeawayError as exc:
                log.error(
                    "swarm: routing-mesh port %d/%s of service %s is not served on this node: %s",
                    port, protocol, service_id[:12], exc,
                )  # fmt: skip
