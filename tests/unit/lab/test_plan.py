"""The plan: deterministic names, addresses and routes (the scheme in seaway.lab.plan)."""

from __future__ import annotations

from pathlib import Path

import pytest

from seaway.lab.demo import DEMO_FILE
from seaway.lab.plan import plan
from seaway.lab.topology import TopologyError, load, parse


def routes(p, node: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return [(str(r.destination or "default"), str(r.via)) for r in p.node(node).routes]


def test_demo_plan_names_addresses_and_routes() -> None:
    p = plan(load(DEMO_FILE.read_text()), Path("/run/seaway-lab"))
    assert p.netns_names == ("swl-demo-fabric", "swl-demo-r1", "swl-demo-world", "swl-demo-h1", "swl-demo-h2")
    assert [(s.name, s.bridge, str(s.subnet)) for s in p.segments] == [
        ("lan", "lan", "192.0.2.0/29"),
        ("wan", "wan", "192.0.2.8/29"),
    ]
    assert [(i.name, i.peer, str(i.address)) for i in p.node("r1").interfaces] == [
        ("eth0", "r1-eth0", "192.0.2.1/29"),
        ("eth1", "r1-eth1", "192.0.2.9/29"),
    ]
    assert [str(i.address) for i in p.node("h2").interfaces] == ["192.0.2.3/29"]
    assert routes(p, "h1") == [("192.0.2.8/29", "192.0.2.1"), ("default", "192.0.2.1")]
    assert routes(p, "r1") == [("default", "192.0.2.10")]
    assert routes(p, "world") == [("192.0.2.0/29", "192.0.2.9")]
    files = p.files("h1")
    assert files.docker_host == "unix:///run/seaway-lab/demo/h1/docker.sock"
    assert files.data_root == Path("/run/seaway-lab/demo/h1/data")
    assert p.state_file == Path("/run/seaway-lab/demo/state.json")


def test_plan_is_deterministic() -> None:
    topology = load(DEMO_FILE.read_text())
    assert plan(topology) == plan(topology)


def test_routes_follow_the_shortest_path_through_a_chain_of_routers() -> None:
    t = parse({
        "name": "chain",
        "segments": [{"name": "a"}, {"name": "b"}, {"name": "c"}, {"name": "wan"}],
        "routers": [{"name": "r1", "links": ["a", "b"]}, {"name": "r2", "links": ["b", "c"]}, {"name": "r3", "links": ["c", "wan"]}],
        "world": {"segment": "wan"},
        "hosts": [{"name": "h1", "links": ["a"]}, {"name": "h3", "links": ["c"]}],
    })  # fmt: skip
    p = plan(t)
    r1, r2a, r2b = (str(p.node(n).interfaces[i].address.ip) for n, i in (("r1", 0), ("r2", 0), ("r2", 1)))
    assert routes(p, "h1") == [("192.0.2.8/29", r1), ("192.0.2.16/29", r1), ("192.0.2.24/29", r1), ("default", r1)]
    r1_routes = dict(routes(p, "r1"))
    assert r1_routes["192.0.2.16/29"] == r2a and r1_routes["default"] == r2a
    assert dict(routes(p, "r3"))["192.0.2.0/29"] == r2b


def test_segment_blocks_grow_with_their_members_and_skip_explicit_subnets() -> None:
    hosts = [{"name": f"h{i}", "links": ["big"]} for i in range(50)]
    t = parse(
        {
            "name": "big",
            "segments": [{"name": "small", "subnet": "192.0.2.0/28"}, {"name": "big"}],
            "hosts": [*hosts, {"name": "x", "links": ["small"]}],
        }
    )
    p = plan(t)
    assert str(p.segments[1].subnet) == "192.0.2.64/26"
    assert str(p.node("h49").interfaces[0].address) == "192.0.2.114/26"


def test_a_segment_too_big_for_the_pool_is_an_error_with_its_path() -> None:
    hosts = [{"name": f"h{i}", "links": ["lan"]} for i in range(300)]
    with pytest.raises(TopologyError) as info:
        plan(parse({"name": "huge", "segments": [{"name": "lan"}], "hosts": hosts}))
    assert info.value.problems == ("segments[0]: 300 members do not fit in a /24; give it a subnet",)


def test_explicit_subnet_overlapping_the_world_is_refused() -> None:
    with pytest.raises(TopologyError, match=r"segments\[0\].subnet: 203.0.113.0/25 overlaps"):
        plan(
            parse(
                {
                    "name": "t",
                    "segments": [{"name": "lan", "subnet": "203.0.113.0/25"}],
                    "hosts": [{"name": "h1", "links": ["lan"]}],
                }
            )
        )


def test_bgp_routers_peer_with_every_speaker_on_their_segments_hosts_with_routers_only() -> None:
    p = plan(
        parse(
            {
                "name": "bgp",
                "segments": [{"name": "rack1"}, {"name": "rack2"}],
                "routers": [{"name": "r1", "links": ["rack1", "rack2"], "asn": 65000}],
                "hosts": [
                    {"name": "h1", "links": ["rack1"], "asn": 65001},
                    {"name": "h2", "links": ["rack1"]},  # no asn: no BGP, nobody peers with it
                    {"name": "h3", "links": ["rack2"], "asn": 65003},
                    {"name": "h4", "links": ["rack2"], "asn": 65004},
                ],
            }
        ),
        Path("/run/seaway-lab"),
    )
    peers = {n.name: [(p.name, str(p.address), p.asn) for p in n.bgp_peers] for n in p.nodes}
    assert peers == {
        "r1": [("h1", "192.0.2.2", 65001), ("h3", "192.0.2.10", 65003), ("h4", "192.0.2.11", 65004)],
        "h1": [("r1", "192.0.2.1", 65000)],
        "h2": [],
        "h3": [("r1", "192.0.2.9", 65000)],  # not h4: hosts never peer with each other
        "h4": [("r1", "192.0.2.9", 65000)],
    }
    assert str(p.node("h3").router_id) == "192.0.2.10"
    assert p.frr_root("r1") == Path("/run/seaway-lab/bgp/r1/frr")


def test_an_asn_is_checked() -> None:
    with pytest.raises(TopologyError) as err:
        parse({"name": "x", "segments": [{"name": "a"}, {"name": "b"}],
               "routers": [{"name": "r", "links": ["a", "b"], "asn": 0}],
               "hosts": [{"name": "h", "links": ["a"], "asn": "x"}]})  # fmt: skip
    assert err.value.problems == (
        "routers[0].asn: invalid AS number 0: expected 1 to 4294967295",
        "hosts[0].asn: invalid AS number 'x': expected 1 to 4294967295",
    )
