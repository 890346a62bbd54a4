"""A ``seawayd`` running inside a fake host, for tests and benchmarks.

``SeawayDaemon(host).start()`` launches the daemon in the fake host's network namespace
(with ``nsenter --net``, so it keeps the real /sys and cgroup mounts runc needs), waits
until its socket answers ``/_ping``, and gives ``DOCKER_HOST`` for the docker CLI and a
docker-py client. ``kill()`` sends SIGKILL (a crash); ``stop()`` SIGTERM. ``close()``
also removes every container the daemon left running (by runc, under its own root).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from seaway.lab.fakehost import FakeHost, sh


class SeawayDaemon:
    def __init__(self, host: FakeHost, *extra_args: str, program: tuple[str, ...] = ()) -> None:
        self.host = host
        #: what runs as the daemon (default: this environment's ``seawayd``; a profiler's wrapper)
        self.program = program or (str(Path(sys.executable).with_name("seawayd")),)
        self.socket = host.root / "seawayd.sock"
        self.log = host.root / "seawayd.log"
        self.extra_args = extra_args
        #: where this daemon looks for plugin sockets (``<name>.sock``)
        self.plugin_dir = host.root / "plugins"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    def start(self, timeout: float = 30) -> SeawayDaemon:
        cmd = [
            "nsenter", f"--net={self.host.host_ns}", *self.program,
            "--data-root", str(self.host.data_root), "--exec-root", str(self.host.exec_root),
            "-H", self.docker_host, "--log-level", "debug",
            # plugins are looked for inside the fake host's directory, never the machine's
            "--plugin-socket-dir", str(self.plugin_dir), "--plugin-spec-dir", str(self.host.root / "plugin-specs"),
            "--plugin-timeout", "4", *self.extra_args,
        ]  # fmt: skip
        log = self.log.open("ab")
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"seawayd exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            if self.ping():
                return self
            time.sleep(0.05)
        raise RuntimeError(f"seawayd did not answer within {timeout}s:\n{self.log.read_text()[-3000:]}")

    def ping(self) -> bool:
        try:
            return self.request("GET", "/_ping")[0] == 200
        except OSError:
            return False

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One HTTP request on the API socket (for tests that need raw statuses)."""
        payload = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(30)
        try:
            s.connect(str(self.socket))
            head = (
                f"{method} {path} HTTP/1.1\r\nHost: seaway\r\nConnection: close\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
            )
            s.sendall(head.encode() + payload)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        finally:
            s.close()
        header, _, raw = data.partition(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        if b"chunked" in header.lower():
            raw = _dechunk(raw)
        try:
            return status, json.loads(raw) if raw.strip() else None
        except ValueError:
            return status, raw.decode(errors="replace")

    def docker(self, *args: str, check: bool = False, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """The real docker CLI against this daemon (tests using it are skipped, naming
        the missing program, on a machine without the docker client)."""
        if shutil.which("docker") is None:
            import pytest

            pytest.skip("the docker CLI (client) is not installed on this machine")
        env = {**os.environ, "DOCKER_HOST": self.docker_host, "DOCKER_CONFIG": str(self.host.root / "docker-config")}
        return subprocess.run(["docker", *args], capture_output=True, text=True, env=env, check=check, timeout=timeout)

    def client(self):  # type: ignore[no-untyped-def]
        import docker

        return docker.DockerClient(base_url=self.docker_host, version="auto", timeout=60)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        """Stop the daemon and remove whatever containers it left (by its runc root)."""
        self.kill()
        runc_root = self.host.exec_root / "runc"
        if runc_root.is_dir():
            for entry in runc_root.iterdir():
                sh("runc", "--root", str(runc_root), "delete", "--force", entry.name, check=False)
        # conmon exits with its container; give it a moment, then make sure, by PID
        for pidfile in (self.host.data_root / "containers").glob("*/conmon.pid"):
            try:
                os.kill(int(pidfile.read_text().strip()), signal.SIGKILL)
            except (ValueError, OSError):
                pass


def _dechunk(raw: bytes) -> bytes:
    out = b""
    while raw:
        size_line, _, rest = raw.partition(b"\r\n")
        size = int(size_line.split(b";")[0] or b"0", 16)
        if size == 0:
            break
        out += rest[:size]
        raw = rest[size + 2 :]
    return out
