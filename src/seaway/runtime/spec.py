"""Pure: a container's OCI runtime spec (``config.json``), as Docker's defaults make it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from seaway.errors import InvalidParameter
from seaway.model.hostconfig import ProcessOptions, Resources

DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Docker's default capability set
CAPABILITIES = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
]

MASKED_PATHS = [
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
]
READONLY_PATHS = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

#: every capability the kernel has (``--privileged``, ``--cap-add ALL``), by number order
ALL_CAPABILITIES = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
    "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT",
    "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE",
    "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
    "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
]  # fmt: skip
#: where ``--init``'s program is mounted in the container (Docker's path)
INIT_PATH = "/sbin/docker-init"


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    tty: bool
    uid: int = 0
    gid: int = 0
    additional_gids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Isolation:
    """The container's namespaces, privileges and limits (HostConfig beyond networks)."""

    options: ProcessOptions = field(default_factory=ProcessOptions)
    resources: Resources = field(default_factory=Resources)
    #: namespace kind -> the path of another container's namespace to join (container:<id>)
    join: dict[str, str] = field(default_factory=dict)
    #: the host's init program (``--init``), mounted at INIT_PATH
    init_program: str = ""


def _mount(destination: str, mtype: str, source: str, options: list[str]) -> dict[str, Any]:
    return {"destination": destination, "type": mtype, "source": source, "options": options}


def bind(destination: str, source: str, readonly: bool = False) -> dict[str, Any]:
    return _mount(destination, "bind", source, ["rbind", "ro" if readonly else "rw"])


def overlay(destination: str, lower: str, upper: str, work: str) -> dict[str, Any]:
    return _mount(destination, "overlay", "overlay", [f"lowerdir={lower}", f"upperdir={upper}", f"workdir={work}"])


def tmpfs(destination: str, options: list[str] | None = None) -> dict[str, Any]:
    return _mount(destination, "tmpfs", "tmpfs", options or ["nosuid", "nodev", "mode=1777"])


def process_spec(
    image_env: tuple[str, ...],
    image_cmd: tuple[str, ...],
    entrypoint: tuple[str, ...],
    cmd: tuple[str, ...],
    env: tuple[str, ...],
    working_dir: str,
    hostname: str,
    tty: bool,
) -> ProcessSpec:
    """Docker's rules: args = entrypoint + (cmd or the image's cmd); env = PATH, the
    image's, HOSTNAME, then the user's (later keys win)."""
    merged: dict[str, str] = {}
    for item in (DEFAULT_PATH, *image_env, f"HOSTNAME={hostname}", *env):
        key, _, _ = item.partition("=")
        merged[key] = item
    if tty:
        merged.setdefault("TERM", "TERM=xterm")
    args = tuple(entrypoint) + tuple(cmd or (image_cmd if not entrypoint else ()))
    return ProcessSpec(args=args, env=tuple(merged.values()), cwd=working_dir or "/", tty=tty)


def capabilities(options: ProcessOptions) -> list[str]:
    """Docker's default set, or all (privileged), with CapAdd then CapDrop applied."""
    caps = list(ALL_CAPABILITIES if options.privileged else CAPABILITIES)
    for name, adding in [(n, True) for n in options.cap_add] + [(n, False) for n in options.cap_drop]:
        cap = name.upper() if name.upper().startswith("CAP_") else f"CAP_{name.upper()}"
        if cap == "CAP_ALL":
            caps = list(ALL_CAPABILITIES) if adding else []
            continue
        if cap not in ALL_CAPABILITIES:
            raise InvalidParameter(f"unknown capability: {name!r}")
        if adding and cap not in caps:
            caps.append(cap)
        if not adding and cap in caps:
            caps.remove(cap)
    return caps


def resources_spec(r: Resources) -> dict[str, Any]:
    """OCI ``linux.resources`` for Docker's limits (only what is set)."""
    out: dict[str, Any] = {}
    memory = {
        k: v for k, v in (("limit", r.memory), ("reservation", r.memory_reservation), ("swap", r.memory_swap)) if v
    }
    if r.memory_swappiness is not None and r.memory_swappiness >= 0:
        memory["swappiness"] = r.memory_swappiness
    if r.oom_kill_disable:
        memory["disableOOMKiller"] = True
    if memory:
        out["memory"] = memory
    period, quota = r.cpu_period, r.cpu_quota
    if r.nano_cpus:
        period, quota = 100_000, r.nano_cpus * 100_000 // 1_000_000_000
    cpu = {
        k: v
        for k, v in (
            ("shares", r.cpu_shares), ("period", period), ("quota", quota), ("realtimePeriod", r.cpu_realtime_period),
            ("realtimeRuntime", r.cpu_realtime_runtime), ("cpus", r.cpuset_cpus), ("mems", r.cpuset_mems),
        )
        if v
    }  # fmt: skip
    if cpu:
        out["cpu"] = cpu
    if r.pids_limit is not None and r.pids_limit > 0:
        out["pids"] = {"limit": r.pids_limit}
    if r.blkio_weight:
        out["blockIO"] = {"weight": r.blkio_weight}
    devices = []
    for rule in r.device_cgroup_rules:  # "c 7:128 rwm" (checked at create)
        kind, numbers, access = rule.split(" ")
        major, minor = numbers.split(":")
        device: dict[str, Any] = {"allow": True, "type": kind, "access": access}
        if major != "*":
            device["major"] = int(major)
        if minor != "*":
            device["minor"] = int(minor)
        devices.append(device)
    if devices:
        out["devices"] = devices
    return out


def _namespaces(iso: Isolation, netns_path: str | None) -> list[dict[str, str]]:
    o = iso.options
    shared_with_host = {"pid": o.pid_mode == "host", "ipc": o.ipc_mode == "host", "uts": o.uts_mode == "host"}
    out: list[dict[str, str]] = []
    for kind in ("pid", "ipc", "uts", "mount"):
        if shared_with_host.get(kind):
            continue
        out.append({"type": kind, "path": iso.join[kind]} if kind in iso.join else {"type": kind})
    if netns_path is not None:
        out.append({"type": "network", "path": netns_path})
    if o.cgroupns_mode == "private":
        out.append({"type": "cgroup"})
    return out


def runtime_spec(
    process: ProcessSpec,
    *,
    rootfs: str,
    hostname: str,
    netns_path: str | None,
    extra_mounts: list[dict[str, Any]],
    isolation: Isolation | None = None,
) -> dict[str, Any]:
    """The whole ``config.json``. ``netns_path=None`` shares the daemon's namespace (host)."""
    iso = isolation or Isolation()
    o = iso.options
    caps = capabilities(o)
    shm = f"size={o.shm_size // 1024}k" if o.shm_size else "size=65536k"
    mounts = [
        _mount("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
        _mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        _mount(
            "/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
        ),
        _mount("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", shm]),
        _mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        _mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "rw" if o.privileged else "ro"]),
        *extra_mounts,
    ]
    for point, options in o.tmpfs.items():  # --tmpfs: Docker's noexec,nosuid,nodev unless given
        given = [x for x in options.split(",") if x]
        mounts.append(tmpfs(point, [*(d for d in ("noexec", "nosuid", "nodev") if d not in given), *given]))
    args = list(process.args)
    if iso.init_program:
        mounts.append(bind(INIT_PATH, iso.init_program, readonly=True))
        args = [INIT_PATH, "--", *args]
    user: dict[str, Any] = {"uid": process.uid, "gid": process.gid}
    if process.additional_gids:
        user["additionalGids"] = list(process.additional_gids)
    proc: dict[str, Any] = {
        "terminal": process.tty,
        "user": user,
        "args": args,
        "env": list(process.env),
        "cwd": process.cwd,
        "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
        "noNewPrivileges": False,
    }
    if o.oom_score_adj:
        proc["oomScoreAdj"] = o.oom_score_adj
    linux: dict[str, Any] = {"namespaces": _namespaces(iso, netns_path)}
    if not o.privileged:
        linux.update(maskedPaths=MASKED_PATHS, readonlyPaths=READONLY_PATHS)
    resources = resources_spec(iso.resources)
    if resources:
        linux["resources"] = resources
    if o.sysctls:
        linux["sysctl"] = dict(o.sysctls)
    spec: dict[str, Any] = {
        "ociVersion": "1.0.2",
        "process": proc,
        "root": {"path": rootfs, "readonly": o.readonly_rootfs},
        "mounts": mounts,
        "linux": linux,
    }
    if o.uts_mode != "host":  # runc refuses a host name without a UTS namespace of its own
        spec["hostname"] = hostname
    return spec
