"""Property tests: every parser at the API edge either returns a valid value or raises
Seaway's ``InvalidParameter``-family error (an HTTP 4xx), never anything else (which would
be a 500), whatever it is given."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seaway.daemon.api import schemas
from seaway.errors import SeawayError, status_for
from seaway.ipam import pools
from seaway.model import options as opts
from seaway.model.ids import validate_mac, validate_network_name
from seaway.model.network import IPAMConfigSpec

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


def _client_error(exc: SeawayError) -> bool:
    return 400 <= status_for(exc) < 500


@st.composite
def ipam_configs(draw: st.DrawFn) -> IPAMConfigSpec:
    version = draw(st.sampled_from([4, 6]))
    bits = 32 if version == 4 else 128
    prefixlen = draw(st.integers(8 if version == 4 else 48, bits))
    value = draw(st.integers(0, 2**bits - 1))
    net = ipaddress.ip_network((value, prefixlen), strict=False)
    inside_family = ipaddress.ip_address(draw(st.integers(0, 2**bits - 1))) if version == 6 else None
    any_address = str(inside_family or ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1))))
    gateway = draw(st.sampled_from(["", any_address, str(net.network_address), str(net.broadcast_address), "x"]))
    ip_range = draw(st.sampled_from(["", str(net), f"{net.network_address}/{bits}", "10.0.0.0/33"]))
    return IPAMConfigSpec(subnet=draw(st.sampled_from([str(net), str(net.network_address), "nonsense"])),
                          ip_range=ip_range, gateway=gateway)  # fmt: skip


@given(ipam_configs())
def test_ipam_configs_give_a_consistent_subnet_or_a_client_error(spec: IPAMConfigSpec) -> None:
    try:
        subnet = pools.parse_config(spec)
    except SeawayError as exc:
        assert _client_error(exc) and str(exc).startswith("invalid network config:\n")
        return
    if subnet.gateway is not None:
        assert subnet.gateway in subnet.subnet
    if subnet.ip_range is not None:
        assert subnet.ip_range.subnet_of(subnet.subnet)  # type: ignore[arg-type]


@given(st.text(max_size=40), st.text(max_size=40), st.text(max_size=40))
def test_ipam_text_never_breaks_the_parser(subnet: str, gateway: str, ip_range: str) -> None:
    try:
        pools.parse_config(IPAMConfigSpec(subnet=subnet, gateway=gateway, ip_range=ip_range))
    except SeawayError as exc:
        assert _client_error(exc)


@given(st.dictionaries(st.sampled_from(opts.BRIDGE_KEYS) | st.text(max_size=10), st.text(max_size=10), max_size=5))
def test_bridge_options_are_typed_or_refused(options: dict[str, str]) -> None:
    try:
        parsed = opts.parse_bridge_options(options, "br-x", 0)
    except SeawayError as exc:
        assert _client_error(exc)
        return
    assert parsed.mtu == 0 or 68 <= parsed.mtu <= 65535
    assert isinstance(parsed.enable_icc, bool) and isinstance(parsed.host_access, bool)


@given(st.text(max_size=30))
def test_names_and_macs_are_accepted_or_refused_cleanly(text: str) -> None:
    for check in (validate_network_name, validate_mac):
        try:
            assert check(text)
        except SeawayError as exc:
            assert _client_error(exc)


def bodies(*keys: str, size: int = 6) -> st.SearchStrategy[dict[str, object]]:
    """JSON objects whose keys are mostly the API's own, with any values."""
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), json_values, max_size=size)


PARSERS = {
    "network create": (schemas.parse_network_create, bodies("Name", "Driver", "IPAM", "Options", "Labels", "Internal",
                                                             "EnableIPv6", "Attachable", "Scope", "CheckDuplicate")),
    "container create": (schemas.parse_container_create, bodies("Image", "Cmd", "Entrypoint", "Env", "HostConfig",
                                                                 "NetworkingConfig", "ExposedPorts", "Labels",
                                                                 "Hostname", "MacAddress", "Tty")),
    "connect": (schemas.parse_endpoint, bodies("EndpointConfig", "Container", "Force", size=4)),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PARSERS))
def test_request_bodies_parse_or_give_a_client_error(name: str) -> None:
    parse, strategy = PARSERS[name]

    @settings(max_examples=150)
    @given(strategy)
    def check(body: dict[str, object]) -> None:
        try:
            parse(body)
        except SeawayError as exc:
            assert _client_error(exc)

    check()
