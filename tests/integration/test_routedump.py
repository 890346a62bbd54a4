"""The raw rtnetlink route dump (kernel.routedump) against iproute2's view of the same table."""

from __future__ import annotations

import ipaddress
import json

from seaway.kernel.addresses import FOREIGN_PROTOCOLS, RTPROT_SEAWAY, onlink_routes
from seaway.kernel.routedump import RouteDumps
from seaway.lab.fakehost import FakeHost, in_ns

FOREIGN_NAMES = {"kernel", "boot", "static", "ra", "dhcp"}  # iproute2's names of FOREIGN_PROTOCOLS


def test_onlink_routes_are_the_foreign_scope_link_routes_ip_lists(fake_host: FakeHost) -> None:
    ns = fake_host.host_ns
    for cmd in (
        "ip link add rd-br0 type bridge",
        "ip link set rd-br0 up",
        "ip addr add 10.99.0.1/24 dev rd-br0",  # a prefix route, proto kernel
        "ip route add 192.0.2.0/24 dev rd-br0 proto static",
        "ip route add 203.0.113.0/25 dev rd-br0",  # proto boot
        "ip route add 203.0.113.200/32 dev rd-br0 proto dhcp",
        f"ip route add 198.51.100.0/24 dev rd-br0 proto {RTPROT_SEAWAY} scope link",  # Seaway's own: never listed
        "ip route add 198.51.100.128/25 via 10.99.0.2 proto static",  # through a gateway: not on-link
        "ip route add 203.0.113.128/26 dev rd-br0 proto static table 100",  # another table
    ):
        in_ns(ns, *cmd.split(), check=True)
    listed = json.loads(in_ns(ns, "ip", "-j", "route", "show", "table", "main", check=True).stdout)
    expected = {
        ipaddress.ip_network(r["dst"])
        for r in listed
        # ip leaves out "proto boot", the default
        if r.get("scope") == "link" and r.get("protocol", "boot") in FOREIGN_NAMES and r["dst"] != "default"
    }
    with fake_host.entered():
        dumps = RouteDumps()
        try:
            found = onlink_routes(dumps)
            again = dumps.onlink_ipv4(254, FOREIGN_PROTOCOLS)  # the socket serves one dump after another
        finally:
            dumps.close()
    assert sorted(found) == sorted(expected)
    assert found == again
    assert {
        ipaddress.ip_network(n) for n in ("10.99.0.0/24", "192.0.2.0/24", "203.0.113.0/25", "203.0.113.200/32")
    } <= set(found)
    assert not {n for n in found if n.overlaps(ipaddress.ip_network("198.51.100.0/24"))}
    assert ipaddress.ip_network("203.0.113.128/26") not in found
