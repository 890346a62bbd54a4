"""A lab's topology as data: parsed and checked, never applied. Pure.

``parse(data)`` takes what a YAML file holds (``load(text)`` reads the text) and returns a
frozen :class:`Topology`, or raises :class:`TopologyError` listing every problem with
its path in the file (``hosts[2].links[0]: unknown segment "core"``). The file format
is documented with examples in docs/lab.md.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

import yaml

from seaway.errors import InvalidParameter

LAB_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
NODE_NAME = re.compile(r"^[a-z][a-z0-9]{0,9}$")  # <node>-eth<N> must fit in 15 bytes
SEGMENT_NAME = re.compile(r"^[a-z][a-z0-9]{0,14}$")  # the bridge in the fabric is named after it
OBJECT_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")  # Docker's rule for networks and containers
RESERVED_NODES = ("fabric", "world")
MAX_LINKS = 10
MAX_ASN = 4294967295
DEFAULT_IMAGE = "busybox"
DEFAULT_RECORDS = (("www.example.com", "203.0.113.80"), ("example.com", "203.0.113.80"))


class TopologyError(InvalidParameter):
    """Problems in a topology file, one line each, every one with its path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid lab topology:\n  " + "\n  ".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True, slots=True)
class Segment:
    """An underlay L2 segment (a bridge in the fabric namespace)."""

    name: str
    subnet: ipaddress.IPv4Network | None = None


@dataclass(frozen=True, slots=True)
class Router:
    name: str
    links: tuple[str, ...]
    #: a BGP speaker (FRR) with this AS number; it peers with every speaker on its segments
    asn: int | None = None


@dataclass(frozen=True, slots=True)
class Network:
    """A Docker network to create on a host."""

    name: str
    internal: bool = False
    subnet: str | None = None
    driver: str = "bridge"
    #: driver options (``-o``), e.g. ``{"parent": "eth0"}`` for macvlan
    options: tuple[tuple[str, str], ...] = ()
    gateway: str | None = None
    ip_range: str | None = None


#: network drivers a lab host's networks may use (the host's seawayd checks the rest)
NETWORK_DRIVERS = ("bridge", "macvlan", "ipvlan")


@dataclass(frozen=True, slots=True)
class Port:
    host_port: int
    container_port: int
    protocol: str = "tcp"


@dataclass(frozen=True, slots=True)
class Container:
    name: str
    image: str = DEFAULT_IMAGE
    networks: tuple[str, ...] = ()
    ports: tuple[Port, ...] = ()
    command: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Host:
    name: str
    links: tuple[str, ...]
    networks: tuple[Network, ...] = ()
    containers: tuple[Container, ...] = ()
    #: its seawayd speaks BGP (--bgp-asn) with the speakers on its segments
    asn: int | None = None


@dataclass(frozen=True, slots=True)
class World:
    """The outside world: a web server and a DNS server on documentation addresses."""

    segment: str
    records: tuple[tuple[str, str], ...] = DEFAULT_RECORDS


@dataclass(frozen=True, slots=True)
class Swarm:
    """A cluster the lab forms: init on the first manager, the others join over the underlay."""

    managers: tuple[str, ...]
    workers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Topology:
    name: str
    segments: tuple[Segment, ...]
    hosts: tuple[Host, ...]
    routers: tuple[Router, ...] = ()
    world: World | None = None
    swarm: Swarm | None = None


def load(text: str, default_name: str = "lab") -> Topology:
    """Parse a topology from YAML text (the file's stem is the default lab name)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TopologyError([f"not valid YAML: {exc}".replace("\n", " ")]) from None
    if isinstance(data, dict) and "name" not in data:
        data = {"name": default_name, **data}
    return parse(data)


def parse(data: Any) -> Topology:
    """A checked :class:`Topology` from plain data, or TopologyError naming every problem."""
    p = _Parser()
    topology = p.topology(data)
    if p.problems:
        raise TopologyError(p.problems)
    assert topology is not None
    return topology


class _Parser:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def bad(self, path: str, text: str) -> None:
        self.problems.append(f"{path}: {text}" if path else text)

    # -- generic shapes

    def mapping(self, value: Any, path: str, keys: set[str]) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.bad(path, f"expected a mapping, got {_kind(value)}")
            return {}
        for key in value:
            if key not in keys:
                self.bad(
                    f"{path}.{key}" if path else str(key), f"unknown key (expected one of {', '.join(sorted(keys))})"
                )
        return value

    def items(self, value: Any, path: str) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.bad(path, f"expected a list, got {_kind(value)}")
            return []
        return value

    def name(self, value: Any, path: str, pattern: re.Pattern[str], rule: str) -> str:
        if not isinstance(value, str) or not pattern.match(value):
            self.bad(path, f"invalid name {value!r}: {rule}")
            return ""
        return value

    def unique(self, names: list[tuple[str, str]], what: str) -> None:
        seen: set[str] = set()
        for path, name in names:
            if name and name in seen:
                self.bad(path, f"duplicate {what} {name!r}")
            seen.add(name)

    # -- the file

    def topology(self, data: Any) -> Topology | None:
        top = self.mapping(data, "", {"name", "segments", "routers", "hosts", "world", "swarm"})
        if not top and not isinstance(data, dict):
            return None
        name = self.name(top.get("name"), "name", LAB_NAME, "1-12 lowercase letters and digits, starting with a letter")
        segments = [
            self.segment(v, f"segments[{i}]") for i, v in enumerate(self.items(top.get("segments"), "segments"))
        ]
        self.unique([(f"segments[{i}].name", s.name) for i, s in enumerate(segments)], "segment")
        known = {s.name for s in segments}
        routers = [
            self.router(v, f"routers[{i}]", known) for i, v in enumerate(self.items(top.get("routers"), "routers"))
        ]
        hosts = [self.host(v, f"hosts[{i}]", known) for i, v in enumerate(self.items(top.get("hosts"), "hosts"))]
        if not hosts:
            self.bad("hosts", "a lab needs at least one host")
        nodes = [(f"routers[{i}].name", r.name) for i, r in enumerate(routers)]
        nodes += [(f"hosts[{i}].name", h.name) for i, h in enumerate(hosts)]
        self.unique(nodes, "host or router name")
        world = None if top.get("world") is None else self.world(top["world"], "world", known)
        swarm = None if top.get("swarm") is None else self.swarm(top["swarm"], "swarm", {h.name for h in hosts})
        return Topology(name, tuple(segments), tuple(hosts), tuple(routers), world, swarm)

    def swarm(self, value: Any, path: str, hosts: set[str]) -> Swarm:
        m = self.mapping(value, path, {"managers", "workers"})
        roles: dict[str, list[str]] = {}
        seen: set[str] = set()
        for role in ("managers", "workers"):
            roles[role] = []
            for i, name in enumerate(self.items(m.get(role), f"{path}.{role}")):
                if name not in hosts:
                    self.bad(f"{path}.{role}[{i}]", f"unknown host {name!r}")
                elif name in seen:
                    self.bad(f"{path}.{role}[{i}]", f"host {name!r} is listed twice")
                else:
                    roles[role].append(name)
                    seen.add(name)
        if not roles["managers"]:
            self.bad(f"{path}.managers", "a swarm needs at least one manager")
        return Swarm(tuple(roles["managers"]), tuple(roles["workers"]))

    def segment(self, value: Any, path: str) -> Segment:
        m = self.mapping(value, path, {"name", "subnet"})
        name = self.name(m.get("name"), f"{path}.name", SEGMENT_NAME, "1-15 lowercase letters and digits")
        subnet = None
        if m.get("subnet") is not None:
            try:
                subnet = ipaddress.IPv4Network(str(m["subnet"]))
            except ValueError:
                self.bad(f"{path}.subnet", f"invalid subnet {m['subnet']!r}: expected an IPv4 CIDR like 192.0.2.0/24")
            else:
                if subnet.prefixlen > 29:
                    self.bad(f"{path}.subnet", f"subnet {subnet} is too small: at most /29")
        return Segment(name, subnet)

    def links(self, value: Any, path: str, known: set[str]) -> tuple[str, ...]:
        links = []
        for i, link in enumerate(self.items(value, path)):
            if not isinstance(link, str):
                self.bad(f"{path}[{i}]", f"expected a segment name, got {_kind(link)}")
            elif link not in known:
                self.bad(f"{path}[{i}]", f'unknown segment "{link}"')
            elif link in links:
                self.bad(f"{path}[{i}]", f'already linked to segment "{link}"')
            else:
                links.append(link)
        if len(links) > MAX_LINKS:
            self.bad(path, f"at most {MAX_LINKS} links")
        return tuple(links)

    def router(self, value: Any, path: str, known: set[str]) -> Router:
        m = self.mapping(value, path, {"name", "links", "asn"})
        name = self.name(m.get("name"), f"{path}.name", NODE_NAME, "1-10 lowercase letters and digits")
        self.reserved(name, f"{path}.name")
        links = self.links(m.get("links"), f"{path}.links", known)
        if len(self.items(m.get("links"), f"{path}.links")) < 2:
            self.bad(f"{path}.links", "a router joins at least two segments")
        return Router(name, links, self.asn(m.get("asn"), f"{path}.asn"))

    def asn(self, value: Any, path: str) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ASN:
            self.bad(path, f"invalid AS number {value!r}: expected 1 to {MAX_ASN}")
            return None
        return value

    def reserved(self, name: str, path: str) -> None:
        if name in RESERVED_NODES:
            self.bad(path, f"{name!r} is reserved for the lab itself")

    def host(self, value: Any, path: str, known: set[str]) -> Host:
        m = self.mapping(value, path, {"name", "links", "networks", "containers", "asn"})
        name = self.name(m.get("name"), f"{path}.name", NODE_NAME, "1-10 lowercase letters and digits")
        self.reserved(name, f"{path}.name")
        links = self.links(m.get("links"), f"{path}.links", known)
        if not self.items(m.get("links"), f"{path}.links"):
            self.bad(f"{path}.links", "a host needs at least one link")
        networks = [
            self.network(v, f"{path}.networks[{i}]")
            for i, v in enumerate(self.items(m.get("networks"), f"{path}.networks"))
        ]
        self.unique([(f"{path}.networks[{i}].name", n.name) for i, n in enumerate(networks)], "network")
        nets = {n.name for n in networks} | {"bridge", "host", "none"}
        containers = [
            self.container(v, f"{path}.containers[{i}]", nets)
            for i, v in enumerate(self.items(m.get("containers"), f"{path}.containers"))
        ]
        self.unique([(f"{path}.containers[{i}].name", c.name) for i, c in enumerate(containers)], "container")
        ports: dict[tuple[int, str], str] = {}
        for i, c in enumerate(containers):
            for j, port in enumerate(c.ports):
                key = (port.host_port, port.protocol)
                if key in ports:
                    self.bad(
                        f"{path}.containers[{i}].ports[{j}]",
                        f"host port {port.host_port}/{port.protocol} is already published by {ports[key]}",
                    )
                ports[key] = c.name
        return Host(name, links, tuple(networks), tuple(containers), self.asn(m.get("asn"), f"{path}.asn"))

    def network(self, value: Any, path: str) -> Network:
        m = self.mapping(value, path, {"name", "internal", "subnet", "driver", "options", "gateway", "ip_range"})
        name = self.name(m.get("name"), f"{path}.name", OBJECT_NAME, "must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")
        internal = m.get("internal", False)
        if not isinstance(internal, bool):
            self.bad(f"{path}.internal", f"expected true or false, got {internal!r}")
        subnet = self.prefix(m.get("subnet"), f"{path}.subnet", "subnet")
        ip_range = self.prefix(m.get("ip_range"), f"{path}.ip_range", "ip_range")
        gateway = m.get("gateway")
        if gateway is not None:
            try:
                ipaddress.ip_address(str(gateway))
            except ValueError:
                self.bad(f"{path}.gateway", f"invalid gateway address {gateway!r}")
        if (gateway is not None or ip_range is not None) and subnet is None:
            self.bad(path, "gateway and ip_range need a subnet")
        driver = m.get("driver", "bridge")
        if driver not in NETWORK_DRIVERS:
            self.bad(f"{path}.driver", f"unknown driver {driver!r} (expected one of {', '.join(NETWORK_DRIVERS)})")
        options = m.get("options") or {}
        if not isinstance(options, dict) or not all(isinstance(v, (str, int, bool)) for v in options.values()):
            self.bad(f"{path}.options", "expected a mapping of option names to values")
            options = {}
        opts = tuple((str(k), str(v).lower() if isinstance(v, bool) else str(v)) for k, v in options.items())
        return Network(
            name, bool(internal), subnet, str(driver), opts, None if gateway is None else str(gateway), ip_range
        )

    def prefix(self, value: Any, path: str, what: str) -> str | None:
        if value is None:
            return None
        try:
            ipaddress.ip_network(str(value))
        except ValueError:
            self.bad(path, f"invalid {what} {value!r}")
        return str(value)

    def container(self, value: Any, path: str, nets: set[str]) -> Container:
        m = self.mapping(value, path, {"name", "image", "networks", "ports", "command"})
        name = self.name(m.get("name"), f"{path}.name", OBJECT_NAME, "must match [a-zA-Z0-9][a-zA-Z0-9_.-]*")
        image = m.get("image", DEFAULT_IMAGE)
        if not isinstance(image, str) or not image:
            self.bad(f"{path}.image", f"expected an image name, got {image!r}")
        networks = []
        for i, net in enumerate(self.items(m.get("networks"), f"{path}.networks")):
            if net not in nets:
                self.bad(
                    f"{path}.networks[{i}]",
                    f'unknown network "{net}" (declare it in the host\'s networks)',
                )
            else:
                networks.append(net)
        ports = [self.port(v, f"{path}.ports[{i}]") for i, v in enumerate(self.items(m.get("ports"), f"{path}.ports"))]
        command = m.get("command", [])
        if isinstance(command, str):
            command = ["sh", "-c", command]
        if not isinstance(command, list) or not all(isinstance(a, str) for a in command):
            self.bad(f"{path}.command", "expected a string (run by sh -c) or a list of strings")
            command = []
        return Container(name, str(image), tuple(networks), tuple(p for p in ports if p), tuple(command))

    def port(self, value: Any, path: str) -> Port | None:
        text = str(value)
        match = re.match(r"^(\d+):(\d+)(?:/(tcp|udp|sctp))?$", text)
        if not match or not all(0 < int(match.group(i)) < 65536 for i in (1, 2)):
            self.bad(path, f"invalid port mapping {text!r}: expected HOSTPORT:CONTAINERPORT[/tcp|udp|sctp]")
            return None
        return Port(int(match.group(1)), int(match.group(2)), match.group(3) or "tcp")

    def world(self, value: Any, path: str, known: set[str]) -> World:
        m = self.mapping(value, path, {"segment", "records"})
        segment = m.get("segment")
        if segment not in known:
            self.bad(f"{path}.segment", f'unknown segment "{segment}"')
        records = []
        raw = m.get("records")
        for name, address in (raw or dict(DEFAULT_RECORDS)).items() if isinstance(raw or {}, dict) else []:
            try:
                ipaddress.IPv4Address(str(address))
            except ValueError:
                self.bad(f"{path}.records.{name}", f"invalid IPv4 address {address!r}")
            records.append((str(name).rstrip(".").lower(), str(address)))
        if raw is not None and not isinstance(raw, dict):
            self.bad(f"{path}.records", "expected a mapping of names to IPv4 addresses")
        return World(str(segment), tuple(records))


def _kind(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "a string", type(None): "nothing"}.get(
        type(value), type(value).__name__
    )


def to_data(topology: Topology) -> dict[str, Any]:
    """The plain data ``parse`` reads back into the same topology (for the state file)."""
    data: dict[str, Any] = {
        "name": topology.name,
        "segments": [{"name": s.name, **({"subnet": str(s.subnet)} if s.subnet else {})} for s in topology.segments],
        "routers": [
            {"name": r.name, "links": list(r.links), **({"asn": r.asn} if r.asn else {})} for r in topology.routers
        ],
        "hosts": [
            {
                "name": h.name,
                "links": list(h.links),
                "networks": [_network_data(n) for n in h.networks],
                "containers": [
                    {
                        "name": c.name,
                        "image": c.image,
                        "networks": list(c.networks),
                        "ports": [f"{p.host_port}:{p.container_port}/{p.protocol}" for p in c.ports],
                        "command": list(c.command),
                    }
                    for c in h.containers
                ],
                **({"asn": h.asn} if h.asn else {}),
            }
            for h in topology.hosts
        ],
    }
    if topology.world:
        data["world"] = {"segment": topology.world.segment, "records": dict(topology.world.records)}
    if topology.swarm:
        data["swarm"] = {"managers": list(topology.swarm.managers), "workers": list(topology.swarm.workers)}
    return data


def _network_data(net: Network) -> dict[str, Any]:
    data: dict[str, Any] = {"name": net.name, "internal": net.internal, "driver": net.driver}
    for key in ("subnet", "gateway", "ip_range"):
        if getattr(net, key):
            data[key] = getattr(net, key)
    if net.options:
        data["options"] = dict(net.options)
    return data
