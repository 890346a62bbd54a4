"""macvlan/ipvlan options: Docker's rules and texts."""

from __future__ import annotations

import pytest

from seaway.errors import InvalidParameter
from seaway.model.network import ParentOptions
from seaway.model.options import parse_parent_options, parse_vlan_parent


def test_defaults_are_bridge_for_macvlan_and_l2_bridge_for_ipvlan() -> None:
    assert parse_parent_options("macvlan", {"parent": "eth0"}, "abc", False) == ParentOptions("eth0", "bridge")
    assert parse_parent_options("ipvlan", {"parent": "eth0"}, "abc", False) == ParentOptions("eth0", "l2", "bridge")


def test_no_parent_or_internal_means_a_dummy_parent_named_as_docker_does() -> None:
    assert parse_parent_options("macvlan", {}, "0123456789ab", False).parent == "dm-0123456789ab"
    internal = parse_parent_options("ipvlan", {"parent": "eth0"}, "0123456789ab", True)
    assert internal.parent == "di-0123456789ab" and internal.dummy


@pytest.mark.parametrize(
    ("parent", "expected"),
    [("eth0", ("eth0", 0)), ("eth0.10", ("eth0", 10)), ("bond0.4094", ("bond0", 4094))],
)
def test_vlan_parents(parent: str, expected: tuple[str, int]) -> None:
    assert parse_vlan_parent(parent) == expected


@pytest.mark.parametrize(
    ("options", "driver", "text"),
    [
        ({"parent": "eth0.0"}, "macvlan", "vlan id must be between 1-4094, received: 0"),
        ({"parent": "eth0.x"}, "macvlan", r"unable to parse a valid vlan id from: x \(ex. eth0.10 for vlan 10\)"),
        ({"parent": ".10"}, "macvlan", "required interface name format is: name.vlan_id"),
        ({"parent": "lo"}, "ipvlan", "loopback interface is not a valid ipvlan parent link"),
        (
            {"ipvlan_mode": "l4"},
            "ipvlan",
            "requested ipvlan mode 'l4' is not valid, 'l2' mode is the ipvlan driver default",
        ),
        (
            {"ipvlan_flag": "x"},
            "ipvlan",
            "requested ipvlan flag 'x' is not valid, 'bridge' is the ipvlan driver default",
        ),
        ({"macvlan_mode": "l3"}, "ipvlan", "invalid option 'macvlan_mode' for driver ipvlan"),
        ({"host_shim": "true"}, "ipvlan", "invalid option 'host_shim' for driver ipvlan"),
        ({"host_shim": "2001:db8::1"}, "macvlan", "the host shim takes an IPv4 address"),
        ({"host_shim": "maybe"}, "macvlan", "expected true, false or an IPv4 address"),
    ],
)
def test_bad_options_are_refused_with_docker_text(options: dict[str, str], driver: str, text: str) -> None:
    with pytest.raises(InvalidParameter, match=text):
        parse_parent_options(driver, options, "abc", False)


def test_host_shim_values() -> None:
    assert parse_parent_options("macvlan", {"host_shim": "true"}, "abc", False).host_shim == "auto"
    assert parse_parent_options("macvlan", {"host_shim": "192.0.2.9"}, "abc", False).host_shim == "192.0.2.9"
    assert parse_parent_options("macvlan", {"host_shim": "false"}, "abc", False).host_shim == ""
