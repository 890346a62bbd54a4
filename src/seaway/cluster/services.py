"""Swarm services in the store: create, find, update, roll back and remove, as a manager
does them inside the API call (the leader's orchestrator then makes and ends tasks).

A create allocates a virtual IP on each of the service's networks in vip mode (and on
``ingress`` when a port is published through the routing mesh), each an address key
owned by the service (``{"Service": id}``), and published ports (``ports/<proto>/<port>``
keys, auto ports from Docker's 30000-32767), then writes the service and its unique name
in one transaction; if that fails, what it took is given back. An update keeps the VIPs
of networks still attached, takes new ones and frees the rest in the transaction that
checks the ``?version=``. A remove deletes the service, its name, its ports and its
VIPs in one transaction.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
from datetime import UTC, datetime
from typing import Any

from seaway.cluster import addrpool, identity, netrecords, networks, schema, servicedoc, servicespec
from seaway.cluster.store import Entry, Store
from seaway.errors import InvalidParameter, NotFound, SeawayError

log = logging.getLogger(__name__)

INGRESS_PORTS = range(30000, 32768)  # Docker's dynamic range for published ports


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


async def find(store: Store, ref: str) -> Entry:
    """A service by ID, name or unique ID prefix (Docker's order)."""
    if ref:
        entry = await store.get(schema.service(ref))
        if entry is not None:
            return entry
        named = await store.get(schema.service_name(ref))
        if named is not None and (entry := await store.get(schema.service(named.value["ID"]))) is not None:
            return entry
        matches = [e for e in await store.list(schema.SERVICES) if e.value["ID"].startswith(ref)]
        if len(matches) == 1:
            return matches[0]
    raise NotFound(f"service {ref} not found")


def attached(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The networks a spec attaches its tasks to (TaskTemplate's, or the deprecated top-level list)."""
    return list(spec.get("TaskTemplate", {}).get("Networks") or spec.get("Networks") or [])


def endpoint_mode(spec: dict[str, Any]) -> str:
    return str((spec.get("EndpointSpec") or {}).get("Mode") or "vip")


def ingress_ports(spec: dict[str, Any]) -> list[dict[str, Any]]:
    ports = (spec.get("EndpointSpec") or {}).get("Ports") or []
    return [p for p in ports if (p.get("PublishMode") or "ingress") == "ingress"]


async def create(store: Store, spec: dict[str, Any]) -> dict[str, Any]:
    """Store a new service (its spec already normalised); the record."""
    name = str(spec["Name"])
    if await store.get(schema.service_name(name)) is not None:
        raise servicespec.name_conflict(name)
    servicespec.check_port_conflicts(spec, [e.value for e in await store.list(schema.SERVICES)])
    service_id = identity.new_id()
    now = _now()
    taken: list[str] = []
    try:
        vips = await _take_vips(store, service_id, spec, {}, taken)
        ports, _ = await _take_ports(store, service_id, spec, [], taken)
        record = {
            "ID": service_id, "CreatedAt": now, "UpdatedAt": now, "Spec": spec,
            "Endpoint": await _endpoint(store, spec, ports, vips, {}),
        }  # fmt: skip
        keys = {schema.service(service_id): record, schema.service_name(name): {"ID": service_id}}
        if await store.transact(create=keys) is None:
            raise servicespec.name_conflict(name)
    except BaseException:
        await _give_back(store, taken)
        raise
    log.info("swarm: service %s created (%s)", name, service_id)
    return record


async def update(store: Store, ref: str, version: int, spec: dict[str, Any], rollback: bool = False) -> dict[str, Any]:
    """Replace a service's spec (``rollback``: go back to its previous one) if it is still
    at ``version``; the new record."""
    entry = await find(store, ref)
    if entry.mod_revision != version:
        raise InvalidParameter("rpc error: code = Unknown desc = update out of sequence")
    old = entry.value
    if rollback:
        if not old.get("PreviousSpec"):
            raise servicespec.no_previous_spec(old["ID"])
        spec = old["PreviousSpec"]
    servicespec.check_update(old["Spec"], spec)
    others = [e.value for e in await store.list(schema.SERVICES) if e.value["ID"] != old["ID"]]
    servicespec.check_port_conflicts(spec, others)
    taken: list[str] = []
    try:
        vips = await _take_vips(store, old["ID"], spec, _vips_by_network(old), taken)
        ports, port_keys = await _take_ports(store, old["ID"], spec, _ports_of(old), taken)
        record = {
            **old, "UpdatedAt": _now(), "Spec": spec, "PreviousSpec": old["Spec"],
            "Endpoint": await _endpoint(store, spec, ports, vips, old.get("Endpoint") or {}),
        }  # fmt: skip
        if rollback:
            record["PreviousSpec"] = old["Spec"]
            record["UpdateStatus"] = {
                "State": "rollback_started", "StartedAt": record["UpdatedAt"], "Message": "manually requested rollback",
            }  # fmt: skip
        else:  # the orchestrator starts a rollout of what changed (swarmkit clears it too)
            record.pop("UpdateStatus", None)
        kept_vips = {v["Addr"] for v in vips}
        freed = [
            schema.address(v["NetworkID"], v["Addr"].split("/")[0])
            for v in old.get("Endpoint", {}).get("VirtualIPs", []) if v["Addr"] not in kept_vips
        ]  # fmt: skip
        freed += [k for k in _port_keys(old) if k not in port_keys]
        done = await store.transact(put={entry.key: record}, unchanged={entry.key: version}, delete=freed)
        if done is None:
            raise InvalidParameter("rpc error: code = Unknown desc = update out of sequence")
    except BaseException:
        await _give_back(store, taken)
        raise
    return record


async def remove(store: Store, ref: str) -> dict[str, Any]:
    entry = await find(store, ref)
    record = entry.value
    keys = [entry.key, schema.service_name(record["Spec"]["Name"]), *_port_keys(record)]
    keys += [
        schema.address(v["NetworkID"], v["Addr"].split("/")[0])
        for v in record.get("Endpoint", {}).get("VirtualIPs", [])
    ]
    if await store.transact(unchanged={entry.key: entry.mod_revision}, delete=keys) is None:
        raise NotFound(f"service {ref} not found")
    log.info("swarm: service %s removed (%s)", record["Spec"]["Name"], record["ID"])
    return record


# -- virtual IPs


def _vips_by_network(record: dict[str, Any]) -> dict[str, str]:
    return {v["NetworkID"]: v["Addr"] for v in record.get("Endpoint", {}).get("VirtualIPs", [])}


async def _take_vips(
    store: Store, service_id: str, spec: dict[str, Any], have: dict[str, str], taken: list[str]
) -> list[dict[str, str]]:
    """A VIP per attached network in vip mode (and on ingress with mesh ports): those the
    service had are kept, the others taken (their keys added to ``taken``)."""
    wanted: list[dict[str, Any]] = []
    if ingress_ports(spec):  # the ingress VIP first, as dockerd lists them
        ingress = await _ingress(store)
        if ingress is not None:
            wanted.append(ingress)
    if endpoint_mode(spec) == "vip":
        wanted += [(await networks.find(store, a["Target"])).value for a in attached(spec)]
    vips = []
    for record in wanted:
        if record["ID"] in have:
            vips.append({"NetworkID": record["ID"], "Addr": have[record["ID"]]})
            continue
        net = netrecords.to_network(record, "0.0.0.0")
        subnet = next((s for s in net.subnets if s.version == 4), None) or (net.subnets[0] if net.subnets else None)
        if subnet is None:
            continue
        address = await addrpool.allocate_next(store, net, subnet, {"Service": service_id})
        taken.append(schema.address(net.id, str(address)))
        vips.append({"NetworkID": net.id, "Addr": f"{address}/{subnet.subnet.prefixlen}"})
    return vips


async def _ingress(store: Store) -> dict[str, Any] | None:
    for entry in await store.list(schema.NETWORKS):
        if entry.value.get("Ingress"):
            return entry.value
    return None


# -- published ports


def _ports_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    return list(record.get("Endpoint", {}).get("Ports") or [])


def _port_key(port: dict[str, Any]) -> str:
    return f"{schema.PORTS}{port.get('Protocol') or 'tcp'}/{port['PublishedPort']}"


def _port_keys(record: dict[str, Any]) -> list[str]:
    return [_port_key(p) for p in _ports_of(record) if (p.get("PublishMode") or "ingress") == "ingress"]


async def _take_ports(
    store: Store, service_id: str, spec: dict[str, Any], have: list[dict[str, Any]], taken: list[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The service's published ports with their published numbers: routing-mesh ports are
    cluster-wide keys (a port the service had is kept, an auto port keeps its number
    across updates); host-mode ports are the node's business (the scheduler keeps
    two such tasks apart)."""
    out: list[dict[str, Any]] = []
    keys: list[str] = []
    mine = {_port_key(p) for p in have if p.get("PublishedPort")}
    auto = {(p.get("Protocol") or "tcp", p["TargetPort"]): p["PublishedPort"] for p in have if p.get("PublishedPort")}
    for port in (spec.get("EndpointSpec") or {}).get("Ports") or []:
        port = {"Protocol": "tcp", "PublishMode": "ingress", **port}
        if port["PublishMode"] != "ingress":
            out.append(port)
            continue
        proto = port["Protocol"]
        if not port.get("PublishedPort"):
            previous = auto.get((proto, port["TargetPort"]))
            port["PublishedPort"] = previous or await _free_port(store, proto)
        key = _port_key(port)
        if key not in mine:
            if await store.create(key, {"Service": service_id}) is None:
                raise InvalidParameter(
                    f"rpc error: code = InvalidArgument desc = port '{port['PublishedPort']}' is already in use by "
                    "service '" + await _port_holder(store, key) + "' as an ingress port"
                )
            taken.append(key)
        keys.append(key)
        out.append(port)
    return out, keys


async def _free_port(store: Store, proto: str) -> int:
    used = {int(e.key.rsplit("/", 1)[1]) for e in await store.list(f"{schema.PORTS}{proto}/")}
    for port in INGRESS_PORTS:
        if port not in used:
            return port
    raise InvalidParameter("rpc error: code = ResourceExhausted desc = no available ports in the dynamic range")


async def _port_holder(store: Store, key: str) -> str:
    entry = await store.get(key)
    holder = await store.get(schema.service(entry.value["Service"])) if entry else None
    return str(holder.value["Spec"]["Name"]) if holder else "?"


async def _endpoint(
    store: Store, spec: dict[str, Any], ports: list[dict[str, Any]], vips: list[dict[str, str]],
    previous: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    """The service's allocated endpoint. ``Spec`` is the copy of the spec's EndpointSpec
    made when the endpoint was (re)allocated, as dockerd shows it (``servicedoc``)."""
    ingress = await _ingress(store)
    if servicedoc.endpoint_needs_allocation(spec, previous, ingress["ID"] if ingress else ""):
        endpoint: dict[str, Any] = {"Spec": dict(spec.get("EndpointSpec") or {})}
    else:
        endpoint = {"Spec": dict(previous.get("Spec") or {})}
    if ports:
        endpoint["Ports"] = ports
    if vips:
        endpoint["VirtualIPs"] = vips
    return endpoint


async def _give_back(store: Store, keys: list[str]) -> None:
    for key in keys:
        with contextlib.suppress(SeawayError):
            await store.delete(key)


def vip_address(vip: dict[str, str]) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(vip["Addr"].split("/")[0])
