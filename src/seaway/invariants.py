"""The invariant checker behind ``seaway system doctor``: what should exist against
what does. Pure.

``check(desired, observed)`` compares the store's view (networks, sandboxes, endpoints,
containers, and the nftables elements they imply) with a snapshot of the kernel (links,
addresses, Seaway's routes, namespace files, each sandbox's interfaces and default
routes, the elements of Seaway's nftables sets), with the daemon's memory (IPAM leases,
DNS records) and with the container runtime (processes). Every difference is one
``Finding`` with a reason a person can act on. A finding with ``leftover=True`` is a
kernel object carrying Seaway's ownership mark that nothing in the store accounts for:
``seaway system gc`` may remove exactly those.

The snapshot is taken by ``seaway.kernel.observe``; the daemon assembles both sides
(``seaway.daemon.doctor``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from seaway.model import ownership
from seaway.model.endpoint import DAEMON_SANDBOXES, Endpoint, Sandbox, SandboxMode
from seaway.model.expected import NOTHING, Expected, HostLink
from seaway.model.gateway import pick_default_routes
from seaway.model.network import Network

READY = "ready"
DEFAULT_KEY = "default"


@dataclass(frozen=True, slots=True)
class LinkState:
    """One network interface as the kernel shows it."""

    name: str
    kind: str  # "bridge", "veth", "" for none (loopback)
    alias: str = ""
    master: str = ""  # the name of the bridge it is a port of
    up: bool = False
    mac: str = ""
    addresses: frozenset[str] = frozenset()  # "address/prefixlen", global scope


@dataclass(frozen=True, slots=True)
class SandboxState:
    """The inside of one sandbox's namespace."""

    links: dict[str, LinkState]
    default_routes: dict[int, str]  # version -> "gateway dev ifname"


@dataclass(frozen=True, slots=True)
class ContainerRecord:
    """What the store says about one container, as far as the checker cares."""

    id: str
    name: str
    status: str  # created | running | restarting | exited | ...
    sandbox_id: str
    networks: tuple[str, ...]  # network IDs

    @property
    def should_run(self) -> bool:
        return self.status == "running"


@dataclass(frozen=True, slots=True)
class Desired:
    networks: list[tuple[Network, str]]
    sandboxes: list[tuple[Sandbox, str]]
    endpoints: list[tuple[Endpoint, str]]
    #: normalised elements of Seaway's nftables sets the networks and endpoints imply
    nft_elements: frozenset[str]
    #: None when no container manager runs (an engine used on its own)
    containers: list[ContainerRecord] | None = None
    #: per network and endpoint ID, the kernel state its driver describes: the very
    #: description the engine's realizer programs from (``seaway.model.expected``)
    expected: dict[str, Expected] = field(default_factory=dict)
    #: networks whose members have names in the embedded DNS (decided by their drivers)
    named_networks: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Observed:
    host_links: dict[str, LinkState]
    routes: frozenset[str]  # Seaway-protocol routes of the host, "subnet dev ifname"
    namespace_files: dict[str, bool]  # file name in the netns directory -> a namespace is mounted there
    sandboxes: dict[str, SandboxState | None]  # sandbox key -> inside (None: could not enter)
    nft_elements: frozenset[str] | None  # None: Seaway's tables are missing
    leases: dict[str, frozenset[str]]  # network ID -> addresses IPAM holds (gateways excluded)
    dns: dict[str, frozenset[str]] | None = None  # network ID -> "container address" records
    processes: dict[str, str] = field(default_factory=dict)  # container ID -> runtime status


@dataclass(frozen=True, slots=True)
class Finding:
    kind: str  # network | endpoint | sandbox | container | link | netns | route | nftables | ipam | dns | store
    subject: str  # a name a person recognises
    problem: str  # what is wrong, and why it matters or how to fix it
    object_id: str = ""  # the ID of the network/endpoint/sandbox/container concerned
    leftover: bool = False  # a Seaway-owned kernel object nothing accounts for (gc removes it)
    target: str = ""  # for a leftover: the link name, namespace file, route or element to remove

    def as_dict(self) -> dict[str, Any]:
        return {
            "Kind": self.kind,
            "Subject": self.subject,
            "Problem": self.problem,
            "ID": self.object_id,
            "Leftover": self.leftover,
        }


# ------------------------------------------------------------------ nftables elements


def element_key(family: str, set_name: str, elem: Any) -> str:
    """One set element as a comparable string: ``inet bridges br-1``,
    ``inet same-bridge br-1 . br-1``, ``inet masquerade-v4 10.0.0.0/24``."""
    return f"{family} {set_name} {_elem_text(elem)}"


def _elem_text(elem: Any) -> str:
    if isinstance(elem, dict):
        if "elem" in elem:  # {"elem": {"val": ..., "comment": ...}}
            return _elem_text(elem["elem"].get("val"))
        if "concat" in elem:
            return " . ".join(_elem_text(e) for e in elem["concat"])
        if "prefix" in elem:
            return f"{elem['prefix']['addr']}/{elem['prefix']['len']}"
        if "range" in elem:
            low, high = elem["range"]
            return f"{_elem_text(low)}-{_elem_text(high)}"
    if isinstance(elem, list):  # a map element: [key, value]
        return " : ".join(_elem_text(e) for e in elem)
    return str(elem)


def elements_of_commands(commands: Iterable[dict[str, Any]]) -> frozenset[str]:
    """The elements a batch of ``add element`` commands (``seaway.firewall.ruleset``) adds."""
    out: set[str] = set()
    for cmd in commands:
        body = cmd.get("add", {}).get("element")
        if body is None:
            continue
        for elem in body["elem"]:
            out.add(element_key(body["family"], body["name"], elem))
    return frozenset(out)


def elements_of_listing(listing: dict[str, Any]) -> frozenset[str]:
    """The elements of every set and map in an ``nft -j list table`` answer."""
    out: set[str] = set()
    for item in listing.get("nftables", []):
        body = item.get("set") or item.get("map")
        if body is None:
            continue
        for elem in body.get("elem", []):
            out.add(element_key(body["family"], body["name"], elem))
    return frozenset(out)


# ------------------------------------------------------------------ the check


def check(desired: Desired, observed: Observed) -> list[Finding]:
    """Every difference between the desired and the observed state."""
    findings: list[Finding] = []
    findings += _interrupted(desired)
    networks = {n.id: n for n, s in desired.networks if s == READY}
    sandboxes = {s.id: s for s, st in desired.sandboxes if st == READY}
    endpoints = [e for e, s in desired.endpoints if s == READY]
    findings += _check_networks(networks.values(), desired, observed)
    findings += _check_sandboxes(sandboxes.values(), observed)
    findings += _check_endpoints(endpoints, networks, sandboxes, desired, observed)
    findings += _check_routes_of_sandboxes(endpoints, networks, sandboxes, observed)
    findings += _check_leftovers(desired, networks, sandboxes, endpoints, observed)
    findings += _check_nft(desired, observed)
    findings += _check_ipam(endpoints, networks, observed)
    if desired.containers is not None:
        findings += _check_containers(desired.containers, sandboxes, endpoints, observed)
        if observed.dns is not None:
            findings += _check_dns(desired.containers, endpoints, networks, desired.named_networks, observed.dns)
    return findings


def _interrupted(desired: Desired) -> list[Finding]:
    out = []
    for kind, items in (("network", desired.networks), ("sandbox", desired.sandboxes), ("endpoint", desired.endpoints)):
        for obj, state in items:
            if state != READY:
                out.append(
                    Finding(
                        "store",
                        f"{kind} {obj.name}",
                        f"the store holds an interrupted operation (state {state!r}); "
                        f"restarting seawayd or `seaway system repair` finishes or undoes it",
                        obj.id,
                    )
                )
    return out


def _noun(link: HostLink, *, endpoint: bool) -> str:
    if link.kind == "veth" and endpoint:
        return f"host-side veth {link.name}"
    return f"{link.kind or 'link'} {link.name}"


def _check_host_links(
    expected: Expected, observed: Observed, kind: str, subject: str, object_id: str, *, endpoint: bool
) -> tuple[list[Finding], bool]:
    """Findings for the described host links; and whether all of them are there."""
    out = []
    whole = True
    for want in expected.host_links:
        have = observed.host_links.get(want.name)
        noun = _noun(want, endpoint=endpoint)
        if have is None:
            out.append(
                Finding(kind, subject, f"{noun} is missing" + ("" if endpoint else " (deleted by hand?)"), object_id)
            )
            whole = False
            continue
        if want.kind and have.kind != want.kind and not want.master:
            out.append(
                Finding(
                    kind, subject, f"link {want.name} is a {have.kind or 'plain'} link, not a {want.kind}", object_id
                )
            )
            whole = False
            continue
        if want.master and have.master != want.master:
            where = f"a port of {have.master}" if have.master else "not a port of any bridge"
            out.append(
                Finding(kind, subject, f"{want.kind or 'link'} {want.name} is {where}, not of {want.master}", object_id)
            )
            continue
        if want.up and not have.up:
            out.append(Finding(kind, subject, f"{want.kind or 'link'} {want.name} is down", object_id))
        for address in sorted(want.addresses - have.addresses):
            out.append(
                Finding(
                    kind, subject, f"{want.kind or 'link'} {want.name} lacks its gateway address {address}", object_id
                )
            )
    return out, whole


def _check_networks(networks: Iterable[Network], desired: Desired, observed: Observed) -> list[Finding]:
    out = []
    for net in networks:
        expected = desired.expected.get(net.id, NOTHING)
        subject = f"network {net.name}"
        found, whole = _check_host_links(expected, observed, "network", subject, net.id, endpoint=False)
        out += found
        if not whole:
            continue
        for route in expected.routes:
            if route not in observed.routes:
                subnet, _, dev = route.partition(" dev ")
                out.append(Finding("network", subject, f"the route to {subnet} via {dev} is missing", net.id))
    return out


def _check_sandboxes(sandboxes: Iterable[Sandbox], observed: Observed) -> list[Finding]:
    out = []
    for sb in sandboxes:
        if sb.mode == SandboxMode.HOST:
            continue
        file_name = sb.key.rsplit("/", 1)[-1]
        if not observed.namespace_files.get(file_name, False):
            out.append(Finding("sandbox", f"sandbox {sb.name}", f"network namespace {sb.key} is not mounted", sb.id))
            continue
        inside = observed.sandboxes.get(sb.key)
        if inside is None:
            out.append(Finding("sandbox", f"sandbox {sb.name}", f"cannot enter network namespace {sb.key}", sb.id))
            continue
        lo = inside.links.get("lo")
        if lo is None or not lo.up:
            out.append(Finding("sandbox", f"sandbox {sb.name}", "loopback is down", sb.id))
    return out


def _check_endpoints(
    endpoints: list[Endpoint],
    networks: dict[str, Network],
    sandboxes: dict[str, Sandbox],
    desired: Desired,
    observed: Observed,
) -> list[Finding]:
    out = []
    for ep in endpoints:
        net, sb = networks.get(ep.network_id), sandboxes.get(ep.sandbox_id)
        subject = f"endpoint {ep.name} on network {net.name if net else ep.network_id[:12]}"
        if net is None or sb is None:
            missing = "network" if net is None else "sandbox"
            out.append(Finding("endpoint", subject, f"its {missing} is not in the store", ep.id))
            continue
        expected = desired.expected.get(ep.id, NOTHING)
        found, _ = _check_host_links(expected, observed, "endpoint", subject, ep.id, endpoint=True)
        out += found
        inside = observed.sandboxes.get(sb.key)
        if inside is None:
            continue  # reported with the sandbox
        for want in expected.sandbox_links:
            link = inside.links.get(want.name)
            if link is None:
                out.append(Finding("endpoint", subject, f"interface {want.name} is missing in the sandbox", ep.id))
                continue
            if want.mac and link.mac.lower() != want.mac.lower():
                out.append(
                    Finding("endpoint", subject, f"{want.name} has MAC {link.mac}, the store says {want.mac}", ep.id)
                )
            if not link.up:
                out.append(Finding("endpoint", subject, f"{want.name} is down in the sandbox", ep.id))
            for address in sorted(want.addresses - link.addresses):
                out.append(Finding("endpoint", subject, f"{want.name} lacks its address {address}", ep.id))
            for address in sorted(link.addresses - want.addresses):
                out.append(
                    Finding(
                        "endpoint", subject, f"{want.name} has an address the store does not know: {address}", ep.id
                    )
                )
    return out


def _check_routes_of_sandboxes(
    endpoints: list[Endpoint], networks: dict[str, Network], sandboxes: dict[str, Sandbox], observed: Observed
) -> list[Finding]:
    members: dict[str, list[tuple[Endpoint, Network]]] = {}
    for ep in endpoints:
        if ep.network_id in networks and ep.ifname:
            members.setdefault(ep.sandbox_id, []).append((ep, networks[ep.network_id]))
    out = []
    for sb in sandboxes.values():
        if sb.mode != SandboxMode.PRIVATE:
            continue
        inside = observed.sandboxes.get(sb.key)
        if inside is None:
            continue
        chosen = pick_default_routes(members.get(sb.id, []))
        for version, choice in chosen.items():
            want = None if choice is None else f"{choice[0]} dev {choice[1]}" if choice[0] else f"dev {choice[1]}"
            have = inside.default_routes.get(version)
            if want != have:
                out.append(
                    Finding(
                        "sandbox",
                        f"sandbox {sb.name}",
                        f"IPv{version} default route is {have or 'absent'}, should be {want or 'absent'}",
                        sb.id,
                    )
                )
    return out


def _check_leftovers(
    desired: Desired,
    networks: dict[str, Network],
    sandboxes: dict[str, Sandbox],
    endpoints: list[Endpoint],
    observed: Observed,
) -> list[Finding]:
    """Kernel objects marked as the local engine's that the store does not account for
    (another owner's, such as the cluster agent's, are not ours to judge)."""
    known = {("net", n.id) for n, _ in desired.networks} | {("ep", e.id) for e, _ in desired.endpoints}
    out = []
    for name, link in sorted(observed.host_links.items()):
        found = ownership.parse(link.alias)
        if found is None or found.owner != ownership.LOCAL or found.kind == "vlan":
            continue
        if (found.kind, found.object_id) not in known:
            out.append(
                Finding(
                    "link",
                    name,
                    f"link marked {link.alias} belongs to nothing Seaway knows",
                    leftover=True,
                    target=name,
                )
            )
    keys = {s.key.rsplit("/", 1)[-1] for s, _ in desired.sandboxes if s.mode != SandboxMode.HOST} | {DEFAULT_KEY}
    local_files = {f for f in observed.namespace_files if ownership.netns_owner(f) == ownership.LOCAL}
    for file_name in sorted(local_files - keys):
        out.append(
            Finding(
                "netns",
                file_name,
                "namespace file in Seaway's netns directory belongs to no sandbox",
                leftover=True,
                target=file_name,
            )
        )
    wanted_routes = {route for n in networks for route in desired.expected.get(n, NOTHING).routes}
    for route in sorted(observed.routes - wanted_routes):
        out.append(
            Finding(
                "route", route, "route with Seaway's protocol mark belongs to no network", leftover=True, target=route
            )
        )
    return out


def _check_nft(desired: Desired, observed: Observed) -> list[Finding]:
    if observed.nft_elements is None:
        return [Finding("nftables", "table seaway", "Seaway's nftables tables are missing (ruleset flushed?)")]
    out = []
    for element in sorted(desired.nft_elements - observed.nft_elements):
        out.append(Finding("nftables", element, "set element is missing"))
    for element in sorted(observed.nft_elements - desired.nft_elements):
        out.append(
            Finding("nftables", element, "set element belongs to nothing Seaway knows", leftover=True, target=element)
        )
    return out


def _check_ipam(endpoints: list[Endpoint], networks: dict[str, Network], observed: Observed) -> list[Finding]:
    want: dict[str, set[str]] = {n: set() for n in networks}
    for ep in endpoints:
        for address in (ep.ipv4, ep.ipv6):
            if address is not None and ep.network_id in want:
                want[ep.network_id].add(str(address))
    out = []
    for network_id, addresses in want.items():
        have = observed.leases.get(network_id, frozenset())
        name = networks[network_id].name
        for address in sorted(addresses - have):
            out.append(
                Finding("ipam", f"network {name}", f"{address} is used by an endpoint but not leased", network_id)
            )
        for address in sorted(have - addresses):
            out.append(Finding("ipam", f"network {name}", f"{address} is leased but no endpoint uses it", network_id))
    for network_id in sorted(set(observed.leases) - set(networks)):
        out.append(Finding("ipam", network_id[:12], "addresses are leased on a network the store does not have"))
    return out


def _check_containers(
    containers: list[ContainerRecord], sandboxes: dict[str, Sandbox], endpoints: list[Endpoint], observed: Observed
) -> list[Finding]:
    out = []
    of_sandbox: dict[str, set[str]] = {}
    for ep in endpoints:
        of_sandbox.setdefault(ep.sandbox_id, set()).add(ep.network_id)
    owned = set()
    for ctr in containers:
        subject = f"container {ctr.name}"
        process = observed.processes.get(ctr.id)
        if ctr.should_run:
            if process != "running":
                out.append(
                    Finding(
                        "container",
                        subject,
                        f"the store says running, the runtime says {process or 'no such container'}",
                        ctr.id,
                    )
                )
            if ctr.sandbox_id not in sandboxes:
                out.append(Finding("container", subject, "running without a network sandbox in the store", ctr.id))
                continue
            owned.add(ctr.sandbox_id)
            attached = of_sandbox.get(ctr.sandbox_id, set())
            for network_id in sorted(set(ctr.networks) - attached):
                out.append(Finding("container", subject, f"not attached to network {network_id[:12]} it is on", ctr.id))
            for network_id in sorted(attached - set(ctr.networks)):
                out.append(Finding("container", subject, f"attached to network {network_id[:12]} it is not on", ctr.id))
        else:
            if process in ("running", "created", "paused"):
                out.append(
                    Finding("container", subject, f"the store says {ctr.status}, the runtime says {process}", ctr.id)
                )
            if ctr.sandbox_id:
                out.append(
                    Finding("container", subject, f"{ctr.status} but still holds sandbox {ctr.sandbox_id[:12]}", ctr.id)
                )
    for sb in sandboxes.values():
        if sb.name in DAEMON_SANDBOXES:
            continue
        if sb.id not in owned and not any(c.sandbox_id == sb.id for c in containers):
            out.append(Finding("sandbox", f"sandbox {sb.name}", "no container owns this sandbox", sb.id, leftover=True))
    known = {c.id for c in containers}
    for container_id, status in sorted(observed.processes.items()):
        if container_id not in known:
            out.append(
                Finding(
                    "container", container_id[:12], f"the runtime has a container ({status}) the store does not know"
                )
            )
    return out


def _check_dns(
    containers: list[ContainerRecord],
    endpoints: list[Endpoint],
    networks: dict[str, Network],
    named: frozenset[str],
    dns: dict[str, frozenset[str]],
) -> list[Finding]:
    by_sandbox = {c.sandbox_id: c for c in containers if c.should_run and c.sandbox_id}
    want: dict[str, set[str]] = {}
    for ep in endpoints:
        net = networks.get(ep.network_id)
        ctr = by_sandbox.get(ep.sandbox_id)
        if net is None or ctr is None or net.id not in named:
            continue
        for address in (ep.ipv4, ep.ipv6):
            if address is not None:
                want.setdefault(net.id, set()).add(f"{ctr.name} {address}")
    out = []
    for network_id in sorted(set(want) | {n for n, records in dns.items() if records}):
        name = networks[network_id].name if network_id in networks else network_id[:12]
        have, should = dns.get(network_id, frozenset()), want.get(network_id, set())
        for record in sorted(should - have):
            out.append(Finding("dns", f"network {name}", f"record {record} is missing", network_id))
        for record in sorted(have - should):
            out.append(Finding("dns", f"network {name}", f"stale record {record}", network_id))
    return out
