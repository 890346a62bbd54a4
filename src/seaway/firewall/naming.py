"""The only place Seaway's nftables names are built. Pure.

Seaway owns two tables: ``inet seaway`` (routing-level filter and NAT) and
``bridge seaway`` (frames switched inside one bridge, for ICC). It never reads or writes
any other table.
"""

TABLE = "seaway"
INET = "inet"
BRIDGE = "bridge"

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
# published ports
NAT_PREROUTING_CHAIN = "nat-PREROUTING"
NAT_OUTPUT_CHAIN = "nat-OUTPUT"
RAW_PREROUTING_CHAIN = "raw-PREROUTING"
PUBLISHED_CHAIN = "published"  # DNAT of traffic to the host's own addresses
MAP_PORTS4 = "ports-v4"  # host ip . proto . host port (range) : container ip
MAP_PORTS6 = "ports-v6"
MAP_NEW_PORTS4 = "new-ports-v4"  # host ip . proto . host port : container port, where they differ
MAP_NEW_PORTS6 = "new-ports-v6"
SET_HAIRPIN4 = "hairpin-v4"  # sources masqueraded when DNATed back into a bridge
SET_HAIRPIN6 = "hairpin-v6"
# host-firewall mode
SET_HOST_FIREWALL = "host-firewall"  # bridges whose published ports pass the host's input rules
HOSTFW_PREFIX = "hostfw-"  # chains and sets mirroring the host's input rules

# bridge seaway
BRIDGE_FORWARD_CHAIN = "filter-FORWARD"
SET_ICC_OFF_PORTS = "icc-off-ports"  # bridge ports (host veths) of ICC-off networks
