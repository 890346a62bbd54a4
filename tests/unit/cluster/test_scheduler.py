"""The scheduler: where pending tasks go, or Docker's reason they wait (goldens), and its invariants."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.unit.cluster.swarmsim import S, node

from seaway.cluster import scheduler
from seaway.errors import InvalidParameter
from seaway.testing.golden import assert_golden


def task(task_id: str, service_id: str = "svc1", slot: int = 1, node_id: str | None = None, state: str = "pending",
         desired: str = "running", ports: list[dict[str, Any]] | None = None, version: int = 1,
         **template: Any) -> dict[str, Any]:  # fmt: skip
    t: dict[str, Any] = {
        "ID": task_id,
        "ServiceID": service_id,
        "Slot": slot,
        "DesiredState": desired,
        "Spec": {"ContainerSpec": {"Image": "web:1"}, **template},
        "SpecVersion": {"Index": version},
        "Status": {"State": state},
    }
    if node_id:
        t["NodeID"] = node_id
    if ports is not None:
        t["Endpoint"] = {"Spec": {"Ports": ports}}
    return t


HOST_80 = [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "host"}]
FOUR = [node("n1"), node("n2"), node("n3"), node("n4")]


def pending(n: int, service_id: str = "svc1", **kw: Any) -> list[dict[str, Any]]:
    return [task(f"{service_id}-t{i}", service_id, slot=i, **kw) for i in range(1, n + 1)]


def running_on(node_id: str, n: int, service_id: str = "other", **kw: Any) -> list[dict[str, Any]]:
    return [
        task(f"{service_id}-{node_id}-{i}", service_id, slot=i, node_id=node_id, state="running", **kw)
        for i in range(1, n + 1)
    ]


def render(result: dict[str, scheduler.Placement]) -> str:
    lines = []
    for task_id in sorted(result):
        p = result[task_id]
        if p.node_id:
            lines.append(f"{task_id} -> {p.node_id} ({p.message})")
        else:
            lines.append(f"{task_id} pending ({p.message}): {p.err}")
    return "\n".join(lines) + "\n"


SCENARIOS: dict[str, tuple[list, list, list]] = {
    # 6 replicas on 4 empty nodes: 2, 2, 1, 1, lowest node IDs first on ties
    "spread-6-on-4": (pending(6), [], FOUR),
    # the service's own tasks count first, then the node's total
    "spread-service-then-total": (
        pending(3),
        running_on("n1", 3) + running_on("n2", 1, "svc1") + running_on("n3", 1),
        FOUR,
    ),
    # desired shutdown tasks no longer count for spread
    "spread-ignores-shut-down": (pending(2), running_on("n1", 3, "svc1", desired="shutdown"), FOUR[:2]),
    "constraint-role-worker": (
        pending(4, Placement={"Constraints": ["node.role==worker"]}),
        [],
        [node("m1", role="manager"), node("m2", role="manager"), node("w1"), node("w2")],
    ),
    "constraint-labels-hostname-id": (
        pending(3, Placement={"Constraints": ["node.labels.zone==a", "node.hostname!=host2", "node.id!=n4"]}),
        [],
        [
            node("n1", "host1", labels={"zone": "a"}),
            node("n2", "host2", labels={"zone": "a"}),
            node("n3", "host3", labels={"zone": "b"}),
            node("n4", "host4", labels={"zone": "a"}),
        ],
    ),
    "constraint-case-insensitive-value": (
        pending(1, Placement={"Constraints": ["node.labels.zone==EAST", "node.platform.os==linux"]}),
        [],
        [node("n1", labels={"zone": "west"}), node("n2", labels={"zone": "east"})],
    ),
    "constraint-unsatisfied": (pending(2, Placement={"Constraints": ["node.labels.gpu==yes"]}), [], FOUR),
    "not-available-and-constraints": (
        pending(1, Placement={"Constraints": ["node.role==manager"]}),
        [],
        [node("n1", availability="drain"), node("n2", state="down"), node("n3"), node("n4", availability="pause")],
    ),
    "no-nodes": (pending(1), [], []),
    "only-ready-active": (
        pending(3),
        [],
        [node("n1", availability="drain"), node("n2", state="down"), node("n3", availability="pause"), node("n4")],
    ),
    # the fifth host-mode task finds every node's port taken
    "host-port-5-on-4": (pending(5, ports=HOST_80), [], FOUR),
    # a stopping task still holds its port; another protocol or port does not clash
    "host-port-held-until-stopped": (
        pending(3, ports=HOST_80),
        running_on("n1", 1, "old", desired="shutdown", ports=HOST_80)
        + running_on("n2", 1, "udp", ports=[{**HOST_80[0], "Protocol": "udp"}])
        + [task("done", "old", node_id="n3", state="shutdown", ports=HOST_80)],
        FOUR[:3],
    ),
    "max-replicas": (pending(7, Placement={"MaxReplicas": 2}), [], FOUR[:3]),
    "resources": (
        pending(3, Resources={"Reservations": {"NanoCPUs": 3 * S}}),
        running_on("n1", 1, Resources={"Reservations": {"NanoCPUs": 2 * S}}),
        FOUR[:2],
    ),
    "platform": (
        pending(2, Placement={"Platforms": [{"Architecture": "amd64", "OS": "linux"}]}),
        [],
        [node("n1", arch="aarch64"), node("n2", arch="x86_64")],
    ),
    "preassigned": (
        [
            task("g1", node_id="n1", ports=HOST_80),
            task("g2", node_id="n2", ports=HOST_80),
            task("g3", node_id="n3", Placement={"Constraints": ["node.role==manager"]}),
            task("g4", node_id="n4"),
        ],
        running_on("n2", 1, "other", ports=HOST_80),
        [*FOUR[:3], node("n4", availability="pause")],
    ),
    "preference-spread-zone": (
        pending(6, Placement={"Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}]}),
        [],
        [
            node("n1", labels={"zone": "a"}),
            node("n2", labels={"zone": "a"}),
            node("n3", labels={"zone": "a"}),
            node("n4", labels={"zone": "b"}),
        ],
    ),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_placement_golden(name: str) -> None:
    pend, tasks, nodes = SCENARIOS[name]
    services = {"svc1": {"ID": "svc1", "Spec": {}}}
    assert_golden(f"scheduler/{name}.txt", render(scheduler.place(pend, tasks, nodes, services)))


def test_host_ports_from_the_service_when_the_task_has_none() -> None:
    services = {"svc1": {"ID": "svc1", "Spec": {"EndpointSpec": {"Ports": HOST_80}}}}
    result = scheduler.place(pending(2), running_on("n1", 1, "svc1"), FOUR[:2], services)
    assert result["svc1-t1"].node_id == "n2"
    assert result["svc1-t2"].err == "no suitable node (host-mode port already in use on 2 nodes)"


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("node.role=worker", "constraint expected one operator from ==, !="),
        ("n==worker", "key 'n' is invalid"),
        ("node.role==wor<ker", "value 'wor<ker' is invalid"),
    ],
)
def test_parse_constraints_rejects_with_swarmkit_text(expr: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=f"^{message}$"):
        scheduler.parse_constraints([expr])


def test_node_ip_constraint() -> None:
    n = node("n1")
    assert scheduler.node_matches(scheduler.parse_constraints(["node.ip==192.0.2.0/24"]), n)
    assert not scheduler.node_matches(scheduler.parse_constraints(["node.ip!=192.0.2.1"]), n)


@given(
    replicas=st.integers(1, 30),
    nodes=st.integers(1, 8),
    existing=st.lists(st.integers(0, 7), max_size=10),
)
def test_spread_is_even_on_identical_nodes(replicas: int, nodes: int, existing: list[int]) -> None:
    """The service's tasks end up differing by at most one between nodes (other services don't matter)."""
    all_nodes = [node(f"n{i}") for i in range(nodes)]
    others = [t for i, n in enumerate(existing) for t in running_on(f"n{n % nodes}", 1, f"other{i}")]
    result = scheduler.place(pending(replicas), others, all_nodes, {})
    counts = [sum(1 for p in result.values() if p.node_id == f"n{i}") for i in range(nodes)]
    assert sum(counts) == replicas
    assert max(counts) - min(counts) <= 1


@given(
    tasks=st.integers(1, 12),
    nodes=st.lists(st.sampled_from(["active", "pause", "drain", "down"]), min_size=1, max_size=6),
    ports=st.lists(st.sampled_from([8080, 8081]), min_size=1, max_size=2, unique=True),
    held=st.lists(st.tuples(st.integers(0, 5), st.sampled_from([8080, 8081])), max_size=4),
)
def test_host_ports_never_shared_and_only_on_available_nodes(
    tasks: int, nodes: list[str], ports: list[int], held: list[tuple[int, int]]
) -> None:
    all_nodes = [
        node(f"n{i}", availability="active" if a == "down" else a, state="down" if a == "down" else "ready")
        for i, a in enumerate(nodes)
    ]
    spec = [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": p, "PublishMode": "host"} for p in ports]
    existing = [
        task(f"h{i}", "other", node_id=f"n{n % len(nodes)}", state="running", ports=[{**spec[0], "PublishedPort": p}])
        for i, (n, p) in enumerate(held)
    ]
    result = scheduler.place(pending(tasks, ports=spec), existing, all_nodes, {})
    used: dict[str, set[int]] = {}
    for t in existing:
        used.setdefault(t["NodeID"], set()).add(t["Endpoint"]["Spec"]["Ports"][0]["PublishedPort"])
    for p in result.values():
        if p.node_id is None:
            assert p.err.startswith("no suitable node")
            continue
        assert nodes[int(p.node_id[1:])] == "active"
        assert not used.setdefault(p.node_id, set()) & set(ports)
        used[p.node_id] |= set(ports)
