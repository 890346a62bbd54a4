"""Bridge driver options (``-o KEY=VALUE``) as Docker parses them."""

from __future__ import annotations

import ipaddress

import pytest

from seaway.errors import InvalidParameter
from seaway.model import options as o
from seaway.model.network import BridgeOptions
from seaway.model.options import parse_bool, parse_bridge_options, parse_mtu

GO_TRUE = ["1", "t", "T", "true", "TRUE", "True"]
GO_FALSE = ["0", "f", "F", "false", "FALSE", "False"]


def parse(options: dict[str, str], default_mtu: int = 0) -> BridgeOptions:
    return parse_bridge_options(options, "br-3f2a9c1d0e4b", default_mtu)


def test_no_options_gives_docker_s_defaults() -> None:
    assert parse({}) == BridgeOptions(
        bridge_name="br-3f2a9c1d0e4b",
        enable_icc=True,
        enable_ip_masquerade=True,
        host_binding_ipv4=ipaddress.IPv4Address("0.0.0.0"),
        mtu=0,
        inhibit_ipv4=False,
        iface_prefix="eth",
        default_bridge=False,
    )


def test_every_option_is_read() -> None:
    got = parse(
        {
            o.BRIDGE_NAME: "mybr0",
            o.ENABLE_ICC: "false",
            o.ENABLE_MASQ: "0",
            o.HOST_BINDING: "127.0.0.1",
            o.INHIBIT_IPV4: "true",
            o.DEFAULT_BRIDGE: "T",
            o.MTU: "1400",
            o.IFACE_PREFIX: "net",
        }
    )
    assert got == BridgeOptions(
        bridge_name="mybr0",
        enable_icc=False,
        enable_ip_masquerade=False,
        host_binding_ipv4=ipaddress.IPv4Address("127.0.0.1"),
        mtu=1400,
        inhibit_ipv4=True,
        iface_prefix="net",
        default_bridge=True,
    )


def test_daemon_mtu_applies_when_the_network_sets_none() -> None:
    assert parse({}, default_mtu=1450).mtu == 1450


def test_network_mtu_overrides_the_daemon_mtu() -> None:
    assert parse({o.MTU: "9000"}, default_mtu=1450).mtu == 9000


def test_host_binding_may_be_ipv6_despite_its_name() -> None:
    assert parse({o.HOST_BINDING: "::1"}).host_binding_ipv4 == ipaddress.IPv6Address("::1")


def test_enable_ipv6_and_internal_options_are_accepted() -> None:
    parse({o.ENABLE_IPV6: "true", o.INTERNAL: "true"})


@pytest.mark.parametrize("value", GO_TRUE)
def test_go_style_true_values_are_accepted(value: str) -> None:
    assert parse_bool(o.ENABLE_ICC, value) is True
    assert parse({o.ENABLE_MASQ: value}).enable_ip_masquerade is True


@pytest.mark.parametrize("value", GO_FALSE)
def test_go_style_false_values_are_accepted(value: str) -> None:
    assert parse_bool(o.ENABLE_ICC, value) is False
    assert parse({o.ENABLE_ICC: value}).enable_icc is False


@pytest.mark.parametrize("value", ["yes", "no", "on", "off", "tRuE", "", " true", "2"])
def test_non_go_bool_is_refused_naming_the_option(value: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        parse({o.ENABLE_ICC: value})
    assert str(exc.value) == f"failed to parse {o.ENABLE_ICC} value: {value!r} (expected true or false)"


def test_negative_mtu_is_refused_with_docker_s_text() -> None:
    with pytest.raises(InvalidParameter) as exc:
        parse({o.MTU: "-1"})
    assert str(exc.value) == "invalid MTU number: -1"


@pytest.mark.parametrize("value", ["abc", "", "1.5", "1500mb"])
def test_non_numeric_mtu_is_refused(value: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        parse_mtu(value)
    assert str(exc.value) == f"failed to parse {o.MTU} value: {value!r} (expected a number)"


@pytest.mark.parametrize("value", ["1", "67", "65536"])
def test_mtu_outside_68_to_65535_is_refused(value: str) -> None:
    with pytest.raises(
        InvalidParameter, match=f"^invalid MTU number: {value}: expected 0 \\(default\\) or 68 to 65535$"
    ):
        parse_mtu(value)


@pytest.mark.parametrize(("value", "mtu"), [("0", 0), ("68", 68), ("1500", 1500), ("65535", 65535)])
def test_mtu_zero_or_in_range_is_accepted(value: str, mtu: int) -> None:
    assert parse_mtu(value) == mtu


def test_unknown_option_is_refused_listing_the_accepted_ones() -> None:
    with pytest.raises(InvalidParameter) as exc:
        parse({"com.docker.network.bridge.trusted_host_interfaces": "eth0", o.MTU: "1500"})
    message = str(exc.value)
    assert message.startswith(
        "invalid option 'com.docker.network.bridge.trusted_host_interfaces' for driver bridge: accepted options are "
    )
    assert all(key in message for key in o.BRIDGE_KEYS)


@pytest.mark.parametrize("value", ["not-an-ip", "0.0.0.0/0", "", "256.0.0.1"])
def test_bad_host_binding_is_refused(value: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        parse({o.HOST_BINDING: value})
    assert str(exc.value) == f"failed to parse {o.HOST_BINDING} value: {value!r} (expected an IP address)"


@pytest.mark.parametrize("value", ["1_500", " 1500", "1500 ", "15.0"])
def test_mtu_is_parsed_as_go_does(value: str) -> None:
    with pytest.raises(InvalidParameter, match="failed to parse com.docker.network.driver.mtu"):
        parse_mtu(value)


@pytest.mark.parametrize("mode", o.GATEWAY_MODES)
def test_gateway_modes_are_read_per_family(mode: str) -> None:
    got = parse({o.GATEWAY_MODE_IPV4: mode, o.GATEWAY_MODE_IPV6: "routed"})
    assert (got.gateway_mode_ipv4, got.gateway_mode_ipv6) == (mode, "routed")
    assert parse({}).gateway_mode_ipv4 == parse({}).gateway_mode_ipv6 == "nat"


def test_an_unknown_gateway_mode_is_docker_s_parse_error() -> None:
    with pytest.raises(InvalidParameter) as err:
        parse({o.GATEWAY_MODE_IPV6: "bogus"})
    assert str(err.value) == (
        "failed to parse com.docker.network.bridge.gateway_mode_ipv6 value: bogus (unknown gateway mode bogus)"
    )


def test_isolated_is_only_for_internal_networks_with_docker_s_text() -> None:
    o.check_gateway_modes("isolated", "nat", internal=True)
    with pytest.raises(InvalidParameter) as err:
        o.check_gateway_modes("nat", "isolated", internal=False)
    assert str(err.value) == "gateway mode 'isolated' can only be used for an internal network"
