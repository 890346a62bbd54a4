"""A running container's resource use (``docker stats``), read from the host: its cgroup
v1 files (cpuacct, memory, pids, blkio), its network namespace's interface counters
(``/proc/<pid>/net/dev``) and the host's CPU time (``/proc/stat``).

This machine's cgroups are v1; a v2-only host has other files, and what is not found
reads as zero (Docker's shape stays whole).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
NANOSECONDS = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Sample:
    cpu_total: int = 0
    cpu_percpu: tuple[int, ...] = ()
    cpu_user: int = 0
    cpu_system: int = 0
    system_cpu: int = 0
    online_cpus: int = 0
    memory_usage: int = 0
    memory_max_usage: int = 0
    memory_limit: int = 0
    memory_stat: dict[str, int] = field(default_factory=dict)
    pids_current: int = 0
    pids_limit: int = 0
    #: blkio.throttle.io_service_bytes lines: (major, minor, op, bytes)
    blkio: tuple[tuple[int, int, str, int], ...] = ()
    #: interface -> counters (rx_bytes, rx_packets, rx_errors, rx_dropped, tx_… the same)
    networks: dict[str, dict[str, int]] = field(default_factory=dict)


def _cgroups(pid: int) -> dict[str, Path]:
    out = {}
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return {}
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(","):
            if controller:
                out[controller] = CGROUP_ROOT / controller / path.lstrip("/")
    return out


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _int(path: Path) -> int:
    text = _read(path)
    try:
        return int(text)
    except ValueError:
        return 0


def _system_cpu() -> int:
    """The host's CPU time in nanoseconds (the first line of /proc/stat, in clock ticks)."""
    fields = _read(Path("/proc/stat")).splitlines()[0].split()[1:8]
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(v) for v in fields) * NANOSECONDS // ticks


def _networks(pid: int) -> dict[str, dict[str, int]]:
    out = {}
    for line in _read(Path(f"/proc/{pid}/net/dev")).splitlines()[2:]:
        name, _, counters = line.partition(":")
        values = [int(v) for v in counters.split()]
        if name.strip() == "lo" or len(values) < 12:
            continue
        out[name.strip()] = {
            "rx_bytes": values[0], "rx_packets": values[1], "rx_errors": values[2], "rx_dropped": values[3],
            "tx_bytes": values[8], "tx_packets": values[9], "tx_errors": values[10], "tx_dropped": values[11],
        }  # fmt: skip
    return out


def sample(pid: int) -> Sample:
    groups = _cgroups(pid)
    cpuacct = groups.get("cpuacct", Path("/nonexistent"))
    memory = groups.get("memory", Path("/nonexistent"))
    pids = groups.get("pids", Path("/nonexistent"))
    blkio = groups.get("blkio", Path("/nonexistent"))
    ticks = os.sysconf("SC_CLK_TCK")
    acct = dict(line.split() for line in _read(cpuacct / "cpuacct.stat").splitlines() if len(line.split()) == 2)
    stat = {k: int(v) for k, v in (line.split() for line in _read(memory / "memory.stat").splitlines()) if v.isdigit()}
    io = []
    for line in _read(blkio / "blkio.throttle.io_service_bytes").splitlines():
        parts = line.split()
        if len(parts) == 3 and ":" in parts[0]:
            major, minor = parts[0].split(":")
            io.append((int(major), int(minor), parts[1], int(parts[2])))
    percpu = tuple(int(v) for v in _read(cpuacct / "cpuacct.usage_percpu").split())
    limit = _read(pids / "pids.max")
    return Sample(
        cpu_total=_int(cpuacct / "cpuacct.usage"),
        cpu_percpu=percpu,
        cpu_user=int(acct.get("user", 0)) * NANOSECONDS // ticks,
        cpu_system=int(acct.get("system", 0)) * NANOSECONDS // ticks,
        system_cpu=_system_cpu(),
        online_cpus=os.cpu_count() or len(percpu),
        memory_usage=_int(memory / "memory.usage_in_bytes"),
        memory_max_usage=_int(memory / "memory.max_usage_in_bytes"),
        memory_limit=_int(memory / "memory.limit_in_bytes"),
        memory_stat=stat,
        pids_current=_int(pids / "pids.current"),
        pids_limit=int(limit) if limit.isdigit() else 0,
        blkio=tuple(io),
        networks=_networks(pid),
    )
