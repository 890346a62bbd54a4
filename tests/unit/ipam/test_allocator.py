"""Address allocation inside one subnet: what a container can and cannot be given."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seaway.errors import Forbidden, InvalidParameter, Unavailable
from seaway.ipam.allocator import AddressAllocator, first_free
from seaway.model.network import IPAddress, IPNetwork, Subnet

ip = ipaddress.ip_address


def subnet(
    cidr: str, gateway: str | None = None, ip_range: str | None = None, aux: dict[str, str] | None = None
) -> Subnet:
    return Subnet(
        subnet=ipaddress.ip_network(cidr),
        ip_range=ipaddress.ip_network(ip_range) if ip_range else None,
        gateway=ip(gateway) if gateway else None,
        aux_addresses={k: ip(v) for k, v in (aux or {}).items()},
        user_given=True,
    )


def drain(alloc: AddressAllocator, limit: int = 1 << 12) -> list[IPAddress]:
    """Allocate until the pool says it is full."""
    out: list[IPAddress] = []
    for _ in range(limit):
        try:
            out.append(alloc.allocate())
        except Unavailable:
            return out
    raise AssertionError(f"pool never reported full after {limit} allocations")


def special(sub: Subnet) -> set[IPAddress]:
    """Addresses no container may have, derived from Docker's rules rather than the code."""
    net = sub.subnet
    out: set[IPAddress] = set()
    if net.version == 6 or net.prefixlen < 31:
        out.add(net.network_address)  # IPv4 network address, IPv6 subnet-router anycast
    if net.version == 4 and net.prefixlen < 31:
        out.add(net.broadcast_address)
    return out


def never_dynamic(sub: Subnet) -> set[IPAddress]:
    """What is never handed out dynamically: the special addresses, gateway and aux."""
    return special(sub) | sub.reserved()


def expected_pool(sub: Subnet) -> list[IPAddress]:
    dynamic: IPNetwork = sub.ip_range or sub.subnet
    never = never_dynamic(sub)
    return [a for a in _all_addresses(dynamic) if a not in never]


def _all_addresses(net: IPNetwork) -> list[IPAddress]:
    return [net[i] for i in range(net.num_addresses)]


@st.composite
def subnets(draw: st.DrawFn, version: int | None = None) -> Subnet:
    """Small IPv4 (/22../32) or IPv6 (/118../128) subnets with an optional range,
    gateway and aux addresses anywhere inside."""
    if version is None:
        version = draw(st.sampled_from([4, 6]))
    bits = 32 if version == 4 else 128
    prefixlen = draw(st.integers(bits - 10, bits))
    base = draw(st.integers(0, (1 << bits) - 1)) >> (bits - prefixlen) << (bits - prefixlen)
    net = ipaddress.ip_network((base, prefixlen)) if version == 4 else ipaddress.IPv6Network((base, prefixlen))
    size = net.num_addresses

    def address() -> IPAddress:
        return net[draw(st.integers(0, size - 1))]

    ip_range = None
    if draw(st.booleans()):
        range_len = draw(st.integers(prefixlen, bits))
        step = 1 << (bits - range_len)
        start = int(net.network_address) + draw(st.integers(0, size // step - 1)) * step
        ip_range = (
            ipaddress.ip_network((start, range_len)) if version == 4 else ipaddress.IPv6Network((start, range_len))
        )
    gateway = address() if draw(st.booleans()) else None
    aux = {f"host{i}": address() for i in range(draw(st.integers(0, 3)))}
    return Subnet(net, ip_range, gateway, aux, user_given=True)


# --- dynamic allocation: properties -------------------------------------------------


@given(subnets())
def test_allocate_never_returns_the_same_address_twice(sub: Subnet) -> None:
    got = drain(AddressAllocator(sub))
    assert len(got) == len(set(got))


@given(subnets())
def test_allocate_never_returns_network_broadcast_gateway_or_aux_addresses(sub: Subnet) -> None:
    got = set(drain(AddressAllocator(sub)))
    assert not got & never_dynamic(sub)


@given(subnets())
def test_allocate_hands_out_every_free_address_lowest_first_then_reports_full(sub: Subnet) -> None:
    alloc = AddressAllocator(sub)
    assert drain(alloc) == expected_pool(sub)
    with pytest.raises(Unavailable, match="^no available addresses on this pool$"):
        alloc.allocate()


@given(subnets())
def test_dynamic_allocation_stays_inside_ip_range(sub: Subnet) -> None:
    dynamic = sub.ip_range or sub.subnet
    assert all(a in dynamic for a in drain(AddressAllocator(sub)))


@given(subnets(), st.data())
def test_released_addresses_come_back_lowest_first(sub: Subnet, data: st.DataObject) -> None:
    alloc = AddressAllocator(sub)
    got = drain(alloc)
    released = data.draw(st.sets(st.sampled_from(got)) if got else st.just(set()))
    for addr in released:
        alloc.release(addr)
    assert drain(alloc) == sorted(released)


@given(subnets(), st.lists(st.tuples(st.sampled_from(["allocate", "release", "request"]), st.integers(0, 1 << 16))))
def test_allocator_behaves_like_a_lowest_free_set(sub: Subnet, ops: list[tuple[str, int]]) -> None:
    """Any sequence of allocate, release and static request matches a plain set model."""
    alloc = AddressAllocator(sub)
    reserved = set(sub.reserved())
    pool = expected_pool(sub)
    everything = _all_addresses(sub.subnet)
    used: set[IPAddress] = set()
    for op, n in ops:
        if op == "allocate":
            free = [a for a in pool if a not in used]
            if free:
                assert alloc.allocate() == free[0]
                used.add(free[0])
            else:
                with pytest.raises(Unavailable):
                    alloc.allocate()
        elif op == "release" and used:
            addr = sorted(used)[n % len(used)]
            alloc.release(addr)
            used.discard(addr)
        elif op == "request":
            addr = everything[n % len(everything)]
            if addr in special(sub):
                with pytest.raises(InvalidParameter):
                    alloc.request(addr)
            elif addr in reserved or addr in used:
                with pytest.raises(Forbidden):
                    alloc.request(addr)
            else:
                assert alloc.request(addr) == addr
                used.add(addr)


@given(subnets(), st.data())
def test_statically_requested_address_is_never_handed_out_dynamically(sub: Subnet, data: st.DataObject) -> None:
    allowed = [a for a in _all_addresses(sub.subnet) if a not in never_dynamic(sub)]
    if not allowed:
        return
    wanted = data.draw(st.sampled_from(allowed))
    alloc = AddressAllocator(sub)
    alloc.request(wanted)
    assert wanted not in drain(alloc)


# --- dynamic allocation: examples ---------------------------------------------------


def test_first_container_gets_the_address_after_the_gateway() -> None:
    alloc = AddressAllocator(subnet("172.18.0.0/16", gateway="172.18.0.1"))
    assert [alloc.allocate(), alloc.allocate()] == [ip("172.18.0.2"), ip("172.18.0.3")]


def test_released_address_is_reused_by_the_next_container() -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/24", gateway="10.0.0.1"))
    a, b, c = alloc.allocate(), alloc.allocate(), alloc.allocate()
    alloc.release(b)
    assert alloc.allocate() == b == ip("10.0.0.3")
    assert alloc.allocate() == ip("10.0.0.5")
    assert {a, c} == {ip("10.0.0.2"), ip("10.0.0.4")}


def test_full_pool_accepts_allocations_again_after_a_release() -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/29", gateway="10.0.0.1"))
    got = drain(alloc)
    assert got == [ip(f"10.0.0.{i}") for i in range(2, 7)]
    alloc.release(ip("10.0.0.4"))
    assert alloc.allocate() == ip("10.0.0.4")


def test_addresses_already_in_use_at_start_are_skipped_and_can_be_released() -> None:
    sub = subnet("10.0.0.0/24", gateway="10.0.0.1")
    alloc = AddressAllocator(sub, in_use=[ip("10.0.0.2"), ip("10.0.0.3")])
    assert alloc.allocate() == ip("10.0.0.4")
    alloc.release(ip("10.0.0.2"))
    assert alloc.allocate() == ip("10.0.0.2")


def test_releasing_the_gateway_or_an_aux_address_does_not_free_it() -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/29", gateway="10.0.0.1", aux={"router": "10.0.0.2"}))
    alloc.release(ip("10.0.0.1"))
    alloc.release(ip("10.0.0.2"))
    assert drain(alloc) == [ip("10.0.0.3"), ip("10.0.0.4"), ip("10.0.0.5"), ip("10.0.0.6")]


def test_releasing_an_address_never_allocated_changes_nothing() -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/29", gateway="10.0.0.1"))
    alloc.release(ip("10.0.0.5"))
    alloc.release(ip("192.0.2.1"))
    assert drain(alloc) == [ip(f"10.0.0.{i}") for i in range(2, 7)]


def test_ip_range_limits_dynamic_allocation_to_the_range() -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/24", gateway="10.0.0.1", ip_range="10.0.0.128/30"))
    assert drain(alloc) == [ip(f"10.0.0.{i}") for i in (128, 129, 130, 131)]


def test_ip_range_at_the_end_of_the_subnet_never_yields_the_broadcast_address() -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/24", gateway="10.0.0.1", ip_range="10.0.0.252/30"))
    assert drain(alloc) == [ip("10.0.0.252"), ip("10.0.0.253"), ip("10.0.0.254")]


def test_ip_range_starting_at_the_subnet_start_never_yields_the_network_address() -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/24", ip_range="10.0.0.0/30"))
    assert drain(alloc) == [ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.0.3")]


def test_static_address_may_be_outside_the_ip_range_but_inside_the_subnet() -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/24", gateway="10.0.0.1", ip_range="10.0.0.128/25"))
    assert alloc.request(ip("10.0.0.7")) == ip("10.0.0.7")
    assert alloc.allocate() == ip("10.0.0.128")


# --- static requests ----------------------------------------------------------------


def test_static_request_of_an_address_in_use_is_forbidden() -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/24", gateway="10.0.0.1"))
    taken = alloc.allocate()
    with pytest.raises(Forbidden, match="^Address already in use$"):
        alloc.request(taken)


def test_static_request_twice_for_the_same_address_is_forbidden() -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/24", gateway="10.0.0.1"))
    alloc.request(ip("10.0.0.9"))
    with pytest.raises(Forbidden, match="^Address already in use$"):
        alloc.request(ip("10.0.0.9"))


@pytest.mark.parametrize("address", ["10.0.0.1", "10.0.0.200"], ids=["gateway", "aux"])
def test_static_request_of_the_gateway_or_an_aux_address_is_forbidden(address: str) -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/24", gateway="10.0.0.1", aux={"printer": "10.0.0.200"}))
    with pytest.raises(Forbidden, match="^Address already in use$"):
        alloc.request(ip(address))


@pytest.mark.parametrize("address", ["10.0.1.5", "9.255.255.255", "2001:db8::5"])
def test_static_request_outside_the_subnet_is_invalid(address: str) -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/24", gateway="10.0.0.1"))
    with pytest.raises(InvalidParameter) as exc:
        alloc.request(ip(address))
    assert str(exc.value) == f"invalid address {address}: it does not belong to any of this network's subnets"


@pytest.mark.parametrize("address", ["10.0.0.0", "10.0.0.255"], ids=["network", "broadcast"])
def test_static_request_of_network_or_broadcast_address_is_invalid(address: str) -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/24", gateway="10.0.0.1"))
    with pytest.raises(InvalidParameter, match="requested address is out of range"):
        alloc.request(ip(address))


def test_released_static_address_can_be_requested_again() -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/24", gateway="10.0.0.1"))
    alloc.request(ip("10.0.0.9"))
    alloc.release(ip("10.0.0.9"))
    assert alloc.request(ip("10.0.0.9")) == ip("10.0.0.9")


# --- /31, /32 -----------------------------------------------------------------------


def test_slash_31_hands_out_both_addresses() -> None:
    assert drain(AddressAllocator(subnet("10.0.0.0/31"))) == [ip("10.0.0.0"), ip("10.0.0.1")]


def test_slash_31_with_a_gateway_hands_out_only_the_other_address() -> None:
    assert drain(AddressAllocator(subnet("10.0.0.0/31", gateway="10.0.0.0"))) == [ip("10.0.0.1")]


def test_slash_32_hands_out_its_single_address() -> None:
    assert drain(AddressAllocator(subnet("10.0.0.7/32"))) == [ip("10.0.0.7")]


def test_slash_31_accepts_static_requests_for_either_address() -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/31"))
    assert alloc.request(ip("10.0.0.0")) == ip("10.0.0.0")
    assert alloc.request(ip("10.0.0.1")) == ip("10.0.0.1")


def test_slash_30_keeps_network_and_broadcast_back() -> None:
    assert drain(AddressAllocator(subnet("10.0.0.0/30"))) == [ip("10.0.0.1"), ip("10.0.0.2")]


# --- IPv6 ---------------------------------------------------------------------------


def test_ipv6_gateway_is_prefix_colon_colon_1() -> None:
    assert first_free(subnet("2001:db8:1::/64")) == ip("2001:db8:1::1")


def test_ipv6_first_container_gets_colon_colon_2() -> None:
    alloc = AddressAllocator(subnet("fd00:1::/64", gateway="fd00:1::1"))
    assert alloc.allocate() == ip("fd00:1::2")


def test_ipv6_subnet_router_anycast_is_never_handed_out_but_the_last_address_is() -> None:
    assert drain(AddressAllocator(subnet("2001:db8::/126"))) == [
        ip("2001:db8::1"),
        ip("2001:db8::2"),
        ip("2001:db8::3"),
    ]


def test_ipv6_static_request_of_the_anycast_address_is_invalid() -> None:
    alloc = AddressAllocator(subnet("2001:db8::/64", gateway="2001:db8::1"))
    with pytest.raises(InvalidParameter, match="requested address is out of range"):
        alloc.request(ip("2001:db8::"))


def test_ipv6_static_request_of_an_ipv4_address_is_invalid() -> None:
    alloc = AddressAllocator(subnet("2001:db8::/64", gateway="2001:db8::1"))
    with pytest.raises(InvalidParameter, match="does not belong to any of this network's subnets"):
        alloc.request(ip("0.0.0.5"))


def test_ipv6_subnet_near_the_start_of_the_address_space_yields_ipv6_addresses() -> None:
    alloc = AddressAllocator(subnet("::/120", gateway="::1"))
    assert alloc.allocate() == ipaddress.IPv6Address("::2")


def test_ipv6_slash_128_has_nothing_to_hand_out() -> None:
    assert drain(AddressAllocator(subnet("2001:db8::5/128"))) == []


# --- the gateway Docker picks -------------------------------------------------------


def test_default_gateway_is_the_first_address_of_the_subnet() -> None:
    assert first_free(subnet("172.18.0.0/16")) == ip("172.18.0.1")


def test_default_gateway_with_an_ip_range_comes_from_the_range() -> None:
    # docker/for-linux#170: the range's own first address can be handed out
    assert first_free(subnet("172.18.0.0/16", ip_range="172.18.5.0/24")) == ip("172.18.5.0")


def test_default_gateway_skips_aux_addresses() -> None:
    assert first_free(subnet("172.18.0.0/16", aux={"a": "172.18.0.1"})) == ip("172.18.0.2")


def test_large_subnet_hands_out_consecutive_addresses() -> None:
    alloc = AddressAllocator(subnet("10.0.0.0/16", gateway="10.0.0.1"))
    got = [alloc.allocate() for _ in range(20_000)]
    assert got[-1] == ipaddress.IPv4Address(int(ip("10.0.0.1")) + 20_000)
