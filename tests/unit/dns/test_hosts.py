"""``/etc/hosts`` as dockerd 20.10 writes it (compared line by line with its files)."""

from __future__ import annotations

from seaway.dns.hosts import hosts_file

DEFAULTS = (
    "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
    "ff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
)


def test_hostname_and_domainname_give_the_fqdn_then_the_bare_name() -> None:
    text = hosts_file("myhost", ["172.17.0.2"], (), domainname="example.org")
    assert text == DEFAULTS + "172.17.0.2\tmyhost.example.org myhost\n"


def test_a_hostname_with_dots_is_its_own_fqdn() -> None:
    assert hosts_file("myhost.sub.example.com", ["172.17.0.2"], ()).endswith(
        "172.17.0.2\tmyhost.sub.example.com myhost\n"
    )
    assert hosts_file("5a2b7f2a7008", ["172.26.0.2"], ()).endswith("172.26.0.2\t5a2b7f2a7008\n")


def test_extra_hosts_then_links_then_the_containers_own_line() -> None:
    text = hosts_file("me", ["172.17.0.3"], ("x:1.2.3.4",), links=(("172.17.0.2", "database 7a3b3f3e52ab db"),))
    assert text == DEFAULTS + "1.2.3.4\tx\n172.17.0.2\tdatabase 7a3b3f3e52ab db\n172.17.0.3\tme\n"
