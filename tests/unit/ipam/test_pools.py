"""Default pools, subnet choice and the validation of user-given IPAM config."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seaway.errors import Forbidden, InvalidParameter
from seaway.ipam.pools import (
    DEFAULT_LOCAL_POOLS,
    PoolSpec,
    check_no_overlap,
    choose_subnet,
    parse_config,
    parse_pool,
    ula_pool,
)
from seaway.model.network import IPAMConfigSpec, IPNetwork

net = ipaddress.ip_network
ip = ipaddress.ip_address

DOCKER_LOCAL_ORDER = [net(f"172.{i}.0.0/16") for i in range(17, 32)] + [
    net(f"192.168.{i}.0/20") for i in range(0, 256, 16)
]


def choose(
    taken: Sequence[IPNetwork] = (),
    reserved: Sequence[IPNetwork] = (),
    pools: Sequence[PoolSpec] = DEFAULT_LOCAL_POOLS,
    version: int = 4,
) -> IPNetwork:
    return choose_subnet(tuple(pools), version, list(taken), list(reserved))


# --- default pools ------------------------------------------------------------------


def test_default_pools_hand_out_docker_s_31_subnets_in_order_then_are_exhausted() -> None:
    taken: list[IPNetwork] = []
    for _ in range(31):
        taken.append(choose(taken))
    assert taken == DOCKER_LOCAL_ORDER
    with pytest.raises(InvalidParameter) as exc:
        choose(taken)
    assert str(exc.value).startswith("all predefined address pools have been fully subnetted (")
    assert "--default-address-pool" in str(exc.value)


def test_first_network_gets_172_17() -> None:
    assert choose() == net("172.17.0.0/16")


def test_deleted_network_s_subnet_is_the_next_one_handed_out() -> None:
    assert choose(taken=[net("172.18.0.0/16"), net("172.19.0.0/16")]) == net("172.17.0.0/16")


def test_subnet_partly_overlapping_a_host_route_is_skipped() -> None:
    assert choose(reserved=[net("172.17.5.0/24")]) == net("172.18.0.0/16")


@pytest.mark.parametrize("host", ["172.17.0.0", "172.17.128.1", "172.17.255.255"])
def test_single_host_anywhere_in_a_candidate_blocks_it(host: str) -> None:
    assert choose(reserved=[net(f"{host}/32")]) == net("172.18.0.0/16")


def test_host_route_covering_several_candidates_skips_them_all() -> None:
    assert choose(reserved=[net("172.16.0.0/13")]) == net("172.24.0.0/16")


def test_host_route_covering_all_172_pools_moves_to_192_168() -> None:
    assert choose(reserved=[net("172.16.0.0/12")]) == net("192.168.0.0/20")


def test_taken_prefix_inside_a_192_168_candidate_skips_only_that_candidate() -> None:
    taken = [net("172.16.0.0/12"), net("192.168.0.128/25")]
    assert choose(taken=taken) == net("192.168.16.0/20")


def test_taken_and_reserved_prefixes_combine() -> None:
    assert choose(taken=[net("172.17.0.0/16")], reserved=[net("172.18.0.0/15")]) == net("172.20.0.0/16")


def test_prefixes_of_the_other_family_do_not_block_ipv4_candidates() -> None:
    assert choose(taken=[net("::/0")], reserved=[net("2001:db8::/32")]) == net("172.17.0.0/16")


def test_custom_pools_are_searched_lowest_address_first() -> None:
    pools = (PoolSpec(net("10.20.0.0/16"), 24), PoolSpec(net("10.10.0.0/16"), 24))
    assert choose(pools=pools) == net("10.10.0.0/24")
    assert choose(pools=pools, taken=[net("10.10.0.0/17")]) == net("10.10.128.0/24")


def test_ipv6_subnet_comes_from_the_ipv6_pool_only() -> None:
    pool = ula_pool("host-1")
    first = next(pool.base.subnets(new_prefix=64))
    assert choose(pools=(*DEFAULT_LOCAL_POOLS, pool), version=6) == first
    second = choose(pools=(*DEFAULT_LOCAL_POOLS, pool), version=6, taken=[first])
    assert second == net(f"{first.network_address + (1 << 64)}/64")


def test_no_ipv6_pool_means_exhausted() -> None:
    with pytest.raises(InvalidParameter, match="all predefined address pools have been fully subnetted"):
        choose(version=6)


# property: first fit equals a brute-force scan over every candidate


@st.composite
def prefixes(draw: st.DrawFn) -> IPNetwork:
    """Prefixes in and around the default pools' space, from /8 down to single hosts."""
    outer = draw(st.sampled_from([net("172.0.0.0/8"), net("192.168.0.0/16"), net("172.16.0.0/12")]))
    length = draw(st.integers(outer.prefixlen, 32))
    index = draw(st.integers(0, (1 << (length - outer.prefixlen)) - 1))
    return net((int(outer.network_address) + (index << (32 - length)), length))


def brute_force_first_fit(taken: list[IPNetwork]) -> IPNetwork | None:
    for candidate in DOCKER_LOCAL_ORDER:
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    return None


@given(st.lists(prefixes(), max_size=12), st.lists(prefixes(), max_size=4))
def test_chosen_subnet_is_the_lowest_candidate_overlapping_nothing(
    taken: list[IPNetwork], reserved: list[IPNetwork]
) -> None:
    expected = brute_force_first_fit(taken + reserved)
    if expected is None:
        with pytest.raises(InvalidParameter):
            choose(taken, reserved)
    else:
        assert choose(taken, reserved) == expected


# --- parse_pool ---------------------------------------------------------------------


def test_parse_pool_reads_base_and_size() -> None:
    assert parse_pool("base=10.10.0.0/16,size=24") == PoolSpec(net("10.10.0.0/16"), 24)


def test_parse_pool_accepts_spaces_and_either_order() -> None:
    assert parse_pool("size=24, base=10.10.0.0/16") == PoolSpec(net("10.10.0.0/16"), 24)


def test_parse_pool_accepts_ipv6() -> None:
    assert parse_pool("base=fd00:1::/48,size=64") == PoolSpec(net("fd00:1::/48"), 64)


@pytest.mark.parametrize(
    "text",
    [
        "base=10.10.0.0/16",
        "size=24",
        "",
        "base=10.10.0.0/16,size=24,mask=8",
        "base=10.10.0.0/16;size=24",
        "10.10.0.0/16,24",
    ],
)
def test_parse_pool_rejects_malformed_text_naming_the_accepted_form(text: str) -> None:
    with pytest.raises(InvalidParameter) as exc:
        parse_pool(text)
    assert str(exc.value) == f"invalid default address pool {text!r}: expected base=CIDR,size=N"


@pytest.mark.parametrize(
    "text", ["base=10.10.0.1/16,size=24", "base=10.10.0.0/33,size=24", "base=nope,size=24", "base=10.10.0.0/16,size=x"]
)
def test_parse_pool_rejects_bad_values(text: str) -> None:
    with pytest.raises(InvalidParameter, match=f"^invalid default address pool {text!r}: "):
        parse_pool(text)


@pytest.mark.parametrize("text", ["base=10.10.0.0/16,size=8", "base=10.10.0.0/16,size=33"])
def test_parse_pool_rejects_a_size_outside_the_base(text: str) -> None:
    with pytest.raises(InvalidParameter, match="size must be between 16 and 32"):
        parse_pool(text)


# --- ula_pool -----------------------------------------------------------------------


def test_ula_pool_is_the_same_for_the_same_host() -> None:
    assert ula_pool("6f0b1f2c") == ula_pool("6f0b1f2c")


def test_ula_pool_differs_between_hosts() -> None:
    assert ula_pool("host-a").base != ula_pool("host-b").base


@given(st.text(max_size=40))
def test_ula_pool_is_a_fd00_8_slash_48_cut_into_slash_64s(host_id: str) -> None:
    pool = ula_pool(host_id)
    assert pool.base.prefixlen == 48
    assert pool.size == 64
    assert pool.base.subnet_of(net("fd00::/8"))


@given(st.text(max_size=40))
def test_ula_global_id_is_the_low_40_bits_of_the_host_id_hash(host_id: str) -> None:
    global_id = hashlib.sha256(host_id.encode()).hexdigest()[6:16]  # bytes 3..7 of the first 8
    groups = "fd" + global_id
    expected = net(f"{groups[0:4]}:{groups[4:8]}:{groups[8:12]}::/48")
    assert ula_pool(host_id).base == expected


# --- parse_config -------------------------------------------------------------------


def config(subnet: str, **kw: object) -> IPAMConfigSpec:
    return IPAMConfigSpec(subnet=subnet, **kw)  # type: ignore[arg-type]


def problems(spec: IPAMConfigSpec) -> list[str]:
    with pytest.raises(InvalidParameter) as exc:
        parse_config(spec)
    head, *rest = str(exc.value).split("\n")
    assert head == "invalid network config:"
    return rest


def test_parse_config_returns_the_parsed_user_subnet() -> None:
    sub = parse_config(
        config("10.0.0.0/16", ip_range="10.0.5.0/24", gateway="10.0.0.254", aux_addresses={"nas": "10.0.0.9"})
    )
    assert sub.subnet == net("10.0.0.0/16")
    assert sub.ip_range == net("10.0.5.0/24")
    assert sub.gateway == ip("10.0.0.254")
    assert sub.aux_addresses == {"nas": ip("10.0.0.9")}
    assert sub.user_given


def test_parse_config_leaves_gateway_and_range_unset_when_not_given() -> None:
    sub = parse_config(config("2001:db8::/64"))
    assert (sub.subnet, sub.ip_range, sub.gateway, sub.aux_addresses) == (net("2001:db8::/64"), None, None, {})


def test_subnet_with_host_bits_set_is_refused_with_the_masked_form() -> None:
    assert problems(config("10.0.0.1/24")) == ["invalid subnet 10.0.0.1/24: it should be 10.0.0.0/24"]


def test_ipv6_subnet_with_host_bits_set_is_refused_with_the_masked_form() -> None:
    assert problems(config("2001:db8::1/64")) == ["invalid subnet 2001:db8::1/64: it should be 2001:db8::/64"]


@pytest.mark.parametrize("text", ["10.0.0.0/33", "not-a-subnet", "", "2001:db8::/129"])
def test_invalid_subnet_cidr_is_refused(text: str) -> None:
    assert problems(config(text)) == [f"invalid subnet {text}: invalid CIDR address"]


def test_subnet_without_prefix_length_is_refused() -> None:
    assert problems(config("10.0.0.0")) == ["invalid subnet 10.0.0.0: invalid CIDR address"]


def test_gateway_outside_the_subnet_is_refused() -> None:
    assert problems(config("10.0.0.0/24", gateway="10.0.1.1")) == [
        "invalid gateway 10.0.1.1: parent subnet 10.0.0.0/24 doesn't contain this address"
    ]


def test_gateway_of_the_other_family_is_refused() -> None:
    assert problems(config("10.0.0.0/8", gateway="::a00:1")) == [
        "invalid gateway ::a00:1: parent subnet 10.0.0.0/8 doesn't contain this address"
    ]


def test_gateway_that_is_not_an_address_is_refused() -> None:
    assert problems(config("10.0.0.0/24", gateway="10.0.0.300")) == ["invalid gateway '10.0.0.300': not an IP address"]


def test_ip_range_outside_the_subnet_is_refused() -> None:
    assert problems(config("10.0.0.0/16", ip_range="10.1.0.0/24")) == [
        "invalid ip-range 10.1.0.0/24: parent subnet 10.0.0.0/16 doesn't contain ip-range"
    ]


def test_ip_range_bigger_than_the_subnet_is_refused() -> None:
    assert problems(config("10.0.0.0/16", ip_range="10.0.0.0/8")) == [
        "invalid ip-range 10.0.0.0/8: CIDR block is bigger than its parent subnet 10.0.0.0/16"
    ]


@pytest.mark.parametrize(
    ("subnet", "ip_range", "family"), [("10.0.0.0/16", "2001:db8::/64", 4), ("2001:db8::/48", "10.0.0.0/24", 6)]
)
def test_ip_range_of_the_other_family_is_refused(subnet: str, ip_range: str, family: int) -> None:
    assert problems(config(subnet, ip_range=ip_range)) == [
        f"invalid ip-range {ip_range}: parent subnet is an IPv{family} block"
    ]


def test_ip_range_with_host_bits_set_is_refused_with_the_masked_form() -> None:
    assert problems(config("10.0.0.0/16", ip_range="10.0.5.7/24")) == [
        "invalid ip-range 10.0.5.7/24: it should be 10.0.5.0/24"
    ]


def test_ip_range_equal_to_the_subnet_is_accepted() -> None:
    assert parse_config(config("10.0.0.0/16", ip_range="10.0.0.0/16")).ip_range == net("10.0.0.0/16")


def test_aux_address_outside_the_subnet_is_refused() -> None:
    assert problems(config("10.0.0.0/24", aux_addresses={"router": "10.0.9.1"})) == [
        "invalid auxiliary address router: parent subnet 10.0.0.0/24 doesn't contain this address"
    ]


def test_aux_address_that_is_not_an_address_is_refused() -> None:
    assert problems(config("10.0.0.0/24", aux_addresses={"router": "x"})) == [
        "invalid auxiliary address router 'x': not an IP address"
    ]


def test_every_problem_is_reported_at_once() -> None:
    spec = config(
        "10.0.0.0/24", ip_range="10.0.1.0/25", gateway="10.0.2.1", aux_addresses={"a": "10.0.3.1", "b": "10.0.0.2"}
    )
    assert problems(spec) == [
        "invalid ip-range 10.0.1.0/25: parent subnet 10.0.0.0/24 doesn't contain ip-range",
        "invalid gateway 10.0.2.1: parent subnet 10.0.0.0/24 doesn't contain this address",
        "invalid auxiliary address a: parent subnet 10.0.0.0/24 doesn't contain this address",
    ]


def test_bad_subnet_still_reports_a_bad_gateway_value() -> None:
    assert problems(config("10.0.0.1/24", gateway="nope")) == [
        "invalid subnet 10.0.0.1/24: it should be 10.0.0.0/24",
        "invalid gateway 'nope': not an IP address",
    ]


# --- check_no_overlap ---------------------------------------------------------------

OVERLAP = "invalid pool request: Pool overlaps with other one on this address space"


@pytest.mark.parametrize("subnet", ["172.18.0.0/16", "172.18.5.0/24", "172.16.0.0/12"])
def test_overlapping_user_subnet_is_forbidden_with_docker_s_text(subnet: str) -> None:
    with pytest.raises(Forbidden) as exc:
        check_no_overlap(net(subnet), [net("172.17.0.0/16"), net("172.18.0.0/16")])
    assert str(exc.value) == OVERLAP


def test_disjoint_user_subnet_is_allowed() -> None:
    check_no_overlap(net("172.19.0.0/16"), [net("172.17.0.0/16"), net("172.18.0.0/16"), net("::/0")])


def test_ipv6_overlap_is_forbidden() -> None:
    with pytest.raises(Forbidden, match=OVERLAP):
        check_no_overlap(net("fd00:1::/64"), [net("10.0.0.0/8"), net("fd00:1::/48")])


def test_parse_pool_refuses_a_key_given_twice() -> None:
    with pytest.raises(InvalidParameter, match="base given twice"):
        parse_pool("base=10.0.0.0/8,base=10.1.0.0/16,size=24")


def test_parse_config_refuses_the_network_address_as_gateway() -> None:
    with pytest.raises(InvalidParameter, match="invalid gateway 10.3.0.0: it is the network address"):
        parse_config(IPAMConfigSpec(subnet="10.3.0.0/24", gateway="10.3.0.0"))
