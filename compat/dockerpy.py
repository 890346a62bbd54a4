"""docker-py's own integration tests (tests/integration of the 7.1.0 tag) against a daemon.

The tests run inside the daemon's fake host (``nsenter --net``), with DOCKER_HOST at its
socket, in a virtual environment holding docker==7.1.0, paramiko and pytest (the PyPI
sdist of 7.1.0 leaves its tests out, so they come from a checkout of the tag). Images are
imported from the busybox rootfs under the names the tests expect.
"""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

FILES = ("api_network_test.py", "models_networks_test.py", "api_container_test.py", "models_containers_test.py")
IMAGES = ("alpine:3.10", "alpine:latest", "busybox:latest", "busybox:buildroot-2014.02")


def prepare(docker, tar: Path) -> None:  # type: ignore[no-untyped-def]
    """Import the busybox rootfs under every name the tests use."""
    for image in IMAGES:
        docker("import", str(tar), image, check=True)


def run(host_ns: str, docker_host: str, src: Path, python: Path, files: tuple[str, ...], out: Path) -> dict[str, str]:
    """Outcome per test id ('passed', 'failed', 'error', 'skipped')."""
    junit = out.with_suffix(".xml")
    junit.unlink(missing_ok=True)  # a run that dies must not report the previous one
    env = {**os.environ, "DOCKER_HOST": docker_host, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DOCKER_TLS_VERIFY", None)
    cmd = [
        "nsenter", f"--net={host_ns}", str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider",
        f"--junitxml={junit}", "--timeout=60" if _has_timeout(python) else "-q",
        *(f"tests/integration/{f}" for f in files),
    ]  # fmt: skip
    with out.open("w") as log:
        subprocess.run(cmd, cwd=src, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=3600, check=False)
    if not junit.exists():
        raise RuntimeError(f"pytest wrote no report (see {out})")
    return outcomes(junit)


def _has_timeout(python: Path) -> bool:
    return subprocess.run([str(python), "-c", "import pytest_timeout"], capture_output=True).returncode == 0


def outcomes(junit: Path) -> dict[str, str]:
    result: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        classname = re.sub(r"^tests\.integration\.", "", case.get("classname", ""))
        name = f"{classname}::{case.get('name')}"
        kinds = {child.tag for child in case}
        result[name] = next((k for k in ("failure", "error", "skipped") if k in kinds), "passed")
        result[name] = {"failure": "failed"}.get(result[name], result[name])
    return result
