"""FRR configuration as seawayd and the lab render it: golden files under
``tests/testdata/golden/frr/`` (``pytest --update-goldens`` rewrites them)."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
from pathlib import Path

import pytest

from seaway.bgp.frrconf import Peer, SpeakerConfig, changes, render_bgpd, render_zebra
from seaway.testing.golden import assert_golden

HOST = SpeakerConfig(
    asn=65001,
    router_id=ipaddress.IPv4Address("192.0.2.2"),
    peers=(Peer(ipaddress.ip_address("192.0.2.1")), Peer(ipaddress.ip_address("2001:db8::1"), 65000)),
)
LEAF = SpeakerConfig(
    asn=65101,
    router_id=ipaddress.IPv4Address("192.0.2.1"),
    peers=(Peer(ipaddress.ip_address("192.0.2.2"), 65001), Peer(ipaddress.ip_address("198.51.100.1"), 65000)),
    transit=True,
    hold_time=3,
)
GOLDEN = Path(__file__).parent.parent / "testdata" / "golden"
PREFIXES = [ipaddress.ip_network(p) for p in ("10.1.0.0/24", "2001:db8:1::/64", "10.1.0.7/32", "10.0.9.0/24")]


def test_a_host_announces_its_prefixes_to_each_peer_in_its_family_and_nothing_it_learned() -> None:
    assert_golden("frr/bgpd,host,v4+v6.conf", render_bgpd(HOST, PREFIXES))


def test_a_lab_router_passes_routes_on_and_announces_nothing_of_its_own() -> None:
    assert_golden("frr/bgpd,router.conf", render_bgpd(LEAF, []))


def test_zebra_needs_nothing() -> None:
    assert_golden("frr/zebra.conf", render_zebra())


def test_changes_withdraw_then_announce_per_family() -> None:
    before = PREFIXES[:2]
    after = [PREFIXES[1], PREFIXES[2], ipaddress.ip_network("2001:db8:2::/64")]
    assert_golden("frr/changes,host.txt", "\n".join(changes(HOST, before, after)) + "\n")


@pytest.mark.parametrize("name", ["frr/bgpd,host,v4+v6.conf", "frr/bgpd,router.conf"])
def test_frr_reads_the_rendered_files_without_complaint(name: str, tmp_path: Path) -> None:
    """bgpd's own parser (``--dryrun``), in a network namespace of its own (FRR never
    runs in the machine's); it exits 0 either way, so its complaints are what counts."""
    conf = GOLDEN / name
    script = f"echo $$; exec /usr/lib/frr/bgpd -C -u root -g frrvty -P 0 -i {tmp_path / 'pid'} -f {conf}"
    done = subprocess.run(["unshare", "--net", "sh", "-c", script], capture_output=True, text=True, timeout=30)
    pid = done.stdout.split()[0]
    shutil.rmtree(Path("/var/tmp/frr") / f"bgpd.{pid}", ignore_errors=True)  # its crash-log buffer
    assert done.returncode == 0
    assert "No such command" not in done.stderr and "[EC" not in done.stderr, done.stderr
