"""Swarm-scoped networks in the store: create, find and remove, as a manager does them
inside the API call.

A create is one etcd transaction writing the network, its unique name, and the keys of
its subnets and VXLAN id, each "created only if absent": two managers allocating at once
can never hand out one subnet, id or name twice; the one that loses re-reads and plans
again (bounded). A remove is one transaction deleting the same keys, on the condition
that no address of the network is held (no endpoint on any node).
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import UTC, datetime
from typing import Any

from seaway.cluster import identity, netrecords, schema
from seaway.cluster.store import Entry, Store
from seaway.errors import Conflict, Forbidden, NotFound, Unavailable
from seaway.model.network import NetworkSpec

log = logging.getLogger(__name__)

CREATE_TRIES = 5


async def create(store: Store, spec: NetworkSpec, cluster: dict[str, Any]) -> dict[str, Any]:
    """Allocate and store a new swarm network; its record."""
    for _ in range(CREATE_TRIES):
        if await store.get(schema.network_name(spec.name)) is not None:
            raise Conflict(f"network with name {spec.name} already exists")
        records = [e.value for e in await store.list(schema.NETWORKS)]
        record = netrecords.plan(
            spec,
            identity.new_id(),
            datetime.now(UTC).isoformat(),
            taken_subnets=[ipaddress.ip_network(s) for r in records for s in netrecords.subnets_of(r)],
            taken_vnis={int(r["VNI"]) for r in records if "VNI" in r},
            address_pools=list(cluster.get("DefaultAddrPool") or [netrecords.DEFAULT_POOL]),
            subnet_size=int(cluster.get("SubnetSize") or 24),
            cluster_id=str(cluster.get("ID", "")),
        )
        if await store.transact(create=_keys(record)) is not None:
            log.info("swarm: network %s created (%s, VNI %s)", record["Name"], record["ID"], record.get("VNI", "none"))
            return record
    raise Unavailable(f"could not allocate network {spec.name}: other networks were being created at the same time")


async def create_ingress(store: Store) -> dict[str, Any]:
    record = netrecords.ingress(identity.new_id(), datetime.now(UTC).isoformat())
    await store.transact(create=_keys(record))
    return record


async def find(store: Store, ref: str) -> Entry:
    """A network by ID, unique ID prefix or name (Docker's order)."""
    entry = await store.get(schema.network(ref))
    if entry is not None:
        return entry
    named = await store.get(schema.network_name(ref))
    if named is not None:
        entry = await store.get(schema.network(named.value["ID"]))
        if entry is not None:
            return entry
    matches = [e for e in await store.list(schema.NETWORKS) if e.value["ID"].startswith(ref)] if ref else []
    if len(matches) == 1:
        return matches[0]
    raise NotFound(f"network {ref} not found")


async def remove(store: Store, ref: str) -> dict[str, Any]:
    entry = await find(store, ref)
    record = entry.value
    keys = _keys(record)
    done = await store.transact(
        unchanged={entry.key: entry.mod_revision},
        delete=list(keys),
        absent_prefixes=[schema.addresses(record["ID"])],
    )
    if done is None:
        if await store.get(entry.key) is None:
            raise NotFound(f"network {ref} not found")
        raise Forbidden(
            f"error while removing network: network {record['Name']} id {record['ID']} has active endpoints"
        )
    await store.delete_prefix(f"{schema.CURSORS}{record['ID']}/")
    log.info("swarm: network %s removed (%s)", record["Name"], record["ID"])
    return record


def _keys(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    owner = {"ID": record["ID"]}
    keys = {schema.network(record["ID"]): record, schema.network_name(record["Name"]): owner}
    for cidr in netrecords.subnets_of(record):
        keys[schema.subnet(cidr)] = owner
    if "VNI" in record:  # a node-local network holds neither subnets nor a VNI
        keys[schema.vni(int(record["VNI"]))] = owner
    return keys
