"""The embedded resolver, asked from inside containers (their network namespaces)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from dnslib import RCODE

from seaway.kernel import sched
from seaway.lab.fakehost import FakeHost
from seaway.testing.daemon import SeawayDaemon
from seaway.testing.dnsserver import OutsideDns, query

pytestmark = pytest.mark.netns

UPSTREAM = "198.51.100.1"  # the outside world's DNS server
BLACKHOLE = "198.51.100.99"  # routed to the outside world, where nobody answers


@contextmanager
def dns_daemon(host: FakeHost, busybox_tar: Path, *flags: str) -> Iterator[tuple[SeawayDaemon, OutsideDns]]:
    """A seawayd with busybox imported, and a DNS server in the outside world."""
    upstream = OutsideDns(host, {"www.example.test": "198.51.100.80"})
    daemon = SeawayDaemon(host, *flags)
    try:
        daemon.start()
        assert daemon.docker("import", str(busybox_tar), "busybox").returncode == 0
        yield daemon, upstream
    finally:
        daemon.close()
        upstream.close()


@pytest.fixture
def dns_world(fake_host: FakeHost, busybox_tar: Path) -> Iterator[tuple[SeawayDaemon, OutsideDns]]:
    with dns_daemon(fake_host, busybox_tar, "--dns", UPSTREAM) as world:
        yield world


def run(daemon: SeawayDaemon, *args: str) -> str:
    result = daemon.docker("run", "-d", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def key_of(daemon: SeawayDaemon, name: str) -> str:
    return json.loads(daemon.docker("inspect", name).stdout)[0]["NetworkSettings"]["SandboxKey"]  # type: ignore[no-any-return]


def addresses(reply) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(str(rr.rdata) for rr in reply.rr)


def test_names_aliases_pinning_ptr_and_families(dns_world: tuple[SeawayDaemon, OutsideDns]) -> None:
    daemon, _ = dns_world
    daemon.docker("network", "create", "--ipv6", "--subnet", "10.91.0.0/24", "--subnet", "2001:db8:91::/64", "front")
    daemon.docker("network", "create", "--subnet", "10.92.0.0/24", "back")
    web = run(
        daemon,
        "--name",
        "web",
        "--network",
        "front",
        "--network-alias",
        "svc",
        "--hostname",
        "www1",
        "busybox",
        "sleep",
        "300",
    )
    run(daemon, "--name", "web2", "--network", "front", "--network-alias", "svc", "busybox", "sleep", "300")
    run(daemon, "--name", "client", "--network", "front", "busybox", "sleep", "300")
    run(daemon, "--name", "hidden", "--network", "back", "busybox", "sleep", "300")
    key = key_of(daemon, "client")

    assert addresses(query(key, "web")) == ["10.91.0.2"]
    assert addresses(query(key, "WEB.")) == ["10.91.0.2"]  # case-insensitive
    assert addresses(query(key, "svc")) == ["10.91.0.2", "10.91.0.3"]  # a shared alias: all
    assert addresses(query(key, "web.front")) == ["10.91.0.2"]
    assert addresses(query(key, web[:12])) == ["10.91.0.2"]
    assert addresses(query(key, "www1")) == ["10.91.0.2"]
    assert addresses(query(key, "web", "AAAA")) == ["2001:db8:91::2"]
    assert [str(rr.rdata) for rr in query(key, "2.0.91.10.in-addr.arpa", "PTR").rr] == ["web.front."]
    assert query(key, "web", "MX").header.rcode == RCODE.NOERROR
    hidden = query(key, "hidden")  # on a network the client is not on: not ours, forwarded
    assert (hidden.header.rcode, hidden.rr) == (RCODE.NXDOMAIN, [])
    assert query(key, "hidden.back").header.rcode == RCODE.NXDOMAIN


def test_a_known_name_without_the_family_is_noerror_empty(dns_world: tuple[SeawayDaemon, OutsideDns]) -> None:
    daemon, upstream = dns_world
    daemon.docker("network", "create", "v4only")
    run(daemon, "--name", "a", "--network", "v4only", "busybox", "sleep", "300")
    before = upstream.queries

    reply = query(key_of(daemon, "a"), "a", "AAAA")

    assert (reply.header.rcode, reply.rr) == (RCODE.NOERROR, [])
    assert upstream.queries == before  # not forwarded


def test_external_names_are_forwarded_over_udp_and_tcp(dns_world: tuple[SeawayDaemon, OutsideDns]) -> None:
    daemon, _ = dns_world
    daemon.docker("network", "create", "out")
    run(daemon, "--name", "c", "--network", "out", "busybox", "sleep", "300")
    key = key_of(daemon, "c")

    assert addresses(query(key, "www.example.test")) == ["198.51.100.80"]
    assert addresses(query(key, "www.example.test", tcp=True)) == ["198.51.100.80"]
    assert query(key, "nope.example.test").header.rcode == RCODE.NXDOMAIN
    nslookup = daemon.docker("exec", "c", "nslookup", "www.example.test")
    assert "198.51.100.80" in nslookup.stdout


def test_large_answers_are_truncated_over_udp_and_whole_over_tcp(dns_world: tuple[SeawayDaemon, OutsideDns]) -> None:
    daemon, _ = dns_world
    daemon.docker("network", "create", "out")
    run(daemon, "--name", "c", "--network", "out", "busybox", "sleep", "300")
    key = key_of(daemon, "c")

    udp = query(key, "big.example.test", "TXT")
    whole = query(key, "big.example.test", "TXT", tcp=True)

    assert udp.header.tc == 1
    assert len(whole.rr) == 40


def test_an_upstream_that_never_answers_gives_servfail_within_the_timeout(
    dns_world: tuple[SeawayDaemon, OutsideDns],
) -> None:
    daemon, _ = dns_world
    daemon.docker("network", "create", "out")
    run(daemon, "--name", "c", "--network", "out", "--dns", BLACKHOLE, "busybox", "sleep", "300")

    started = time.monotonic()
    reply = query(key_of(daemon, "c"), "www.example.test", timeout=8)

    assert reply.header.rcode == RCODE.SERVFAIL
    assert time.monotonic() - started < 6
    assert daemon.request("GET", "/seaway/dns/stats")[1]["ForwardFailures"] >= 1


def test_internal_only_containers_resolve_names_but_do_not_forward(dns_world: tuple[SeawayDaemon, OutsideDns]) -> None:
    daemon, upstream = dns_world
    daemon.docker("network", "create", "--internal", "vault")
    run(daemon, "--name", "v1", "--network", "vault", "busybox", "sleep", "300")
    run(daemon, "--name", "v2", "--network", "vault", "busybox", "sleep", "300")
    key = key_of(daemon, "v1")
    before = upstream.queries

    assert addresses(query(key, "v2")) == ["172.18.0.3"]
    assert query(key, "www.example.test").header.rcode == RCODE.SERVFAIL
    assert upstream.queries == before


def test_default_bridge_containers_get_no_embedded_dns(dns_world: tuple[SeawayDaemon, OutsideDns]) -> None:
    daemon, _ = dns_world
    run(daemon, "--name", "plain", "busybox", "sleep", "300")

    resolv = daemon.docker("exec", "plain", "cat", "/etc/resolv.conf").stdout

    assert "127.0.0.11" not in resolv
    assert f"nameserver {UPSTREAM}" in resolv


def test_a_container_can_run_its_own_dns_server_on_port_53(dns_world: tuple[SeawayDaemon, OutsideDns]) -> None:
    daemon, _ = dns_world
    daemon.docker("network", "create", "--subnet", "10.93.0.0/24", "own")
    server = (
        "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 53))\n"
        "while True:\n d, a = s.recvfrom(512); s.sendto(d[:2] + b'\\x81\\x80' + d[4:6] + b'\\x00\\x00\\x00\\x00\\x00\\x00' + d[12:], a)"
    )
    run(daemon, "--name", "ns", "--network", "own", "--ip", "10.93.0.53", "seaway/host", "python3", "-c", server)
    key = key_of(daemon, "ns")
    time.sleep(0.5)

    assert addresses(query(key, "ns")) == ["10.93.0.53"]  # the embedded resolver still answers
    from dnslib import DNSRecord

    from seaway.kernel import netns

    def ask_own() -> bytes:
        import socket

        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(3)
            s.sendto(DNSRecord.question("anything.test").pack(), ("10.93.0.53", 53))
            return s.recv(512)

    own = DNSRecord.parse(netns.run(key, ask_own))
    assert own.header.rcode == RCODE.NOERROR and own.rr == []  # the container's own server


def test_dns_keeps_working_across_a_daemon_restart_and_edits_are_kept(
    dns_world: tuple[SeawayDaemon, OutsideDns],
) -> None:
    daemon, _ = dns_world
    daemon.docker("network", "create", "front")
    run(daemon, "--name", "a", "--network", "front", "busybox", "sleep", "300")
    run(daemon, "--name", "b", "--network", "front", "busybox", "sleep", "300")
    assert daemon.docker("exec", "a", "sh", "-c", "echo '# mine' >> /etc/resolv.conf").returncode == 0

    daemon.kill()
    daemon.start()

    assert addresses(query(key_of(daemon, "a"), "b")) == ["172.18.0.3"]
    daemon.docker("restart", "-t", "0", "a")
    assert "# mine" in daemon.docker("exec", "a", "cat", "/etc/resolv.conf").stdout


def test_names_never_fail_while_containers_churn(dns_world: tuple[SeawayDaemon, OutsideDns]) -> None:
    daemon, _ = dns_world
    daemon.docker("network", "create", "--subnet", "10.94.0.0/16", "busy")
    run(daemon, "--name", "asker", "--network", "busy", "busybox", "sleep", "600")
    run(daemon, "--name", "stable", "--network", "busy", "busybox", "sleep", "600")
    key = key_of(daemon, "asker")
    client = daemon.client()
    failures: list[str] = []
    for i in range(200):
        ctr = client.containers.run("busybox", ["sleep", "60"], detach=True, name=f"churn{i}", network="busy")
        reply = query(key, f"churn{i}", timeout=2)
        if addresses(reply) != [ctr.attrs["NetworkSettings"]["Networks"]["busy"]["IPAddress"] or ""]:
            ctr.reload()
            if addresses(reply) != [ctr.attrs["NetworkSettings"]["Networks"]["busy"]["IPAddress"]]:
                failures.append(f"churn{i}: {addresses(reply)}")
        if addresses(query(key, "stable", timeout=2)) != ["10.94.0.3"]:
            failures.append(f"stable during churn{i}")
        if i >= 5:
            client.containers.get(f"churn{i - 5}").remove(force=True)

    assert failures == []


def test_seaway_dns_stats_shows_the_counters(dns_world: tuple[SeawayDaemon, OutsideDns]) -> None:
    import subprocess
    import sys

    daemon, _ = dns_world
    daemon.docker("network", "create", "front")
    run(daemon, "--name", "a", "--network", "front", "busybox", "sleep", "300")
    query(key_of(daemon, "a"), "a")
    query(key_of(daemon, "a"), "www.example.test")

    cli = [sys.executable, "-m", "seaway.cli.main", "-H", daemon.docker_host, "dns", "stats"]
    table = subprocess.run(cli, capture_output=True, text=True, check=True).stdout
    data = json.loads(subprocess.run([*cli, "--format", "json"], capture_output=True, text=True, check=True).stdout)

    assert data["Queries"] >= 2 and data["Forwarded"] >= 1 and data["Answers"]["NOERROR"] >= 2
    assert "Queries" in table and "Forward failures" in table
    # the resolver's thread, as ps -L shows it: real-time (nothing here keeps it busy)
    assert data["Scheduling"] == "realtime" and re.search(r"^Scheduling +realtime$", table, re.MULTILINE)
    assert sched.threads(daemon.proc.pid).get(dns_thread(daemon)) == ("seawayd-dns", "fifo")


def dns_thread(daemon: SeawayDaemon) -> int:
    assert daemon.proc is not None
    named = [tid for tid, (name, _) in sched.threads(daemon.proc.pid).items() if name == "seawayd-dns"]
    assert len(named) == 1, sched.threads(daemon.proc.pid)
    return named[0]


def test_with_dns_realtime_false_the_resolver_thread_stays_fair(fake_host: FakeHost, busybox_tar: Path) -> None:
    with dns_daemon(fake_host, busybox_tar, "--dns", UPSTREAM, "--dns-realtime", "false") as (daemon, _):
        daemon.docker("network", "create", "out")
        run(daemon, "--name", "c", "--network", "out", "busybox", "sleep", "300")

        assert addresses(query(key_of(daemon, "c"), "c")) != []
        assert daemon.request("GET", "/seaway/dns/stats")[1]["Scheduling"] == "normal (--dns-realtime=false)"
        assert sched.threads(daemon.proc.pid)[dns_thread(daemon)] == ("seawayd-dns", "other")  # type: ignore[union-attr]


def test_forwarded_answers_are_kept_for_their_ttl(dns_world: tuple[SeawayDaemon, OutsideDns]) -> None:
    daemon, upstream = dns_world
    daemon.docker("network", "create", "out")
    run(daemon, "--name", "c", "--network", "out", "busybox", "sleep", "300")
    run(daemon, "--name", "d", "--network", "out", "--dns", BLACKHOLE, "busybox", "sleep", "300")
    key = key_of(daemon, "c")
    before = upstream.queries

    first = query(key, "www.example.test")
    again = query(key, "WWW.example.TEST")  # any case: the same name
    other_upstreams = query(key_of(daemon, "d"), "www.example.test", timeout=8)  # its own --dns: not ours

    assert addresses(first) == addresses(again) == ["198.51.100.80"]
    assert other_upstreams.header.rcode == RCODE.SERVFAIL
    assert str(again.q.qname) == "WWW.example.TEST."  # the asker's spelling comes back
    assert again.rr[0].ttl <= first.rr[0].ttl <= 60  # the upstream's TTL, aged
    assert upstream.queries == before + 1
    assert daemon.request("GET", "/seaway/dns/stats")[1]["CacheHits"] >= 1


def test_without_the_cache_every_forwarded_query_goes_upstream(fake_host: FakeHost, busybox_tar: Path) -> None:
    with dns_daemon(fake_host, busybox_tar, "--dns", UPSTREAM, "--dns-cache", "false") as (daemon, upstream):
        daemon.docker("network", "create", "out")
        run(daemon, "--name", "c", "--network", "out", "busybox", "sleep", "300")
        key = key_of(daemon, "c")
        before = upstream.queries

        for _ in range(3):
            assert addresses(query(key, "www.example.test")) == ["198.51.100.80"]

        assert upstream.queries == before + 3
        assert daemon.request("GET", "/seaway/dns/stats")[1]["CacheHits"] == 0


def test_a_changed_host_resolv_conf_is_followed_without_restarting(fake_host: FakeHost, busybox_tar: Path) -> None:
    host_file = fake_host.root / "host-resolv.conf"
    host_file.write_text(f"nameserver {UPSTREAM}\nsearch corp.test\n")
    with dns_daemon(fake_host, busybox_tar, "--host-resolv-conf", str(host_file), "--dns-opt", "ndots:1") as (
        daemon,
        _,
    ):
        daemon.docker("network", "create", "front")
        run(daemon, "--name", "c", "--network", "front", "busybox", "sleep", "300")
        key = key_of(daemon, "c")
        resolv = daemon.docker("exec", "c", "cat", "/etc/resolv.conf").stdout
        assert "search corp.test" in resolv and "options ndots:1" in resolv
        assert addresses(query(key, "www.example.test")) == ["198.51.100.80"]

        host_file.write_text(f"nameserver {BLACKHOLE}\n")
        assert query(key, "www.example.test", timeout=8).header.rcode == RCODE.SERVFAIL

        host_file.write_text(f"nameserver {UPSTREAM}\n")
        assert addresses(query(key, "www.example.test")) == ["198.51.100.80"]


def test_with_an_ndots_option_single_label_unknown_names_are_not_forwarded(
    fake_host: FakeHost, busybox_tar: Path
) -> None:
    with dns_daemon(fake_host, busybox_tar, "--dns", UPSTREAM, "--dns-opt", "ndots:2") as (daemon, upstream):
        daemon.docker("network", "create", "front")
        run(daemon, "--name", "c", "--network", "front", "busybox", "sleep", "300")
        key = key_of(daemon, "c")
        before = upstream.queries

        single = query(key, "intranet")

        assert (single.header.rcode, single.rr) == (RCODE.NOERROR, [])
        assert upstream.queries == before
        assert addresses(query(key, "www.example.test")) == ["198.51.100.80"]  # dotted names still go out


def test_a_query_flood_sends_the_resolver_thread_back_to_the_fair_class_until_it_ends(
    dns_world: tuple[SeawayDaemon, OutsideDns], tmp_path: Path
) -> None:
    import subprocess

    daemon, _ = dns_world
    daemon.docker("network", "create", "front")
    run(daemon, "--name", "a", "--network", "front", "busybox", "sleep", "300")
    key = key_of(daemon, "a")
    names = tmp_path / "names.txt"
    names.write_text("a A\n")
    stats = lambda: daemon.request("GET", "/seaway/dns/stats")[1]  # noqa: E731
    assert stats()["Scheduling"] == "realtime"

    flood = f"nsenter --net={key} dnsperf -s 127.0.0.11 -d {names} -l 2 -c 20 -q 64".split()
    for _ in range(3):  # on a machine busy with other work dnsperf may not reach the budget's rate at once
        subprocess.run(flood, capture_output=True, timeout=30, check=True)
        if stats()["RealtimeDemotions"] >= 1:
            break
    deadline = time.monotonic() + 10
    while stats()["Scheduling"] != "realtime" and time.monotonic() < deadline:
        time.sleep(0.1)

    assert stats()["RealtimeDemotions"] >= 1  # the flood was served in the fair class
    assert stats()["Scheduling"] == "realtime"  # and once it ended the thread went back
    assert addresses(query(key, "a")) != []
