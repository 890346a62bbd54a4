"""The busybox rootfs tarball for ``docker import`` (lives in seaway.lab, which labs use too)."""

from seaway.lab.images import busybox_rootfs_tar

__all__ = ["busybox_rootfs_tar"]
