"""The engine's records in memory, as one immutable value: what reads see.

Every change builds a new ``Snapshot`` from the last (persistent maps: an update costs
O(log n) and shares the rest, so the 1,000th endpoint costs what the 10th did) and the
engine swaps it in with one assignment. Readers (API handlers on the event loop, the DNS
server, the doctor) take the current snapshot and never wait for a lock, however long
kernel work under the engine's lock takes.

Membership is held once: an endpoint record names its sandbox and network, and the two
indexes below are derived from the endpoints, never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from immutables import Map

from seaway.errors import InvalidParameter, NotFound
from seaway.model.endpoint import Endpoint, Sandbox
from seaway.model.network import Network


@dataclass(frozen=True, slots=True)
class Snapshot:
    networks: Map[str, Network] = field(default_factory=Map)
    names: Map[str, str] = field(default_factory=Map)  # network name -> ID
    sandboxes: Map[str, Sandbox] = field(default_factory=Map)
    endpoints: Map[str, Endpoint] = field(default_factory=Map)
    by_sandbox: Map[str, Map[str, str]] = field(default_factory=Map)  # sandbox -> network -> endpoint
    by_network: Map[str, Map[str, str]] = field(default_factory=Map)  # network -> endpoint -> sandbox

    # ------------------------------------------------------------ reads

    def network(self, term: str) -> Network:
        """Resolve a network as Docker does: full ID, then exact name, then unique ID prefix."""
        found = self.networks.get(term)
        if found is not None:
            return found
        if term in self.names:
            return self.networks[self.names[term]]
        matches = [n for i, n in self.networks.items() if term and i.startswith(term)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise InvalidParameter(f"network {term} is ambiguous ({len(matches)} matches found based on ID prefix)")
        raise NotFound(f"network {term} not found")

    def sandbox(self, sandbox_id: str) -> Sandbox:
        found = self.sandboxes.get(sandbox_id)
        if found is None:
            raise NotFound(f"sandbox {sandbox_id} not found")
        return found

    def endpoints_of_network(self, network_id: str) -> list[Endpoint]:
        return [self.endpoints[e] for e in sorted(self.by_network.get(network_id, Map()))]

    def endpoints_of_sandbox(self, sandbox_id: str) -> list[Endpoint]:
        return [self.endpoints[e] for e in self.by_sandbox.get(sandbox_id, Map()).values()]

    def endpoint_in(self, sandbox_id: str, network_id: str) -> Endpoint | None:
        ep_id = self.by_sandbox.get(sandbox_id, Map()).get(network_id)
        return None if ep_id is None else self.endpoints[ep_id]

    def members(self, sandbox_id: str) -> list[tuple[Endpoint, Network]]:
        return [(ep, self.networks[ep.network_id]) for ep in self.endpoints_of_sandbox(sandbox_id)]

    def member_count(self, network_id: str) -> int:
        return len(self.by_network.get(network_id, Map()))

    # ------------------------------------------------------------ changes (each returns a new snapshot)

    def with_network(self, net: Network) -> Snapshot:
        old = self.networks.get(net.id)
        names = self.names.delete(old.name) if old is not None and old.name != net.name else self.names
        return _replace(
            self,
            networks=self.networks.set(net.id, net),
            names=names.set(net.name, net.id),
            by_network=self.by_network if net.id in self.by_network else self.by_network.set(net.id, Map()),
        )

    def without_network(self, network_id: str) -> Snapshot:
        net = self.networks.get(network_id)
        if net is None:
            return self
        return _replace(
            self,
            networks=self.networks.delete(network_id),
            names=self.names.delete(net.name) if self.names.get(net.name) == network_id else self.names,
            by_network=self.by_network.delete(network_id) if network_id in self.by_network else self.by_network,
        )

    def with_sandbox(self, sb: Sandbox) -> Snapshot:
        by_sandbox = self.by_sandbox if sb.id in self.by_sandbox else self.by_sandbox.set(sb.id, Map())
        return _replace(self, sandboxes=self.sandboxes.set(sb.id, sb), by_sandbox=by_sandbox)

    def without_sandbox(self, sandbox_id: str) -> Snapshot:
        if sandbox_id not in self.sandboxes:
            return self
        by_sandbox = self.by_sandbox.delete(sandbox_id) if sandbox_id in self.by_sandbox else self.by_sandbox
        return _replace(self, sandboxes=self.sandboxes.delete(sandbox_id), by_sandbox=by_sandbox)

    def with_endpoint(self, ep: Endpoint) -> Snapshot:
        joined = self.by_sandbox.get(ep.sandbox_id, Map()).set(ep.network_id, ep.id)
        members = self.by_network.get(ep.network_id, Map()).set(ep.id, ep.sandbox_id)
        return _replace(
            self,
            endpoints=self.endpoints.set(ep.id, ep),
            by_sandbox=self.by_sandbox.set(ep.sandbox_id, joined),
            by_network=self.by_network.set(ep.network_id, members),
        )

    def without_endpoint(self, ep: Endpoint) -> Snapshot:
        if ep.id not in self.endpoints:
            return self
        by_sandbox, by_network = self.by_sandbox, self.by_network
        joined = by_sandbox.get(ep.sandbox_id)
        if joined is not None and ep.network_id in joined:
            by_sandbox = by_sandbox.set(ep.sandbox_id, joined.delete(ep.network_id))
        members = by_network.get(ep.network_id)
        if members is not None and ep.id in members:
            by_network = by_network.set(ep.network_id, members.delete(ep.id))
        return _replace(self, endpoints=self.endpoints.delete(ep.id), by_sandbox=by_sandbox, by_network=by_network)


def _replace(snap: Snapshot, **changes: object) -> Snapshot:
    fields_ = {
        "networks": snap.networks,
        "names": snap.names,
        "sandboxes": snap.sandboxes,
        "endpoints": snap.endpoints,
        "by_sandbox": snap.by_sandbox,
        "by_network": snap.by_network,
    }
    fields_.update(changes)
    return Snapshot(**fields_)  # type: ignore[arg-type]
