"""Images: root filesystems imported from tarballs (``docker import``), and the built-in
``seaway/host`` image, which shows the host's own programs read-only.

An imported image is its extracted rootfs under ``<data-root>/images/<id>/rootfs`` plus
a record (ID, tags, creation time, size, default command and environment). Image IDs are
``sha256:`` + the hash of the image's configuration, which includes its creation time,
so importing the same tarball twice gives two images, as Docker does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import tarfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from seaway.errors import Conflict, InvalidParameter, NotFound
from seaway.runtime.reference import familiar

HOST_IMAGE = "seaway/host:latest"
HOST_IMAGE_ID = "sha256:" + hashlib.sha256(b"seaway/host").hexdigest()
#: top-level host directories the host image shows (each as an overlay: read-only below,
#: writable above); the rest of its root is a fresh writable directory with /tmp a tmpfs
HOST_DIRS = ("usr", "etc", "opt", "root", "srv", "home")


@dataclass(slots=True)
class Image:
    id: str
    repo_tags: list[str]
    created: str
    size: int
    cmd: list[str] = field(default_factory=list)
    env: list[str] = field(default_factory=list)
    comment: str = ""

    @property
    def is_host(self) -> bool:
        return self.id == HOST_IMAGE_ID


def normalize_tag(reference: str) -> str:
    """``busybox`` -> ``busybox:latest``; a digest or an ID is returned as given."""
    if not reference or "@" in reference:
        return reference
    last = reference.rsplit("/", 1)[-1]
    name, tag = reference.rsplit(":", 1) if ":" in last else (reference, "latest")
    return f"{familiar(name)}:{tag}"


class ImageStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._images: dict[str, Image] = {HOST_IMAGE_ID: self._host_image()}
        for meta in root.glob("*/image.json"):
            image = Image(**json.loads(meta.read_text()))
            self._images[image.id] = image

    @staticmethod
    def _host_image() -> Image:
        return Image(
            id=HOST_IMAGE_ID,
            repo_tags=[HOST_IMAGE],
            created="2026-01-01T00:00:00Z",
            size=0,
            cmd=["/bin/sh"],
            comment="the host's own programs, read-only, with a writable overlay",
        )

    def list(self) -> list[Image]:
        return sorted(self._images.values(), key=lambda i: i.created, reverse=True)

    def get(self, reference: str) -> Image:
        """By tag, full ID (with or without ``sha256:``) or unique ID prefix."""
        tag = normalize_tag(reference)
        for image in self._images.values():
            if tag in image.repo_tags:
                return image
        bare = reference.removeprefix("sha256:")
        matches = [i for i in self._images.values() if bare and i.id.removeprefix("sha256:").startswith(bare)]
        if len(matches) == 1 and len(bare) >= 1 and all(c in "0123456789abcdef" for c in bare):
            return matches[0]
        raise NotFound(f"No such image: {tag if tag and not reference.startswith('sha256:') else reference}")

    def rootfs(self, image: Image) -> Path:
        return self.root / image.id.removeprefix("sha256:") / "rootfs"

    def import_tar(self, stream: IO[bytes], tag: str, message: str = "") -> Image:
        """Extract a rootfs tarball (plain or compressed) into a new image."""
        created = datetime.now(UTC).isoformat()
        staging = self.root / f".import-{hashlib.sha256(created.encode()).hexdigest()[:12]}"
        rootfs = staging / "rootfs"
        rootfs.mkdir(parents=True)
        digest = hashlib.sha256()
        try:
            reader = _HashingReader(stream, digest)
            try:
                with tarfile.open(fileobj=reader, mode="r|*") as archive:
                    archive.extractall(rootfs, filter="tar")
            except (tarfile.TarError, EOFError, OSError) as exc:
                raise InvalidParameter(f"import image: not a valid tar archive: {exc}") from None
            config = {"created": created, "layer": digest.hexdigest(), "comment": message}
            image_id = "sha256:" + hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
            tags = [normalize_tag(tag)] if tag else []
            image = Image(id=image_id, repo_tags=tags, created=created, size=reader.count, comment=message)
            final = self.root / image_id.removeprefix("sha256:")
            staging.rename(final)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._add(image, tags)
        return image

    def commit(
        self, tree: Path, tag: str, comment: str, cmd: list[str], env: list[str], leave_out: tuple[str, ...] = ()
    ) -> Image:
        """``docker commit``: a new image whose root filesystem is a copy of ``tree`` (a
        container's merged view), without the paths in ``leave_out`` (the runtime's own)."""
        created = datetime.now(UTC).isoformat()
        staging = self.root / f".commit-{hashlib.sha256(created.encode()).hexdigest()[:12]}"
        rootfs = staging / "rootfs"
        try:
            shutil.copytree(tree, rootfs, symlinks=True, ignore=_special_files)
            for path in leave_out:
                target = rootfs / path.lstrip("/")
                if target.is_file() and not target.is_symlink() and target.stat().st_size == 0:
                    target.unlink()
            size = sum(p.lstat().st_size for p in rootfs.rglob("*") if p.is_file() and not p.is_symlink())
            config = {"created": created, "cmd": cmd, "env": env, "comment": comment, "size": size}
            image_id = "sha256:" + hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()
            tags = [normalize_tag(tag)] if tag else []
            image = Image(id=image_id, repo_tags=tags, created=created, size=size, cmd=cmd, env=env, comment=comment)
            staging.rename(self.root / image_id.removeprefix("sha256:"))
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        self._add(image, tags)
        return image

    def _add(self, image: Image, tags: list[str]) -> None:
        for other in self._images.values():  # a tag moves to the newest image
            if tags and tags[0] in other.repo_tags:
                other.repo_tags.remove(tags[0])
                self._save(other)
        self._images[image.id] = image
        self._save(image)

    def _save(self, image: Image) -> None:
        if image.is_host:
            return
        path = self.root / image.id.removeprefix("sha256:") / "image.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(image)))
        tmp.replace(path)

    def tag(self, reference: str, target: str) -> Image:
        """Add the name ``target`` (normalized ``repo:tag``) to an image; the name leaves
        the image that had it (``docker tag``)."""
        image = self.get(reference)
        if image.is_host and target != HOST_IMAGE:
            raise Conflict(f"conflict: {HOST_IMAGE} is built into Seaway and cannot be tagged")
        for other in self._images.values():
            if other is not image and target in other.repo_tags:
                other.repo_tags.remove(target)
                self._save(other)
        if target not in image.repo_tags:
            image.repo_tags.append(target)
            self._save(image)
        return image

    def remove(self, reference: str, users: list[tuple[str, bool]], force: bool) -> list[dict[str, str]]:
        """``docker rmi``: by name, untag (and delete the image with its last name); by ID,
        delete. ``users`` are the containers made from it, as (ID, running). Docker's
        ``[{"Untagged": …}, {"Deleted": …}]`` answer and conflict texts."""
        image = self.get(reference)
        short = image.id.removeprefix("sha256:")[:12]
        if image.is_host:
            raise Conflict(f"conflict: unable to remove {HOST_IMAGE}: it is built into Seaway")
        name = normalize_tag(reference)
        by_name = name in image.repo_tags
        if by_name and len(image.repo_tags) > 1:
            image.repo_tags.remove(name)
            self._save(image)
            return [{"Untagged": name}]
        running = [cid for cid, up in users if up]
        if by_name:
            if users and not force:
                raise Conflict(
                    f'conflict: unable to remove repository reference "{reference}" (must force) - container '
                    f"{users[0][0][:12]} is using its referenced image {short}"
                )
            if running:  # forced: the name goes, the image stays for the running container
                image.repo_tags.remove(name)
                self._save(image)
                return [{"Untagged": name}]
        else:
            if len(image.repo_tags) > 1 and not force:
                raise Conflict(
                    f"conflict: unable to delete {short} (must be forced) - image is referenced in multiple repositories"
                )
            if running:
                raise Conflict(
                    f"conflict: unable to delete {short} (cannot be forced) - image is being used by running "
                    f"container {running[0][:12]}"
                )
            if users and not force:
                raise Conflict(
                    f"conflict: unable to delete {short} (must be forced) - image is being used by stopped "
                    f"container {users[0][0][:12]}"
                )
        answer = [{"Untagged": t} for t in image.repo_tags]
        shutil.rmtree(self.root / image.id.removeprefix("sha256:"), ignore_errors=True)
        del self._images[image.id]
        answer.append({"Deleted": image.id})
        return answer


def _special_files(directory: str, names: list[str]) -> list[str]:
    """Sockets, pipes and device nodes are not copied into an image."""
    out = []
    for name in names:
        mode = os.lstat(os.path.join(directory, name)).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            out.append(name)
    return out


class _HashingReader:
    """A file-like wrapper that hashes and counts what passes through."""

    def __init__(self, stream: IO[bytes], digest: hashlib._Hash) -> None:
        self._stream = stream
        self._digest = digest
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._digest.update(data)
        self.count += len(data)
        return data
