"""Pure: a container's OCI runtime spec (``config.json``), as Docker's defaults make it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


@dataclass(frozen=True, slots=True)
class ProcessSpec:
    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str
    tty: bool


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


def runtime_spec(
    process: ProcessSpec,
    *,
    rootfs: str,
    hostname: str,
    netns_path: str | None,
    extra_mounts: list[dict[str, Any]],
) -> dict[str, Any]:
    """The whole ``config.json``. ``netns_path=None`` shares the daemon's namespace (host)."""
    namespaces: list[dict[str, str]] = [{"type": t} for t in ("pid", "ipc", "uts", "mount")]
    if netns_path is not None:
        namespaces.append({"type": "network", "path": netns_path})
    caps = list(CAPABILITIES)
    mounts = [
        _mount("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
        _mount("/dev", "tmpfs", "tmpfs", ["nosuid", "strictatime", "mode=755", "size=65536k"]),
        _mount(
            "/dev/pts", "devpts", "devpts", ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]
        ),
        _mount("/dev/shm", "tmpfs", "shm", ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]),
        _mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        _mount("/sys", "sysfs", "sysfs", ["nosuid", "noexec", "nodev", "ro"]),
        *extra_mounts,
    ]
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": process.tty,
            "user": {"uid": 0, "gid": 0},
            "args": list(process.args),
            "env": list(process.env),
            "cwd": process.cwd,
            "capabilities": {"bounding": caps, "effective": caps, "permitted": caps},
            "noNewPrivileges": False,
        },
        "root": {"path": rootfs, "readonly": False},
        "hostname": hostname,
        "mounts": mounts,
        "linux": {
            "namespaces": namespaces,
            "maskedPaths": MASKED_PATHS,
            "readonlyPaths": READONLY_PATHS,
        },
    }
