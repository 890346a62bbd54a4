"""Published-port elements in the kernel's encoding (what nft itself sends). Pure."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from seaway.firewall import elements, ruleset
from seaway.model.ports import PortMapping


def m(hport: int, cport: int, host_ip: str = "0.0.0.0", cip: str = "10.0.0.2") -> PortMapping:
    return PortMapping("tcp", cport, ipaddress.ip_address(host_ip), hport, ipaddress.ip_address(cip))


def host_side(batches: list[elements.ElementBatch]) -> list[elements.ElementBatch]:
    """The host-port maps' batches (not the container-ports sets of routed networks)."""
    return [b for b in batches if not b.name.startswith("container-ports-")]


def test_single_ports_are_hash_elements_keyed_without_the_wildcard_address() -> None:
    (port, addr) = host_side(elements.publish([m(8080, 80)]))  # sorted by map name
    assert (addr.op, addr.name, port.name) == ("add", "any-ports-v4", "any-new-ports-v4")
    (e,) = addr.elements
    # as nft sends it: every field padded to 4 bytes, the port in network order
    assert (e.key, e.key_end) == (bytes.fromhex("060000001f900000"), b"")
    assert e.data == bytes.fromhex("0a000002")
    assert port.elements[0].data == bytes.fromhex("0050")
    (one,) = host_side(elements.publish([m(53, 53, "127.0.0.1")]))
    assert (one.name, one.elements[0].key) == ("ports-v4", bytes.fromhex("7f0000010600000000350000"))


def test_a_wildcard_range_is_the_whole_address_space_in_key_and_key_end() -> None:
    (addr,) = host_side(elements.publish([m(p, p) for p in (8080, 8081)]))
    (e,) = addr.elements
    assert addr.name == "port-ranges-v4"
    assert e.key == bytes.fromhex("00000000060000001f900000")
    assert e.key_end == bytes.fromhex("ffffffff060000001f910000")


def test_a_range_to_the_same_numbers_is_one_element_without_a_port_change() -> None:
    (addr,) = host_side(elements.publish([m(p, p, "127.0.0.1") for p in range(20000, 30000)]))
    (e,) = addr.elements
    assert e.key == bytes.fromhex("7f000001060000004e200000")
    assert e.key_end == bytes.fromhex("7f00000106000000752f0000")


def test_ipv6_keys_and_unpublish_adds_before_it_deletes() -> None:
    batches = elements.unpublish([m(8080, 8080, "2001:db8::1", "2001:db8::2")])
    assert [(b.op, b.name) for b in batches] == [
        ("add", "ports-v6"),
        ("add", "container-ports-v6"),
        ("delete", "ports-v6"),
        ("delete", "container-ports-v6"),
    ]
    (e,) = batches[0].elements
    assert len(e.key) == 24 and e.key_end == b""
    assert e.data == ipaddress.ip_address("2001:db8::2").packed


def test_container_ports_are_one_interval_element_per_run_of_container_ports() -> None:
    (direct,) = [b for b in elements.publish([m(9000 + p, 80 + p) for p in range(3)]) if b.name == "container-ports-v4"]
    (e,) = direct.elements
    # container address . proto . port, 4-byte fields; the key end closes the run 80-82
    assert (e.key, e.key_end) == (bytes.fromhex("0a0000020600000000500000"), bytes.fromhex("0a0000020600000000520000"))


@given(
    st.lists(
        st.tuples(
            st.sampled_from(("tcp", "udp")), st.integers(1, 40), st.sampled_from(("10.0.0.2", "10.0.0.3", "fd00::2"))
        ),
        max_size=60,
    )
)
def test_container_port_runs_are_the_sorted_distinct_ports_merged(ports: list[tuple[str, int, str]]) -> None:
    # equal addresses as separate objects too: grouping by identity must still merge them
    mappings = [PortMapping(p, c, ipaddress.ip_address("0.0.0.0"), c, ipaddress.ip_address(ip)) for p, c, ip in ports]
    for version in (4, 6):
        keys = sorted(
            {(m.container_ip, m.proto, m.container_port) for m in mappings if m.container_ip.version == version}
        )
        expected: list[list[object]] = []
        for ip, proto, port in keys:
            if expected and expected[-1][:2] == [ip, proto] and expected[-1][3] == port - 1:
                expected[-1][3] = port
            else:
                expected.append([ip, proto, port, port])
        assert ruleset.container_port_runs(mappings, version) == [tuple(r) for r in expected]
