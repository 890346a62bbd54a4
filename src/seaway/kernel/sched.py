"""How the kernel's scheduler treats one thread: its policy and its name.

A thread that wakes for tens of microseconds at a time (the embedded DNS's) still waits
for its CPU while another program runs there, for up to that program's time slice:
milliseconds, the whole tail of a DNS answer on a busy machine. A SCHED_FIFO thread
preempts every fair-class (SCHED_OTHER) one the moment it wakes. ``SCHED_RESET_ON_FORK``
keeps threads it starts (an executor's) out of the real-time class.

The kernel bounds the real-time class as a whole (``kernel.sched_rt_runtime_us``, by
default 95% of each second); callers bound their own use (``seaway.resolver.priority``).
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

#: the lowest real-time priority: above every fair thread, below every other real-time one
FIFO_PRIORITY = 1
_PR_SET_NAME = 15
_POLICIES = {0: "other", 1: "fifo", 2: "rr", 3: "batch", 5: "idle", 6: "deadline"}

_libc = ctypes.CDLL(None, use_errno=True)


def set_realtime(on: bool) -> None:
    """The calling thread into SCHED_FIFO at ``FIFO_PRIORITY`` (``on``) or back to
    SCHED_OTHER. OSError (EPERM without CAP_SYS_NICE, or in a cgroup with no
    real-time budget) when the kernel refuses."""
    if on:
        os.sched_setscheduler(0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(FIFO_PRIORITY))
    else:
        os.sched_setscheduler(0, os.SCHED_OTHER | os.SCHED_RESET_ON_FORK, os.sched_param(0))


def name_thread(name: str) -> None:
    """Name the calling thread as ``ps -L``, ``top -H`` and ``/proc/PID/task/TID/comm``
    show it (at most 15 bytes are kept)."""
    _libc.prctl(_PR_SET_NAME, name.encode()[:15], 0, 0, 0)


def threads(pid: int) -> dict[int, tuple[str, str]]:
    """Thread ID -> (name, scheduling policy: ``other``, ``fifo``, …) of process ``pid``."""
    out: dict[int, tuple[str, str]] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        out[int(task.name)] = (name, _POLICIES.get(int(fields[38]), fields[38]))  # field 41: policy
    return out
