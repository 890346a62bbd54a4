"""Translate pyroute2, OSError and nft failures into Seaway's taxonomy, once."""

from __future__ import annotations

import errno as errnos
import os
from collections.abc import Iterator
from contextlib import contextmanager

from pyroute2.netlink.exceptions import NetlinkError

from seaway.errors import KernelError


@contextmanager
def translating(op: str, target: str) -> Iterator[None]:
    """Run a kernel step; a failure becomes ``KernelError("<op> <target>: <reason>")``."""
    try:
        yield
    except NetlinkError as exc:
        raise KernelError(op, target, exc.code, os.strerror(exc.code)) from exc
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise KernelError(op, target, exc.errno, reason) from exc


def is_missing(exc: KernelError) -> bool:
    """The object a step wanted to remove or change is already gone."""
    return exc.errno in (errnos.ENODEV, errnos.ENOENT, errnos.ESRCH, errnos.EADDRNOTAVAIL)


def is_exists(exc: KernelError) -> bool:
    return exc.errno == errnos.EEXIST
