"""The example network/IPAM plugin (``examples/plugin/example_plugin.py``) running inside a
fake host, for tests.

``ExamplePlugin(host, "example").start()`` runs the plugin in the fake host's network
namespace (``nsenter --net``), listening on ``<host root>/plugins/example.sock`` (the
directory the test bed's engines and daemons look in), and waits for its socket.
``calls()`` are the requests it recorded, in order; ``kill()`` ends it by PID (a crash:
its socket file stays, as a crashed plugin's does); ``start()`` again is a restart with
its state kept.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import seaway
from seaway.lab.fakehost import FakeHost

EXAMPLE = Path(seaway.__file__).resolve().parents[2] / "examples" / "plugin" / "example_plugin.py"


class ExamplePlugin:
    def __init__(
        self, host: FakeHost, name: str = "example", *, pools: tuple[str, ...] = (), socket: Path | None = None
    ) -> None:
        """``socket``: listen elsewhere than the plugin directory (found through a spec file)."""
        self.host = host
        self.name = name
        self.dir = host.root / f"plugin-{name}"
        self.socket = socket or host.root / "plugins" / f"{name}.sock"
        self.record = self.dir / "calls.jsonl"
        self.pools = self.dir / "pools"
        self.log = self.dir / "plugin.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pools.write_text("".join(f"{p}\n" for p in pools))

    def start(self, *extra: str, timeout: float = 10) -> ExamplePlugin:
        """Start (or restart) the plugin; ``extra``: its flags (``--fail``, ``--die-on``, ``--route``)."""
        self.kill()
        cmd = [
            "nsenter", f"--net={self.host.host_ns}", sys.executable, str(EXAMPLE),
            "--socket", str(self.socket), "--state", str(self.dir / "state"), "--pools", str(self.pools),
            "--record", str(self.record), *extra,
        ]  # fmt: skip
        if self.socket.exists():
            self.socket.unlink()  # a crashed run's: the new one makes its own
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"example plugin exited with {self.proc.returncode}:\n{self.log.read_text()[-2000:]}"
                )
            if self.answers():
                return self
            time.sleep(0.05)
        raise RuntimeError(f"example plugin did not listen within {timeout}s:\n{self.log.read_text()[-2000:]}")

    def answers(self) -> bool:
        s = socket.socket(socket.AF_UNIX)
        try:
            s.connect(str(self.socket))
            return True
        except OSError:
            return False
        finally:
            s.close()

    def wait_exited(self, timeout: float = 30) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def calls(self) -> list[dict[str, Any]]:
        """The requests the plugin received, in order: ``{"method", "body"}``."""
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]

    def methods(self) -> list[str]:
        return [c["method"] for c in self.calls()]

    def forget_calls(self) -> None:
        self.record.write_text("")

    def state(self) -> dict[str, Any]:
        path = self.dir / "state" / "state.json"
        return json.loads(path.read_text()) if path.exists() else {}
