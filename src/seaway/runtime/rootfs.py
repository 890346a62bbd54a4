"""A container's root filesystem: an overlay of its image, or the host-image skeleton.

Layout under ``<data-root>/containers/<id>/``: ``rootfs`` (the mount point, or for the
host image a plain writable directory), ``upper/`` and ``work/`` (the overlay's writable
layer), ``hostname``, ``hosts``, ``resolv.conf`` (bind-mounted into the container) and
``ctr.log`` (written by conmon).
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

from seaway.errors import InvalidParameter, Unsupported
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


#: the init programs ``--init`` may use, first found wins (Docker's own, then tini's)
INIT_PROGRAMS = ("/usr/bin/docker-init", "/usr/bin/tini-static", "/usr/sbin/docker-init")


def init_program() -> str:
    """The host's static init for ``--init`` (resolved: it is bind-mounted by path)."""
    for candidate in INIT_PROGRAMS:
        path = Path(candidate)
        if path.exists():
            return str(path.resolve())
    raise Unsupported("--init needs docker-init or tini-static (Debian package tini), and neither is installed")


def _entries(path: Path) -> list[list[str]]:
    try:
        return [line.split(":") for line in path.read_text().splitlines() if line and not line.startswith("#")]
    except OSError:
        return []


def resolve_user(root: Path, user: str, group_add: tuple[str, ...]) -> tuple[int, int, tuple[int, ...]]:
    """Config.User (``name|uid[:group|gid]``) and GroupAdd against the image's /etc/passwd
    and /etc/group, as Docker resolves them: uid, gid and the supplementary groups."""
    passwd, groups = _entries(root / "etc" / "passwd"), _entries(root / "etc" / "group")
    name, _, group = (user or "0").partition(":")
    entry = next((e for e in passwd if len(e) > 3 and (e[0] == name or e[2] == name)), None)
    if entry is not None:
        uid, gid, login = int(entry[2]), int(entry[3]), entry[0]
    elif name.isdigit():
        uid, gid, login = int(name), 0, ""
    else:
        raise InvalidParameter(f"unable to find user {name}: no matching entries in passwd file")
    if group:
        gid = _group_id(groups, group)
    extra = [int(e[2]) for e in groups if len(e) > 3 and login and login in e[3].split(",")]
    extra += [_group_id(groups, g) for g in group_add]
    return uid, gid, tuple(dict.fromkeys(g for g in extra if g != gid))


def _group_id(groups: list[list[str]], group: str) -> int:
    entry = next((e for e in groups if len(e) > 2 and (e[0] == group or e[2] == group)), None)
    if entry is not None:
        return int(entry[2])
    if group.isdigit():
        return int(group)
    raise InvalidParameter(f"unable to find group {group}: no matching entries in group file")


def copy_up(image_rootfs: Path, target: str, volume: Path) -> None:
    """A new volume starts with what the image has at its mount point (Docker's copy-up)."""
    source = image_rootfs / target.lstrip("/")
    if source.is_dir() and not source.is_symlink() and image_rootfs != Path("/"):
        shutil.copytree(source, volume, symlinks=True, dirs_exist_ok=True)


def layer_size(container_dir: Path) -> int:
    """Bytes in the container's writable layer (what removing it gives back)."""
    return tree_size(container_dir / "upper")


def tree_size(root: Path) -> int:
    """Bytes in the files below ``root`` (links counted as themselves)."""
    total = 0
    for dirpath, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                continue
    return total


#: what ``changes`` reports, by Docker's numbers
MODIFIED, ADDED, DELETED = 0, 1, 2
#: paths the runtime makes in every container (mount points), which Docker keeps in a
#: layer of their own and never reports as changes
RUNTIME_PATHS = ("/proc", "/sys", "/dev", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/sbin/docker-init")


def changes(container_dir: Path, image_rootfs: Path, mount_points: tuple[str, ...] = ()) -> list[tuple[str, int]]:
    """``docker diff``: what the container's writable layer changed, from the overlay's
    upper directory (a whiteout is a deletion; a path the image has is a modification)."""
    upper = container_dir / "upper"
    hidden = set(RUNTIME_PATHS) | set(mount_points)
    found: dict[str, int] = {}
    for dirpath, dirs, files in os.walk(upper):
        for name in dirs + files:
            host = Path(dirpath) / name
            inside = "/" + str(host.relative_to(upper))
            if inside in hidden or any(inside.startswith(h + "/") for h in hidden):
                continue
            info = os.lstat(host)
            if stat.S_ISCHR(info.st_mode) and info.st_rdev == 0:
                found[inside] = DELETED
            else:
                found[inside] = MODIFIED if os.path.lexists(image_rootfs / inside.lstrip("/")) else ADDED
    # a directory that is only there for a hidden path below it is no change
    for path in list(found):
        has_hidden = any(h.startswith(path + "/") for h in hidden)
        if has_hidden and not any(p.startswith(path + "/") for p in found):
            del found[path]
    return sorted(found.items())
