"""libnftables in the daemon's process (kernel.nft.apply_in_process) against the nft command."""

from __future__ import annotations

import subprocess
import sys

import pytest

from seaway.errors import KernelError
from seaway.firewall import dns as dnsrules
from seaway.kernel import netns, nft
from seaway.lab.fakehost import FakeHost, in_ns


def _listing(ns: str) -> str:
    return in_ns(ns, "nft", "list", "table", "ip", dnsrules.TABLE, check=True).stdout


def test_in_process_transaction_makes_what_nft_makes_and_replaces_the_rules(fake_host: FakeHost) -> None:
    ns = fake_host.host_ns
    netns.run(ns, nft.apply, dnsrules.redirect(1053, 2053), "by nft")
    by_process = _listing(ns)
    in_ns(ns, "nft", "delete", "table", "ip", dnsrules.TABLE, check=True)
    netns.run(ns, nft.apply_in_process, dnsrules.redirect(1053, 2053), "in process")
    assert _listing(ns) == by_process
    netns.run(ns, nft.apply_in_process, dnsrules.redirect(1054, 2054), "in process, again")  # a daemon restart's ports
    again = _listing(ns)
    assert "1054" in again and "2054" in again
    assert "1053" not in again and "2053" not in again
    assert again.count("dnat to") == 2 and again.count("snat to") == 2


def test_in_process_failure_is_a_kernel_error_with_nfts_reason(fake_host: FakeHost) -> None:
    bad = [{"add": {"chain": {"family": "ip", "table": "no-such-table", "name": "c"}}}]
    with pytest.raises(KernelError, match="apply nftables transaction bad one: .*No such file or directory"):
        netns.run(fake_host.host_ns, nft.apply_in_process, bad, "bad one")


def test_in_process_with_over_a_thousand_descriptors_open_does_not_abort_the_daemon(fake_host: FakeHost) -> None:
    """libnftables waits with select(2), which glibc aborts on a descriptor of 1024 or more:
    a daemon holding a thousand published ports must still start containers' DNS."""
    script = (
        "import os, sys\n"
        "from seaway.firewall import dns\n"
        "from seaway.kernel import netns, nft\n"
        "held = [os.open('/dev/null', os.O_RDONLY) for _ in range(1100)]\n"
        "netns.run(sys.argv[1], nft.apply_in_process, dns.redirect(1055, 2055), 'many open')\n"
    )
    done = subprocess.run([sys.executable, "-c", script, fake_host.host_ns], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "1055" in _listing(fake_host.host_ns)
