"""Topology files: what is accepted, and every problem reported with its path."""

from __future__ import annotations

import ipaddress

import pytest

from seaway.lab.demo import DEMO_FILE
from seaway.lab.topology import Port, TopologyError, load, parse, to_data

SMALL = {"name": "t", "segments": [{"name": "lan"}], "hosts": [{"name": "h1", "links": ["lan"]}]}


def problems(data: object) -> tuple[str, ...]:
    with pytest.raises(TopologyError) as info:
        parse(data)
    return info.value.problems


def test_unknown_segment_is_reported_with_its_path() -> None:
    data = {
        "name": "t",
        "segments": [{"name": "lan"}],
        "hosts": [
            {"name": "h1", "links": ["lan"]},
            {"name": "h2", "links": ["lan"]},
            {"name": "h3", "links": ["core"]},
        ],
    }
    assert problems(data) == ('hosts[2].links[0]: unknown segment "core"',)


def test_every_problem_is_listed_not_just_the_first() -> None:
    data = {
        "name": "Bad Name",
        "segments": [{"name": "lan"}, {"name": "lan", "subnet": "10.0.0.0/33"}],
        "routers": [{"name": "r1", "links": ["lan"]}],
        "hosts": [
            {"name": "h1", "links": ["lan"], "containers": [{"name": "c", "networks": ["nope"], "ports": ["80"]}]},
            {"name": "h1", "links": ["lan"], "colour": "red"},
        ],
        "world": {"segment": "wan"},
    }
    assert problems(data) == (
        "name: invalid name 'Bad Name': 1-12 lowercase letters and digits, starting with a letter",
        "segments[1].subnet: invalid subnet '10.0.0.0/33': expected an IPv4 CIDR like 192.0.2.0/24",
        'segments[1].name: duplicate segment "lan"'.replace('"', "'"),
        "routers[0].links: a router joins at least two segments",
        'hosts[0].containers[0].networks[0]: unknown network "nope" (declare it in the host\'s networks)',
        "hosts[0].containers[0].ports[0]: invalid port mapping '80': expected HOSTPORT:CONTAINERPORT[/tcp|udp|sctp]",
        "hosts[1].colour: unknown key (expected one of asn, containers, links, name, networks)",
        "hosts[1].name: duplicate host or router name 'h1'",
        'world.segment: unknown segment "wan"',
    )


def test_shapes_are_checked() -> None:
    assert problems({"name": "t", "segments": "lan", "hosts": [{"name": "h1"}]}) == (
        "segments: expected a list, got a string",
        "hosts[0].links: a host needs at least one link",
    )
    assert problems(["not", "a", "mapping"]) == ("expected a mapping, got a list",)
    assert problems({"name": "t", "segments": [{"name": "lan"}]}) == ("hosts: a lab needs at least one host",)


def test_names_the_lab_reserves_and_interface_name_limits() -> None:
    data = {
        "name": "t",
        "segments": [{"name": "lan"}],
        "hosts": [{"name": "world", "links": ["lan"]}, {"name": "abcdefghijk", "links": ["lan"]}],
    }
    assert problems(data) == (
        "hosts[0].name: 'world' is reserved for the lab itself",
        "hosts[1].name: invalid name 'abcdefghijk': 1-10 lowercase letters and digits",
    )


def test_published_port_clash_on_one_host() -> None:
    host = {
        "name": "h1",
        "links": ["lan"],
        "containers": [{"name": "a", "ports": ["80:80"]}, {"name": "b", "ports": ["80:8080"]}],
    }
    assert problems({**SMALL, "hosts": [host]}) == (
        "hosts[0].containers[1].ports[0]: host port 80/tcp is already published by a",
    )


def test_yaml_errors_and_default_name() -> None:
    with pytest.raises(TopologyError, match="not valid YAML"):
        load("hosts: [")
    topology = load("segments: [{name: lan}]\nhosts: [{name: h1, links: [lan]}]\n", default_name="mylab")
    assert topology.name == "mylab"


def test_demo_file_parses_and_round_trips() -> None:
    demo = load(DEMO_FILE.read_text())
    assert [h.name for h in demo.hosts] == ["h1", "h2"]
    web = demo.hosts[0].containers[1]
    assert web.networks == ("front", "data") and web.ports == (Port(8080, 80, "tcp"),)
    assert web.command[:2] == ("sh", "-c")
    assert parse(to_data(demo)) == demo


def test_explicit_subnet_is_kept() -> None:
    topology = parse({**SMALL, "segments": [{"name": "lan", "subnet": "198.51.100.0/28"}]})
    assert topology.segments[0].subnet == ipaddress.IPv4Network("198.51.100.0/28")


def test_swarm_section_names_managers_and_workers() -> None:
    from seaway.lab.topology import Swarm, to_data

    data = {"name": "s", "segments": [{"name": "lan"}], "hosts": [{"name": f"h{i}", "links": ["lan"]} for i in (1, 2, 3)],
            "swarm": {"managers": ["h1", "h3"], "workers": ["h2"]}}  # fmt: skip
    topo = parse(data)
    assert topo.swarm == Swarm(("h1", "h3"), ("h2",))
    assert parse(to_data(topo)) == topo


def test_swarm_section_problems_are_all_reported() -> None:
    data = {"name": "s", "segments": [{"name": "lan"}], "hosts": [{"name": "h1", "links": ["lan"]}],
            "swarm": {"managers": [], "workers": ["h1", "h1", "h9"], "extra": 1}}  # fmt: skip
    with pytest.raises(TopologyError) as err:
        parse(data)
    problems = err.value.problems
    assert "swarm.extra: unknown key (expected one of managers, workers)" in problems
    assert "swarm.workers[1]: host 'h1' is listed twice" in problems
    assert "swarm.workers[2]: unknown host 'h9'" in problems
    assert "swarm.managers: a swarm needs at least one manager" in problems


def test_networks_take_a_driver_its_options_and_ipam_and_round_trip() -> None:
    net = {
        "name": "onlan", "driver": "macvlan", "options": {"parent": "eth0"},
        "subnet": "192.0.2.0/24", "gateway": "192.0.2.1", "ip_range": "192.0.2.128/25",
    }  # fmt: skip
    topology = parse({**SMALL, "hosts": [{"name": "h1", "links": ["lan"], "networks": [net]}]})
    parsed = topology.hosts[0].networks[0]
    assert (parsed.driver, parsed.options, parsed.gateway, parsed.ip_range) == (
        "macvlan", (("parent", "eth0"),), "192.0.2.1", "192.0.2.128/25",
    )  # fmt: skip
    assert parse(to_data(topology)) == topology


def test_bad_network_driver_and_ipam_are_reported_with_their_paths() -> None:
    nets = [
        {"name": "a", "driver": "weave"},
        {"name": "b", "gateway": "10.0.0.1"},
        {"name": "c", "subnet": "10.1.0.0/24", "ip_range": "10.1.0.0/33"},
    ]
    assert problems({**SMALL, "hosts": [{"name": "h1", "links": ["lan"], "networks": nets}]}) == (
        "hosts[0].networks[0].driver: unknown driver 'weave' (expected one of bridge, macvlan, ipvlan)",
        "hosts[0].networks[1]: gateway and ip_range need a subnet",
        "hosts[0].networks[2].ip_range: invalid ip_range '10.1.0.0/33'",
    )
