"""Network namespaces as files: create, enter on a throwaway thread, remove.

``setns(2)`` changes only the calling thread, so this module never calls it on a thread
it keeps: ``run(path, fn, *args)`` runs ``fn`` on a fresh thread that has entered the
namespace, and that thread ends with it. Sockets created inside ``fn`` stay in that
namespace and may be used from any thread afterwards (that is how the engine drives a
sandbox's links from the host side).

A namespace file is a bind mount of ``/proc/self/task/<tid>/ns/net`` taken by a thread
that has just called ``unshare(CLONE_NEWNET)``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from pyroute2 import IPRoute

from seaway.kernel.errors import translating

T = TypeVar("T")

#: an rtnetlink socket bound to one namespace (layers above use this name, not pyroute2's)
RouteSocket = IPRoute

CLONE_NEWNET = 0x40000000
MS_BIND = 4096
MNT_DETACH = 2

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def run(path: str | None, fn: Callable[..., T], *args: Any) -> T:
    """Run ``fn(*args)`` on a fresh thread inside the namespace at ``path``.

    With ``path=None`` the thread stays in the caller's namespace.
    """
    box: dict[str, Any] = {}

    def body() -> None:
        try:
            if path is not None:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
                try:
                    _check(_libc.setns(fd, CLONE_NEWNET), f"setns {path}")
                finally:
                    os.close(fd)
            box["value"] = fn(*args)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=body, name="seaway-netns")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def unshare_net() -> None:
    """Move the calling thread into a new, empty namespace (nothing pins it: it goes
    away with the thread). For threads started by ``run(None, ...)`` only."""
    _check(_libc.unshare(CLONE_NEWNET), "unshare")


def create(path: Path, init: Callable[[], None] | None = None) -> None:
    """Create a new, empty network namespace and pin it at ``path``; ``init`` runs inside
    it on the same thread (a sandbox's loopback: no second thread and ``setns``)."""

    def body() -> None:
        unshare_net()
        source = f"/proc/self/task/{threading.get_native_id()}/ns/net".encode()
        _check(_libc.mount(source, str(path).encode(), None, MS_BIND, None), "bind mount")
        if init is not None:
            init()

    with translating("create network namespace", str(path)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
        try:
            run(None, body)
        except BaseException:
            remove(path)  # pinned already if ``init`` failed
            raise


def is_pinned(path: Path) -> bool:
    """A namespace is mounted at ``path`` (not just an empty file left by a crash)."""
    return _is_nsfs(path)


def _is_nsfs(path: Path) -> bool:
    NSFS_MAGIC = 0x6E736673
    buf = (ctypes.c_long * 32)()
    if _libc.statfs(str(path).encode(), buf) != 0:
        return False
    return buf[0] == NSFS_MAGIC


def remove(path: Path) -> None:
    """Unpin and delete a namespace file; a missing one counts as removed."""
    with translating("remove network namespace", str(path)):
        if not path.exists():
            return
        if _is_nsfs(path):
            _check(_libc.umount2(str(path).encode(), MNT_DETACH), f"umount {path}")
        path.unlink(missing_ok=True)


def route_socket(path: str | None, *, strict: bool = False) -> IPRoute:
    """An rtnetlink socket bound inside the namespace at ``path`` (None: this one).

    ``strict`` sets NETLINK_GET_STRICT_CHK, so dumps are filtered by the kernel."""
    with translating("open netlink socket in", path or "host namespace"):
        return run(path, lambda: IPRoute(strict_check=strict))


def pin_self(path: Path) -> None:
    """Bind-mount the calling thread's namespace at ``path`` (idempotent)."""
    if _is_nsfs(path):
        return
    with translating("pin network namespace", str(path)):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
        source = f"/proc/self/task/{threading.get_native_id()}/ns/net".encode()
        _check(_libc.mount(source, str(path).encode(), None, MS_BIND, None), "bind mount")


def same_namespace(a: str, b: str) -> bool:
    try:
        sa, sb = os.stat(a), os.stat(b)
    except FileNotFoundError:
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


@contextmanager
def entered(path: str) -> Iterator[None]:
    """Move the *calling* thread into the namespace at ``path`` for a block, then back.

    For test beds and demos that drive an engine in-process from their main thread; if
    the way back fails the process is in an unknown state, so that raises loudly.
    """
    own = os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        target = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _check(_libc.setns(target, CLONE_NEWNET), f"setns {path}")
        finally:
            os.close(target)
        try:
            yield
        finally:
            _check(_libc.setns(own, CLONE_NEWNET), "setns back to the original namespace")
    finally:
        os.close(own)


def enter_for_good(path: str) -> None:
    """Move the calling thread into the namespace at ``path`` with no way back: only for
    a freshly forked, single-threaded process that will live there (a lab's daemon)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.setns(fd, CLONE_NEWNET), f"setns {path}")
    finally:
        os.close(fd)


def set_process_name(name: str) -> None:
    """The name ``ps -o comm`` and /proc/PID/comm show for the calling thread (15 bytes)."""
    PR_SET_NAME = 15
    _libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
