"""What the leader should change so tasks match services: swarmkit's orchestrators, stateless. Pure.

``plan(services, tasks, nodes, now, new_id)`` looks at the whole store and returns a
:class:`Plan`: tasks to create, tasks to replace (desired state, node, scheduler status),
tasks to delete, services whose ``UpdateStatus`` (or, on an automatic rollback, ``Spec``)
changes, and the time at which it must run again though nothing else changed. Applying a
plan and planning again with nothing else changed yields an empty plan: everything the
orchestrator must remember is read back from the tasks themselves (their ``CreatedAt``,
``Status.Timestamp``, ``Spec`` and ``DesiredState``), never kept in memory, so a new leader
carries on where the old one stopped.

What it does, per service (swarmkit's replicated, global, restart, update, constraint
enforcer and task reaper, each in a few lines here):

- **Restarts.** A task that stopped while desired running (or whose node went down, was
  drained or removed) gets desired ``shutdown``; per ``RestartPolicy`` (Condition ``any``
  default, ``on-failure``, ``none``; ``MaxAttempts`` within ``Window``) a replacement in the
  same slot (global: the same node) is created with desired ``ready`` and moved to
  ``running`` once ``Delay`` (default 5 s, none after a drain) has passed and the old task
  stopped (at most 60 s), as swarmkit's restart supervisor does.
- **Replicated:** slots 1..Replicas; scaling up fills the lowest free slots, scaling down
  sets desired ``remove`` on the slots on the nodes with the most copies, non-running first,
  highest slot first.
- **Global:** one task on each ready, non-drained node that matches the constraints, and
  none on a paused node that has none; a task goes when its node is drained, down, removed or
  no longer matches.
- **Rolling update** (:mod:`seaway.cluster.rollout`) of the slots whose task is out of date.
- **Reaping:** at most ``history_limit`` tasks per slot (``MaxAttempts + 1`` when set), the
  oldest stopped ones deleted first; tasks of removed services and of removed slots are
  deleted once stopped (or when their node is down or gone).
- **Scheduling** (:mod:`seaway.cluster.scheduler`) of every task still ``new``/``pending``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from seaway.cluster import rollout, scheduler, taskstates
from seaway.cluster.taskstates import created_time, desired_runnable, may_be_running, past_running, state

DEFAULT_RESTART_DELAY = 5.0
OLD_TASK_TIMEOUT = 60.0  # swarmkit's wait for the old task to stop before starting its replacement
NODE_REMOVED_MESSAGE = "Task belonged to a node that has been deleted"
ENFORCER_MESSAGE = "task rejected by constraint enforcer"
ENFORCER_ERR = "assigned node no longer meets constraints"

Task = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Plan:
    """The changes one round of orchestration asks for; apply them in one transaction."""

    create: list[Task]
    update: list[Task]
    delete: list[str]
    service_updates: list[dict[str, Any]]
    wake_at: float | None

    @property
    def empty(self) -> bool:
        return not (self.create or self.update or self.delete or self.service_updates)


class Work:
    """The tasks as this plan leaves them: originals until changed, copies once changed."""

    def __init__(self, tasks: list[Task], now: float, new_id: Callable[[], str]):
        self.tasks: dict[str, Task] = {str(t["ID"]): t for t in tasks}
        self.now = now
        self.now_text = taskstates.format_time(now)
        self.new_id = new_id
        self.changed: set[str] = set()
        self.created: list[str] = []
        self.created_set: set[str] = set()
        self.deleted: set[str] = set()
        self.wake: float | None = None

    def get(self, task_id: str) -> Task:
        return self.tasks[task_id]

    def edit(self, task_id: str) -> Task:
        """A task to change: copied the first time (top-level fields; nested ones are replaced, not mutated)."""
        if task_id not in self.changed and task_id not in self.created_set:
            self.tasks[task_id] = dict(self.tasks[task_id])
            self.changed.add(task_id)
        task = self.tasks[task_id]
        task["UpdatedAt"] = self.now_text
        return task

    def set_desired(self, task_id: str, desired: str) -> None:
        """Move a task's desired state forward (never back, as swarmkit refuses to)."""
        task = self.tasks[task_id]
        current = task.get("DesiredState")
        if current == desired or taskstates.rank(current) > taskstates.rank(desired):
            return
        self.edit(task_id)["DesiredState"] = desired

    def set_status(self, task_id: str, new_state: str, message: str, err: str = "") -> None:
        status: dict[str, Any] = {"Timestamp": self.now_text, "State": new_state, "Message": message}
        if err:
            status["Err"] = err
        old = self.tasks[task_id].get("Status") or {}
        if "ContainerStatus" in old:
            status["ContainerStatus"] = old["ContainerStatus"]
        self.edit(task_id)["Status"] = status

    def add(self, task: Task) -> str:
        task_id = str(task["ID"])
        self.tasks[task_id] = task
        self.created.append(task_id)
        self.created_set.add(task_id)
        return task_id

    def delete(self, task_id: str) -> None:
        if task_id not in self.created_set:
            self.deleted.add(task_id)

    def wake_at(self, when: float) -> None:
        if when > self.now and (self.wake is None or when < self.wake):
            self.wake = when

    def live(self) -> list[Task]:
        return [t for tid, t in self.tasks.items() if tid not in self.deleted]


class ServiceRun:
    """One service's part of a plan: its spec, its slots, and the changes made to them."""

    def __init__(self, service: dict[str, Any], work: Work, nodes: dict[str, dict[str, Any]], history_limit: int):
        self.service = service
        self.spec: dict[str, Any] = service.get("Spec") or {}
        self.template: dict[str, Any] = self.spec.get("TaskTemplate") or {}
        self.endpoint: dict[str, Any] = self.spec.get("EndpointSpec") or {}
        self.version = int((service.get("Version") or {}).get("Index") or 0)
        self.work = work
        self.nodes = nodes
        self.history_limit = history_limit
        self.global_mode = "Global" in (self.spec.get("Mode") or {})
        self.constraints = scheduler.constraints_of(self.template)
        self.slots: dict[Any, list[str]] = {}
        self.new_status: dict[str, Any] | None = None  # UpdateStatus to write, if it changes
        self.new_spec: tuple[dict[str, Any], None] | None = None  # (Spec, PreviousSpec) on auto-rollback

    # --- what the slots hold -------------------------------------------------

    def key(self, task: Task) -> Any:
        return str(task.get("NodeID") or "") if self.global_mode else int(task.get("Slot") or 0)

    def index(self, task_ids: list[str]) -> None:
        self.slots = {}
        for tid in task_ids:
            if tid not in self.work.deleted:
                self.slots.setdefault(self.key(self.work.get(tid)), []).append(tid)

    def history(self, key: Any) -> list[Task]:
        """Every task of a slot, oldest first."""
        tasks = [self.work.get(tid) for tid in self.slots.get(key, []) if tid not in self.work.deleted]
        return sorted(tasks, key=lambda t: (created_time(t), str(t["ID"])))

    def node_of(self, task: Task) -> dict[str, Any] | None:
        return self.nodes.get(str(task.get("NodeID") or ""))

    def node_lost(self, task: Task) -> bool:
        """It was assigned to a node that is gone or down: it will not report again (until the node returns)."""
        if not task.get("NodeID"):
            return False
        node = self.node_of(task)
        return node is None or (node.get("Status") or {}).get("State") == "down"

    def node_invalid(self, task: Task) -> bool:
        """swarmkit's InvalidNode: gone, down or drained."""
        return self.node_lost(task) or _availability(self.node_of(task)) == "drain"

    # --- the spec a task was made from ---------------------------------------

    def dirty(self, task: Task) -> bool:
        """The task does not match the service's spec (swarmkit's IsTaskDirty): an update replaces it."""
        if int((task.get("SpecVersion") or {}).get("Index") or -1) == self.version:
            return False
        if "Endpoint" in task and ((task.get("Endpoint") or {}).get("Spec") or {}) != self.endpoint:
            return True
        spec = task.get("Spec") or {}
        if spec == self.template:
            return False
        placement_only = {**spec, "Placement": None} == {**self.template, "Placement": None}
        node = self.node_of(task)
        return not (placement_only and node is not None and scheduler.node_matches(self.constraints, node))

    def new_task(self, key: Any, desired: str) -> str:
        now = self.work.now_text
        task: Task = {
            "ID": self.work.new_id(),
            "CreatedAt": now,
            "UpdatedAt": now,
            "Labels": {},
            "Spec": copy.deepcopy(self.template),
            "SpecVersion": {"Index": self.version},
            "ServiceID": str(self.service["ID"]),
            "Status": {"Timestamp": now, "State": "new", "Message": "created"},
            "DesiredState": desired,
            "Endpoint": {"Spec": copy.deepcopy(self.endpoint)},
        }
        if self.global_mode:
            task["NodeID"] = key
        else:
            task["Slot"] = key
        task_id = self.work.add(task)
        self.slots.setdefault(key, []).append(task_id)
        return task_id

    # --- restarts --------------------------------------------------------------

    def restart_policy(self, task: Task) -> dict[str, Any]:
        return (task.get("Spec") or {}).get("RestartPolicy") or {}

    def should_restart(self, task: Task) -> bool:
        """swarmkit's shouldRestart: the condition, then MaxAttempts within Window."""
        policy = self.restart_policy(task)
        condition = policy.get("Condition") or "any"
        if condition == "none" or (condition == "on-failure" and state(task) == "complete"):
            return False
        max_attempts = int(policy.get("MaxAttempts") or 0)
        if max_attempts <= 0:
            return True
        # every task of the slot made from the same spec after the first one was a restart
        same = [t for t in self.history(self.key(task)) if (t.get("Spec") or {}) == (task.get("Spec") or {})]
        restarts = same[1:]
        window = taskstates.seconds(policy.get("Window"), 0.0)
        if window > 0:
            ended = taskstates.status_time(task)
            restarts = [t for t in restarts if ended - window < created_time(t) < ended]
        return len(restarts) < max_attempts

    def restart(self, task_id: str) -> None:
        """Shut a task down and, if its restart policy says so, replace it in its slot."""
        self.work.set_desired(task_id, "shutdown")
        task = self.work.get(task_id)
        if self.should_restart(task):
            self.new_task(self.key(task), "ready")

    def start_ready(self) -> None:
        """Move replacements waiting in desired ``ready`` to ``running`` once their delay passed
        and the task before them stopped (swarmkit's DelayStart)."""
        for key in sorted(self.slots, key=str):
            history = self.history(key)
            for i, task in enumerate(history):
                if task.get("DesiredState") != "ready":
                    continue
                created = created_time(task)
                start_at = created + self._restart_delay(history[:i])
                blockers = [t for t in history if t is not task and may_be_running(t) and not self.node_lost(t)]
                if self.work.now < start_at:
                    self.work.wake_at(start_at)
                elif blockers and self.work.now < created + OLD_TASK_TIMEOUT:
                    self.work.wake_at(created + OLD_TASK_TIMEOUT)
                else:
                    self.work.set_desired(str(task["ID"]), "running")

    def _restart_delay(self, older: list[Task]) -> float:
        """The restart delay applies when the task before ended by itself or lost its node, not
        after a drain and not in a rolling update (where we stopped the task before)."""
        if not older:
            return 0.0
        before = older[-1]
        if _availability(self.node_of(before)) == "drain":
            return 0.0
        if state(before) not in taskstates.ENDED_BY_ITSELF and not self.node_lost(before):
            return 0.0
        policy = self.restart_policy(before)
        return max(0.0, taskstates.seconds(policy.get("Delay"), DEFAULT_RESTART_DELAY))

    # --- slots the updater and the scaler work on --------------------------------

    def updatable(self, key: Any) -> list[str]:
        """swarmkit's UpdatableTasksInSlot: the tasks meant to run, or the newest if it must not restart."""
        history = [t for t in self.history(key) if t.get("DesiredState") != "remove"]
        live = [str(t["ID"]) for t in history if desired_runnable(t)]
        if live or not history:
            return live
        status = (self.service.get("UpdateStatus") or {}).get("State")
        if status == "rollback_started":
            return []  # a rollback always converges: a slot kept only by its restart policy is redone
        newest = max(history, key=lambda t: (taskstates.status_time(t), created_time(t), str(t["ID"])))
        return [] if self.should_restart(newest) else [str(newest["ID"])]

    # --- reaping ----------------------------------------------------------------

    def reap(self, dead: set[Any]) -> None:
        for key in sorted(self.slots, key=str):
            history = self.history(key)
            for task in history:
                gone = not may_be_running(task) or self.node_lost(task)
                if gone and (task.get("DesiredState") == "remove" or key in dead):
                    self.work.delete(str(task["ID"]))
            self._trim(key)

    def _trim(self, key: Any) -> None:
        """Keep at most the history limit of tasks in a slot, deleting the oldest stopped ones."""
        limit = self.history_limit
        max_attempts = int((self.template.get("RestartPolicy") or {}).get("MaxAttempts") or 0)
        if max_attempts > 0:
            limit = max_attempts + 1
        history = self.history(key)
        if limit < 0 or len(history) <= limit or any(t.get("DesiredState") == "ready" for t in history):
            return
        excess = len(history) - limit
        for task in sorted(history, key=lambda t: (taskstates.status_time(t), created_time(t), str(t["ID"]))):
            if excess == 0:
                break
            never_runs = taskstates.rank(state(task)) < taskstates.ASSIGNED and not desired_runnable(task)
            if past_running(task) or never_runs:
                self.work.delete(str(task["ID"]))
                excess -= 1


def _availability(node: dict[str, Any] | None) -> str:
    return str(((node or {}).get("Spec") or {}).get("Availability") or "active")


def _replicas(spec: dict[str, Any]) -> int:
    replicated = (spec.get("Mode") or {}).get("Replicated")
    if replicated is None:
        return 1
    return int((replicated or {}).get("Replicas", 1) or 0)


def _mark_lost_nodes(work: Work, nodes: dict[str, dict[str, Any]]) -> None:
    """Tasks of a node removed from the swarm are orphaned, as swarmkit's node removal does."""
    for task in list(work.tasks.values()):
        node_id = str(task.get("NodeID") or "")
        if node_id and node_id not in nodes and taskstates.rank(state(task)) < taskstates.rank("complete"):
            work.set_status(str(task["ID"]), "orphaned", NODE_REMOVED_MESSAGE)


def _removed_service(work: Work, task_ids: list[str], nodes: dict[str, dict[str, Any]]) -> None:
    """A deleted service's tasks: desired ``remove``, deleted once stopped or their node is lost."""
    for tid in task_ids:
        task = work.get(tid)
        node = nodes.get(str(task.get("NodeID") or ""))
        lost = node is None or (node.get("Status") or {}).get("State") == "down"
        if not may_be_running(task) or lost:
            work.delete(tid)
        else:
            work.set_desired(tid, "remove")


def _enforce_constraints(run: ServiceRun, task_ids: list[str]) -> None:
    """A task on an active node that no longer matches the service's constraints is rejected
    (swarmkit's constraint enforcer); the restart then places it elsewhere."""
    if not run.constraints:
        return
    for tid in task_ids:
        task = run.work.get(tid)
        node = run.node_of(task)
        if node is None or _availability(node) != "active" or not desired_runnable(task):
            continue
        if taskstates.rank(state(task)) >= taskstates.rank("complete"):
            continue
        # an out-of-date task is the updater's: swarmkit's enforcer only reacts to node changes
        if not scheduler.node_matches(run.constraints, node) and not run.dirty(task):
            run.work.set_status(tid, "rejected", ENFORCER_MESSAGE, ENFORCER_ERR)


def _replicated(run: ServiceRun, task_ids: list[str]) -> None:
    _enforce_constraints(run, task_ids)
    run.index(task_ids)
    for tid in sorted(task_ids, key=lambda i: (run.key(run.work.get(i)), created_time(run.work.get(i)), i)):
        task = run.work.get(tid)
        if desired_runnable(task) and (past_running(task) or (task.get("NodeID") and run.node_invalid(task))):
            run.restart(tid)
    updatable = {key: ids for key in sorted(run.slots) if (ids := run.updatable(key))}
    dead = set(run.slots) - set(updatable)
    wanted = _replicas(run.spec)
    candidates = [(key, updatable[key]) for key in sorted(updatable)]
    if wanted > len(updatable):
        slot = 0
        for _ in range(wanted - len(updatable)):
            slot += 1
            while slot in updatable:
                slot += 1
            dead.discard(slot)  # a reused slot keeps its old tasks as history
            run.new_task(slot, "running")
    elif wanted < len(updatable):
        keep = _scale_down_order(run, candidates)
        for _key, ids in keep[wanted:]:
            for tid in ids:
                run.work.set_desired(tid, "remove")
        candidates = sorted(keep[:wanted], key=lambda c: c[0])
    rollout.advance(run, candidates)
    run.start_ready()
    run.reap(dead)


def _scale_down_order(run: ServiceRun, slots: list[tuple[Any, list[str]]]) -> list[tuple[Any, list[str]]]:
    """Slots to keep first: running ones, low slot numbers, on nodes with few copies (swarmkit's order)."""

    def running(ids: list[str]) -> bool:
        return any(state(run.work.get(t)) == "running" for t in ids)

    ordered = sorted(slots, key=lambda s: (not running(s[1]), s[0]))
    per_node: dict[str, int] = {}
    indexed = []
    for key, ids in ordered:
        node_id = str(run.work.get(ids[0]).get("NodeID") or "")
        if len(ids) == 1 and node_id:
            per_node[node_id] = per_node.get(node_id, 0) + 1
            indexed.append((per_node[node_id], key, ids))
        else:
            indexed.append((1 << 62, key, ids))
    indexed.sort(key=lambda item: item[0])  # stable: ties keep the running/slot order
    return [(key, ids) for _, key, ids in indexed]


def _global(run: ServiceRun, task_ids: list[str], nodes: list[dict[str, Any]]) -> None:
    run.index(task_ids)
    for tid in sorted(task_ids, key=lambda i: (run.key(run.work.get(i)), created_time(run.work.get(i)), i)):
        task = run.work.get(tid)
        if not desired_runnable(task):
            continue
        node = run.node_of(task)
        if run.node_invalid(task) or not scheduler.node_matches(run.constraints, node or {}):
            run.work.set_desired(tid, "shutdown")
        elif past_running(task):
            if _availability(node) == "pause":
                run.work.set_desired(tid, "shutdown")
            else:
                run.restart(tid)
    candidates = []
    for node in sorted(nodes, key=lambda n: str(n["ID"])):
        node_id = str(node["ID"])
        down = (node.get("Status") or {}).get("State") == "down"
        if down or _availability(node) != "active" or not scheduler.node_matches(run.constraints, node):
            continue
        ids = run.updatable(node_id)
        if ids:
            candidates.append((node_id, ids))
        else:
            run.new_task(node_id, "running")
    rollout.advance(run, candidates)
    run.start_ready()
    run.reap({key for key in run.slots if key not in run.nodes})


def _schedule(work: Work, nodes: list[dict[str, Any]], services: dict[str, dict[str, Any]]) -> None:
    live = work.live()
    for t in live:
        # never assigned and no longer wanted: no agent will ever see it (swarmkit's scheduler does the same)
        if t.get("DesiredState") == "shutdown" and taskstates.rank(state(t)) < taskstates.ASSIGNED:
            work.set_status(str(t["ID"]), "shutdown", str((t.get("Status") or {}).get("Message") or ""))
    pending = [
        t
        for t in live
        if str(t.get("ServiceID")) in services
        and desired_runnable(t)
        and taskstates.rank(state(t)) < taskstates.ASSIGNED
    ]
    if not pending:
        return
    for task_id, placement in scheduler.place(pending, live, nodes, services).items():
        task = work.get(task_id)
        status = task.get("Status") or {}
        if placement.node_id is not None:
            work.edit(task_id)["NodeID"] = placement.node_id
            work.set_status(task_id, "assigned", placement.message)
        elif (status.get("State"), status.get("Message"), status.get("Err", "")) != (
            "pending",
            placement.message,
            placement.err,
        ):
            work.set_status(task_id, "pending", placement.message, placement.err)


def plan(
    services: list[dict[str, Any]],
    tasks: list[Task],
    nodes: list[dict[str, Any]],
    now: float,
    new_id: Callable[[], str],
    history_limit: int = 5,
) -> Plan:
    """One round of orchestration and scheduling over the whole store (see the module docstring)."""
    work = Work(tasks, now, new_id)
    nodes_by_id = {str(n["ID"]): n for n in nodes}
    services_by_id = {str(s["ID"]): s for s in services}
    by_service: dict[str, list[str]] = {}
    for task in tasks:
        by_service.setdefault(str(task.get("ServiceID")), []).append(str(task["ID"]))
    _mark_lost_nodes(work, nodes_by_id)
    for service_id in sorted(set(by_service) - set(services_by_id)):
        _removed_service(work, by_service[service_id], nodes_by_id)
    service_updates = []
    for service_id in sorted(services_by_id):
        service = services_by_id[service_id]
        run = ServiceRun(service, work, nodes_by_id, history_limit)
        mode = (service.get("Spec") or {}).get("Mode") or {}
        if "ReplicatedJob" in mode or "GlobalJob" in mode:
            continue  # jobs are not orchestrated (yet)
        if run.global_mode:
            _global(run, by_service.get(service_id, []), nodes)
        else:
            _replicated(run, by_service.get(service_id, []))
        if run.new_status is not None or run.new_spec is not None:
            service_updates.append(_updated_service(service, run, work.now_text))
    _schedule(work, nodes, services_by_id)
    return Plan(
        create=[work.get(t) for t in work.created],
        update=[work.get(t) for t in sorted(work.changed) if t not in work.deleted],
        delete=sorted(work.deleted),
        service_updates=service_updates,
        wake_at=work.wake,
    )


def _updated_service(service: dict[str, Any], run: ServiceRun, now_text: str) -> dict[str, Any]:
    out = dict(service)
    out["UpdatedAt"] = now_text
    if run.new_status is not None:
        out["UpdateStatus"] = run.new_status
    if run.new_spec is not None:
        out["Spec"], _ = run.new_spec
        out.pop("PreviousSpec", None)
    return out


def up_to_date(service: dict[str, Any], task: Task, node: dict[str, Any] | None) -> bool:
    """The ``_up-to-date`` task filter: the task matches the service's current spec."""
    nodes = {str(node["ID"]): node} if node else {}
    return not ServiceRun(service, Work([], 0.0, str), nodes, 0).dirty(task)
