"""A container's root filesystem: an overlay of its image, or the host-image skeleton.

Layout under ``<data-root>/containers/<id>/``: ``rootfs`` (the mount point, or for the
host image a plain writable directory), ``upper/`` and ``work/`` (the overlay's writable
layer), ``hostname``, ``hosts``, ``resolv.conf`` (bind-mounted into the container) and
``ctr.log`` (written by conmon).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from seaway.kernel import mounts
from seaway.runtime import spec
from seaway.runtime.images import HOST_DIRS, Image


def prepare(container_dir: Path, image: Image, image_rootfs: Path, data_roots: list[Path]) -> list[dict[str, Any]]:
    """Make ``container_dir/rootfs`` ready; return the extra OCI mounts it needs."""
    rootfs = container_dir / "rootfs"
    if not image.is_host:
        if not mounts.is_mounted(rootfs):
            mounts.mount_overlay(rootfs, [image_rootfs], container_dir / "upper", container_dir / "work")
        return []
    return _host_skeleton(container_dir, rootfs, data_roots)


def _host_skeleton(container_dir: Path, rootfs: Path, data_roots: list[Path]) -> list[dict[str, Any]]:
    rootfs.mkdir(parents=True, exist_ok=True)
    extra: list[dict[str, Any]] = []
    for entry in os.scandir("/"):
        target = rootfs / entry.name
        if entry.is_symlink():  # merged /usr: bin -> usr/bin and friends
            if not target.is_symlink():
                target.symlink_to(os.readlink(entry.path))
            continue
        if not entry.is_dir():
            continue
        target.mkdir(exist_ok=True)
        # an overlay whose writable layer lies inside its lower directory is refused
        # by the kernel, so a host directory holding Seaway's own data is not shown
        lower = Path("/") / entry.name
        if entry.name in HOST_DIRS and not any(_inside(root, lower) for root in data_roots):
            upper, work = container_dir / "upper" / entry.name, container_dir / "work" / entry.name
            upper.mkdir(parents=True, exist_ok=True)
            work.mkdir(parents=True, exist_ok=True)
            extra.append(spec.overlay(f"/{entry.name}", str(lower), str(upper), str(work)))
    (rootfs / "var" / "tmp").mkdir(parents=True, exist_ok=True)
    extra.append(spec.tmpfs("/tmp"))
    extra.append(spec.tmpfs("/run", ["nosuid", "nodev", "mode=755"]))
    return extra


def _inside(path: Path, directory: Path) -> bool:
    try:
        path.resolve().relative_to(directory.resolve())
        return True
    except ValueError:
        return False


def release(container_dir: Path) -> None:
    mounts.unmount(container_dir / "rootfs")
