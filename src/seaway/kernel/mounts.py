"""Mounts for container root filesystems (overlay) and their removal."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from pathlib import Path

from seaway.kernel.errors import translating

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
MNT_DETACH = 2


def mount_overlay(target: Path, lower: list[Path], upper: Path, work: Path) -> None:
    """Mount an overlay of ``lower`` (first is topmost) with a writable ``upper``."""
    data = f"lowerdir={':'.join(str(p) for p in lower)},upperdir={upper},workdir={work}"
    with translating("mount overlay on", str(target)):
        for path in (target, upper, work):
            path.mkdir(parents=True, exist_ok=True)
        if _libc.mount(b"overlay", str(target).encode(), b"overlay", 0, data.encode()) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))


def is_mounted(target: Path) -> bool:
    try:
        return os.path.ismount(target)
    except OSError:
        return False


def unmount(target: Path) -> None:
    """Lazily unmount ``target``; not mounted counts as done."""
    if not is_mounted(target):
        return
    with translating("unmount", str(target)):
        if _libc.umount2(str(target).encode(), MNT_DETACH) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))


def mounted_under(root: Path) -> list[Path]:
    """Mount points below ``root`` in this mount namespace, deepest first (to unmount)."""
    prefix = str(root).rstrip("/") + "/"
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix):
                found.append(Path(point))
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)
