"""FRR's configuration of one BGP speaker, rendered as text. Pure: renders, never runs FRR.

A speaker is ``bgpd`` with one ``router bgp ASN`` block and ``zebra`` (which installs
the learned routes in the kernel). The profile is FRR's ``datacenter`` one (3 s
keepalive, 9 s hold, no advertisement delay); eBGP needs no policy here
(``no bgp ebgp-requires-policy``), and announced prefixes need no route in the RIB
(``no bgp network import-check``): a routed network's subnet is this host's whether or
not a container is attached. A host sends only the routes it originates (an as-path
filter ``^$`` on every session); a lab router passes everything on (``transit``). Each peer is activated in the address family of its own
address, so IPv6 prefixes reach IPv6 peers only. Paths with different AS paths to the
same prefix are used together (ECMP, ``multipath-relax``), as a host under two leaves
or a leaf under two spines needs.

``changes`` is what moves a running ``bgpd`` from one set of prefixes to another, as
``vtysh -c`` lines; the rendered file is rewritten alongside, so a restarted ``bgpd``
starts from the same set.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from seaway.errors import InvalidParameter

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_ASN = 4294967295
MAXIMUM_PATHS = 8
FAMILIES = ((4, "ipv4 unicast"), (6, "ipv6 unicast"))
OWN_ONLY = "SEAWAY-OWN"  # the as-path list matching routes this speaker originates
HEADER = "! rendered by seawayd: do not edit, it is rewritten on every change"


@dataclass(frozen=True, slots=True)
class Peer:
    address: IPAddress
    asn: int | None = None  # None: any AS other than ours (``remote-as external``)

    @property
    def remote_as(self) -> str:
        return "external" if self.asn is None else str(self.asn)


@dataclass(frozen=True, slots=True)
class SpeakerConfig:
    asn: int
    router_id: ipaddress.IPv4Address | None = None  # None: zebra's choice (an interface address)
    peers: tuple[Peer, ...] = ()
    #: pass on what peers announce (the lab's routers); a host announces only its own
    #: prefixes, so a host under two leaves never carries traffic between them
    transit: bool = False
    #: seconds without a keepalive before a session is down (keepalives every third of
    #: it); None: the profile's 9. A session uses the smaller of both ends' values.
    hold_time: int | None = None


def parse_asn(text: str, what: str = "--bgp-asn") -> int:
    """An AS number, 1 to 4294967295 (asplain)."""
    if not text.isdigit() or not 1 <= int(text) <= MAX_ASN:
        raise InvalidParameter(f"invalid {what} {text!r}: expected an AS number from 1 to {MAX_ASN}")
    return int(text)


def parse_router_id(text: str) -> ipaddress.IPv4Address:
    try:
        return ipaddress.IPv4Address(text)
    except ValueError:
        raise InvalidParameter(f"invalid --bgp-router-id {text!r}: expected an IPv4 address") from None


def parse_peer(text: str) -> Peer:
    """``ADDRESS[,asn=N]`` (the form of ``--bgp-peer``)."""
    head, *rest = text.split(",")
    try:
        address = ipaddress.ip_address(head.strip())
    except ValueError:
        raise InvalidParameter(f"invalid --bgp-peer {text!r}: expected ADDRESS[,asn=N]") from None
    asn = None
    for item in rest:
        key, _, value = item.partition("=")
        if key.strip() != "asn" or not value:
            raise InvalidParameter(f"invalid --bgp-peer {text!r}: expected ADDRESS[,asn=N]")
        asn = parse_asn(value.strip(), "--bgp-peer asn")
    return Peer(address, asn)


def speaker_config(asn: str | int | None, router_id: str | None, peers: Iterable[str]) -> SpeakerConfig | None:
    """seawayd's speaker from its ``--bgp-*`` flags (None: no BGP, the default)."""
    given = list(peers)
    if asn in (None, ""):
        if given or router_id:
            raise InvalidParameter("--bgp-peer and --bgp-router-id need --bgp-asn")
        return None
    parsed = [parse_peer(p) for p in given]
    seen: set[IPAddress] = set()
    for peer in parsed:
        if peer.address in seen:
            raise InvalidParameter(f"--bgp-peer {peer.address} is given twice")
        seen.add(peer.address)
    return SpeakerConfig(
        asn=parse_asn(str(asn)),
        router_id=parse_router_id(router_id) if router_id else None,
        peers=tuple(parsed),
    )


def render_bgpd(config: SpeakerConfig, prefixes: Iterable[IPNetwork]) -> str:
    """``bgpd.conf`` announcing ``prefixes``."""
    announced = sorted(set(prefixes), key=_order)
    lines = [HEADER, "frr defaults datacenter"]
    if not config.transit:
        lines += [f"bgp as-path access-list {OWN_ONLY} seq 5 permit ^$"]
    lines += [f"router bgp {config.asn}"]
    if config.router_id is not None:
        lines.append(f" bgp router-id {config.router_id}")
    if config.hold_time is not None:
        lines.append(f" timers bgp {max(1, config.hold_time // 3)} {config.hold_time}")
    lines += [
        " no bgp ebgp-requires-policy",
        " no bgp network import-check",
        " no bgp default ipv4-unicast",
        " bgp bestpath as-path multipath-relax",
    ]
    lines += [f" neighbor {p.address} remote-as {p.remote_as}" for p in config.peers]
    for version, family in FAMILIES:
        peers = [p for p in config.peers if p.address.version == version]
        if not peers:
            continue
        lines += [" !", f" address-family {family}"]
        lines += [f"  network {net}" for net in announced if net.version == version]
        for p in peers:
            lines.append(f"  neighbor {p.address} activate")
            if not config.transit:
                lines.append(f"  neighbor {p.address} filter-list {OWN_ONLY} out")
        lines += [f"  maximum-paths {MAXIMUM_PATHS}", " exit-address-family"]
    lines += ["exit", ""]
    return "\n".join(lines)


def render_zebra() -> str:
    """``zebra.conf``. Routes carry their next hops themselves instead of kernel nexthop
    objects: FRR 8.4 does not install a nexthop object again that failed while its link
    was down, so an ECMP route kept one path after the link came back."""
    return f"{HEADER}\nno zebra nexthop kernel enable\n"


def changes(config: SpeakerConfig, before: Iterable[IPNetwork], after: Iterable[IPNetwork]) -> list[str]:
    """The ``vtysh -c`` lines that take a running bgpd from announcing ``before`` to
    announcing ``after`` (empty when they are the same). A family without peers has no
    address family block, so its prefixes are left out, as ``render_bgpd`` does."""
    old, new = set(before), set(after)
    if old == new:
        return []
    lines = ["configure terminal", f"router bgp {config.asn}"]
    for version, family in FAMILIES:
        if not any(p.address.version == version for p in config.peers):
            continue
        gone = sorted((n for n in old - new if n.version == version), key=_order)
        came = sorted((n for n in new - old if n.version == version), key=_order)
        if gone or came:
            lines += [f"address-family {family}", *(f"no network {n}" for n in gone)]
            lines += [*(f"network {n}" for n in came), "exit-address-family"]
    return lines if len(lines) > 2 else []


def _order(net: IPNetwork) -> tuple[int, int, int]:
    return (net.version, int(net.network_address), net.prefixlen)
