"""The only place Seaway's nftables names are built. Pure.

Seaway owns two tables: ``inet seaway`` (routing-level filter and NAT) and
``bridge seaway`` (frames switched inside one bridge, for ICC). It never reads or writes
any other table.
"""

TABLE = "seaway"
INET = "inet"
BRIDGE = "bridge"
OWN_TABLES = frozenset({(INET, TABLE), (BRIDGE, TABLE)})  # (family, name)

# inet seaway
USER_CHAIN = "user"  # created once, never flushed, evaluated first: Seaway's DOCKER-USER
FORWARD_CHAIN = "filter-FORWARD"
POSTROUTING_CHAIN = "nat-POSTROUTING"
SET_BRIDGES = "bridges"  # every Seaway bridge
SET_INTERNAL = "internal"  # bridges of --internal networks
SET_SAME_BRIDGE = "same-bridge"  # <br> . <br> for every bridge: routing within one bridge
SET_ICC_OFF_PAIRS = "icc-off-pairs"  # <br> . <br> for bridges with ICC off
SET_MASQ4 = "masquerade-v4"  # subnets whose traffic leaving their bridge is masqueraded
SET_MASQ6 = "masquerade-v6"
# gateway modes (com.docker.network.bridge.gateway_mode_ipv4|ipv6)
SET_UNPROTECTED4 = "unprotected-v4"  # nat-unprotected subnets: every port reachable from outside
SET_UNPROTECTED6 = "unprotected-v6"
SET_ROUTED4 = "routed-v4"  # routed subnets: not masqueraded, ICMP reachable from outside
SET_ROUTED6 = "routed-v6"
#: container ip . proto . container port of every published port: reachable directly on
#: routed subnets (elsewhere only the DNATed host port is)
SET_CONTAINER_PORTS = {4: "container-ports-v4", 6: "container-ports-v6"}
# published ports
NAT_PREROUTING_CHAIN = "nat-PREROUTING"
NAT_OUTPUT_CHAIN = "nat-OUTPUT"
RAW_PREROUTING_CHAIN = "raw-PREROUTING"
PUBLISHED_CHAIN = "published"  # DNAT of traffic to the host's own addresses
# single published ports: hash maps (O(1) to add and delete); keys name the host address,
# except in the any-* maps, for the wildcard 0.0.0.0 / ::
MAP_PORTS = {4: "ports-v4", 6: "ports-v6"}  # host ip . proto . port : container ip
MAP_NEW_PORTS = {4: "new-ports-v4", 6: "new-ports-v6"}  # ... : container port, where it differs
MAP_ANY_PORTS = {4: "any-ports-v4", 6: "any-ports-v6"}  # proto . port : container ip
MAP_ANY_NEW_PORTS = {4: "any-new-ports-v4", 6: "any-new-ports-v6"}  # proto . port : container port
# runs of ports forwarded to the same numbers: one interval element each
MAP_PORT_RANGES = {4: "port-ranges-v4", 6: "port-ranges-v6"}  # host ip(/0) . proto . range : container ip
SET_HAIRPIN4 = "hairpin-v4"  # sources masqueraded when DNATed back into a bridge
SET_HAIRPIN6 = "hairpin-v6"
# host-firewall mode
SET_HOST_FIREWALL = "host-firewall"  # bridges whose published ports pass the host's input rules
HOSTFW_PREFIX = "hostfw-"  # chains and sets mirroring the host's input rules

# bridge seaway
BRIDGE_FORWARD_CHAIN = "filter-FORWARD"
SET_ICC_OFF_PORTS = "icc-off-ports"  # bridge ports (host veths) of ICC-off networks

# bridge seaway: anti-spoofing (a container sends with its own MAC and addresses only)
BRIDGE_PREROUTING_CHAIN = "filter-PREROUTING"
SET_GUARDED_PORTS = "guarded-ports"  # host veths of every endpoint
SET_PORT_MACS = "port-macs"  # host veth . the endpoint's MAC
SET_PORT_IPV4 = "port-ipv4"  # host veth . the endpoint's IPv4 address
SET_PORT_IPV6 = "port-ipv6"  # host veth . the endpoint's IPv6 address

# inet seaway: the host's own services
INPUT_CHAIN = "filter-INPUT"
SET_HOST_ACCESS = "host-access"  # bridges whose containers may reach the host's services

# inet seaway: VXLAN only from the swarm's member VTEPs
SET_VXLAN_PORTS = "vxlan-ports"  # the swarm's data-path UDP port (empty outside a swarm)
SET_VTEPS = {4: "vteps-v4", 6: "vteps-v6"}  # addresses VXLAN to that port may come from
