"""Files in and out of a container (``docker cp``, ``/containers/{id}/archive``): a path
resolved inside the container's root as the container would resolve it, its stat in
Docker's shape, a tar of it, a tar extracted into a directory.

A running container's root is ``/proc/<pid>/root`` (its mounts included); a stopped
one's is its root filesystem with its volumes and binds laid over it (``Root``). Links
are followed inside that root, never out of it (an absolute link starts again at the
container's ``/``), as Docker's ``FollowSymlinkInScope`` does.
"""

from __future__ import annotations

import os
import stat as st
import tarfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO

from seaway.errors import InvalidParameter, NotFound

MAX_LINKS = 255


@dataclass(frozen=True, slots=True)
class Root:
    """A container's file tree: ``base`` plus directories mounted at container paths."""

    base: Path
    #: container path -> host directory (volumes and binds of a stopped container)
    mounts: dict[str, Path] = field(default_factory=dict)

    def host_path(self, inside: PurePosixPath) -> Path:
        """Where a resolved container path lives on the host (the deepest mount wins)."""
        text = str(inside)
        for point in sorted(self.mounts, key=len, reverse=True):
            if text == point or text.startswith(point.rstrip("/") + "/"):
                rest = text[len(point) :].lstrip("/")
                return self.mounts[point] / rest if rest else self.mounts[point]
        return self.base / text.lstrip("/")


def resolve(root: Root, path: str, follow_last: bool = True) -> PurePosixPath:
    """``path`` as the container resolves it (links followed inside its root)."""
    todo = list(PurePosixPath("/", path).parts[1:])
    done = PurePosixPath("/")
    links = 0
    while todo:
        part = todo.pop(0)
        if part in (".", ""):
            continue
        if part == "..":
            done = done.parent
            continue
        candidate = done / part
        host = root.host_path(candidate)
        if host.is_symlink() and (todo or follow_last):
            links += 1
            if links > MAX_LINKS:
                raise InvalidParameter(f"too many links in {path}")
            target = PurePosixPath(os.readlink(host))
            if target.is_absolute():
                done = PurePosixPath("/")
            todo = list(target.parts[1:] if target.is_absolute() else target.parts) + todo
            continue
        done = candidate
    return done


def _missing(path: str, container: str) -> NotFound:
    return NotFound(f"Could not find the file {path} in container {container}")


def path_stat(root: Root, path: str, container: str) -> dict[str, object]:
    """Docker's ``X-Docker-Container-Path-Stat``: name, size, mode (Go's bits), mtime, link target."""
    inside = resolve(root, path, follow_last=False)
    host = root.host_path(inside)
    try:
        info = os.lstat(host)
    except FileNotFoundError:
        raise _missing(path, container) from None
    link = ""
    if st.S_ISLNK(info.st_mode):
        link = str(resolve(root, path))
    return {
        "name": PurePosixPath(path).name or "/",
        "size": info.st_size,
        "mode": _go_mode(info.st_mode),
        "mtime": datetime.fromtimestamp(info.st_mtime, UTC).isoformat().replace("+00:00", "Z"),
        "linkTarget": link,
    }


def _go_mode(mode: int) -> int:
    """Go's os.FileMode bits, which Docker's stat header carries."""
    bits = st.S_IMODE(mode) & 0o777
    kinds = {st.S_IFDIR: 1 << 31, st.S_IFLNK: 1 << 27, st.S_IFIFO: 1 << 25, st.S_IFSOCK: 1 << 24}
    bits |= kinds.get(st.S_IFMT(mode), 0)
    if st.S_ISCHR(mode):
        bits |= (1 << 26) | (1 << 21)
    if st.S_ISBLK(mode):
        bits |= 1 << 26
    if mode & st.S_ISUID:
        bits |= 1 << 23
    if mode & st.S_ISGID:
        bits |= 1 << 22
    if mode & st.S_ISVTX:
        bits |= 1 << 20
    return bits


def write_tar(root: Root, path: str, container: str, out: IO[bytes]) -> None:
    """A tar of ``path`` (a directory with what is below it), named by its last part."""
    inside = resolve(root, path, follow_last=path.endswith("/"))  # a link itself, unless path/
    host = root.host_path(inside)
    if not os.path.lexists(host):
        raise _missing(path, container)
    name = PurePosixPath(path.rstrip("/")).name or "."
    with tarfile.open(fileobj=out, mode="w|") as tar:
        tar.add(str(host), arcname=name, recursive=True)


def extract_tar(root: Root, path: str, container: str, data: IO[bytes]) -> None:
    """Unpack a tar into the directory ``path`` (which must exist), nothing outside it."""
    inside = resolve(root, path)
    host = root.host_path(inside)
    if not host.exists():
        raise _missing(path, container)
    if not host.is_dir():
        raise InvalidParameter("extraction point is not a directory")
    try:
        with tarfile.open(fileobj=data, mode="r|*") as tar:
            tar.extractall(str(host), filter="tar", numeric_owner=True)
    except (tarfile.TarError, OSError) as exc:
        raise InvalidParameter(f"Error processing tar file({exc})") from None
