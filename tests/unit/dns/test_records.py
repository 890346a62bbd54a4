"""The resolver's lookup rules (pure)."""

from __future__ import annotations

import ipaddress

from seaway.dns.records import Member, Outcome, Records, reverse_pointer_address

V4 = ipaddress.IPv4Address
V6 = ipaddress.IPv6Address


def records() -> Records:
    r = Records()
    r.set_network(
        "n1",
        "front",
        [
            Member("web", ("web", "svc", "abc123def456", "www1"), V4("10.0.0.2"), V6("2001:db8::2")),
            Member("web2", ("web2", "svc"), V4("10.0.0.3"), None),
        ],
    )
    r.set_network("n2", "back", [Member("db", ("db",), V4("10.1.0.2"), None)])
    return r


def test_names_resolve_only_on_the_askers_networks() -> None:
    r = records()
    assert r.lookup(["n1"], "web.", "A").addresses == (V4("10.0.0.2"),)
    assert r.lookup(["n1"], "db", "A").outcome is Outcome.FORWARD
    assert r.lookup(["n1", "n2"], "db", "A").addresses == (V4("10.1.0.2"),)


def test_shared_alias_returns_every_address_and_lookups_ignore_case() -> None:
    assert set(records().lookup(["n1"], "SVC", "A").addresses) == {V4("10.0.0.2"), V4("10.0.0.3")}


def test_name_dot_network_pins_one_network() -> None:
    r = records()
    assert r.lookup(["n1", "n2"], "web.front", "A").addresses == (V4("10.0.0.2"),)
    assert r.lookup(["n1"], "db.back", "A").outcome is Outcome.FORWARD  # not attached to back


def test_known_name_without_the_family_is_empty_not_forwarded() -> None:
    r = records()
    assert r.lookup(["n1"], "web2", "AAAA").outcome is Outcome.EMPTY
    assert r.lookup(["n1"], "web", "AAAA").addresses == (V6("2001:db8::2"),)
    assert r.lookup(["n1"], "web", "MX").outcome is Outcome.EMPTY
    assert r.lookup(["n1"], "web", "TXT").outcome is Outcome.FORWARD


def test_ptr_gives_container_dot_network() -> None:
    r = records()
    assert r.lookup(["n1"], "2.0.0.10.in-addr.arpa.", "PTR").ptr == "web.front."
    nibbles = ".".join(reversed(V6("2001:db8::2").exploded.replace(":", "")))
    assert r.lookup(["n1"], f"{nibbles}.ip6.arpa", "PTR").ptr == "web.front."
    assert r.lookup(["n2"], "2.0.0.10.in-addr.arpa", "PTR").outcome is Outcome.FORWARD


def test_replacing_a_network_drops_departed_members() -> None:
    r = records()
    r.set_network("n1", "front", [Member("web2", ("web2",), V4("10.0.0.3"), None)])
    assert r.lookup(["n1"], "web", "A").outcome is Outcome.FORWARD
    r.drop_network("n1")
    assert r.lookup(["n1"], "web2", "A").outcome is Outcome.FORWARD


def test_reverse_pointer_parsing_rejects_malformed_names() -> None:
    assert reverse_pointer_address("1.2.3.in-addr.arpa") is None
    assert reverse_pointer_address("x.2.3.4.in-addr.arpa") is None
    assert reverse_pointer_address("4.3.2.1.in-addr.arpa") == V4("1.2.3.4")
