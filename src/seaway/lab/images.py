"""A busybox root filesystem tarball, built offline from Debian's busybox-static, for
``docker import`` on lab hosts and in tests (no registry is needed)."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

from seaway.kernel import process

BUSYBOX = "/bin/busybox"


def busybox_rootfs_tar(target: Path) -> Path:
    """Write ``target`` (a .tar): /bin/busybox, a symlink per applet, and empty /etc, /tmp."""
    busybox = shutil.which("busybox") or BUSYBOX
    applets = process.run(None, [busybox, "--list"]).stdout.split()
    with tarfile.open(target, "w") as tar:
        for directory in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "var"):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if directory == "tmp" else 0o755
            tar.addfile(info)
        tar.add(busybox, arcname="bin/busybox")
        for applet in applets:
            if applet == "busybox":
                continue
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
        passwd = b"root:x:0:0:root:/root:/bin/sh\n"
        info = tarfile.TarInfo("etc/passwd")
        info.size = len(passwd)
        tar.addfile(info, io.BytesIO(passwd))
    return target
