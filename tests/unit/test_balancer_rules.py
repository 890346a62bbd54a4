"""The load balancer's nftables table (``seaway.firewall.balancer``): fixed rules, data in
maps; golden at 1 and 100 services, and the buckets' shares."""

from __future__ import annotations

import ipaddress
import itertools

from seaway.firewall import balancer
from seaway.testing.golden import assert_golden

A = ipaddress.IPv4Address
LB = A("10.0.9.250")


def vips(n: int, k: int) -> dict[A, list[A]]:
    return {A("10.0.0.2") + i: [A("10.0.16.0") + 8 * i + j for j in range(k)] for i in range(n)}


def rules(text: str) -> list[str]:
    return [line for line in text.splitlines() if "element" not in line]


def test_the_table_golden_and_its_rules_do_not_grow_with_services_or_backends() -> None:
    one = balancer.table(LB, vips(1, 3))
    assert_golden("nft/balancer,services=1.nft", one)
    hundred = balancer.table(LB, vips(100, 7))
    assert rules(hundred) == rules(one)
    assert sum("add element ip seaway-lb backends" in line for line in hundred.splitlines()) == 100


def test_shares_split_the_buckets_evenly_and_alike_on_every_node() -> None:
    for k in range(1, 17):
        backends = [A("10.0.0.10") + j for j in range(k)]
        parts = balancer.shares(list(reversed(backends)))
        assert [b for _, _, b in parts] == backends  # sorted: every node splits alike
        assert parts[0][0] == 0 and parts[-1][1] == balancer.BUCKETS - 1
        assert all(hi + 1 == nxt for (_, hi, _), (nxt, _, _) in itertools.pairwise(parts))
        assert len({hi - lo + 1 for lo, hi, _ in parts}) == 1  # exactly equal up to 16


def test_a_change_costs_that_vips_backends_and_nothing_when_equal() -> None:
    vip = A("10.0.0.2")
    assert balancer.change(vip, [A("10.0.0.5")], [A("10.0.0.5")]) == ""
    text = balancer.change(vip, [A("10.0.0.5")], [A("10.0.0.5"), A("10.0.0.6")])
    assert text.splitlines() == [
        "delete element ip seaway-lb backends { 10.0.0.2 . 0-720719 : 10.0.0.5 }",
        "add element ip seaway-lb backends { 10.0.0.2 . 0-360359 : 10.0.0.5, 10.0.0.2 . 360360-720719 : 10.0.0.6 }",
    ]
    assert balancer.change(vip, None, []) == "add element ip seaway-lb vips { 10.0.0.2 }\n"
    assert (
        balancer.change(vip, [A("10.0.0.5")], None).splitlines()[-1] == "delete element ip seaway-lb vips { 10.0.0.2 }"
    )
