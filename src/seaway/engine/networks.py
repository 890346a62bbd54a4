"""Planning a network: Docker's rules for a create request and the choice of subnets.

``NetworkPlanner.plan`` validates everything and allocates the subnets, touching
nothing: the engine then persists the result and the realizer programs it. It reads the
current snapshot (names, subnets in use) and, through its driver, what the host has
(parent links, the host's own routes).

A driver or IPAM driver the engine was not built with is a plugin, found and activated
by name on first use (``plugin_driver``, ``remote_ipam``: Docker's ``plugin "X" not
found`` when there is none). A remote IPAM's pools are the one thing planning asks of
another program: they are released again (``release``) when the create fails later.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from seaway.drivers.base import NetworkDriver
from seaway.engine.config import EngineConfig
from seaway.engine.snapshot import Snapshot
from seaway.errors import Conflict, Forbidden, InvalidParameter, NotFound, SeawayError, Unavailable
from seaway.ipam import pools
from seaway.ipam.allocator import first_free
from seaway.model import options as opts
from seaway.model.ids import new_id, validate_network_name
from seaway.model.network import PREDEFINED_NETWORKS, IPAMConfigSpec, IPNetwork, Network, NetworkSpec, Subnet
from seaway.plugins.ipam import RemoteIpam

log = logging.getLogger(__name__)

#: Docker's answer to an overlay network asked of a daemon outside a swarm (a swarm's
#: daemon hands those to the cluster, which allocates them and adopts them on each node)
NOT_IN_SWARM = (
    'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node '
    "to swarm and try again."
)
SWARM_DRIVERS = ("overlay",)


class NetworkPlanner:
    def __init__(
        self,
        config: EngineConfig,
        drivers: Mapping[str, NetworkDriver],
        host_routes: Callable[[], list[IPNetwork]],
        host_id: Callable[[], str],
        plugin_driver: Callable[[str], NetworkDriver] | None = None,
        remote_ipam: Callable[[str], RemoteIpam] | None = None,
    ) -> None:
        self._config = config
        self._drivers = drivers
        self._host_routes = host_routes
        self._host_id = host_id
        self._plugin_driver = plugin_driver
        self._remote_ipam = remote_ipam
        #: per network ID, its subnets and their IPv4 and IPv6 (first, last) spans: worked out
        #: once, so choosing a subnet with 1,000 networks is one sort of integer pairs
        self._spans: dict[str, tuple[tuple[Subnet, ...], tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]] = {}

    def driver(self, name: str) -> NetworkDriver:
        if name in SWARM_DRIVERS:
            raise Unavailable(NOT_IN_SWARM)
        if name in self._drivers:
            return self._drivers[name]
        if self._plugin_driver is not None:
            return self._plugin_driver(name)  # a plugin, activated now (NotFound when there is none)
        raise NotFound(f'plugin "{name}" not found')

    def ipam(self, name: str) -> RemoteIpam | None:
        """The IPAM driver of a network: None for Seaway's own (``default``)."""
        if name in ("", "default"):
            return None
        if self._remote_ipam is None:
            raise NotFound(f'plugin "{name}" not found')
        return self._remote_ipam(name)

    def release(self, net: Network) -> None:
        """Give a remote IPAM's pools back (after a failed create, or a remove); a plugin
        that cannot be found is logged, as libnetwork does, and the network goes anyway."""
        self._spans.pop(net.id, None)
        try:
            ipam = self.ipam(net.ipam_driver) if not net.config_only else None
        except SeawayError as exc:
            log.warning("could not release the pools of network %s: %s", net.name, exc)
            return
        if ipam is not None:
            ipam.release_subnets(net.subnets)

    def plan(self, spec: NetworkSpec, view: Snapshot, *, predefined: bool = False) -> Network:
        """Validate a create request and allocate its subnets; touches nothing."""
        validate_network_name(spec.name)
        if spec.name in PREDEFINED_NETWORKS and not predefined:
            raise Forbidden(f"operation is not permitted on predefined {spec.name} network ")
        if spec.name in view.names:
            raise Conflict(f"network with name {spec.name} already exists")
        driver = self.driver(spec.driver)
        if spec.scope not in ("", "local"):
            if spec.scope in ("swarm", "global"):
                raise Forbidden(f"cannot create a {spec.scope} scoped network when swarm is not active")
            raise InvalidParameter(f"invalid scope {spec.scope!r}: expected local, swarm or global")
        ipam = self.ipam(spec.ipam_driver)  # activated now: a missing one is named before anything else
        if spec.config_only:
            return _plan_config_only(spec)
        if spec.config_from:
            spec = _apply_config_from(spec, view)
        network_id = new_id()
        parsed = driver.parse_options(spec, network_id)
        enable_ipv6 = spec.enable_ipv6 or opts.parse_bool(opts.ENABLE_IPV6, spec.options.get(opts.ENABLE_IPV6, "false"))
        internal = spec.internal or opts.parse_bool(opts.INTERNAL, spec.options.get(opts.INTERNAL, "false"))
        others = [n for n in view.networks.values() if not n.config_only]
        if driver.single_instance and any(n.driver == spec.driver for n in others):
            raise Forbidden(f'only one instance of "{spec.driver}" network is allowed')
        if not driver.has_interfaces and spec.ipam_configs:
            raise InvalidParameter(f"invalid network config: the {spec.driver} driver takes no IPAM config")
        net = Network(
            id=network_id,
            name=spec.name,
            driver=spec.driver,
            scope="local",
            created=datetime.now(UTC).isoformat(),
            subnets=(),
            enable_ipv6=enable_ipv6,
            internal=internal,
            attachable=spec.attachable,
            options=dict(spec.options),
            labels=dict(spec.labels),
            driver_options=parsed,
            config_from=spec.config_from,
        )
        driver.check_network(net, others)  # a clash with another network is named before subnets are
        if (
            ipam is not None and driver.has_interfaces
        ):  # the plugin's pools: the last step, as nothing after it can fail
            subnets = ipam.allocate_subnets(spec.ipam_configs, enable_ipv6, dict(spec.ipam_options))
            net = replace(net, subnets=subnets, ipam_driver=ipam.name, ipam_options=dict(spec.ipam_options))
        elif driver.has_interfaces:
            subnets = self._plan_subnets(spec.ipam_configs, enable_ipv6, others, driver.on_host_segment)
            net = replace(net, subnets=subnets)
        return driver.plan_subnets(net)

    def _plan_subnets(
        self, configs: tuple[IPAMConfigSpec, ...], enable_ipv6: bool, others: list[Network], on_host_segment: bool
    ) -> tuple[Subnet, ...]:
        """``on_host_segment``: the subnet lives on a host link's segment (macvlan,
        ipvlan), so the host's own routes to it are expected, not a clash."""
        taken = [s.subnet for n in others for s in n.subnets] if configs else []  # user-given subnets' check
        host_routes = [] if on_host_segment else self._host_routes()
        planned: list[Subnet] = []
        for config in configs:
            subnet = pools.parse_config(config)
            pools.check_no_overlap(subnet.subnet, taken + [p.subnet for p in planned])
            for route in host_routes:
                if route.overlaps(subnet.subnet):  # type: ignore[arg-type]
                    raise Forbidden(
                        f"invalid pool request: subnet {subnet.subnet} overlaps with the host's route to {route}"
                    )
            # an IPv6 subnet without IPv6 enabled is kept and shown, as dockerd 20.10 does,
            # but serves nothing: no gateway is taken and endpoints get no IPv6 address
            if subnet.gateway is None and (subnet.version == 4 or enable_ipv6):
                subnet = replace(subnet, gateway=first_free(subnet))
            planned.append(subnet)
        versions = {s.version for s in planned}
        if 4 not in versions:
            planned.insert(0, self._auto_subnet(4, others, host_routes))
        if enable_ipv6 and 6 not in versions:
            planned.append(self._auto_subnet(6, others, []))
        return tuple(planned)

    def _occupied(self, version: int, others: list[Network], reserved: list[IPNetwork]) -> pools.Occupancy:
        spans = [pools.span(r) for r in reserved if r.version == version]
        cache = self._spans
        for net in others:
            cached = cache.get(net.id)
            if cached is None or cached[0] is not net.subnets:
                cached = (
                    net.subnets,
                    tuple(pools.span(s.subnet) for s in net.subnets if s.version == 4),
                    tuple(pools.span(s.subnet) for s in net.subnets if s.version == 6),
                )
                cache[net.id] = cached
            spans += cached[1 if version == 4 else 2]
        return pools.Occupancy.of_spans(spans)

    def _auto_subnet(self, version: int, others: list[Network], reserved: list[IPNetwork]) -> Subnet:
        pool_list = self._config.default_address_pools if version == 4 else ()
        v6 = tuple(p for p in self._config.default_address_pools if p.base.version == 6)
        if version == 6:
            pool_list = v6 or (pools.ula_pool(self._host_id()),)
        prefix = pools.choose_free(tuple(pool_list), version, self._occupied(version, others, reserved))
        bare = Subnet(prefix, None, None, {}, user_given=False)
        return replace(bare, gateway=first_free(bare))


def _plan_config_only(spec: NetworkSpec) -> Network:
    """A ``--config-only`` network: stored subnets and options, no driver, no kernel
    objects, no address reservation (Docker's rules)."""
    if spec.internal or spec.attachable or spec.scope not in ("", "local"):
        raise Forbidden(
            "configuration network can only contain network specific fields. Network operator fields "
            "like [ ingress | internal | attachable | scope ] are not supported."
        )
    if spec.config_from:
        raise Forbidden("a configuration network cannot depend on another configuration network")
    return Network(
        id=new_id(),
        name=spec.name,
        driver="null",
        scope="local",
        created=datetime.now(UTC).isoformat(),
        subnets=tuple(pools.parse_config(c) for c in spec.ipam_configs),
        enable_ipv6=spec.enable_ipv6,
        internal=False,
        attachable=False,
        options=dict(spec.options),
        labels=dict(spec.labels),
        config_only=True,
    )


def _apply_config_from(spec: NetworkSpec, view: Snapshot) -> NetworkSpec:
    """The create request with the subnets and options of its configuration network."""
    if spec.ipam_configs or spec.enable_ipv6 or spec.labels or spec.ipam_options:
        raise Forbidden(
            "user specified configurations are not supported if the network depends on a configuration network"
        )
    if spec.options:
        raise Forbidden("network driver options are not supported if the network depends on a configuration network")
    source = view.networks.get(view.names.get(spec.config_from, ""))
    if source is None or not source.config_only or source.placeholder:
        raise NotFound(f'configuration network "{spec.config_from}" does not exist')
    configs = tuple(
        IPAMConfigSpec(
            subnet=str(s.subnet),
            ip_range=str(s.ip_range) if s.ip_range else "",
            gateway=str(s.gateway) if s.gateway else "",
            aux_addresses={k: str(v) for k, v in s.aux_addresses.items()},
        )
        for s in source.subnets
    )
    return replace(
        spec,
        ipam_configs=configs,
        options=dict(source.options),
        enable_ipv6=source.enable_ipv6,
        labels=dict(source.labels),
    )
