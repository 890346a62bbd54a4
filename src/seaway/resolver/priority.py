"""The resolver thread's place in the scheduler: real-time while it is cheap.

What made the embedded DNS's p99 (milliseconds, against 0.05 ms spent inside the
server) was the resolver's thread waiting for its CPU behind other programs
(docs/dns.md, "Where the time went"). As a SCHED_FIFO thread it runs the moment a query
wakes it. A real-time thread that is kept busy, though — a container flooding
127.0.0.11 — would take its CPU from everything else there. So the thread is
real-time only while it uses less than ``BUDGET`` of one CPU: every ``WINDOW`` seconds it
looks at its own CPU time, goes back to the fair class when the last window was over
the budget, and returns to real-time after a window under ``RETURN``. A flood, or a
benchmark's saturating load, is then served as before (fairly), after at most one
window of real-time. (An answer costs the thread ~50 us of CPU on the development
machine, most of it the kernel's ``sendto``: 10,000 queries a second use half a CPU.)

``--dns-realtime=false`` keeps the thread in the fair class, as Docker's resolver is.
When the kernel refuses (no CAP_SYS_NICE, a cgroup without a real-time budget) the
thread stays fair and ``seaway dns stats`` says why.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from seaway.kernel import sched

log = logging.getLogger(__name__)

BUDGET = 0.8  # of one CPU
RETURN = 0.6  # back to real-time after a window under this
WINDOW = 0.1  # seconds


def next_realtime(realtime: bool, used: float, window: float) -> bool:
    """Whether the thread should be real-time for the next window, having used ``used``
    CPU seconds in the last ``window`` seconds."""
    if realtime:
        return used <= BUDGET * window
    return used < RETURN * window


@dataclass(eq=False)
class Priority:
    """Runs on the resolver's loop (``start`` is called there): the thread it runs on is the one moved."""

    loop: asyncio.AbstractEventLoop
    enabled: bool
    window: float = WINDOW
    cpu: Callable[[], float] = time.thread_time
    apply: Callable[[bool], None] = sched.set_realtime
    realtime: bool = False
    state: str = "normal (not started)"
    demotions: int = 0  # windows the thread went back to the fair class for being busy
    _used: float = 0.0
    _timer: asyncio.TimerHandle | None = None

    def __post_init__(self) -> None:
        if not self.enabled:
            self.state = "normal (--dns-realtime=false)"

    def start(self) -> None:
        if not self.enabled:
            return
        try:
            self.apply(True)
        except OSError as exc:
            self.state = f"normal (the kernel refused real-time: {exc.strerror or exc})"
            log.warning("embedded DNS stays in the fair scheduling class: %s", exc.strerror or exc)
            return
        self.realtime, self.state = True, "realtime"
        self._used = self.cpu()
        self._timer = self.loop.call_later(self.window, self._tick)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        now = self.cpu()
        used, self._used = now - self._used, now
        want = next_realtime(self.realtime, used, self.window)
        if want != self.realtime:
            try:
                self.apply(want)
            except OSError as exc:  # could go real-time at start, may not now: stay as is
                log.debug("embedded DNS priority: %s", exc)
            else:
                self.realtime = want
                self.demotions += not want
                self.state = "realtime" if want else "normal (busy: over its real-time budget)"
        self._timer = self.loop.call_later(self.window, self._tick)
