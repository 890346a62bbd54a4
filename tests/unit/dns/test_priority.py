"""The resolver thread's real-time budget: when it goes fair and when it comes back."""

from __future__ import annotations

import asyncio

from seaway.resolver.priority import BUDGET, RETURN, WINDOW, Priority, next_realtime


def test_real_time_while_under_the_budget_fair_above_it_back_below_the_return_mark() -> None:
    w = WINDOW
    assert next_realtime(True, 0.5 * w, w)  # 10,000 answers a second cost about half a CPU
    assert not next_realtime(True, (BUDGET + 0.05) * w, w)  # a flood: back to the fair class
    assert not next_realtime(False, (RETURN + 0.05) * w, w)  # still busy: stays fair
    assert next_realtime(False, (RETURN - 0.05) * w, w)


def test_a_busy_stretch_demotes_the_thread_once_and_a_quiet_one_restores_it() -> None:
    loop = asyncio.new_event_loop()
    used = [0.0]
    applied: list[bool] = []
    priority = Priority(loop, True, window=0.01, cpu=lambda: used[0], apply=applied.append)
    try:
        priority.start()
        assert priority.state == "realtime" and applied == [True]

        for share in (0.95, 1.0, 0.9, 0.2):  # CPU used per window: a flood, then quiet
            used[0] += share * priority.window
            priority._tick()

        assert applied == [True, False, True]
        assert priority.demotions == 1 and priority.state == "realtime"
    finally:
        priority.stop()
        loop.close()


def test_turned_off_or_refused_it_stays_fair_and_says_why() -> None:
    loop = asyncio.new_event_loop()

    def refuse(on: bool) -> None:
        raise PermissionError(1, "Operation not permitted")

    try:
        off = Priority(loop, False, apply=refuse)
        refused = Priority(loop, True, apply=refuse)
        off.start()
        refused.start()
    finally:
        loop.close()

    assert not off.realtime and off.state == "normal (--dns-realtime=false)"
    assert not refused.realtime and refused.state == "normal (the kernel refused real-time: Operation not permitted)"
