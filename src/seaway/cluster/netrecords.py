"""Swarm-scoped networks as the cluster stores them: the allocation a manager plans for a
create request (subnets, gateways, VXLAN id), the ``ingress`` network of a new swarm,
and the local engine's ``Network`` a node makes of a record. Pure.

A record (the value of ``networks/<id>``) holds Docker's fields and the allocation::

    {"ID", "Name", "Driver": "overlay", "Created", "Attachable", "Internal", "Ingress",
     "EnableIPv6", "Options", "Labels", "VNI",
     "Subnets": [{"Subnet", "Gateway", "IPRange", "AuxiliaryAddresses", "UserGiven"}]}

One VXLAN id per network: its subnets (IPv4, IPv6) share one bridge and one VXLAN link
on each node. Docker gives each IPv4 subnet a VNI of its own; with one bridge routing
between them a second VNI carries nothing more.
"""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from typing import Any

from seaway.dns.records import Member
from seaway.drivers.overlay import OVERHEAD, VNI_OPTION, VXLAN_PORT, OverlayOptions
from seaway.errors import Conflict, Forbidden, InvalidParameter, Unsupported
from seaway.ipam import pools
from seaway.ipam.allocator import first_free
from seaway.model import options as opts
from seaway.model.ids import validate_network_name
from seaway.model.network import PREDEFINED_NETWORKS, IPNetwork, Network, NetworkSpec, Subnet

INGRESS = "ingress"
INGRESS_SUBNET = "10.0.0.0/24"
INGRESS_VNI = 4096
FIRST_VNI = 4096  # the lowest VXLAN id handed out (Docker's)
MAX_VNI = (1 << 24) - 1
ENCRYPTED_OPTION = "encrypted"
ACCEPTED_OPTIONS = (opts.MTU, VNI_OPTION)
DEFAULT_POOL = "10.0.0.0/8"
#: drivers of swarm-scoped networks each node builds for itself from its own configuration
#: network (``--scope swarm --config-from``): nothing is allocated cluster-wide
NODE_LOCAL_DRIVERS = ("macvlan", "ipvlan", "bridge")
CONFIG_ONLY_FIELDS = (
    "configuration network can only contain network specific fields. Network operator fields "
    "like [ ingress | internal | attachable | scope ] are not supported."
)
UNDERLAY_MTU = 1500


def plan(
    spec: NetworkSpec,
    network_id: str,
    now: str,
    *,
    taken_subnets: list[IPNetwork],
    taken_vnis: set[int],
    address_pools: list[str],
    subnet_size: int,
    cluster_id: str,
) -> dict[str, Any]:
    """The record of a new swarm network, allocated against what other networks hold;
    raises Docker's errors for a request that can't be met."""
    validate_network_name(spec.name)
    if spec.name in PREDEFINED_NETWORKS:
        raise Forbidden(f"operation is not permitted on predefined {spec.name} network ")
    if spec.config_only:  # dockerd's check of the request, before any other
        raise Forbidden(CONFIG_ONLY_FIELDS)
    if spec.config_from:
        _check_config_from(spec)
    if spec.driver in NODE_LOCAL_DRIVERS:
        return _node_local(spec, network_id, now)
    if spec.driver != "overlay":
        raise Unsupported(f"swarm-scoped networks with driver {spec.driver!r} are not supported by Seaway yet")
    if spec.config_from:
        raise Unsupported("overlay networks from a configuration network are not supported by Seaway")
    if spec.ipam_driver not in ("", "default"):
        raise Unsupported(f"IPAM driver {spec.ipam_driver!r} for swarm-scoped networks is not supported by Seaway yet")
    if ENCRYPTED_OPTION in spec.options:
        raise Unsupported("encrypted overlay networks (--opt encrypted) are not supported by Seaway yet")
    for key in sorted(spec.options):
        if key not in ACCEPTED_OPTIONS:
            raise InvalidParameter(
                f"invalid option {key!r} for driver overlay: accepted options are {', '.join(ACCEPTED_OPTIONS)}"
            )
    if opts.MTU in spec.options:
        opts.parse_mtu(spec.options[opts.MTU])
    enable_ipv6 = spec.enable_ipv6
    subnets = _subnets(spec, enable_ipv6, taken_subnets, address_pools, subnet_size, cluster_id)
    vni = _vni(spec.options.get(VNI_OPTION, ""), taken_vnis)
    options = {**spec.options, VNI_OPTION: str(vni)}
    return {
        "ID": network_id, "Name": spec.name, "Driver": "overlay", "Created": now,
        "Attachable": spec.attachable, "Internal": spec.internal, "Ingress": False, "EnableIPv6": enable_ipv6,
        "Options": options, "Labels": dict(spec.labels), "VNI": vni,
        "Subnets": [_subnet_json(s) for s in subnets],
    }  # fmt: skip


def _check_config_from(spec: NetworkSpec) -> None:
    """dockerd's refusals of a network that takes its configuration from another."""
    if (
        spec.ipam_configs
        or spec.enable_ipv6
        or spec.labels
        or spec.ipam_options
        or spec.ipam_driver not in ("", "default")
    ):
        raise Forbidden(
            "user specified configurations are not supported if the network depends on a configuration network"
        )
    if spec.options:
        raise Forbidden("network driver options are not supported if the network depends on a configuration network")


def _node_local(spec: NetworkSpec, network_id: str, now: str) -> dict[str, Any]:
    """The record of a node-local swarm network: its name, driver and configuration
    network; each node finds that by name when it first attaches something (a node
    without one refuses then, as dockerd's task does: the manager does not check)."""
    if not spec.config_from:
        raise Unsupported(f"swarm-scoped {spec.driver} networks without --config-from are not supported by Seaway yet")
    return {
        "ID": network_id, "Name": spec.name, "Driver": spec.driver, "Created": now,
        "Attachable": spec.attachable, "Internal": spec.internal, "Ingress": False, "EnableIPv6": False,
        "Options": {}, "Labels": {}, "ConfigFrom": spec.config_from, "Subnets": [],
    }  # fmt: skip


def is_node_local(record: dict[str, Any]) -> bool:
    return record.get("Driver", "overlay") != "overlay"


def ingress(network_id: str, now: str) -> dict[str, Any]:
    """The ``ingress`` network every swarm has from its start (Docker's subnet and VNI)."""
    subnet = Subnet(ipaddress.ip_network(INGRESS_SUBNET), None, None, {}, user_given=False)
    subnet = replace(subnet, gateway=first_free(subnet))
    return {
        "ID": network_id, "Name": INGRESS, "Driver": "overlay", "Created": now,
        "Attachable": False, "Internal": False, "Ingress": True, "EnableIPv6": False,
        "Options": {VNI_OPTION: str(INGRESS_VNI)}, "Labels": {}, "VNI": INGRESS_VNI,
        "Subnets": [_subnet_json(subnet)],
    }  # fmt: skip


def subnets_of(record: dict[str, Any]) -> list[str]:
    return [s["Subnet"] for s in record.get("Subnets", [])]


def to_network(record: dict[str, Any], local: str, port: int = VXLAN_PORT) -> Network:
    """The local engine's network for a record, on a node whose data-path address is
    ``local``; for a node-local network, its placeholder (``Network.placeholder``)."""
    if is_node_local(record):
        return _placeholder(record)
    options = dict(record.get("Options") or {})
    version = ipaddress.ip_address(local).version
    # the option is the containers' MTU, as Docker's overlay takes it; else the underlay's less VXLAN
    mtu = opts.parse_mtu(options[opts.MTU]) if opts.MTU in options else UNDERLAY_MTU - OVERHEAD[version]
    return Network(
        id=record["ID"],
        name=record["Name"],
        driver="overlay",
        scope="swarm",
        created=record["Created"],
        subnets=tuple(_subnet_of(s) for s in record.get("Subnets", [])),
        enable_ipv6=bool(record.get("EnableIPv6")),
        internal=bool(record.get("Internal")),
        attachable=bool(record.get("Attachable")),
        options=options,
        labels=dict(record.get("Labels") or {}),
        driver_options=OverlayOptions(vni=int(record["VNI"]), local=local, port=port, mtu=mtu),
        ingress=bool(record.get("Ingress")),
    )


def _placeholder(record: dict[str, Any]) -> Network:
    return Network(
        id=record["ID"],
        name=record["Name"],
        driver=record["Driver"],
        scope="swarm",
        created=record["Created"],
        subnets=(),
        enable_ipv6=False,
        internal=bool(record.get("Internal")),
        attachable=bool(record.get("Attachable")),
        options={},
        labels={},
        config_only=True,
        config_from=str(record.get("ConfigFrom", "")),
        ipam_driver="",
    )


def _subnets(
    spec: NetworkSpec, enable_ipv6: bool, taken: list[IPNetwork], address_pools: list[str], size: int, cluster_id: str
) -> list[Subnet]:
    planned: list[Subnet] = []
    for config in spec.ipam_configs:
        subnet = pools.parse_config(config)
        pools.check_no_overlap(subnet.subnet, taken + [p.subnet for p in planned])
        if subnet.gateway is None and (subnet.version == 4 or enable_ipv6):
            subnet = replace(subnet, gateway=first_free(subnet))
        planned.append(subnet)
    versions = {s.version for s in planned}
    if 4 not in versions:
        v4 = tuple(pools.PoolSpec(ipaddress.ip_network(p), size) for p in address_pools or [DEFAULT_POOL])
        planned.insert(0, _auto(v4, 4, taken))
    if enable_ipv6 and 6 not in versions:
        planned.append(_auto((pools.ula_pool(cluster_id),), 6, taken))
    return planned


def _auto(pool_list: tuple[pools.PoolSpec, ...], version: int, taken: list[IPNetwork]) -> Subnet:
    try:
        prefix = pools.choose_subnet(pool_list, version, taken, [])
    except InvalidParameter:
        raise InvalidParameter(
            f"could not find an available, non-overlapping IPv{version} address pool among the defaults to assign "
            f"to the network (the swarm's pools: {', '.join(str(p.base) for p in pool_list)}; give the network a "
            "--subnet, or remove unused swarm networks)"
        ) from None
    bare = Subnet(prefix, None, None, {}, user_given=False)
    return replace(bare, gateway=first_free(bare))


def _vni(given: str, taken: set[int]) -> int:
    if given:
        try:
            vni = int(given.split(",")[0])
        except ValueError:
            raise InvalidParameter(f"invalid VXLAN id list {given!r}: expected numbers separated by commas") from None
        if not 1 <= vni <= MAX_VNI:
            raise InvalidParameter(f"invalid VXLAN id {vni}: expected 1 to {MAX_VNI}")
        if vni in taken:
            raise Conflict(f"VXLAN id {vni} is already in use")
        return vni
    vni = FIRST_VNI
    while vni in taken:  # the taken ids are a set: one lookup per id skipped
        vni += 1
    if vni > MAX_VNI:
        raise InvalidParameter("no VXLAN id is free")
    return vni


def _subnet_json(s: Subnet) -> dict[str, Any]:
    return {
        "Subnet": str(s.subnet),
        "Gateway": str(s.gateway) if s.gateway is not None else "",
        "IPRange": str(s.ip_range) if s.ip_range is not None else "",
        "AuxiliaryAddresses": {k: str(v) for k, v in s.aux_addresses.items()},
        "UserGiven": s.user_given,
    }


def _subnet_of(raw: dict[str, Any]) -> Subnet:
    return Subnet(
        subnet=ipaddress.ip_network(raw["Subnet"]),
        ip_range=ipaddress.ip_network(raw["IPRange"]) if raw.get("IPRange") else None,
        gateway=ipaddress.ip_address(raw["Gateway"]) if raw.get("Gateway") else None,
        aux_addresses={k: ipaddress.ip_address(v) for k, v in (raw.get("AuxiliaryAddresses") or {}).items()},
        user_given=bool(raw.get("UserGiven")),
    )


def vip_members(service: dict[str, Any]) -> dict[str, Member]:
    """What a service's VIPs answer by name, per network ID: the service's name and the
    aliases of its attachment to that network (vip mode; none in dnsrr mode)."""
    spec = service.get("Spec") or {}
    if ((spec.get("EndpointSpec") or {}).get("Mode") or "vip") != "vip":
        return {}
    name = str(spec.get("Name", ""))
    aliases = {
        str(a.get("Target")): tuple(str(x) for x in a.get("Aliases") or ())
        for a in (spec.get("TaskTemplate") or {}).get("Networks") or []
    }
    out: dict[str, Member] = {}
    for vip in (service.get("Endpoint") or {}).get("VirtualIPs") or []:
        network_id = str(vip.get("NetworkID", ""))
        if network_id not in aliases:  # the ingress VIP answers no name
            continue
        address = ipaddress.ip_address(str(vip["Addr"]).split("/")[0])
        v4 = address if isinstance(address, ipaddress.IPv4Address) else None
        v6 = address if isinstance(address, ipaddress.IPv6Address) else None
        out[network_id] = Member(name, (name, *aliases[network_id]), v4, v6)
    return out
