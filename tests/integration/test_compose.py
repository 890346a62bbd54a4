"""docker-compose 1.29 (Debian's) against seawayd: what its projects rely on."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from seaway.testing.compose import STATIC_ADDRESSES
from seaway.testing.daemon import SeawayDaemon

pytestmark = pytest.mark.netns


def test_force_recreate_keeps_the_static_address_and_the_name(seawayd: SeawayDaemon, busybox_tar: Path) -> None:
    """compose 1.29 asks for the newest API and reads the image's ContainerConfig when it
    recreates (Docker dropped it at API 1.45: there compose fails with KeyError)."""
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose (Debian's 1.29) is not installed on this machine")
    assert seawayd.docker("import", str(busybox_tar), "busybox").returncode == 0
    (seawayd.host.root / "static.yml").write_text(STATIC_ADDRESSES)
    env = {**os.environ, "DOCKER_HOST": seawayd.docker_host}

    def compose(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = ["nsenter", f"--net={seawayd.host.host_ns}", "docker-compose", "-p", "static", "-f", "static.yml", *args]
        return subprocess.run(cmd, cwd=seawayd.host.root, env=env, capture_output=True, text=True, timeout=120)

    def inspect() -> list[str]:
        fmt = "{{.Id}} {{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}"
        return seawayd.docker("inspect", "-f", fmt, "static_db_1").stdout.split()

    try:
        assert compose("up", "-d").returncode == 0
        before = inspect()
        recreate = compose("up", "-d", "--force-recreate")
        assert recreate.returncode == 0, recreate.stderr
        after = inspect()
        assert before[1:] == after[1:] == ["10.88.0.10"]
        assert before[0] != after[0]
        assert seawayd.docker("ps", "-a", "--format", "{{.Names}}").stdout.split() == ["static_db_1"]
    finally:
        compose("down", "-t", "0")
