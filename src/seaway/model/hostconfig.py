"""A container's process settings from ``HostConfig`` (beyond its networks): cgroup
limits, namespaces shared with the host, capabilities, extra groups, tmpfs mounts, an
init process. Pure: the typed values and Docker's checks, with Docker's texts.

``Resources`` is also what ``POST /containers/{id}/update`` changes. The OCI runtime
applies both (``runtime.spec``); inspect shows them under Docker's names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from seaway.errors import InvalidParameter

#: Docker's floor for ``--memory`` (and ``--memory-reservation``)
MIN_MEMORY = 6 * 1024 * 1024
RUNTIMES = ("runc",)
ISOLATIONS = ("", "default")
#: PidMode/IpcMode/UTSMode values Seaway runs (``container:<id>`` for PidMode and IpcMode)
NAMESPACE_MODES = {"pid": ("", "host"), "ipc": ("", "private", "shareable", "host", "none"), "uts": ("", "host")}
CGROUPNS_MODES = ("", "host", "private")
DEVICE_RULE = re.compile(r"^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$")


@dataclass(frozen=True, slots=True)
class Resources:
    """Docker's ``Resources`` (the cgroup limits); 0, "" and None mean unset."""

    memory: int = 0
    memory_reservation: int = 0
    memory_swap: int = 0
    memory_swappiness: int | None = None
    cpu_shares: int = 0
    cpu_period: int = 0
    cpu_quota: int = 0
    cpu_realtime_period: int = 0
    cpu_realtime_runtime: int = 0
    cpuset_cpus: str = ""
    cpuset_mems: str = ""
    nano_cpus: int = 0
    pids_limit: int | None = None
    blkio_weight: int = 0
    oom_kill_disable: bool = False
    device_cgroup_rules: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProcessOptions:
    """HostConfig's settings of the container's process and namespaces."""

    pid_mode: str = ""
    ipc_mode: str = ""
    uts_mode: str = ""
    cgroupns_mode: str = ""
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()
    readonly_rootfs: bool = False
    #: HostConfig.Tmpfs: mount point -> options ("size=3M")
    tmpfs: dict[str, str] = field(default_factory=dict)
    #: HostConfig.Init: None (not asked: Docker shows null), True or False
    init: bool | None = None
    isolation: str = ""
    runtime: str = "runc"
    shm_size: int = 0
    oom_score_adj: int = 0
    sysctls: dict[str, str] = field(default_factory=dict)


def check_resources(r: Resources, *, update: bool = False) -> Resources:
    """Docker's checks; returns the resources as Docker keeps them (a memory limit without
    a swap limit gets twice the memory as its memory+swap limit)."""
    if r.memory and r.memory < MIN_MEMORY:
        raise InvalidParameter("Minimum memory limit allowed is 6MB")
    if r.memory_reservation and r.memory_reservation < MIN_MEMORY:
        raise InvalidParameter("Minimum memory reservation allowed is 6MB")
    if r.memory and r.memory_reservation and r.memory < r.memory_reservation:
        raise InvalidParameter("Minimum memory limit can not be less than memory reservation limit, see usage")
    if r.memory_swap > 0 and r.memory and r.memory_swap < r.memory:
        raise InvalidParameter("Minimum memoryswap limit should be larger than memory limit, see usage")
    if r.memory_swap > 0 and not r.memory and not update:
        raise InvalidParameter("You should always set the Memory limit when using Memoryswap limit, see usage")
    if r.memory_swappiness is not None and not -1 <= r.memory_swappiness <= 100:
        raise InvalidParameter(f"Invalid value: {r.memory_swappiness}, valid memory swappiness range is 0-100")
    if r.nano_cpus and (r.cpu_period or r.cpu_quota):
        which = "CPU Period" if r.cpu_period else "CPU Quota"
        raise InvalidParameter(f"Conflicting options: Nano CPUs and {which} cannot both be set")
    if r.cpu_period and not 1000 <= r.cpu_period <= 1_000_000:
        raise InvalidParameter("CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)")
    if r.cpu_quota and 0 < r.cpu_quota < 1000:
        raise InvalidParameter("CPU cfs quota can not be less than 1ms (i.e. 1000)")
    if r.blkio_weight and not 10 <= r.blkio_weight <= 1000:
        raise InvalidParameter("Range of blkio weight is from 10 to 1000")
    for rule in r.device_cgroup_rules:
        if not DEVICE_RULE.match(rule):
            raise InvalidParameter(f"invalid device cgroup format '{rule}'")
    if r.memory > 0 and r.memory_swap == 0 and not update:
        return _with(r, memory_swap=2 * r.memory)
    return r


def check_process(p: ProcessOptions) -> None:
    for kind, mode in (("pid", p.pid_mode), ("ipc", p.ipc_mode), ("uts", p.uts_mode)):
        if mode in NAMESPACE_MODES[kind] or (kind in ("pid", "ipc") and mode.startswith("container:")):
            continue
        raise InvalidParameter(f"invalid {kind.upper() if kind != 'uts' else 'UTS'} mode: {mode}")
    if p.cgroupns_mode not in CGROUPNS_MODES:
        raise InvalidParameter(f"invalid cgroup namespace mode: {p.cgroupns_mode}")
    if p.runtime not in RUNTIMES:
        raise InvalidParameter(f"Unknown runtime specified {p.runtime}")
    if p.isolation not in ISOLATIONS:
        raise InvalidParameter(f"Invalid isolation: {p.isolation!r} - Linux only supports 'default'")
    for point in p.tmpfs:
        if not point.startswith("/"):
            raise InvalidParameter(f"invalid mount config for type \"tmpfs\": invalid mount path '{point}'")


def _with(r: Resources, **changes: object) -> Resources:
    return replace(r, **changes)  # type: ignore[arg-type]


def updated(current: Resources, changes: dict[str, object]) -> Resources:
    """``current`` with the fields an update names (zero leaves a field as it is, as Docker)."""
    kept = {k: v for k, v in changes.items() if v not in (0, "", None, ())}
    return check_resources(_with(current, **kept), update=True)
