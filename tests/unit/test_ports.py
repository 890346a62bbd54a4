"""The ``-p`` syntax, the API's PortBindings, what is shown back, and host port allocation."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seaway.errors import Conflict, InvalidParameter
from seaway.ipam.hostports import HostPorts
from seaway.model import ports
from seaway.model.ports import PortMapping, PortRequest

ANY4, ANY6 = ipaddress.ip_address("0.0.0.0"), ipaddress.ip_address("::")
LO = ipaddress.ip_address("127.0.0.1")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("80", [("80/tcp", "", "")]),
        ("8080:80", [("80/tcp", "", "8080")]),
        ("127.0.0.1:8080:80", [("80/tcp", "127.0.0.1", "8080")]),
        ("127.0.0.1::80", [("80/tcp", "127.0.0.1", "")]),
        ("[::1]:8080:80", [("80/tcp", "::1", "8080")]),
        ("[2001:db8::1]::80/udp", [("80/udp", "2001:db8::1", "")]),
        ("8000-8010:80", [("80/tcp", "", "8000-8010")]),
        ("8000-8001:80-81", [("80/tcp", "", "8000"), ("81/tcp", "", "8001")]),
        ("80-81", [("80/tcp", "", ""), ("81/tcp", "", "")]),
        ("8080:80/SCTP", [("80/sctp", "", "8080")]),
    ],
)
def test_publish_specs_parse_as_the_docker_cli_sends_them(spec: str, expected: list[tuple[str, str, str]]) -> None:
    assert [(k, b["HostIp"], b["HostPort"]) for k, b in ports.parse_publish(spec)] == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("1.2.3:80:80", "Invalid ip address: 1.2.3"),
        ("8080:", "No port specified: 8080:<empty>"),
        ("8080:abc", "Invalid containerPort: abc"),
        ("70000:80", "Invalid hostPort: 70000"),
        ("8000-8002:80-81", "Invalid ranges specified for container and host Ports: 80-81 and 8000-8002"),
        ("8080:80/icmp", "Invalid proto: icmp"),
        ("81-80", "Invalid containerPort: 81-80"),
    ],
)
def test_bad_publish_specs_get_dockers_messages(spec: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as err:
        ports.parse_publish(spec)
    assert str(err.value) == message


@given(st.text(max_size=30))
def test_any_text_either_parses_or_is_refused_cleanly(spec: str) -> None:
    try:
        parsed = ports.parse_publish(spec)
    except InvalidParameter:
        return
    for key, binding in parsed:
        port, proto = ports.parse_key(key)
        assert 0 <= port <= 65535 and proto in ports.PROTOCOLS
        assert set(binding) == {"HostIp", "HostPort"}


@given(st.integers(1, 65535), st.integers(0, 100), st.sampled_from(ports.PROTOCOLS))
def test_equal_ranges_map_pairwise(start: int, length: int, proto: str) -> None:
    end = min(start + length, 65535)
    host = 65535 - (end - start)
    parsed = ports.parse_publish(f"{host}-65535:{start}-{end}/{proto}")
    assert len(parsed) == end - start + 1
    assert parsed[0] == (f"{start}/{proto}", {"HostIp": "", "HostPort": str(host)})


def test_bindings_and_publish_all_become_requests() -> None:
    requests = ports.parse_bindings(
        {"80/tcp": [{"HostIp": "", "HostPort": "8080"}], "53/udp": [{"HostIp": "[::1]", "HostPort": "8000-8010"}]},
        ["80/tcp", "53/udp", "443/tcp"],
        publish_all=True,
    )
    assert requests == (
        PortRequest("tcp", 80, "", 8080, 8080),
        PortRequest("tcp", 443),
        PortRequest("udp", 53, "::1", 8000, 8010),
    )
    assert ports.parse_bindings({}, ["443/tcp"], publish_all=False) == ()


def test_settings_show_exposed_ports_as_null_and_mappings_per_family() -> None:
    mappings = [
        PortMapping("tcp", 80, ANY6, 8080, ipaddress.ip_address("fd00::2")),
        PortMapping("tcp", 80, ANY4, 8080, ipaddress.ip_address("10.0.0.2")),
    ]
    assert ports.settings_ports(["80/tcp", "443/tcp"], mappings) == {
        "80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}],
        "443/tcp": None,
    }
    assert ports.summary_ports(["443/tcp"], mappings[1:]) == [
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"PrivatePort": 443, "Type": "tcp"},
    ]


def test_a_wildcard_clashes_with_every_address_of_its_family_only() -> None:
    table = HostPorts()
    table.take("tcp", ANY4, 8080)
    with pytest.raises(Conflict) as err:
        table.take("tcp", LO, 8080)
    assert str(err.value) == "Bind for 127.0.0.1:8080 failed: port is already allocated"
    table.take("udp", LO, 8080)  # another protocol
    table.take("tcp", ANY6, 8080)  # another family
    table.take("tcp", LO, 9090)
    with pytest.raises(Conflict, match=r"Bind for 0.0.0.0:9090 failed"):
        table.take("tcp", ANY4, 9090)
    table.release("tcp", ANY4, 8080)
    table.take("tcp", LO, 8080)


class _Model:
    """Host port clashes as plainly as they can be said: every (proto, address, port) held."""

    def __init__(self) -> None:
        self.held: set[tuple[str, ipaddress.IPv4Address | ipaddress.IPv6Address, int]] = set()

    def clashes(self, proto: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> bool:
        wild = ANY4 if ip.version == 4 else ANY6
        return any(
            p == proto and q == port and h.version == ip.version and (h in (ip, wild) or ip == wild)
            for p, h, q in self.held
        )

    def take_many(self, proto: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address, ports: list[int]) -> bool:
        if len(set(ports)) != len(ports) or any(self.clashes(proto, ip, port) for port in ports):
            return False
        self.held |= {(proto, ip, port) for port in ports}
        return True


addresses = st.sampled_from([ANY4, LO, ipaddress.ip_address("192.0.2.1"), ANY6, ipaddress.ip_address("::1")])
operations = st.lists(
    st.tuples(
        st.booleans(),  # take (True) or release
        st.sampled_from(["tcp", "udp"]),
        addresses,
        st.lists(st.integers(8000, 8006), min_size=1, max_size=4),
    ),
    max_size=30,
)


@given(operations)
def test_taking_many_ports_is_all_or_nothing_and_clashes_as_one_by_one(ops) -> None:  # type: ignore[no-untyped-def]
    table, model = HostPorts(), _Model()
    for take, proto, ip, port_list in ops:
        if take:
            try:
                table.take_many(proto, ip, port_list)
                taken = True
            except Conflict:
                taken = False
            assert taken == model.take_many(proto, ip, port_list)
        else:
            for port in port_list:
                table.release(proto, ip, port)
                model.held.discard((proto, ip, port))
        for proto_ in ("tcp", "udp"):
            for port in range(8000, 8007):
                for probe in (ANY4, LO, ANY6):
                    assert table.conflict(proto_, probe, port) == model.clashes(proto_, probe, port)


def test_ephemeral_ports_are_handed_out_sequentially_and_wrap() -> None:
    table = HostPorts((40000, 40004))
    given_out = []
    for _ in range(5):
        port = next(table.candidates("tcp", [ANY4]))
        table.take("tcp", ANY4, port)
        table.handed_out("tcp", port)
        given_out.append(port)
    assert given_out == [40000, 40001, 40002, 40003, 40004]
    assert list(table.candidates("tcp", [ANY4])) == []
    table.release("tcp", ANY4, 40001)
    assert list(table.candidates("tcp", [ANY4])) == [40001]
    assert list(table.candidates("tcp", [ANY4], 40003, 40010))[:2] == [40005, 40006]


def test_ps_folds_consecutive_ports_into_ranges_as_docker_does() -> None:
    summary: list[dict[str, object]] = [
        {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        {"IP": "::", "PrivatePort": 80, "PublicPort": 8080, "Type": "tcp"},
        *({"IP": "0.0.0.0", "PrivatePort": p, "PublicPort": p, "Type": "udp"} for p in (5000, 5001, 5002)),
        {"PrivatePort": 443, "Type": "tcp"},
    ]
    assert ports.display(summary) == (
        "443/tcp, 0.0.0.0:8080->80/tcp, 0.0.0.0:5000-5002->5000-5002/udp, [::]:8080->80/tcp"
    )
