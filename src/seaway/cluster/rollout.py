"""Rolling updates and rollbacks of a service's slots, as swarmkit's updater does them. Pure.

The updater keeps no state between plans: where an update stands is read from the tasks.
A slot is *dirty* when its task no longer matches the service's spec (a new TaskTemplate,
EndpointSpec or ``ForceUpdate``). Its *update task* is the up-to-date task that replaced a
dirty one after ``UpdateStatus.StartedAt``. A slot is *busy* while its update task has not
reached ``running`` yet, and for ``Delay`` after that; at most ``Parallelism`` slots (0: all)
are busy at once, and the next dirty slots (in slot or node-ID order) start as others free up.

Per slot, ``stop-first`` (default) shuts the old task down and creates the new one with
desired ``ready``, started once the old one stopped; ``start-first`` creates the new one
running and shuts the old one down once the new one runs. When update tasks stopped by
themselves (complete, failed, rejected) in more than ``MaxFailureRatio`` of the slots,
``FailureAction`` applies: ``pause`` (default) stops starting slots, ``continue`` ignores it,
``rollback`` puts ``PreviousSpec`` back as the spec (rolled out with ``RollbackConfig``; a
failing rollback pauses). Once no slot is dirty or busy, the update completes ``Monitor``
(default 5 s; ``Delay`` + 1 s when the delay is longer) after the last slot finished.

``UpdateStatus`` as Docker writes it: ``updating`` "update in progress", ``paused`` "update
paused due to failure or early termination of task <id>", ``completed`` "update completed",
``rollback_started`` (set by the rollback route: "manually requested rollback", or here:
"update rolled back due to failure or early termination of task <id>"), ``rollback_paused``
"rollback paused due to failure or early termination of task <id>", ``rollback_completed``
"rollback completed".
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from seaway.cluster import taskstates
from seaway.cluster.taskstates import created_time, desired_runnable, state, status_time

if TYPE_CHECKING:
    from seaway.cluster.orchestrator import ServiceRun

DEFAULT_MONITOR = 5.0
FAILED = frozenset({"complete", "failed", "rejected"})
ACTIVE = (None, "updating", "rollback_started")
PAUSED = ("paused", "rollback_paused")


@dataclass(frozen=True, slots=True)
class UpdateConfig:
    """``UpdateConfig``/``RollbackConfig`` with Docker's defaults filled in."""

    parallelism: int  # 0: every dirty slot at once
    delay: float
    start_first: bool
    failure_action: str
    monitor: float
    max_failure_ratio: float

    @classmethod
    def of(cls, config: dict[str, Any] | None) -> UpdateConfig:
        if config is None:
            return cls(1, 0.0, False, "pause", DEFAULT_MONITOR, 0.0)
        monitor = taskstates.seconds(config.get("Monitor"), 0.0) or DEFAULT_MONITOR
        return cls(
            parallelism=int(config.get("Parallelism") or 0),
            delay=taskstates.seconds(config.get("Delay"), 0.0),
            start_first=config.get("Order") == "start-first",
            failure_action=str(config.get("FailureAction") or "pause"),
            monitor=monitor,
            max_failure_ratio=float(config.get("MaxFailureRatio") or 0.0),
        )


class _Slots:
    """The update's view of the slots it is given."""

    def __init__(self, run: ServiceRun, slots: list[tuple[Any, list[str]]], started: float):
        self.run = run
        self.slots = slots
        self.started = started

    def dirty(self, ids: list[str]) -> bool:
        return len(ids) > 1 or (len(ids) == 1 and self.run.dirty(self.run.work.get(ids[0])))

    def update_task(self, key: Any) -> dict[str, Any] | None:
        """The newest up-to-date task that replaced an out-of-date one since the update started."""
        history = self.run.history(key)
        found = None
        for before, task in itertools.pairwise(history):
            if created_time(task) >= self.started and not self.run.dirty(task) and self.run.dirty(before):
                found = task
        return found

    def busy_until(self, task: dict[str, Any], delay: float) -> float | None:
        """While a slot's update task is busy: ``inf`` until it runs, then until ``Delay`` passed."""
        if taskstates.rank(state(task)) < taskstates.RUNNING:
            if desired_runnable(task) and not self.run.node_lost(task):
                return float("inf")
            return None
        until = status_time(task) + delay
        return until if self.run.work.now < until else None


def advance(run: ServiceRun, slots: list[tuple[Any, list[str]]]) -> None:
    """Take the rolling update of ``slots`` (key, tasks meant to run) one step further."""
    status = run.service.get("UpdateStatus") or None
    current = status.get("State") if status else None
    started = taskstates.parse_time(status.get("StartedAt")) if status else run.work.now
    rolling_back = current == "rollback_started"
    config = UpdateConfig.of(run.spec.get("RollbackConfig" if rolling_back else "UpdateConfig"))
    view = _Slots(run, slots, started)
    dirty = [(key, ids) for key, ids in slots if view.dirty(ids)]
    if current is None:
        if not dirty:
            return
        run.new_status = {"State": "updating", "StartedAt": run.work.now_text, "Message": "update in progress"}
    update_tasks = {key: t for key, _ in slots if (t := view.update_task(key)) is not None}
    busy = set()
    for key, task in update_tasks.items():
        until = view.busy_until(task, config.delay)
        if until is not None:
            busy.add(key)
            if until != float("inf"):
                run.work.wake_at(until)
    for key, ids in dirty:
        _finish_slot(run, key, ids, update_tasks.get(key), config)
    if current in ACTIVE and _failure_action(run, status, update_tasks, dirty, config):
        return
    if current not in PAUSED:
        free = len(dirty) if config.parallelism == 0 else config.parallelism - len(busy)
        for key, ids in dirty:
            if free <= 0:
                break
            if key in busy or any(not run.dirty(run.work.get(t)) for t in ids):
                continue
            _start_slot(run, key, ids, config)
            busy.add(key)
            free -= 1
    if (
        current in ("updating", "rollback_started")
        and not busy
        and not any(view.dirty(ids) for _, ids in _refreshed(run, dirty))
    ):
        _complete(run, status, update_tasks, config, started)


def _refreshed(run: ServiceRun, slots: list[tuple[Any, list[str]]]) -> list[tuple[Any, list[str]]]:
    """Slots with the tasks still meant to run after this step's changes."""
    return [(key, [t for t in ids if desired_runnable(run.work.get(t))]) for key, ids in slots]


def _finish_slot(
    run: ServiceRun, key: Any, ids: list[str], update_task: dict[str, Any] | None, config: UpdateConfig
) -> None:
    """A slot that already has an up-to-date task: shut the others down once that is right."""
    clean = [run.work.get(t) for t in ids if not run.dirty(run.work.get(t))]
    if not clean:
        return
    chosen = next((t for t in clean if t.get("DesiredState") == "running"), None)
    if chosen is not None:
        waiting = config.start_first and chosen is update_task and state(chosen) != "running"
        if waiting:
            return  # start-first: the old task runs until the new one does
    else:
        chosen = clean[0]  # desired ready: started once the others stopped
    for tid in ids:
        if tid != chosen["ID"]:
            run.work.set_desired(tid, "shutdown")


def _start_slot(run: ServiceRun, key: Any, ids: list[str], config: UpdateConfig) -> None:
    if config.start_first:
        run.new_task(key, "running")
        return
    for tid in ids:
        run.work.set_desired(tid, "shutdown")
    run.new_task(key, "ready")


def _failure_action(
    run: ServiceRun,
    status: dict[str, Any] | None,
    update_tasks: dict[Any, dict[str, Any]],
    dirty: list[tuple[Any, list[str]]],
    config: UpdateConfig,
) -> bool:
    """Apply FailureAction when too many slots' update tasks stopped by themselves; True when it stops the update."""
    if config.failure_action == "continue":
        return False
    failed = sorted(
        (t for t in update_tasks.values() if state(t) in FAILED), key=lambda t: (status_time(t), str(t["ID"]))
    )
    slots = len({key for key, _ in dirty} | set(update_tasks))
    if not failed or not slots or len(failed) / slots <= config.max_failure_ratio:
        return False
    crossing = failed[min(len(failed) - 1, int(config.max_failure_ratio * slots))]
    base = dict(run.new_status or status or {})
    rolling_back = base.get("State") == "rollback_started"
    if config.failure_action == "rollback" and not rolling_back and run.service.get("PreviousSpec"):
        run.new_spec = (copy.deepcopy(run.service["PreviousSpec"]), None)
        message = f"update rolled back due to failure or early termination of task {crossing['ID']}"
        run.new_status = {**base, "State": "rollback_started", "Message": message}
        return True
    word = "rollback" if rolling_back else "update"
    message = f"{word} paused due to failure or early termination of task {crossing['ID']}"
    run.new_status = {**base, "State": "rollback_paused" if rolling_back else "paused", "Message": message}
    return True


def _complete(
    run: ServiceRun,
    status: dict[str, Any] | None,
    update_tasks: dict[Any, dict[str, Any]],
    config: UpdateConfig,
    started: float,
) -> None:
    monitor = config.monitor if config.delay < config.monitor else config.delay + 1.0
    reached = [status_time(t) for t in update_tasks.values() if taskstates.rank(state(t)) >= taskstates.RUNNING]
    done_at = max([started, *(r + config.delay for r in reached)]) + monitor
    if run.work.now < done_at:
        run.work.wake_at(done_at)
        return
    base = dict(status or {})
    if base.get("State") == "rollback_started":
        base.update(State="rollback_completed", Message="rollback completed")
    else:
        base.update(State="completed", Message="update completed")
    base["CompletedAt"] = run.work.now_text
    run.new_status = base
