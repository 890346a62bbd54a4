"""Expanding a topology into names, addresses and routes. Pure: computes, never applies.

The scheme (documented once, here and in docs/lab.md), for lab ``<lab>``:

* every node is a network namespace ``swl-<lab>-<node>`` (hosts and routers by their
  name; ``swl-<lab>-fabric`` holds the segments, ``swl-<lab>-world`` is the outside world);
* a segment is a bridge named after the segment inside the fabric namespace;
* a node's N-th link (its order in the file) is ``eth<N>`` inside the node and
  ``<node>-eth<N>`` on the segment's bridge in the fabric; nothing is created in the
  machine's own namespace, and these short names live only inside the lab's namespaces;
* segments without a ``subnet`` get the smallest block (/29 to /24) that holds their
  members, in file order, from 192.0.2.0/24 then 198.51.100.0/24 (documentation
  ranges); explicit subnets are kept out of that pool;
* on a segment, addresses are handed out from the first usable one in this order:
  routers (file order), the world, then hosts (file order);
* the world owns 203.0.113.0/24: its web server answers at 203.0.113.80:80 and its DNS
  server at 203.0.113.53:53; every host's daemon forwards DNS there;
* routes are shortest paths over routers: each node gets a route to each segment it
  is not on, and a default route toward the world (when there is one);
* a router or host with an ``asn`` is a BGP speaker (FRR on a router, seawayd's own on
  a host): a router has a session with every other speaker on each of its segments, a
  host with every router among them (hosts never peer with each other), on their
  segment addresses; a speaker's router ID is its first link's address; a router's FRR
  files live under ``<run dir>/<lab>/<router>/frr/``;
* a host's files live under ``<run dir>/<lab>/<host>/``: ``data/``, ``exec/``,
  ``docker.sock`` (its API socket), ``seawayd.log`` and ``resolv.conf``; the lab's
  record of what it made is ``<run dir>/<lab>/state.json``.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from seaway.lab.topology import Host, Topology, TopologyError

PREFIX = "swl-"
RUN_DIR = Path("/run/seaway-lab")
AUTO_POOLS = (ipaddress.IPv4Network("192.0.2.0/24"), ipaddress.IPv4Network("198.51.100.0/24"))
WORLD_NET = ipaddress.IPv4Network("203.0.113.0/24")
WEB_ADDRESS = ipaddress.IPv4Address("203.0.113.80")
DNS_ADDRESS = ipaddress.IPv4Address("203.0.113.53")
FABRIC = "fabric"
WORLD = "world"


@dataclass(frozen=True, slots=True)
class Interface:
    name: str  # inside the node
    peer: str  # on the segment's bridge, in the fabric
    segment: str
    address: ipaddress.IPv4Interface


@dataclass(frozen=True, slots=True)
class Route:
    destination: ipaddress.IPv4Network | None  # None: the default route
    via: ipaddress.IPv4Address


@dataclass(frozen=True, slots=True)
class BgpPeer:
    address: ipaddress.IPv4Address
    asn: int
    name: str  # the node


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    kind: str  # "host", "router" or "world"
    netns: str
    interfaces: tuple[Interface, ...]
    routes: tuple[Route, ...]
    asn: int | None = None  # a BGP speaker
    bgp_peers: tuple[BgpPeer, ...] = ()

    @property
    def router_id(self) -> ipaddress.IPv4Address:
        return self.interfaces[0].address.ip

    @property
    def forwarding(self) -> bool:
        return self.kind in ("router", "world")


@dataclass(frozen=True, slots=True)
class HostFiles:
    root: Path
    data_root: Path
    exec_root: Path
    socket: Path
    log: Path
    resolv_conf: Path

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"


@dataclass(frozen=True, slots=True)
class SegmentPlan:
    name: str
    bridge: str
    subnet: ipaddress.IPv4Network


@dataclass(frozen=True, slots=True)
class LabPlan:
    topology: Topology
    root: Path
    fabric_netns: str
    segments: tuple[SegmentPlan, ...]
    nodes: tuple[Node, ...]

    @property
    def name(self) -> str:
        return self.topology.name

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def netns_names(self) -> tuple[str, ...]:
        """Every namespace the lab makes, the fabric first."""
        return (self.fabric_netns, *(n.netns for n in self.nodes))

    def node(self, name: str) -> Node:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(name)

    def host_nodes(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.kind == "host")

    def host_spec(self, name: str) -> Host:
        return next(h for h in self.topology.hosts if h.name == name)

    def frr_root(self, router: str) -> Path:
        return self.root / router / "frr"

    def files(self, host: str) -> HostFiles:
        root = self.root / host
        return HostFiles(
            root, root / "data", root / "exec", root / "docker.sock", root / "seawayd.log", root / "resolv.conf"
        )


def netns_name(lab: str, node: str) -> str:
    return f"{PREFIX}{lab}-{node}"


def plan(topology: Topology, run_dir: Path = RUN_DIR) -> LabPlan:
    """Names, addresses and routes for every object of the lab (TopologyError if the
    underlay address pool cannot hold it)."""
    members = _members(topology)
    subnets = _subnets(topology, members)
    addresses: dict[tuple[str, str], ipaddress.IPv4Interface] = {}
    for seg in topology.segments:
        hosts = subnets[seg.name].hosts()
        for node in members[seg.name]:
            addresses[(node, seg.name)] = ipaddress.IPv4Interface(f"{next(hosts)}/{subnets[seg.name].prefixlen}")
    links = _links(topology)
    routes = _routes(topology, links, addresses)
    nodes = []
    kinds = [(r.name, "router") for r in topology.routers]
    kinds += [(WORLD, "world")] if topology.world else []
    kinds += [(h.name, "host") for h in topology.hosts]
    asns = {n.name: n.asn for n in (*topology.routers, *topology.hosts) if n.asn is not None}
    hosts = {h.name for h in topology.hosts}
    for name, kind in kinds:
        interfaces = tuple(
            Interface(f"eth{i}", f"{name}-eth{i}", seg, addresses[(name, seg)]) for i, seg in enumerate(links[name])
        )
        peers = tuple(
            BgpPeer(addresses[(other, seg)].ip, asns[other], other)
            for seg in links[name]
            for other in members[seg]
            if name in asns and other != name and other in asns and not (name in hosts and other in hosts)
        )
        nodes.append(Node(name, kind, netns_name(topology.name, name), interfaces, routes[name], asns.get(name), peers))
    segments = tuple(SegmentPlan(s.name, s.name, subnets[s.name]) for s in topology.segments)
    return LabPlan(topology, run_dir / topology.name, netns_name(topology.name, FABRIC), segments, tuple(nodes))


def _links(topology: Topology) -> dict[str, tuple[str, ...]]:
    links = {r.name: r.links for r in topology.routers}
    if topology.world:
        links[WORLD] = (topology.world.segment,)
    links.update({h.name: h.links for h in topology.hosts})
    return links


def _members(topology: Topology) -> dict[str, list[str]]:
    """Who is on each segment, in address order: routers, the world, hosts."""
    members: dict[str, list[str]] = {s.name: [] for s in topology.segments}
    for router in topology.routers:
        for seg in router.links:
            members[seg].append(router.name)
    if topology.world:
        members[topology.world.segment].append(WORLD)
    for host in topology.hosts:
        for seg in host.links:
            members[seg].append(host.name)
    return members


def _subnets(topology: Topology, members: dict[str, list[str]]) -> dict[str, ipaddress.IPv4Network]:
    problems = []
    taken: list[ipaddress.IPv4Network] = [WORLD_NET]
    subnets: dict[str, ipaddress.IPv4Network] = {}
    for i, seg in enumerate(topology.segments):
        if seg.subnet is None:
            continue
        if any(seg.subnet.overlaps(t) for t in taken):
            problems.append(
                f"segments[{i}].subnet: {seg.subnet} overlaps another segment or the world's 203.0.113.0/24"
            )
        elif seg.subnet.num_addresses - 2 < len(members[seg.name]):
            problems.append(f"segments[{i}].subnet: {seg.subnet} is too small for {len(members[seg.name])} members")
        taken.append(seg.subnet)
        subnets[seg.name] = seg.subnet
    for i, seg in enumerate(topology.segments):
        if seg.subnet is not None:
            continue
        prefix = next((p for p in range(29, 23, -1) if 2 ** (32 - p) - 2 >= len(members[seg.name])), None)
        if prefix is None:
            problems.append(f"segments[{i}]: {len(members[seg.name])} members do not fit in a /24; give it a subnet")
            continue
        block = _free_block(prefix, taken)
        if block is None:
            pools = ", ".join(map(str, AUTO_POOLS))
            problems.append(f"segments[{i}]: the automatic underlay pool ({pools}) is full; give it a subnet")
            continue
        taken.append(block)
        subnets[seg.name] = block
    if problems:
        raise TopologyError(problems)
    return subnets


def _free_block(prefix: int, taken: list[ipaddress.IPv4Network]) -> ipaddress.IPv4Network | None:
    for pool in AUTO_POOLS:
        for block in pool.subnets(new_prefix=prefix):
            if not any(block.overlaps(t) for t in taken):
                return block
    return None


def _routes(
    topology: Topology,
    links: dict[str, tuple[str, ...]],
    addresses: dict[tuple[str, str], ipaddress.IPv4Interface],
) -> dict[str, tuple[Route, ...]]:
    """Shortest paths over routers: per node, one route per segment it is not on, and a
    default route toward the world's segment."""
    gateways = [r.name for r in topology.routers]  # nodes that forward between segments
    on_segment: dict[str, list[str]] = {s.name: [] for s in topology.segments}
    for g in gateways:
        for seg in links[g]:
            on_segment[seg].append(g)
    distance = {s.name: _hops_to(s.name, links, on_segment) for s in topology.segments}
    subnets = {seg: addresses[(node, seg)].network for (node, seg) in addresses}
    world_seg = topology.world.segment if topology.world else None
    routes: dict[str, tuple[Route, ...]] = {}
    for node, node_links in links.items():
        found = []
        targets = [s.name for s in topology.segments if s.name not in node_links]
        for target in targets:
            via = _next_hop(node, node_links, target, distance, on_segment, addresses)
            if via is not None:
                found.append(Route(subnets[target], via))
        if world_seg is not None and node != WORLD:
            if world_seg in node_links:
                found.append(Route(None, addresses[(WORLD, world_seg)].ip))
            else:
                via = _next_hop(node, node_links, world_seg, distance, on_segment, addresses)
                if via is not None:
                    found.append(Route(None, via))
        routes[node] = tuple(found)
    return routes


def _hops_to(target: str, links: dict[str, tuple[str, ...]], on_segment: dict[str, list[str]]) -> dict[str, int]:
    """Router hops from every segment to ``target`` (BFS); unreachable segments are absent."""
    hops = {target: 0}
    queue = deque([target])
    while queue:
        seg = queue.popleft()
        for g in on_segment[seg]:
            for other in links[g]:
                if other not in hops:
                    hops[other] = hops[seg] + 1
                    queue.append(other)
    return hops


def _next_hop(
    node: str,
    node_links: tuple[str, ...],
    target: str,
    distance: dict[str, dict[str, int]],
    on_segment: dict[str, list[str]],
    addresses: dict[tuple[str, str], ipaddress.IPv4Interface],
) -> ipaddress.IPv4Address | None:
    best: tuple[int, int, ipaddress.IPv4Address] | None = None
    for order, seg in enumerate(node_links):
        for gateway in on_segment[seg]:
            if gateway == node:
                continue
            hops = min((distance[target].get(s, 1 << 30) for s in _segments_of(gateway, on_segment)), default=1 << 30)
            if hops >= 1 << 30:
                continue
            candidate = (hops, order, addresses[(gateway, seg)].ip)
            if best is None or candidate[:2] < best[:2]:
                best = candidate
    return None if best is None else best[2]


def _segments_of(gateway: str, on_segment: dict[str, list[str]]) -> list[str]:
    return [seg for seg, gateways in on_segment.items() if gateway in gateways]
