"""Limits that bite late in the kernel are refused early, with what to change."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import pytest

from seaway.drivers.bridge import BRIDGE_MAX_PORTS, check_bridge_ports
from seaway.errors import Unavailable
from seaway.kernel import fdlimit


def test_the_1024th_port_of_a_bridge_is_refused_before_the_kernel_says_exfull() -> None:
    check_bridge_ports("big", BRIDGE_MAX_PORTS - 1)  # the last one that fits
    with pytest.raises(Unavailable, match="network big has 1023 endpoints: a Linux bridge takes at most 1023 ports"):
        check_bridge_ports("big", BRIDGE_MAX_PORTS)


def test_file_descriptors_running_out_are_refused_with_the_limit_to_raise() -> None:
    code = (
        "import resource, os\n"
        "from seaway.kernel import fdlimit\n"
        "used, _ = fdlimit.usage()\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (used + 10, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
        "fdlimit.check_headroom('create sandbox web')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "cannot create sandbox web: seawayd has" in proc.stderr
    assert "raise its open-files limit (LimitNOFILE=" in proc.stderr
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] > 64  # this process was not touched


def test_the_open_descriptor_count_follows_what_is_opened_and_closed() -> None:
    before = fdlimit.open_count()
    opened = [os.open(os.devnull, os.O_RDONLY) for _ in range(50)]
    try:
        assert fdlimit.open_count() == before + 50
    finally:
        for fd in opened:
            os.close(fd)
    assert fdlimit.open_count() == before
