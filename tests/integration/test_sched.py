"""A thread's scheduling, on the real kernel: real-time and back, its name, and that
threads it starts do not inherit real-time."""

from __future__ import annotations

import os
import threading

from seaway.kernel import sched


def test_a_thread_goes_real_time_and_back_and_its_children_stay_fair() -> None:
    seen: dict[str, tuple[str, str]] = {}

    def child() -> None:
        seen["child"] = sched.threads(os.getpid())[threading.get_native_id()]

    def body() -> None:
        sched.name_thread("seaway-rt-test")
        sched.set_realtime(True)
        seen["realtime"] = sched.threads(os.getpid())[threading.get_native_id()]
        started = threading.Thread(target=child)
        started.start()
        started.join()
        sched.set_realtime(False)
        seen["fair"] = sched.threads(os.getpid())[threading.get_native_id()]

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()

    assert seen["realtime"] == ("seaway-rt-test", "fifo")
    assert seen["child"][1] == "other"  # SCHED_RESET_ON_FORK
    assert seen["fair"] == ("seaway-rt-test", "other")
