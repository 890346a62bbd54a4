"""The lab's record of what it made: ``<run dir>/<lab>/state.json``.

Written before anything is created and rewritten (atomically: temporary file, fsync,
rename) after each daemon starts, so ``down`` after a crash of the tool finds every
namespace and process by name or PID, and touches nothing that is not in it.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from seaway.errors import NotFound


@dataclass
class LabState:
    name: str
    root: Path
    netns: list[str]
    topology: dict[str, Any]
    pids: dict[str, int] = field(default_factory=dict)  # node -> daemon PID
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def path(self) -> Path:
        return self.root / "state.json"

    @property
    def marker(self) -> str:
        """A string in the command line of every process the lab starts."""
        return str(self.root) + "/"

    def save(self) -> None:
        with self._lock:
            data = {
                "name": self.name, "root": str(self.root), "netns": self.netns, "topology": self.topology,
                "pids": self.pids,
            }  # fmt: skip
            tmp = self.path.with_suffix(".tmp")
            with tmp.open("w") as f:
                json.dump(data, f, indent=2)
                f.flush()
                os.fsync(f.fileno())
            tmp.rename(self.path)

    def record_pid(self, node: str, pid: int) -> None:
        with self._lock:
            self.pids[node] = pid
        self.save()


def read(root: Path) -> LabState:
    """The state of the lab whose directory is ``root`` (NotFound if it is not up)."""
    try:
        data = json.loads((root / "state.json").read_text())
    except FileNotFoundError:
        raise NotFound(f"lab {root.name} is not up (no {root / 'state.json'})") from None
    except ValueError as exc:
        raise NotFound(f"lab {root.name}: unreadable state file {root / 'state.json'}: {exc}") from None
    return LabState(data["name"], Path(data["root"]), data["netns"], data["topology"], data["pids"])


def labs(run_dir: Path) -> list[str]:
    """Names of the labs that are up (have a state file) under ``run_dir``."""
    if not run_dir.is_dir():
        return []
    return sorted(d.name for d in run_dir.iterdir() if (d / "state.json").is_file())
