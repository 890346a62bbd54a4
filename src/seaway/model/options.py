"""Driver options (``-o KEY=VALUE``) parsed into typed values. Pure.

Options are checked once here, at the edge: an unknown key or a malformed value is an
error naming the key and the accepted form, and nothing past this point sees strings.
"""

from __future__ import annotations

import ipaddress
import re

from seaway.errors import InvalidParameter
from seaway.model.network import BridgeOptions

BRIDGE_NAME = "com.docker.network.bridge.name"
ENABLE_ICC = "com.docker.network.bridge.enable_icc"
ENABLE_MASQ = "com.docker.network.bridge.enable_ip_masquerade"
HOST_BINDING = "com.docker.network.bridge.host_binding_ipv4"
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

BRIDGE_KEYS = (
    BRIDGE_NAME,
    ENABLE_ICC,
    ENABLE_MASQ,
    HOST_BINDING,
    INHIBIT_IPV4,
    DEFAULT_BRIDGE,
    MTU,
    IFACE_PREFIX,
    ENABLE_IPV6,
    INTERNAL,
    HOST_FIREWALL,
    HOST_ACCESS,
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
    return BridgeOptions(
        bridge_name=options.get(BRIDGE_NAME, default_name),
        enable_icc=parse_bool(ENABLE_ICC, options.get(ENABLE_ICC, "true")),
        enable_ip_masquerade=parse_bool(ENABLE_MASQ, options.get(ENABLE_MASQ, "true")),
        host_binding_ipv4=host_binding,
        mtu=parse_mtu(options[MTU]) if MTU in options else default_mtu,
        inhibit_ipv4=parse_bool(INHIBIT_IPV4, options.get(INHIBIT_IPV4, "false")),
        iface_prefix=options.get(IFACE_PREFIX, "eth"),
        default_bridge=parse_bool(DEFAULT_BRIDGE, options.get(DEFAULT_BRIDGE, "false")),
        host_firewall=(
            parse_bool(HOST_FIREWALL, options[HOST_FIREWALL]) if HOST_FIREWALL in options else default_host_firewall
        ),
        host_access=parse_bool(HOST_ACCESS, options.get(HOST_ACCESS, "false")),
    )
