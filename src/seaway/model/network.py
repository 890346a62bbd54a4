"""Networks: what the user asks for (``NetworkSpec``) and what was validated and
allocated (``Network``). Pure.

A ``NetworkSpec`` carries Docker's create request with strings as the user gave them;
``Network`` carries parsed addresses, resolved subnets and typed driver options.
"""

from __future__ import annotations

import ipaddress
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

PREDEFINED_NETWORKS = ("bridge", "host", "none")


@dataclass(frozen=True, slots=True)
class IPAMConfigSpec:
    """One entry of ``IPAM.Config`` as given by the user (all strings, all optional)."""

    subnet: str = ""
    ip_range: str = ""
    gateway: str = ""
    aux_addresses: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class NetworkSpec:
    """A network create request (Docker's ``POST /networks/create`` body)."""

    name: str
    driver: str = "bridge"
    ipam_driver: str = "default"
    ipam_configs: tuple[IPAMConfigSpec, ...] = ()
    ipam_options: dict[str, str] = field(default_factory=dict)
    enable_ipv6: bool = False
    internal: bool = False
    attachable: bool = False
    options: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    scope: str = ""
    config_only: bool = False
    config_from: str = ""


@dataclass(frozen=True, slots=True)
class Subnet:
    """An allocated pool: subnet, dynamic range, gateway and reserved aux addresses."""

    subnet: IPNetwork
    ip_range: IPNetwork | None
    gateway: IPAddress | None
    aux_addresses: dict[str, IPAddress]
    user_given: bool
    #: the IPAM driver's name for the pool (a remote IPAM's PoolID; "" for the built-in)
    pool_id: str = ""
    #: the IPAM's address space the pool is in (Docker's built-in: ``LocalDefault``)
    address_space: str = "LocalDefault"

    @property
    def version(self) -> int:
        return self.subnet.version

    def reserved(self) -> set[IPAddress]:
        """Addresses never handed to an endpoint dynamically."""
        out: set[IPAddress] = set(self.aux_addresses.values())
        if self.gateway is not None:
            out.add(self.gateway)
        return out


class DriverOptions:
    """The base of every driver's typed options: a frozen dataclass per driver, made by
    the driver's ``parse_options`` and stored with the network under its ``KIND``.

    The contract is open: a new driver defines its own subclass and registers it with
    ``register_options`` (the store needs the class to read the record back); nothing
    outside the driver looks inside. What the engine needs to know generically is a
    property here, with the answer most drivers give."""

    __slots__ = ()
    KIND: ClassVar[str] = ""

    @property
    def on_link_default(self) -> bool:
        """The network's default route is on-link (``default dev eth0``), with no gateway."""
        return False

    def to_doc(self) -> dict[str, Any]:
        doc = asdict(self)  # type: ignore[call-overload]
        return {
            k: str(v) if isinstance(v, ipaddress.IPv4Address | ipaddress.IPv6Address) else v for k, v in doc.items()
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> DriverOptions:
        known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
        return cls(**{k: _typed(known[k].type, v) for k, v in doc.items() if k in known})


#: option kind -> class; filled as option classes are defined (types, not state)
OPTION_KINDS: dict[str, type[DriverOptions]] = {}


def register_options(cls: type[DriverOptions]) -> type[DriverOptions]:
    """Class decorator: the store can read options of this kind back."""
    OPTION_KINDS[cls.KIND] = cls
    return cls


def options_from_doc(doc: dict[str, Any] | None) -> DriverOptions | None:
    if not doc:
        return None
    body = dict(doc)
    kind = body.pop("kind")
    return OPTION_KINDS[kind].from_doc(body)


def options_to_doc(options: DriverOptions | None) -> dict[str, Any] | None:
    return None if options is None else {"kind": options.KIND, **options.to_doc()}


def _typed(annotation: Any, value: Any) -> Any:
    if isinstance(value, str) and "IPAddress" in str(annotation):
        return ipaddress.ip_address(value)
    return value


@register_options
@dataclass(frozen=True, slots=True)
class BridgeOptions(DriverOptions):
    """The ``com.docker.network.*`` options of a bridge network, parsed."""

    KIND: ClassVar[str] = "bridge"

    bridge_name: str
    enable_icc: bool = True
    enable_ip_masquerade: bool = True
    host_binding_ipv4: IPAddress = ipaddress.IPv4Address("0.0.0.0")
    #: per IP version: nat (default), nat-unprotected, routed or isolated (Docker 28's gateway modes)
    gateway_mode_ipv4: str = "nat"
    gateway_mode_ipv6: str = "nat"
    mtu: int = 0
    inhibit_ipv4: bool = False
    iface_prefix: str = "eth"
    default_bridge: bool = False
    host_firewall: bool = False
    host_access: bool = False  # containers may reach the host's own services (Seaway option)
    #: what the host's BGP speaker announces of the routed families: subnet, hosts, both or none
    bgp_announce: str = "subnet"


@register_options
@dataclass(frozen=True, slots=True)
class ParentOptions(DriverOptions):
    """The options of a ``macvlan`` or ``ipvlan`` network, parsed.

    ``parent`` is the host link the containers' interfaces hang off: an existing link,
    a VLAN sub-interface ``<link>.<vid>`` (``vlan_id`` > 0; created when missing), or,
    when the user named none, a dummy link of the network's own (``dummy``)."""

    KIND: ClassVar[str] = "parent"

    parent: str
    mode: str  # macvlan: bridge|private|vepa|passthru; ipvlan: l2|l3|l3s
    flag: str = ""  # ipvlan only: bridge|private|vepa
    vlan_link: str = ""  # the link under a VLAN sub-interface parent
    vlan_id: int = 0
    dummy: bool = False
    #: macvlan only: an address for a host-side interface on the parent (the host shim)
    host_shim: str = ""

    @property
    def on_link_default(self) -> bool:
        return self.mode in ("l3", "l3s")  # ipvlan L3: the parent routes; Docker's on-link default


@dataclass(frozen=True, slots=True)
class Network:
    id: str
    name: str
    driver: str
    scope: str
    created: str
    subnets: tuple[Subnet, ...]
    enable_ipv6: bool
    internal: bool
    attachable: bool
    options: dict[str, str]
    labels: dict[str, str]
    #: the driver's typed options (its own ``DriverOptions`` subclass); None for drivers without
    driver_options: DriverOptions | None = None
    #: a ``--config-only`` network: subnets and options for ``config_from`` networks, no driver
    config_only: bool = False
    #: the name of the config-only network this one took its subnets and options from
    config_from: str = ""
    #: the IPAM driver: ``default`` (Seaway's own) or a plugin's name (``--ipam-driver``)
    ipam_driver: str = "default"
    ipam_options: dict[str, str] = field(default_factory=dict)
    #: the swarm's routing-mesh network (``ingress``)
    ingress: bool = False

    @property
    def predefined(self) -> bool:
        return self.name in PREDEFINED_NETWORKS

    @property
    def node_local(self) -> bool:
        """A swarm-scoped network of a node-local driver (``--scope swarm --config-from``):
        each node builds its own from its configuration network of that name; no VXLAN,
        no cluster-wide addresses, no endpoints seen by other nodes."""
        return self.scope == "swarm" and self.driver != "overlay"

    @property
    def multi_host(self) -> bool:
        """A swarm-scoped overlay: one segment across nodes, its way out docker_gwbridge."""
        return self.scope == "swarm" and self.driver == "overlay"

    @property
    def placeholder(self) -> bool:
        """A node-local swarm network not built on this node yet: it holds the name (and
        shows the swarm's record) until the first endpoint builds it (``Engine.connect``)."""
        return self.node_local and self.config_only

    def subnets_of(self, version: int) -> tuple[Subnet, ...]:
        return tuple(s for s in self.subnets if s.version == version)
