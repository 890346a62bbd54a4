"""BGP settings and the rendering of FRR's configuration (properties; the texts
themselves are golden, tests/golden/test_frrconf.py)."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from seaway.bgp.frrconf import Peer, SpeakerConfig, changes, parse_peer, render_bgpd, speaker_config
from seaway.errors import InvalidParameter

CONFIG = SpeakerConfig(
    65001, None, (Peer(ipaddress.ip_address("192.0.2.1")), Peer(ipaddress.ip_address("2001:db8::1")))
)

v4 = st.builds(
    lambda a, n: ipaddress.ip_network(f"{ipaddress.IPv4Address(a)}/{n}", strict=False),
    st.integers(0, 2**32 - 1),
    st.integers(8, 32),
)
v6 = st.builds(
    lambda a, n: ipaddress.ip_network(f"{ipaddress.IPv6Address(a)}/{n}", strict=False),
    st.integers(0, 2**128 - 1),
    st.integers(16, 128),
)
prefix_sets = st.sets(v4 | v6, max_size=8)


def _networks(text: str) -> set[object]:
    return {ipaddress.ip_network(line.split()[1]) for line in text.splitlines() if line.startswith("  network ")}


@given(prefix_sets)
def test_the_file_announces_exactly_the_prefixes_given(prefixes: set[object]) -> None:
    assert _networks(render_bgpd(CONFIG, prefixes)) == prefixes  # type: ignore[arg-type]


@given(prefix_sets, prefix_sets)
def test_changes_take_a_running_bgpd_from_one_set_to_the_other(before: set[object], after: set[object]) -> None:
    held = set(before)
    for line in changes(CONFIG, before, after):  # type: ignore[arg-type]
        if line.startswith("no network "):
            held.remove(ipaddress.ip_network(line.split()[2]))
        elif line.startswith("network "):
            held.add(ipaddress.ip_network(line.split()[1]))
    assert held == after
    assert (changes(CONFIG, before, after) == []) == (before == after)  # type: ignore[arg-type]


def test_a_family_without_a_peer_is_left_out() -> None:
    only_v4 = SpeakerConfig(65001, None, (Peer(ipaddress.ip_address("192.0.2.1")),))
    text = render_bgpd(only_v4, [ipaddress.ip_network("2001:db8:1::/64"), ipaddress.ip_network("10.1.0.0/24")])
    assert "ipv6" not in text and "network 10.1.0.0/24" in text
    assert changes(only_v4, [], [ipaddress.ip_network("2001:db8:1::/64")]) == []


def test_peer_flags() -> None:
    assert parse_peer("192.0.2.1") == Peer(ipaddress.ip_address("192.0.2.1"), None)
    assert parse_peer("2001:db8::1,asn=65000") == Peer(ipaddress.ip_address("2001:db8::1"), 65000)
    for bad in ("nohost", "192.0.2.1,as=1", "192.0.2.1,asn=0", "192.0.2.1,asn=4294967296"):
        with pytest.raises(InvalidParameter, match="--bgp-peer"):
            parse_peer(bad)


def test_speaker_flags() -> None:
    assert speaker_config(None, None, []) is None
    with pytest.raises(InvalidParameter, match="need --bgp-asn"):
        speaker_config(None, None, ["192.0.2.1"])
    with pytest.raises(InvalidParameter, match="given twice"):
        speaker_config("65001", None, ["192.0.2.1", "192.0.2.1,asn=2"])
    with pytest.raises(InvalidParameter, match="invalid --bgp-asn 'x'"):
        speaker_config("x", None, [])
    with pytest.raises(InvalidParameter, match="invalid --bgp-router-id"):
        speaker_config("65001", "2001:db8::1", [])
    got = speaker_config(65001, "192.0.2.9", ["192.0.2.1,asn=65000"])
    assert got == SpeakerConfig(
        65001, ipaddress.IPv4Address("192.0.2.9"), (Peer(ipaddress.ip_address("192.0.2.1"), 65000),)
    )
