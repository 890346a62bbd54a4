"""Model objects to and from JSON documents for the store. Pure."""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, replace
from typing import Any

from seaway.model.endpoint import Endpoint, Sandbox
from seaway.model.network import Network, Subnet, options_from_doc, options_to_doc
from seaway.model.ports import PortMapping


def _addr(text: str | None) -> Any:
    return ipaddress.ip_address(text) if text else None


def network_to_doc(net: Network) -> dict[str, Any]:
    doc = asdict(replace(net, driver_options=None))
    doc["driver_options"] = options_to_doc(net.driver_options)
    doc["subnets"] = [
        {
            "subnet": str(s.subnet),
            "ip_range": str(s.ip_range) if s.ip_range else None,
            "gateway": str(s.gateway) if s.gateway else None,
            "aux_addresses": {k: str(v) for k, v in s.aux_addresses.items()},
            "user_given": s.user_given,
        }
        for s in net.subnets
    ]
    return doc


def network_from_doc(doc: dict[str, Any]) -> Network:
    subnets = tuple(
        Subnet(
            subnet=ipaddress.ip_network(s["subnet"]),
            ip_range=ipaddress.ip_network(s["ip_range"]) if s["ip_range"] else None,
            gateway=_addr(s["gateway"]),
            aux_addresses={k: ipaddress.ip_address(v) for k, v in s["aux_addresses"].items()},
            user_given=s["user_given"],
        )
        for s in doc["subnets"]
    )
    options = options_from_doc(doc.get("driver_options"))
    for legacy in ("bridge", "parent"):  # records written before options were open
        if doc.get(legacy):
            options = options_from_doc({"kind": legacy, **doc[legacy]})
    fields = {k: v for k, v in doc.items() if k not in ("subnets", "bridge", "parent", "driver_options")}
    return Network(subnets=subnets, driver_options=options, **fields)


def endpoint_to_doc(ep: Endpoint) -> dict[str, Any]:
    doc = asdict(replace(ep, ports=()))  # asdict deep-copies: ports are done by hand, below
    doc["ipv4"] = str(ep.ipv4) if ep.ipv4 else None
    doc["ipv6"] = str(ep.ipv6) if ep.ipv6 else None
    doc["aliases"] = list(ep.aliases)
    doc["ports"] = _port_runs(ep.ports)
    return doc


def _port_runs(ports: tuple[PortMapping, ...]) -> list[list[Any]]:
    """Mappings as runs ``[proto, first container port, host ip, first host port,
    container ip, count]``: a 10,000-port range is one entry."""
    runs: list[list[Any]] = []
    last: PortMapping | None = None
    for m in ports:
        if (
            last is not None
            and (m.proto, m.host_ip, m.container_ip) == (last.proto, last.host_ip, last.container_ip)
            and (m.host_port, m.container_port) == (last.host_port + 1, last.container_port + 1)
        ):
            runs[-1][5] += 1
        else:
            runs.append([m.proto, m.container_port, str(m.host_ip), m.host_port, str(m.container_ip), 1])
        last = m
    return runs


def endpoint_from_doc(doc: dict[str, Any]) -> Endpoint:
    fields = dict(doc)
    fields["ipv4"] = _addr(doc["ipv4"])
    fields["ipv6"] = _addr(doc["ipv6"])
    fields["aliases"] = tuple(doc["aliases"])
    ports: list[PortMapping] = []
    for proto, cport, hip, hport, cip, count in doc.get("ports", ()):
        host_ip, container_ip = ipaddress.ip_address(hip), ipaddress.ip_address(cip)
        ports += [PortMapping(proto, cport + i, host_ip, hport + i, container_ip) for i in range(count)]
    fields["ports"] = tuple(ports)
    return Endpoint(**fields)


def sandbox_to_doc(sb: Sandbox) -> dict[str, Any]:
    return asdict(sb)


def sandbox_from_doc(doc: dict[str, Any]) -> Sandbox:
    """(Older documents carried an ``endpoints`` list, never filled: membership is the
    endpoint records'; it is ignored.)"""
    fields = {k: v for k, v in doc.items() if k != "endpoints"}
    return Sandbox(**fields)
