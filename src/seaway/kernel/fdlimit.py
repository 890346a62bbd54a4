"""File descriptors: how many the daemon has open, against its limit.

Each running container costs seawayd descriptors (the embedded DNS's UDP and TCP
sockets in its namespace, the monitor's pipes), and each published host port one held
socket. Running out shows as odd failures far from the cause ("Too many open files" in
a DNS listener), so starts are refused earlier, with a message that says what to change.
"""

from __future__ import annotations

import os
import resource

from seaway.errors import Unavailable

#: descriptors kept free for what one more container and its requests need
HEADROOM = 64


def usage() -> tuple[int, int]:
    """(descriptors open in this process, the soft limit)."""
    return open_count(), resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def open_count() -> int:
    """Descriptors open in this process, at a constant cost: since Linux 6.2 the size
    of ``/proc/self/fd`` is that count, taken from the descriptor bitmap (listing the
    directory took milliseconds with 10,000 held ports, on every sandbox create).
    Older kernels say 0 there; then the directory is listed."""
    size = os.stat("/proc/self/fd").st_size
    return size if size > 0 else len(os.listdir("/proc/self/fd"))


def check_headroom(what: str, headroom: int = HEADROOM) -> None:
    used, limit = usage()
    if limit != resource.RLIM_INFINITY and used + headroom > limit:
        raise Unavailable(
            f"cannot {what}: seawayd has {used} of its {limit} file descriptors open and keeps {headroom} "
            f"in reserve; raise its open-files limit (LimitNOFILE= in the service unit, or ulimit -n "
            f"before starting seawayd), or stop containers"
        )


def raise_limit() -> int:
    """Raise the soft open-files limit to the hard one (at start: every held published
    port and every container costs descriptors); return the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard
