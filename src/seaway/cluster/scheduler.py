"""Where a swarm task runs: swarmkit's filters and spread, on Docker's JSON. Pure.

``place(pending, tasks, nodes, services)`` decides, for each pending task, the node it is
assigned to or Docker's reason it stays pending (``Status.Err``), e.g. ``no suitable node
(scheduling constraints not satisfied on 4 nodes)``. A node is a candidate when every filter
passes, in swarmkit's order: ready and ``active``; enough unreserved CPU and memory
(``Resources.Reservations``); the placement constraints; the platforms; no other task on it
publishing the same host-mode port and protocol; fewer than ``Placement.MaxReplicas`` tasks
of the service. Among candidates, spread: the fewest tasks of the service, then the fewest
tasks overall, then the node ID (swarmkit leaves that tie to a heap; a fixed order makes
plans reproducible). ``Placement.Preferences`` ``spread=node.labels.X`` (or ``engine.labels.X``)
first evens the service's tasks across the label's values, then spreads inside the branch.

A task that already names a node (a global service's task) is only checked against that
node, as swarmkit's "preassigned" tasks are: its reason, if it can't run there, has no
``no suitable node`` prefix. What a node holds is computed from ``tasks``: those assigned to
it and not yet stopped hold their host ports and reservations; those whose desired state is
still ``ready``/``running`` count towards the spread and ``MaxReplicas``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from seaway.cluster import taskstates
from seaway.cluster.constraints import Constraint, node_matches, parse_constraints
from seaway.errors import InvalidParameter

ASSIGNED_MESSAGE = "scheduler assigned task to node"
PREASSIGNED_MESSAGE = "scheduler confirmed task can run on preassigned node"
PENDING_MESSAGE = "pending task scheduling"

_COMPLETE = taskstates.rank("complete")


@dataclass(frozen=True, slots=True)
class Placement:
    """The scheduler's answer for one task: a node, or why it stays pending."""

    node_id: str | None
    err: str = ""
    preassigned: bool = False

    @property
    def message(self) -> str:
        """Docker's ``Status.Message`` for the task after this decision."""
        if self.node_id is None:
            return PENDING_MESSAGE
        return PREASSIGNED_MESSAGE if self.preassigned else ASSIGNED_MESSAGE

    @property
    def state(self) -> str:
        return "pending" if self.node_id is None else "assigned"


def constraints_of(task_spec: dict[str, Any]) -> list[Constraint]:
    """The constraints of a TaskTemplate; unparseable ones disable the filter, as in swarmkit."""
    exprs = ((task_spec.get("Placement") or {}).get("Constraints")) or []
    try:
        return parse_constraints(exprs)
    except InvalidParameter:
        return []


def node_schedulable(node: dict[str, Any]) -> bool:
    """Ready and ``active``: the only nodes that receive new tasks."""
    return (node.get("Status") or {}).get("State") == "ready" and (node.get("Spec") or {}).get(
        "Availability", "active"
    ) == "active"


def host_ports(task: dict[str, Any], service: dict[str, Any] | None) -> set[tuple[str, int]]:
    """The (protocol, port) pairs the task publishes in host mode on its node.

    From the task's own ``Endpoint.Spec`` (the one it was made with) when it has one, else
    from its service's current ``EndpointSpec``."""
    if "Endpoint" in task:
        spec = (task.get("Endpoint") or {}).get("Spec") or {}
    else:
        spec = ((service or {}).get("Spec") or {}).get("EndpointSpec") or {}
    out = set()
    for port in spec.get("Ports") or []:
        if port.get("PublishMode") == "host" and port.get("PublishedPort"):
            out.add((str(port.get("Protocol") or "tcp"), int(port["PublishedPort"])))
    return out


def _reservations(task: dict[str, Any]) -> tuple[int, int]:
    res = (((task.get("Spec") or {}).get("Resources") or {}).get("Reservations")) or {}
    return int(res.get("NanoCPUs") or 0), int(res.get("MemoryBytes") or 0)


@dataclass(slots=True)
class _Load:
    """What one node holds during this round of scheduling."""

    node: dict[str, Any]
    total: int = 0
    by_service: dict[str, int] = field(default_factory=dict)
    ports: set[tuple[str, int]] = field(default_factory=set)
    cpus: int = 0
    memory: int = 0

    def add(self, task: dict[str, Any], ports: set[tuple[str, int]]) -> None:
        if taskstates.rank(task.get("DesiredState")) <= _COMPLETE:
            self.total += 1
            sid = str(task.get("ServiceID"))
            self.by_service[sid] = self.by_service.get(sid, 0) + 1
        self.ports |= ports
        cpus, memory = _reservations(task)
        self.cpus -= cpus
        self.memory -= memory


@dataclass(frozen=True, slots=True)
class _Filter:
    name: str
    check: Callable[[_Load], bool]
    explain: Callable[[int], str]


def _counted(text: str) -> Callable[[int], str]:
    return lambda n: text.format(n=n, nodes="node" if n == 1 else "nodes")


def _filters(task: dict[str, Any], ports: set[tuple[str, int]]) -> list[_Filter]:
    """swarmkit's pipeline for this task, in its order, only the filters the task enables."""
    spec = task.get("Spec") or {}
    placement = spec.get("Placement") or {}
    service_id = str(task.get("ServiceID"))
    out = [_Filter("ready", lambda load: node_schedulable(load.node), _ready_explain)]
    cpus, memory = _reservations(task)
    if cpus or memory:
        out.append(
            _Filter(
                "resources",
                lambda load: cpus <= load.cpus and memory <= load.memory,
                _counted("insufficient resources on {n} {nodes}"),
            )
        )
    constraints = constraints_of(spec)
    if constraints:
        out.append(
            _Filter(
                "constraints",
                lambda load: node_matches(constraints, load.node),
                _counted("scheduling constraints not satisfied on {n} {nodes}"),
            )
        )
    platforms = placement.get("Platforms") or []
    if platforms:
        out.append(
            _Filter(
                "platform",
                lambda load: _platform_supported(platforms, load.node),
                _counted("unsupported platform on {n} {nodes}"),
            )
        )
    if ports:
        out.append(
            _Filter(
                "hostport",
                lambda load: not (ports & load.ports),
                _counted("host-mode port already in use on {n} {nodes}"),
            )
        )
    max_replicas = int(placement.get("MaxReplicas") or 0)
    if max_replicas > 0:
        out.append(
            _Filter(
                "maxreplicas",
                lambda load: load.by_service.get(service_id, 0) < max_replicas,
                lambda _n: "max replicas per node limit exceed",
            )
        )
    return out


def _ready_explain(n: int) -> str:
    return "1 node not available for new tasks" if n == 1 else f"{n} nodes not available for new tasks"


def _arch(value: str) -> str:
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(value, value)


def _platform_supported(platforms: list[dict[str, Any]], node: dict[str, Any]) -> bool:
    mine = ((node.get("Description") or {}).get("Platform")) or None
    if mine is None:
        return False
    arch, os_name = _arch(str(mine.get("Architecture") or "")), str(mine.get("OS") or "")
    for p in platforms:
        want_arch, want_os = _arch(str(p.get("Architecture") or "")), str(p.get("OS") or "")
        if want_arch in ("", arch) and want_os in ("", os_name):
            return True
    return False


def _explain(filters: list[_Filter], loads: Iterable[_Load]) -> str:
    """swarmkit's explanation: each node counted under its first failing filter, most failures first."""
    failures = dict.fromkeys(range(len(filters)), 0)
    for load in loads:
        for i, f in enumerate(filters):
            if not f.check(load):
                failures[i] += 1
                break
    ranked = sorted((i for i in failures if failures[i]), key=lambda i: (-failures[i], i))
    return "; ".join(filters[i].explain(failures[i]) for i in ranked)


def _spread_value(node: dict[str, Any], descriptor: str) -> str | None:
    lowered = descriptor.lower()
    if lowered.startswith("node.labels.") and len(descriptor) > len("node.labels."):
        return str(((node.get("Spec") or {}).get("Labels") or {}).get(descriptor[len("node.labels.") :], ""))
    if lowered.startswith("engine.labels.") and len(descriptor) > len("engine.labels."):
        labels = ((node.get("Description") or {}).get("Engine") or {}).get("Labels") or {}
        return str(labels.get(descriptor[len("engine.labels.") :], ""))
    return None  # swarmkit ignores other descriptors


def _descriptors(task: dict[str, Any]) -> list[str]:
    prefs = (((task.get("Spec") or {}).get("Placement") or {}).get("Preferences")) or []
    out = []
    for pref in prefs:
        descriptor = str(((pref or {}).get("Spread") or {}).get("SpreadDescriptor") or "")
        if _spread_value({}, descriptor) is not None:
            out.append(descriptor)
    return out


class _Round:
    """One call of :func:`place`: the nodes' loads, updated as tasks are assigned."""

    def __init__(self, tasks: list[dict[str, Any]], nodes: list[dict[str, Any]], services: dict[str, dict]):
        self.services = services
        self.loads: dict[str, _Load] = {}
        for node in sorted(nodes, key=lambda n: str(n.get("ID"))):
            resources = (node.get("Description") or {}).get("Resources") or {}
            self.loads[str(node["ID"])] = _Load(
                node, cpus=int(resources.get("NanoCPUs") or 0), memory=int(resources.get("MemoryBytes") or 0)
            )
        for task in tasks:
            load = self.loads.get(str(task.get("NodeID") or ""))
            if load is not None and taskstates.may_be_running(task):
                load.add(task, self.ports(task))

    def ports(self, task: dict[str, Any]) -> set[tuple[str, int]]:
        return host_ports(task, self.services.get(str(task.get("ServiceID"))))

    def preassigned(self, task: dict[str, Any]) -> Placement:
        ports = self.ports(task)
        filters = _filters(task, ports)
        load = self.loads.get(str(task["NodeID"]))
        if load is None:
            return Placement(None, "", preassigned=True)  # the orchestrator shuts such tasks down
        if all(f.check(load) for f in filters):
            load.add(task, ports)
            return Placement(str(task["NodeID"]), preassigned=True)
        return Placement(None, _explain(filters, [load]), preassigned=True)

    def group(self, tasks: list[dict[str, Any]]) -> dict[str, Placement]:
        """Tasks of one service and spec version: they share every static filter."""
        first = tasks[0]
        ports = self.ports(first)
        filters = _filters(first, ports)
        service_id = str(first.get("ServiceID"))
        descriptors = _descriptors(first)
        out: dict[str, Placement] = {}
        for i, task in enumerate(tasks):
            candidates = [load for load in self.loads.values() if all(f.check(load) for f in filters)]
            if not candidates:
                err = "no suitable node"
                explanation = _explain(filters, self.loads.values())
                if explanation:
                    err = f"no suitable node ({explanation})"
                for rest in tasks[i:]:
                    out[str(rest["ID"])] = Placement(None, err)
                return out
            best = self._choose(candidates, service_id, descriptors)
            best.add(task, ports)
            out[str(task["ID"])] = Placement(str(best.node["ID"]))
        return out

    def _choose(self, candidates: list[_Load], service_id: str, descriptors: list[str]) -> _Load:
        for descriptor in descriptors:
            # the branch (label value) with the fewest tasks of the service over all its nodes
            branch_tasks: dict[str, int] = {}
            for load in self.loads.values():
                value = _spread_value(load.node, descriptor) or ""
                branch_tasks[value] = branch_tasks.get(value, 0) + load.by_service.get(service_id, 0)
            values = {_spread_value(load.node, descriptor) or "" for load in candidates}
            chosen = min(values, key=lambda v: (branch_tasks[v], v))
            candidates = [load for load in candidates if (_spread_value(load.node, descriptor) or "") == chosen]
        return min(candidates, key=lambda load: (load.by_service.get(service_id, 0), load.total, str(load.node["ID"])))


def place(
    pending: list[dict[str, Any]],
    tasks: list[dict[str, Any]],
    nodes: list[dict[str, Any]],
    services: dict[str, dict[str, Any]],
) -> dict[str, Placement]:
    """Decide a node (or Docker's reason to wait) for each task in ``pending``, by task ID.

    ``tasks`` is every task the store holds (what nodes already run); ``services`` maps
    service IDs to services (their ``EndpointSpec`` gives the host ports of tasks that don't
    carry their own). Deterministic: the same input gives the same answer."""
    pending_ids = {str(t["ID"]) for t in pending}
    current = _Round([t for t in tasks if str(t.get("ID")) not in pending_ids], nodes, services)
    out: dict[str, Placement] = {}
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for task in sorted(pending, key=lambda t: (str(t.get("ServiceID")), int(t.get("Slot") or 0), str(t["ID"]))):
        if task.get("NodeID"):
            out[str(task["ID"])] = current.preassigned(task)
        else:
            version = int((task.get("SpecVersion") or {}).get("Index") or 0)
            groups.setdefault((str(task.get("ServiceID")), version), []).append(task)
    # newest spec first: a rolling update's task gets the node its old task freed, not a pending older task
    for key in sorted(groups, key=lambda k: (k[0], -k[1])):
        out.update(current.group(groups[key]))
    return out
