"""A tiny swarm for orchestrator tests: a store, a leader that applies plans, agents that obey.

The store holds services, tasks and nodes as Docker JSON. ``step()`` runs one plan and applies
it (a service's ``Version.Index`` grows on every write, as etcd's mod_revision does);
``agents()`` plays every node's agent: a task assigned to a ready node with desired
``running`` runs, one desired ``shutdown``/``remove`` stops; ``fail``/``finish`` make a task
end by itself. Time only moves when a test says so (``advance``), or to the plan's
``wake_at`` (``settle``).
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

from seaway.cluster import orchestrator, taskstates

T0 = 1_700_000_000.0
S = 1_000_000_000  # one second in Docker's nanosecond durations


def node(node_id: str, hostname: str | None = None, role: str = "worker", availability: str = "active",
         state: str = "ready", labels: dict[str, str] | None = None, arch: str = "x86_64") -> dict[str, Any]:  # fmt: skip
    return {
        "ID": node_id,
        "Spec": {"Role": role, "Availability": availability, "Labels": labels or {}},
        "Description": {
            "Hostname": hostname or node_id,
            "Platform": {"Architecture": arch, "OS": "linux"},
            "Resources": {"NanoCPUs": 4 * S, "MemoryBytes": 8 << 30},
            "Engine": {"Labels": {}},
        },
        "Status": {"State": state, "Addr": "192.0.2.1"},
    }


def service(service_id: str = "svc1", replicas: int | None = 1, image: str = "web:1", **extra: Any) -> dict[str, Any]:
    mode = {"Global": {}} if replicas is None else {"Replicated": {"Replicas": replicas}}
    spec: dict[str, Any] = {
        "Name": service_id,
        "TaskTemplate": {"ContainerSpec": {"Image": image}, "ForceUpdate": 0},
        "Mode": mode,
    }
    for key, value in extra.items():
        if key in ("RestartPolicy", "Placement", "Resources"):
            spec["TaskTemplate"][key] = value
        else:
            spec[key] = value
    return {"ID": service_id, "Version": {"Index": 1}, "CreatedAt": taskstates.format_time(T0),
            "UpdatedAt": taskstates.format_time(T0), "Spec": spec}  # fmt: skip


class Swarm:
    def __init__(self, nodes: list[dict[str, Any]], services: list[dict[str, Any]] = (), history_limit: int = 5):
        self.nodes = {n["ID"]: copy.deepcopy(n) for n in nodes}
        self.services = {s["ID"]: copy.deepcopy(s) for s in services}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.now = T0
        self.history_limit = history_limit
        self.revision = 10
        self._ids = (f"task{i:03d}" for i in itertools.count(1))
        self.last: orchestrator.Plan | None = None

    # --- the leader ---
    def step(self) -> orchestrator.Plan:
        plan = orchestrator.plan(
            [copy.deepcopy(s) for s in self.services.values()],
            [copy.deepcopy(t) for t in self.tasks.values()],
            [copy.deepcopy(n) for n in self.nodes.values()],
            self.now,
            lambda: next(self._ids),
            self.history_limit,
        )
        for t in plan.create:
            assert t["ID"] not in self.tasks
            self.tasks[t["ID"]] = t
        for t in plan.update:
            assert t["ID"] in self.tasks
            self.tasks[t["ID"]] = t
        for tid in plan.delete:
            del self.tasks[tid]
        for s in plan.service_updates:
            self.write_service(s)
        self.last = plan
        return plan

    def write_service(self, svc: dict[str, Any]) -> None:
        self.revision += 1
        svc = copy.deepcopy(svc)
        svc["Version"] = {"Index": self.revision}
        self.services[svc["ID"]] = svc

    def update_service(self, service_id: str, **template: Any) -> None:
        """What the update route does: new TaskTemplate fields, PreviousSpec kept, UpdateStatus reset."""
        svc = copy.deepcopy(self.services[service_id])
        svc["PreviousSpec"] = copy.deepcopy(svc["Spec"])
        for key, value in template.items():
            if key == "Replicas":
                svc["Spec"]["Mode"]["Replicated"]["Replicas"] = value
            elif key in ("UpdateConfig", "RollbackConfig", "EndpointSpec"):
                svc["Spec"][key] = value
            else:
                svc["Spec"]["TaskTemplate"][key] = value
        svc.pop("UpdateStatus", None)
        self.write_service(svc)

    def rollback_service(self, service_id: str) -> None:
        """What the rollback route does: Spec and PreviousSpec swapped, rollback_started."""
        svc = copy.deepcopy(self.services[service_id])
        svc["Spec"], svc["PreviousSpec"] = svc["PreviousSpec"], svc["Spec"]
        svc["UpdateStatus"] = {"State": "rollback_started", "StartedAt": taskstates.format_time(self.now),
                               "Message": "manually requested rollback"}  # fmt: skip
        self.write_service(svc)

    # --- the agents ---
    def report(self, task_id: str, state: str, **extra: Any) -> None:
        task = self.tasks[task_id]
        task["Status"] = {"Timestamp": taskstates.format_time(self.now), "State": state, "Message": state, **extra}

    def agents(self) -> bool:
        """Every ready node's agent acts once; True when something changed."""
        changed = False
        for task in list(self.tasks.values()):
            n = self.nodes.get(task.get("NodeID") or "")
            if n is None or n["Status"]["State"] != "ready":
                continue
            st = taskstates.state(task)
            rank = taskstates.rank(st)
            desired = task["DesiredState"]
            if rank < taskstates.ASSIGNED or rank > taskstates.RUNNING:
                continue
            if desired in ("shutdown", "remove"):
                self.report(task["ID"], "shutdown")
                changed = True
            elif desired == "running" and st != "running":
                image = task["Spec"]["ContainerSpec"]["Image"]
                if image.startswith("bad"):
                    self.report(task["ID"], "rejected", Err="No such image: " + image)
                else:
                    self.report(task["ID"], "running")
                changed = True
        return changed

    def fail(self, task_id: str, exit_code: int = 1) -> None:
        self.report(task_id, "failed" if exit_code else "complete", ContainerStatus={"ExitCode": exit_code})

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def settle(self, max_rounds: int = 200, until: float | None = None) -> int:
        """Plan, act, and jump to wake_at until nothing changes (or ``until`` is reached)."""
        for rounds in range(max_rounds):
            plan = self.step()
            acted = self.agents()
            if plan.empty and not acted:
                if plan.wake_at is None or (until is not None and plan.wake_at > until):
                    return rounds
                self.now = plan.wake_at
        raise AssertionError(f"no convergence in {max_rounds} rounds")

    # --- what a user sees ---
    def running(self, service_id: str = "svc1") -> list[dict[str, Any]]:
        return sorted(
            (t for t in self.tasks.values()
             if t["ServiceID"] == service_id and t["DesiredState"] == "running" and taskstates.state(t) == "running"),
            key=lambda t: (t.get("Slot", 0), t.get("NodeID", "")),
        )  # fmt: skip

    def per_node(self, service_id: str = "svc1") -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.running(service_id):
            out[t["NodeID"]] = out.get(t["NodeID"], 0) + 1
        return dict(sorted(out.items()))

    def ps(self) -> str:
        """``docker service ps``-like text of every task, for goldens (times relative to T0)."""
        lines = []

        def order(t: dict[str, Any]) -> tuple:
            where = "" if "Slot" in t else t.get("NodeID", "")
            return (t["ServiceID"], t.get("Slot", 0), where, taskstates.created_time(t), t["ID"])

        for t in sorted(self.tasks.values(), key=order):
            status = t["Status"]
            when = taskstates.parse_time(status.get("Timestamp")) - T0
            where = t.get("NodeID") or "-"
            slot = t.get("Slot", "")
            image = t["Spec"].get("ContainerSpec", {}).get("Image", "")
            err = f"  err={status['Err']!r}" if status.get("Err") else ""
            lines.append(
                f"{t['ServiceID']}.{slot or where} {t['ID']} {image} node={where} desired={t['DesiredState']} "
                f"state={status['State']}@{when:g}s {status.get('Message', '')!r}{err}"
            )
        for s in sorted(self.services.values(), key=lambda s: s["ID"]):
            if s.get("UpdateStatus"):
                u = s["UpdateStatus"]
                lines.append(f"{s['ID']} update: {u['State']} {u.get('Message', '')!r}")
        return "\n".join(lines) + "\n"

    def dump(self) -> str:
        return json.dumps(sorted(self.tasks.values(), key=lambda t: t["ID"]), indent=1, sort_keys=True)
