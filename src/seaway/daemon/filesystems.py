"""Containers' files: their mounts (binds, volumes, tmpfs; VolumesFrom), their file
trees for ``docker cp``, ``docker diff`` and ``docker commit``.

Owned by the container manager (``Containers.fs``), whose records and lock it uses: a
stopped container's root filesystem is mounted for the while under that lock, so a
start cannot race the unmount.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from seaway.errors import InvalidParameter, Unsupported
from seaway.model import mounts as mountspec
from seaway.model.container import Container, ContainerSpec
from seaway.model.ids import new_id
from seaway.model.mounts import MountSpec
from seaway.runtime import archive, rootfs
from seaway.runtime import spec as ocispec
from seaway.runtime.images import Image, ImageStore
from seaway.runtime.volumes import VolumeStore


class Filesystems:
    def __init__(
        self,
        data_root: Path,
        images: ImageStore,
        lookup: Callable[[str], Container],
        every: Callable[[], Iterable[Container]],
        lock: threading.RLock,
    ) -> None:
        self._data_root = data_root
        self.images = images
        self.volumes = VolumeStore(data_root / "volumes")
        self._lookup = lookup
        self._every = every
        self._lock = lock

    def dir(self, container_id: str) -> Path:
        return self._data_root / "containers" / container_id

    # ------------------------------------------------------------- mounts

    def plan_mounts(self, spec: ContainerSpec) -> tuple[MountSpec, ...]:
        """Anonymous volumes named, VolumesFrom's mounts copied in, every volume made (as
        Docker does at create, so inspect and ``volume ls`` show them)."""
        planned = [replace(m, source=new_id()) if m.type == "volume" and not m.source else m for m in spec.mounts]
        taken = {m.target for m in planned}
        for text in spec.volumes_from:
            name, mode = mountspec.parse_volumes_from(text)
            other = self._lookup(name)
            for m in other.spec.mounts:
                if m.target in taken or m.type == "tmpfs":
                    continue
                read_only = m.read_only if not mode else mode == "ro"
                planned.append(replace(m, read_only=read_only, from_binds=False, from_container=other.id))
                taken.add(m.target)
        image = self.images.get(spec.image)
        for m in planned:
            if m.type == "volume":
                _, made = self.volumes.ensure(
                    m.source, dict(m.labels), driver=spec.volume_driver, anonymous=m.anonymous
                )
                if made:
                    rootfs.copy_up(self.images.rootfs(image), m.target, self.volumes.path(m.source))
        return tuple(planned)

    def oci_mount(self, m: MountSpec) -> dict[str, Any]:
        """The OCI mount of one of a container's mounts (at its start)."""
        if m.type == "tmpfs":
            return ocispec.tmpfs(m.target, ["nosuid", "nodev", "noexec", *([m.mode] if m.mode else [])])
        if m.type == "volume":
            source = self.volumes.path(m.source)
            if not source.is_dir():  # removed by hand meanwhile: Docker makes it again
                self.volumes.ensure(m.source, dict(m.labels), anonymous=m.anonymous)
        else:
            source = Path(m.source)
            if not source.exists():
                if not m.from_binds:
                    raise InvalidParameter(
                        f'invalid mount config for type "bind": bind source path does not exist: {m.source}'
                    )
                source.mkdir(parents=True, exist_ok=True)  # -v /path:... makes it, as Docker
        mount = ocispec.bind(m.target, str(source), readonly=m.read_only)
        mount["options"].append(m.propagation or "rprivate")
        return mount

    def mount_points(self, ctr: Container) -> list[tuple[MountSpec, str]]:
        """Each mount with its host directory (inspect's Mounts)."""
        return [(m, str(self.volumes.path(m.source)) if m.type == "volume" else m.source) for m in ctr.spec.mounts]

    def volume_users(self, name: str) -> list[str]:
        """The containers that mount the volume ``name``."""
        return [c.id for c in self._every() if any(m.type == "volume" and m.source == name for m in c.spec.mounts)]

    def remove_anonymous(self, ctr: Container) -> None:
        """The container's own anonymous volumes, unless another container mounts them."""
        for m in ctr.spec.mounts:
            if m.type == "volume" and m.anonymous and not m.from_container and not self.volume_users(m.source):
                with contextlib.suppress(Exception):
                    self.volumes.remove(m.source)

    # ------------------------------------------------------------- file trees

    def _image(self, ctr: Container, what: str) -> Image:
        image = self.images.get(ctr.image_id)
        if image.is_host:
            raise Unsupported(f"{what} is not supported for seaway/host containers")
        return image

    @contextlib.contextmanager
    def _mounted(self, ctr: Container, image: Image) -> Iterator[Path]:
        """The container's merged root filesystem, mounted for the while if it is stopped."""
        with self._lock:
            rootfs.prepare(self.dir(ctr.id), image, self.images.rootfs(image), [self._data_root])
            try:
                yield self.dir(ctr.id) / "rootfs"
            finally:
                if not ctr.running:
                    rootfs.release(self.dir(ctr.id))

    @contextlib.contextmanager
    def files(self, term: str) -> Iterator[archive.Root]:
        """The container's file tree while the caller reads or writes it: a running
        container's own view, else its root filesystem with its volumes and binds over it."""
        ctr = self._lookup(term)
        if ctr.running and ctr.state.pid:
            yield archive.Root(Path(f"/proc/{ctr.state.pid}/root"))
            return
        with self._mounted(ctr, self._image(ctr, "copying files of a stopped container")) as tree:
            mounted = {m.target: Path(src) for m, src in self.mount_points(ctr) if m.type != "tmpfs"}
            yield archive.Root(tree, mounted)

    def changes(self, term: str) -> list[tuple[str, int]]:
        """``docker diff``: paths its writable layer added, changed or deleted."""
        ctr = self._lookup(term)
        image = self._image(ctr, "docker diff")
        points = tuple(m.target for m in ctr.spec.mounts) + tuple(ctr.spec.process.tmpfs)
        return rootfs.changes(self.dir(ctr.id), self.images.rootfs(image), points)

    def commit(self, term: str, tag: str, comment: str, cmd: list[str] | None, env: list[str] | None) -> Image:
        """``docker commit``: an image of the container's root filesystem as it is now (its
        volumes and binds left out, as Docker does), with its command and environment."""
        ctr = self._lookup(term)
        image = self._image(ctr, "docker commit")
        own_cmd = list(ctr.spec.entrypoint) + list(ctr.spec.cmd or (image.cmd if not ctr.spec.entrypoint else []))
        merged_env = list(dict.fromkeys([*image.env, *ctr.spec.env]))
        with self._mounted(ctr, image) as tree:
            return self.images.commit(
                tree, tag, comment, cmd if cmd is not None else own_cmd, env if env is not None else merged_env,
                rootfs.RUNTIME_PATHS,
            )  # fmt: skip
