"""Driver options (``-o KEY=VALUE``) parsed into typed values. Pure.

Options are checked once here, at the edge: an unknown key or a malformed value is an
error naming the key and the accepted form, and nothing past this point sees strings.
"""

from __future__ import annotations

import ipaddress
import re

from seaway.errors import InvalidParameter
from seaway.model.network import BridgeOptions, ParentOptions

BRIDGE_NAME = "com.docker.network.bridge.name"
ENABLE_ICC = "com.docker.network.bridge.enable_icc"
ENABLE_MASQ = "com.docker.network.bridge.enable_ip_masquerade"
HOST_BINDING = "com.docker.network.bridge.host_binding_ipv4"
GATEWAY_MODE_IPV4 = "com.docker.network.bridge.gateway_mode_ipv4"
GATEWAY_MODE_IPV6 = "com.docker.network.bridge.gateway_mode_ipv6"
GATEWAY_MODES = ("nat", "nat-unprotected", "routed", "isolated")
INHIBIT_IPV4 = "com.docker.network.bridge.inhibit_ipv4"
DEFAULT_BRIDGE = "com.docker.network.bridge.default_bridge"
MTU = "com.docker.network.driver.mtu"
IFACE_PREFIX = "com.docker.network.container_iface_prefix"
ENABLE_IPV6 = "com.docker.network.enable_ipv6"
INTERNAL = "com.docker.network.internal"
#: Seaway's own: traffic to this network's published ports also passes the host's input rules
HOST_FIREWALL = "seaway.bridge.host_firewall"
#: Seaway: containers of this network may reach the host's own services on its gateway
HOST_ACCESS = "seaway.bridge.host_access"
#: Seaway: what the host's BGP speaker announces of this network (its routed families only)
BGP_ANNOUNCE = "seaway.bridge.bgp_announce"
BGP_ANNOUNCE_VALUES = ("subnet", "hosts", "both", "none")

BRIDGE_KEYS = (
    BRIDGE_NAME,
    ENABLE_ICC,
    ENABLE_MASQ,
    HOST_BINDING,
    GATEWAY_MODE_IPV4,
    GATEWAY_MODE_IPV6,
    INHIBIT_IPV4,
    DEFAULT_BRIDGE,
    MTU,
    IFACE_PREFIX,
    ENABLE_IPV6,
    INTERNAL,
    HOST_FIREWALL,
    HOST_ACCESS,
    BGP_ANNOUNCE,
)


def parse_bool(key: str, value: str) -> bool:
    """Go's strconv.ParseBool, which Docker uses for these options."""
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if value in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise InvalidParameter(f"failed to parse {key} value: {value!r} (expected true or false)")


def parse_mtu(value: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]+", value):  # Go's strconv.Atoi: no spaces or underscores
        raise InvalidParameter(f"failed to parse {MTU} value: {value!r} (expected a number)")
    mtu = int(value)
    if mtu < 0:
        raise InvalidParameter(f"invalid MTU number: {mtu}")
    if mtu and not 68 <= mtu <= 65535:
        raise InvalidParameter(f"invalid MTU number: {mtu}: expected 0 (default) or 68 to 65535")
    return mtu


def parse_gateway_mode(key: str, value: str) -> str:
    if value not in GATEWAY_MODES:
        raise InvalidParameter(f"failed to parse {key} value: {value} (unknown gateway mode {value})")
    return value


def check_gateway_modes(ipv4: str, ipv6: str, internal: bool) -> None:
    """Docker's rule: an isolated gateway (no address on the bridge) is for internal networks only."""
    if "isolated" in (ipv4, ipv6) and not internal:
        raise InvalidParameter("gateway mode 'isolated' can only be used for an internal network")


def parse_bgp_announce(options: dict[str, str], ipv4_mode: str, ipv6_mode: str) -> str:
    """What BGP announces of the network: its subnets (the default), its containers' host
    routes, both or nothing; only a routed family is ever announced, so asking for
    anything on a network without one is an error."""
    value = options.get(BGP_ANNOUNCE, "subnet")
    if value not in BGP_ANNOUNCE_VALUES:
        raise InvalidParameter(
            f"failed to parse {BGP_ANNOUNCE} value: {value} (expected one of {', '.join(BGP_ANNOUNCE_VALUES)})"
        )
    if BGP_ANNOUNCE in options and value != "none" and "routed" not in (ipv4_mode, ipv6_mode):
        raise InvalidParameter(
            f"{BGP_ANNOUNCE}={value} needs a routed gateway mode ({GATEWAY_MODE_IPV4}=routed or {GATEWAY_MODE_IPV6}=routed)"
        )
    return value


def parse_bridge_options(
    options: dict[str, str], default_name: str, default_mtu: int, default_host_firewall: bool = False
) -> BridgeOptions:
    unknown = sorted(set(options) - set(BRIDGE_KEYS))
    if unknown:
        raise InvalidParameter(
            f"invalid option {unknown[0]!r} for driver bridge: accepted options are " + ", ".join(BRIDGE_KEYS)
        )
    try:
        host_binding = ipaddress.ip_address(options.get(HOST_BINDING, "0.0.0.0"))
    except ValueError:
        raise InvalidParameter(
            f"failed to parse {HOST_BINDING} value: {options[HOST_BINDING]!r} (expected an IP address)"
        ) from None
    mode4 = parse_gateway_mode(GATEWAY_MODE_IPV4, options.get(GATEWAY_MODE_IPV4, "nat"))
    mode6 = parse_gateway_mode(GATEWAY_MODE_IPV6, options.get(GATEWAY_MODE_IPV6, "nat"))
    return BridgeOptions(
        bridge_name=options.get(BRIDGE_NAME, default_name),
        enable_icc=parse_bool(ENABLE_ICC, options.get(ENABLE_ICC, "true")),
        enable_ip_masquerade=parse_bool(ENABLE_MASQ, options.get(ENABLE_MASQ, "true")),
        host_binding_ipv4=host_binding,
        gateway_mode_ipv4=mode4,
        gateway_mode_ipv6=mode6,
        mtu=parse_mtu(options[MTU]) if MTU in options else default_mtu,
        inhibit_ipv4=parse_bool(INHIBIT_IPV4, options.get(INHIBIT_IPV4, "false")),
        iface_prefix=options.get(IFACE_PREFIX, "eth"),
        default_bridge=parse_bool(DEFAULT_BRIDGE, options.get(DEFAULT_BRIDGE, "false")),
        host_firewall=(
            parse_bool(HOST_FIREWALL, options[HOST_FIREWALL]) if HOST_FIREWALL in options else default_host_firewall
        ),
        host_access=parse_bool(HOST_ACCESS, options.get(HOST_ACCESS, "false")),
        bgp_announce=parse_bgp_announce(options, mode4, mode6),
    )


# ------------------------------------------------------------------ macvlan / ipvlan

PARENT = "parent"
MACVLAN_MODE = "macvlan_mode"
IPVLAN_MODE = "ipvlan_mode"
IPVLAN_FLAG = "ipvlan_flag"
#: Seaway's own option: ``true`` or an address for a host-side macvlan on the parent
HOST_SHIM = "host_shim"

MACVLAN_MODES = ("bridge", "private", "vepa", "passthru")
IPVLAN_MODES = ("l2", "l3", "l3s")
IPVLAN_FLAGS = ("bridge", "private", "vepa")
_COMMON_KEYS = (PARENT, ENABLE_IPV6, INTERNAL)
MACVLAN_KEYS = (*_COMMON_KEYS, MACVLAN_MODE, HOST_SHIM)
IPVLAN_KEYS = (*_COMMON_KEYS, IPVLAN_MODE, IPVLAN_FLAG)
#: the dummy parent of a network without ``parent``: Docker's names
DUMMY_PREFIX = {"macvlan": "dm-", "ipvlan": "di-"}


def parse_vlan_parent(parent: str) -> tuple[str, int]:
    """``eth0.10`` -> ``("eth0", 10)``; a name without a dot -> ``(name, 0)`` (Docker's rules)."""
    if "." not in parent:
        return parent, 0
    parts = parent.split(".")
    if len(parts) != 2 or not parts[0]:
        raise InvalidParameter(
            "required interface name format is: name.vlan_id, ex. eth0.10 for vlan 10, instead received " + parent
        )
    if not re.fullmatch(r"[+-]?[0-9]+", parts[1]):
        raise InvalidParameter(f"unable to parse a valid vlan id from: {parts[1]} (ex. eth0.10 for vlan 10)")
    vid = int(parts[1])
    if not 1 <= vid <= 4094:
        raise InvalidParameter(f"vlan id must be between 1-4094, received: {vid}")
    return parts[0], vid


def parse_parent_options(driver: str, options: dict[str, str], network_id12: str, internal: bool) -> ParentOptions:
    """The options of a macvlan or ipvlan network (``driver`` names which).

    As Docker does, an internal network gets a dummy parent of its own whatever
    ``parent`` says, and a network without a parent is internal (the caller's part)."""
    keys = MACVLAN_KEYS if driver == "macvlan" else IPVLAN_KEYS
    unknown = sorted(set(options) - set(keys))
    if unknown:
        raise InvalidParameter(
            f"invalid option {unknown[0]!r} for driver {driver}: accepted options are " + ", ".join(keys)
        )
    if driver == "macvlan":
        mode = options.get(MACVLAN_MODE) or "bridge"
        if mode not in MACVLAN_MODES:
            raise InvalidParameter(
                f"requested macvlan mode '{mode}' is not valid, 'bridge' mode is the macvlan driver default"
            )
        flag = ""
    else:
        mode = options.get(IPVLAN_MODE) or "l2"
        if mode not in IPVLAN_MODES:
            raise InvalidParameter(
                f"requested ipvlan mode '{mode}' is not valid, 'l2' mode is the ipvlan driver default"
            )
        flag = options.get(IPVLAN_FLAG) or "bridge"
        if flag not in IPVLAN_FLAGS:
            raise InvalidParameter(
                f"requested ipvlan flag '{flag}' is not valid, 'bridge' is the ipvlan driver default"
            )
    shim = _parse_shim(options.get(HOST_SHIM, "false"))  # (an ipvlan network refused the key above)
    parent = "" if internal else options.get(PARENT, "")
    if not parent:
        return ParentOptions(
            parent=DUMMY_PREFIX[driver] + network_id12, mode=mode, flag=flag, dummy=True, host_shim=shim
        )
    if parent == "lo":
        raise InvalidParameter(f"loopback interface is not a valid {driver} parent link")
    vlan_link, vid = parse_vlan_parent(parent)
    return ParentOptions(
        parent=parent,
        mode=mode,
        flag=flag,
        vlan_link=vlan_link if vid else "",
        vlan_id=vid,
        host_shim=shim,
    )


def _parse_shim(value: str) -> str:
    """``""`` (no shim), ``"auto"`` (an address chosen from the subnet) or an IPv4 address."""
    if value in ("false", "0", ""):
        return ""
    if value in ("true", "1"):
        return "auto"
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise InvalidParameter(
            f"failed to parse {HOST_SHIM} value: {value!r} (expected true, false or an IPv4 address)"
        ) from None
    if address.version != 4:
        raise InvalidParameter(f"invalid {HOST_SHIM} address {value}: the host shim takes an IPv4 address")
    return str(address)
