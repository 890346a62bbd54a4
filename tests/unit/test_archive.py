"""Paths inside a container's root (docker cp): links stay inside it; mounts are laid over it."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path, PurePosixPath

import pytest

from seaway.errors import InvalidParameter, NotFound
from seaway.runtime import archive


def test_links_resolve_inside_the_root(tmp_path: Path) -> None:
    base = tmp_path / "root"
    (base / "etc").mkdir(parents=True)
    (base / "etc" / "passwd").write_text("inside\n")
    os.symlink("/etc/passwd", base / "abs")
    os.symlink("../../../../etc", base / "etc" / "up")
    root = archive.Root(base)
    assert archive.resolve(root, "/abs") == PurePosixPath("/etc/passwd")
    assert archive.resolve(root, "/etc/up/passwd") == PurePosixPath("/etc/passwd")
    assert archive.resolve(root, "/abs", follow_last=False) == PurePosixPath("/abs")
    out = io.BytesIO()
    archive.write_tar(root, "/abs/", "c1", out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        assert tar.extractfile("abs").read() == b"inside\n"  # type: ignore[union-attr]


def test_mounts_lie_over_the_root_and_bad_targets_are_refused(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "vol").mkdir()
    (tmp_path / "root" / "file").write_text("x")
    root = archive.Root(tmp_path / "root", {"/data": tmp_path / "vol"})
    archive.extract_tar(root, "/data", "c1", io.BytesIO(_tar("new", b"y")))
    assert (tmp_path / "vol" / "new").read_text() == "y"
    with pytest.raises(InvalidParameter, match="extraction point is not a directory"):
        archive.extract_tar(root, "/file", "c1", io.BytesIO(_tar("z", b"")))
    with pytest.raises(NotFound, match="Could not find the file /missing in container c1"):
        archive.path_stat(root, "/missing", "c1")
    with pytest.raises(InvalidParameter, match="Error processing tar file"):
        archive.extract_tar(root, "/data", "c1", io.BytesIO(_tar("../escape", b"no")))
    assert not (tmp_path / "escape").exists()


def _tar(name: str, data: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_detach_keys_are_swallowed_and_partial_matches_passed_on() -> None:
    from seaway.daemon.api import streams

    fed: list[bytes] = []
    detached: list[bool] = []

    class Sink:
        def feed(self, data: bytes) -> None:
            fed.append(data)

        def close(self) -> None:
            pass

    sink = streams.DetachingStdin(Sink(), streams.parse_detach_keys("ctrl-p,ctrl-q"), lambda: detached.append(True))
    sink.feed(b"a\x10b")  # ctrl-p then not ctrl-q: both pass on
    sink.feed(b"c\x10")
    sink.feed(b"\x11ignored")
    assert b"".join(fed) == b"a\x10bc" and detached == [True]
    assert streams.parse_detach_keys("ctrl-@,x,ctrl-\\") == b"\x00x\x1c"
    with pytest.raises(InvalidParameter, match=r"Invalid detach keys \(ctrl-12\) provided"):
        streams.parse_detach_keys("ctrl-12")
