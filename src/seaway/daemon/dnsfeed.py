"""Feeding the embedded DNS: one member per endpoint, added when a running container's
endpoint joins a network whose members have names, dropped when it leaves. The cost of
a change is one endpoint's names, whatever the size of its network.

The names are ``seaway.dns.records.member_names`` (the same ones the API shows as
``DNSNames``); which networks have names is their driver's answer
(``Engine.names_members``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from seaway.dns.records import Member, Records, member_names
from seaway.engine import Engine
from seaway.model.container import Container
from seaway.model.endpoint import Endpoint
from seaway.model.network import Network

SERVICE_LABEL = "com.docker.swarm.service.id"


class MemberListener(Protocol):
    """Told of the same changes as the DNS (the cluster publishes its endpoints of
    swarm-scoped networks this way). Called from the engine's worker threads."""

    def member_joined(self, net: Network, ep: Endpoint, member: Member, container_id: str, service: str) -> None:
        """``service``: the swarm service whose task the container is, else empty."""

    def member_withdrawn(self, network_id: str, endpoint_id: str) -> None:
        """The endpoint stays but answers no name (a task being stopped, or unhealthy)."""

    def member_left(self, network_id: str, endpoint_id: str) -> None: ...


class DnsFeed:
    def __init__(self, records: Records | None, engine: Engine) -> None:
        self._records = records
        self._engine = engine
        self.listeners: list[MemberListener] = []

    def joined(self, ctr: Container, network_ids: Iterable[str]) -> None:
        """The container's endpoints on these networks answer by name."""
        view = self._engine.view
        for network_id in network_ids:
            net = view.networks.get(network_id)
            ep = view.endpoint_in(ctr.sandbox_id, network_id) if ctr.sandbox_id else None
            named = net is not None and self._engine.names_members(net)
            if net is None or ep is None or not (named or net.multi_host):
                continue  # (a swarm network's endpoints are told to the cluster, named or not: ingress)
            spec = ctr.networks.get(network_id)
            names = member_names(ctr.name, spec.aliases if spec else (), ctr.id, ctr.spec.hostname) if named else ()
            member = Member(ctr.name, names, ep.ipv4, ep.ipv6)  # type: ignore[arg-type]
            if self._records is not None and named:
                self._records.set_member(net.id, net.name, ep.id, member)
            service = ctr.spec.labels.get(SERVICE_LABEL, "")
            for listener in self.listeners:
                listener.member_joined(net, ep, member, ctr.id, service)

    def leaving(self, sandbox_id: str, network_ids: Iterable[str] | None = None) -> None:
        """The sandbox's endpoints (on these networks, or all) stop answering; call it
        before they are removed."""
        view = self._engine.view
        for ep in view.endpoints_of_sandbox(sandbox_id):
            if network_ids is None or ep.network_id in network_ids:
                if self._records is not None:
                    self._records.drop_member(ep.network_id, ep.id)
                for listener in self.listeners:
                    listener.member_left(ep.network_id, ep.id)

    def withdrawing(self, sandbox_id: str) -> None:
        """The sandbox's endpoints stop answering, and stay (``leaving`` follows when they go)."""
        for ep in self._engine.view.endpoints_of_sandbox(sandbox_id):
            if self._records is not None:
                self._records.drop_member(ep.network_id, ep.id)
            for listener in self.listeners:
                listener.member_withdrawn(ep.network_id, ep.id)

    def network_removed(self, network_id: str) -> None:
        if self._records is not None:
            self._records.drop_network(network_id)

    def rebuild(self, running: Iterable[Container]) -> None:
        """Every network's members again (after a repair)."""
        if self._records is None:
            return
        for net in self._engine.networks():
            self._records.drop_network(net.id)
        for ctr in running:
            self.joined(ctr, list(ctr.networks))
