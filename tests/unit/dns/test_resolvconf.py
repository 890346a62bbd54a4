"""resolv.conf for containers, as current Docker writes it (pure)."""

from __future__ import annotations

from seaway.dns.resolvconf import container_resolv_conf, embedded_resolv_conf

HOST = "nameserver 192.0.2.53\nnameserver 127.0.0.53\nsearch example.test\noptions edns0\n"


def test_embedded_file_points_at_127_0_0_11_with_ndots_0_and_says_where_it_comes_from() -> None:
    text = embedded_resolv_conf(HOST, "/etc/resolv.conf", (), (), ())

    assert text.splitlines()[4:7] == ["nameserver 127.0.0.11", "search example.test", "options edns0 ndots:0"]
    assert "# ExtServers: [host(192.0.2.53) host(127.0.0.53)]" in text
    assert "# Option ndots from: internal" in text


def test_overrides_replace_the_hosts_values_and_an_ndots_option_is_kept() -> None:
    text = embedded_resolv_conf(HOST, "/etc/resolv.conf", ("198.51.100.1",), ("corp.test",), ("ndots:2",))

    assert "search corp.test" in text
    assert "options ndots:2" in text
    assert "# ExtServers: [host(198.51.100.1)]" in text
    assert "# Overrides: [nameservers search options]" in text


def test_default_bridge_file_drops_loopback_servers_and_falls_back_to_google() -> None:
    assert "nameserver 127.0.0.53" not in container_resolv_conf(HOST, (), (), ())
    assert "nameserver 8.8.8.8" in container_resolv_conf("nameserver 127.0.0.53\n", (), (), ())
