"""Which tasks back each service VIP, as one node follows the store. Pure.

A service in vip mode has a VIP per attached network (and on ``ingress`` for routing-mesh
ports: ``Endpoint.VirtualIPs``). Its backends on a network are the addresses of its
tasks' endpoint records there (``nodes/<node>/endpoints/<net>/<ep>``, whose ``Service``
names it) that serve: the task runs and, with a healthcheck, is healthy, and is not
being stopped (``Serving`` false: drained), on a node that is up (its ``alive`` key).

Each change marks the (network, service) pairs it touches; ``take`` gives, per network,
the VIPs whose backends changed since the last ``take`` and the backends whose endpoint
records went (their flows are forgotten). The cost of a change is that service's
backends, whatever the number of services; ``vips`` gives a network's whole state (a
balancer made anew).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Address = ipaddress.IPv4Address
Pair = tuple[str, str]  # (network ID, service ID)


@dataclass(frozen=True, slots=True)
class Change:
    #: VIP → its backends now (None: the VIP went)
    vips: dict[Address, list[Address] | None]
    #: backends whose endpoints went (not drained): their flows are forgotten
    gone: list[Address]
    #: the services whose backends or VIP there changed
    services: list[str]


@dataclass(frozen=True, slots=True)
class _Endpoint:
    node: str
    network: str
    service: str
    address: Address
    serving: bool


def vips_of(service: Mapping[str, Any]) -> dict[str, Address]:
    """A vip-mode service's IPv4 VIPs by network ID (none in dnsrr mode)."""
    spec = service.get("Spec") or {}
    if ((spec.get("EndpointSpec") or {}).get("Mode") or "vip") != "vip":
        return {}
    out: dict[str, Address] = {}
    for vip in (service.get("Endpoint") or {}).get("VirtualIPs") or []:
        address = ipaddress.ip_address(str(vip.get("Addr", "")).split("/")[0])
        if isinstance(address, Address):
            out[str(vip.get("NetworkID", ""))] = address
    return out


class Backends:
    def __init__(self) -> None:
        self._vips: dict[str, dict[str, Address]] = {}  # service → network → VIP
        self._services_of: dict[str, set[str]] = {}  # network → services with a VIP on it
        self._endpoints: dict[str, _Endpoint] = {}
        self._members: dict[Pair, set[str]] = {}  # (network, service) → endpoint IDs
        self._by_node: dict[str, set[str]] = {}
        self._alive: set[str] = set()
        self._dirty: set[Pair] = set()
        self._gone: dict[str, set[Address]] = {}
        #: what the last ``take`` reported per pair: (VIP, backends)
        self._told: dict[Pair, tuple[Address, list[Address]]] = {}

    # -- inputs

    def service(self, service_id: str, record: Mapping[str, Any] | None) -> None:
        before = self._vips.pop(service_id, {})
        now = vips_of(record) if record is not None else {}
        if now:
            self._vips[service_id] = now
        for network_id in before.keys() - now.keys():
            self._services_of.get(network_id, set()).discard(service_id)
        for network_id in now:
            self._services_of.setdefault(network_id, set()).add(service_id)
        for network_id in before.keys() | now.keys():
            if before.get(network_id) != now.get(network_id):
                self._dirty.add((network_id, service_id))

    def endpoint(self, node: str, network_id: str, endpoint_id: str, record: Mapping[str, Any] | None) -> None:
        old = self._endpoints.pop(endpoint_id, None)
        if old is not None:
            self._members.get((old.network, old.service), set()).discard(endpoint_id)
            self._by_node.get(old.node, set()).discard(endpoint_id)
            self._dirty.add((old.network, old.service))
        new = _parse(node, network_id, record) if record is not None else None
        if new is None:
            if old is not None and record is None:
                self._gone.setdefault(old.network, set()).add(old.address)
            return
        self._endpoints[endpoint_id] = new
        self._members.setdefault((network_id, new.service), set()).add(endpoint_id)
        self._by_node.setdefault(node, set()).add(endpoint_id)
        self._dirty.add((network_id, new.service))

    def node(self, node: str, alive: bool) -> None:
        if alive == (node in self._alive):
            return
        if alive:
            self._alive.add(node)
        else:
            self._alive.discard(node)
        for endpoint_id in self._by_node.get(node, ()):
            ep = self._endpoints[endpoint_id]
            self._dirty.add((ep.network, ep.service))

    # -- outputs

    def backends(self, network_id: str, service_id: str) -> list[Address]:
        eps = (self._endpoints[i] for i in self._members.get((network_id, service_id), ()))
        return sorted({ep.address for ep in eps if ep.serving and ep.node in self._alive})

    def vips(self, network_id: str) -> dict[Address, list[Address]]:
        """Every VIP of the network and its backends (the whole state of its balancer)."""
        out: dict[Address, list[Address]] = {}
        for service_id in self._services_of.get(network_id, ()):
            vip = self._vips[service_id][network_id]
            out[vip] = self.backends(network_id, service_id)
            self._told[(network_id, service_id)] = (vip, out[vip])
        return out

    def take(self) -> dict[str, Change]:
        """What changed since the last ``take``, per network."""
        out: dict[str, Change] = {}
        for network_id, service_id in sorted(self._dirty):
            pair = (network_id, service_id)
            vip = self._vips.get(service_id, {}).get(network_id)
            told = self._told.pop(pair, None)
            change = out.setdefault(network_id, Change({}, [], []))
            change.services.append(service_id)
            if told is not None and told[0] != vip:
                change.vips.setdefault(told[0], None)  # the VIP went (or moved)
            if vip is None:
                continue
            now = self.backends(network_id, service_id)
            self._told[pair] = (vip, now)
            if told is None or told != (vip, now):
                change.vips[vip] = now
        for network_id, addresses in self._gone.items():
            out.setdefault(network_id, Change({}, [], [])).gone.extend(sorted(addresses))
        self._dirty.clear()
        self._gone.clear()
        return {n: c for n, c in out.items() if c.vips or c.gone or c.services}


def _parse(node: str, network_id: str, record: Mapping[str, Any]) -> _Endpoint | None:
    service = str(record.get("Service") or "")
    text = str(record.get("IPv4") or "")
    if not service or not text or record.get("LB"):
        return None
    return _Endpoint(node, network_id, service, ipaddress.IPv4Address(text), record.get("Serving") is not False)
