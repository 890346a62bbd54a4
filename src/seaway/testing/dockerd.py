"""Debian's dockerd (20.10) inside a fake host, for side-by-side comparisons.

Started with ``nsenter --net`` (so it keeps the real /sys and cgroup mounts), with its
own data root, exec root and socket under the fake host's directory, the default bridge
disabled so it does not take Docker's default pools, and iptables confined to the fake
host's namespace. ``close()`` removes its containers, stops it, and unmounts what it
left under its roots.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time

from seaway.lab.fakehost import FakeHost, sh


class DockerDaemon:
    def __init__(self, host: FakeHost, *extra_args: str, default_bridge: bool = False) -> None:
        self.host = host
        #: keep dockerd's docker0 (its default pools are taken inside the fake host only)
        self.default_bridge = default_bridge
        self.extra_args = extra_args
        self.socket = host.root / "docker.sock"
        self.log = host.root / "dockerd.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    @staticmethod
    def available() -> bool:
        return shutil.which("dockerd") is not None

    def start(self, timeout: float = 60) -> DockerDaemon:
        root = self.host.root
        cmd = [
            "nsenter", f"--net={self.host.host_ns}", "dockerd", "--data-root", str(root / "docker-data"),
            "--exec-root", str(root / "docker-exec"), "-H", self.docker_host, "--pidfile", str(root / "dockerd.pid"),
            *(() if self.default_bridge else ("--bridge", "none")), *self.extra_args,
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"dockerd exited:\n{self.log.read_text()[-2000:]}")
            if self.docker("version", timeout=10).returncode == 0:
                return self
            time.sleep(0.3)
        raise RuntimeError(f"dockerd did not answer within {timeout}s")

    def docker(self, *args: str, check: bool = False, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DOCKER_HOST": self.docker_host, "DOCKER_CONFIG": str(self.host.root / "docker-config")}
        return subprocess.run(["docker", *args], capture_output=True, text=True, env=env, check=check, timeout=timeout)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            ids = self.docker("ps", "-aq", timeout=30).stdout.split()
            if ids:
                self.docker("rm", "-f", *ids, timeout=120)
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for mount in _mounts_under(str(self.host.root)):
            sh("umount", "-l", mount, check=False)


def _mounts_under(root: str) -> list[str]:
    with open("/proc/self/mountinfo") as fh:
        points = [line.split()[4] for line in fh]
    return sorted((p for p in points if p.startswith(root + "/")), reverse=True)
