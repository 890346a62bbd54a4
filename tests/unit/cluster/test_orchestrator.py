"""The orchestrator: scenarios played on a simulated swarm against reviewed transcripts, and properties.

Each golden is a transcript: what happened, then every task as ``docker service ps`` would
list it (slot, image, node, desired and observed state with its time since the start) and
the service's UpdateStatus. The simulator (``swarmsim``) applies each plan like the leader
and plays the agents.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.cluster.swarmsim import T0, S, Swarm, node, service

from seaway.cluster import orchestrator, taskstates
from seaway.testing.golden import assert_golden

FOUR = [node("n1"), node("n2"), node("n3"), node("n4")]


class Transcript:
    def __init__(self, swarm: Swarm):
        self.swarm = swarm
        self.parts: list[str] = []

    def show(self, title: str) -> None:
        self.parts.append(f"## t={self.swarm.now - T0:g}s {title}\n{self.swarm.ps()}")

    def settle(self, title: str, until: float | None = None) -> None:
        self.swarm.settle(until=None if until is None else T0 + until)
        self.show(title)

    def update(self, first: str, then: str, until: float | None = None, **change: Any) -> None:
        """Settle, let 100 s pass, change the service as the update route would, settle again."""
        self.settle(first)
        self.swarm.advance(100)
        self.swarm.update_service("svc1", **change)
        self.settle(then, until)

    def begin_update(self, first: str, then: str, **change: Any) -> None:
        """Settle, let 100 s pass, change the service, and show the first plan only."""
        self.settle(first)
        self.swarm.advance(100)
        self.swarm.update_service("svc1", **change)
        self.swarm.step()
        self.show(then)

    def agents_then_plan(self, title: str) -> None:
        self.swarm.agents()
        self.swarm.step()
        self.show(title)

    def text(self) -> str:
        return "\n".join(self.parts)


def slot_task(sw: Swarm, slot: int, service_id: str = "svc1") -> str:
    live = [t for t in sw.tasks.values() if t["ServiceID"] == service_id and t.get("Slot") == slot
            and t["DesiredState"] == "running"]  # fmt: skip
    assert len(live) == 1, live
    return live[0]["ID"]


def node_task(sw: Swarm, node_id: str, service_id: str = "svc1") -> str:
    live = [t for t in sw.tasks.values() if t["ServiceID"] == service_id and t.get("NodeID") == node_id
            and t["DesiredState"] == "running"]  # fmt: skip
    assert len(live) == 1, live
    return live[0]["ID"]


def scale(tr: Transcript) -> None:
    sw = tr.swarm
    tr.settle("create 3 replicas on 4 nodes")
    sw.update_service("svc1", Replicas=6)
    tr.settle("scale to 6: lowest free slots, the emptiest nodes")
    sw.update_service("svc1", Replicas=2)
    tr.settle("scale to 2: slots 3-6 removed (desired remove), then deleted once stopped")


def restart_any(tr: Transcript) -> None:
    sw = tr.swarm
    tr.settle("2 replicas")
    sw.advance(10)
    sw.fail(slot_task(sw, 1))
    sw.step()
    tr.show("slot 1 failed: shut down, replacement assigned with desired ready")
    sw.advance(4.9)
    sw.step()
    tr.show("4.9 s later: still waiting for the 5 s restart delay")
    tr.settle("after the delay: the replacement runs")
    sw.fail(slot_task(sw, 2), exit_code=0)
    tr.settle("slot 2 completed (exit 0): condition any restarts it too")


def restart_on_failure(tr: Transcript) -> None:
    sw = tr.swarm
    tr.settle("2 replicas, on-failure, delay 1 s")
    sw.fail(slot_task(sw, 1), exit_code=0)
    sw.fail(slot_task(sw, 2), exit_code=3)
    tr.settle("slot 1 completed: kept as is; slot 2 failed: restarted after 1 s")


def restart_none(tr: Transcript) -> None:
    sw = tr.swarm
    tr.settle("1 replica, condition none")
    sw.fail(slot_task(sw, 1))
    tr.settle("failed: not restarted, the slot stays taken (no new task)")


def fail_slot_1(tr: Transcript, after: float, title: str) -> None:
    tr.swarm.advance(after)
    tr.swarm.fail(slot_task(tr.swarm, 1))
    tr.settle(title)


def max_attempts(tr: Transcript) -> None:
    tr.settle("1 replica, MaxAttempts 2, delay 0")
    for i in range(3):
        fail_slot_1(tr, 1, f"failure {i + 1}")


def max_attempts_window(tr: Transcript) -> None:
    tr.settle("1 replica, MaxAttempts 1 within a 10 s window, delay 0")
    fail_slot_1(tr, 1, "first failure: restarted")
    fail_slot_1(tr, 30, "second failure 30 s later: the first restart is outside the window, restarted")
    fail_slot_1(tr, 1, "third failure 1 s later: one restart within the window already, not restarted")


def history(tr: Transcript) -> None:
    tr.settle("1 replica, history limit 3, delay 0")
    for _ in range(4):
        tr.swarm.advance(1)
        tr.swarm.fail(slot_task(tr.swarm, 1))
        tr.swarm.settle()
    fail_slot_1(tr, 1, "5 failures: 3 tasks kept in the slot, the oldest deleted")


def global_nodes(tr: Transcript) -> None:
    sw = tr.swarm
    tr.settle("global on 3 nodes (n3 paused: no task there)")
    sw.nodes["n4"] = node("n4")
    tr.settle("n4 joins: it gets a task")
    sw.nodes["n1"]["Spec"]["Availability"] = "drain"
    tr.settle("n1 drained: its task shut down, not replaced")
    sw.nodes["n2"]["Status"]["State"] = "down"
    tr.settle("n2 down: its task desired shutdown (status stays what the node last said)")
    sw.nodes["n3"]["Spec"]["Availability"] = "active"
    tr.settle("n3 active again: gets a task")
    del sw.nodes["n4"]
    tr.settle("n4 removed from the swarm: its task orphaned and deleted")


def global_constraints(tr: Transcript) -> None:
    sw = tr.swarm
    tr.settle("global, node.labels.web==yes: n1 and n2")
    sw.nodes["n2"]["Spec"]["Labels"] = {}
    sw.nodes["n3"]["Spec"]["Labels"] = {"web": "yes"}
    tr.settle("label moved from n2 to n3")
    sw.fail(node_task(sw, "n1"))
    tr.settle("the task on n1 failed: restarted on n1 after 5 s")


def drain_pause_down(tr: Transcript) -> None:
    sw = tr.swarm
    tr.settle("4 replicas on 4 nodes")
    sw.nodes["n1"]["Spec"]["Availability"] = "drain"
    tr.settle("n1 drained: its task moves (no restart delay after a drain)")
    sw.nodes["n2"]["Spec"]["Availability"] = "pause"
    sw.update_service("svc1", Replicas=5)
    tr.settle("n2 paused, scaled to 5: its task stays, nothing new lands there")
    sw.advance(60)
    sw.nodes["n3"]["Status"]["State"] = "down"
    sw.step()
    tr.show("n3 down: replaced at once (the old task keeps its last status, desired shutdown)")
    tr.settle("the replacement starts after the restart delay, without waiting for the lost task")


def host_ports(tr: Transcript) -> None:
    tr.settle("5 replicas publishing 8080 in host mode on 4 nodes: one stays pending")
    tr.swarm.update_service("svc1", Replicas=4)
    tr.settle("scaled to 4: the pending one is removed first")
    tr.swarm.update_service("svc1", Replicas=5)
    tr.swarm.settle()
    tr.swarm.update_service("svc1", ContainerSpec={"Image": "web:2"})
    tr.settle(
        "back to 5, then web:2: each slot's port is free once its old task stopped; the pending task of slot 5 "
        "is shut down and its replacement pends too, so the update waits there (as Docker's does)"
    )


def constraint_enforcer(tr: Transcript) -> None:
    sw = tr.swarm
    tr.settle("2 replicas on node.labels.zone==a")
    sw.nodes["n1"]["Spec"]["Labels"] = {"zone": "b"}
    tr.settle("n1 leaves zone a: its task rejected by the constraint enforcer and replaced")


def rolling(first: str, then: str, ran: str, *settles: tuple[str, float | None]) -> Callable[[Transcript], None]:
    """An update to web:2 shown plan by plan: its first plan, the one after the agents acted, then settled steps."""

    def play(tr: Transcript) -> None:
        tr.begin_update(first, then, ContainerSpec={"Image": "web:2"})
        tr.agents_then_plan(ran)
        for title, until in settles:
            tr.settle(title, until)

    return play


rolling_stop_first = rolling(
    "4 replicas of web:1, parallelism 2, delay 10 s",
    "update to web:2: two slots at a time, old ones stopped first",
    "old ones stopped: the new ones start",
    ("the new ones run; the next slots wait for the 10 s delay", 109),
    ("after the delay: the next two slots", 111),
    ("done: completed 5 s (monitor) after the last slot's delay", None),
)
rolling_start_first = rolling(
    "2 replicas of web:1, start-first",
    "update: the new task starts while the old one runs",
    "the new one runs: the old one is shut down, the next slot starts",
    ("completed", None),
)


def failure_pause(tr: Transcript) -> None:
    tr.update(
        "3 replicas of web:1",
        "update to a missing image: the first new task is rejected, the update pauses; it restarts "
        "every 5 s (condition any), no other slot is touched",
        until=112,
        ContainerSpec={"Image": "bad:2"},
    )


def failure_rollback(tr: Transcript) -> None:
    tr.update(
        "3 replicas of web:1, failure action rollback",
        "update to a missing image: the first new task is rejected, the service rolls back",
        until=100,
        ContainerSpec={"Image": "bad:2"},
    )
    sw = tr.swarm
    assert "PreviousSpec" not in sw.services["svc1"]
    tr.settle("rollback completed (RollbackConfig: Parallelism 0, monitor 5 s)", until=130)


def failure_continue(tr: Transcript) -> None:
    tr.update(
        "2 replicas of web:1, failure action continue, no restarts",
        "update to a missing image: every slot updated anyway, completed",
        ContainerSpec={"Image": "bad:2"},
    )


def manual_rollback(tr: Transcript) -> None:
    tr.update("2 replicas of web:1", "updated to web:2", ContainerSpec={"Image": "web:2"})
    sw = tr.swarm
    sw.advance(100)
    sw.rollback_service("svc1")
    tr.settle("rollback requested: back to web:1, rollback completed")


def force_update(tr: Transcript) -> None:
    tr.update("2 replicas", "ForceUpdate 0 -> 1: every task replaced with the same image", ForceUpdate=1)
    sw = tr.swarm
    sw.advance(100)
    sw.update_service("svc1", Replicas=3)
    tr.settle("scale only: no rollout, no UpdateStatus change")


def global_update(tr: Transcript) -> None:
    tr.update("global on 3 nodes", "update: node by node", ContainerSpec={"Image": "web:2"})


def removed_service(tr: Transcript) -> None:
    sw = tr.swarm
    tr.settle("2 replicas on 2 nodes, one of them then goes down")
    sw.nodes["n2"]["Status"]["State"] = "down"
    del sw.services["svc1"]
    sw.step()
    tr.show("service deleted: the task on the down node deleted, the other desired remove")
    tr.settle("stopped: deleted")


def one_service(replicas: int, **spec: Any) -> Swarm:
    return Swarm(FOUR[:replicas], [service(replicas=replicas, **spec)])


SCENARIOS: dict[str, tuple[Callable[[Transcript], None], Callable[[], Swarm]]] = {
    "scale": (scale, lambda: Swarm(FOUR, [service(replicas=3)])),
    "restart-any": (restart_any, lambda: Swarm(FOUR[:2], [service(replicas=2)])),
    "restart-on-failure": (
        restart_on_failure,
        lambda: Swarm(FOUR[:2], [service(replicas=2, RestartPolicy={"Condition": "on-failure", "Delay": S})]),
    ),
    "restart-none": (restart_none, lambda: Swarm(FOUR[:1], [service(RestartPolicy={"Condition": "none"})])),
    "restart-max-attempts": (
        max_attempts,
        lambda: Swarm(FOUR[:1], [service(RestartPolicy={"Delay": 0, "MaxAttempts": 2})]),
    ),
    "restart-window": (
        max_attempts_window,
        lambda: Swarm(FOUR[:1], [service(RestartPolicy={"Delay": 0, "MaxAttempts": 1, "Window": 10 * S})]),
    ),
    "history-limit": (history, lambda: Swarm(FOUR[:1], [service(RestartPolicy={"Delay": 0})], history_limit=3)),
    "global-nodes": (
        global_nodes,
        lambda: Swarm([node("n1"), node("n2"), node("n3", availability="pause")], [service(replicas=None)]),
    ),
    "global-constraints": (
        global_constraints,
        lambda: Swarm(
            [node("n1", labels={"web": "yes"}), node("n2", labels={"web": "yes"}), node("n3")],
            [service(replicas=None, Placement={"Constraints": ["node.labels.web==yes"]})],
        ),
    ),
    "drain-pause-down": (drain_pause_down, lambda: Swarm(FOUR, [service(replicas=4)])),
    "host-port-5-on-4": (
        host_ports,
        lambda: Swarm(
            FOUR,
            [
                service(
                    replicas=5,
                    EndpointSpec={
                        "Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "host"}]
                    },
                )
            ],
        ),
    ),
    "constraint-enforcer": (
        constraint_enforcer,
        lambda: Swarm(
            [node("n1", labels={"zone": "a"}), node("n2", labels={"zone": "a"}), node("n3", labels={"zone": "a"})],
            [service(replicas=2, Placement={"Constraints": ["node.labels.zone==a"]})],
        ),
    ),
    "rolling-stop-first": (
        rolling_stop_first,
        lambda: Swarm(FOUR, [service(replicas=4, UpdateConfig={"Parallelism": 2, "Delay": 10 * S})]),
    ),
    "rolling-start-first": (
        rolling_start_first,
        lambda: Swarm(FOUR[:2], [service(replicas=2, UpdateConfig={"Parallelism": 1, "Order": "start-first"})]),
    ),
    "update-failure-pause": (failure_pause, lambda: Swarm(FOUR[:3], [service(replicas=3)])),
    "update-failure-rollback": (
        failure_rollback,
        lambda: one_service(
            3, UpdateConfig={"Parallelism": 1, "FailureAction": "rollback"}, RollbackConfig={"Parallelism": 0}
        ),
    ),
    "update-failure-continue": (
        failure_continue,
        lambda: one_service(
            2, UpdateConfig={"Parallelism": 1, "FailureAction": "continue"}, RestartPolicy={"Condition": "none"}
        ),
    ),
    "rollback-manual": (manual_rollback, lambda: Swarm(FOUR[:2], [service(replicas=2)])),
    "force-update": (force_update, lambda: Swarm(FOUR[:2], [service(replicas=2)])),
    "global-update": (global_update, lambda: Swarm(FOUR[:3], [service(replicas=None)])),
    "removed-service": (removed_service, lambda: Swarm(FOUR[:2], [service(replicas=2)])),
}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_golden(name: str) -> None:
    play, make = SCENARIOS[name]
    tr = Transcript(make())
    play(tr)
    assert_golden(f"orchestrator/{name}.txt", tr.text())


def test_plan_is_empty_once_converged_and_deterministic() -> None:
    sw = Swarm(FOUR, [service(replicas=6)])
    sw.settle()
    again = orchestrator.plan(list(sw.services.values()), list(sw.tasks.values()), list(sw.nodes.values()),
                              sw.now, lambda: "unused")  # fmt: skip
    assert again.empty and again.wake_at is None
    a, b = Swarm(FOUR, [service(replicas=6)]), Swarm(FOUR, [service(replicas=6)])
    assert a.step() == b.step()


def test_created_tasks_carry_what_the_agent_needs() -> None:
    sw = Swarm(FOUR[:1], [service(replicas=1)])
    (task,) = sw.step().create
    assert task["ServiceID"] == "svc1" and task["Slot"] == 1 and task["NodeID"] == "n1"
    assert task["DesiredState"] == "running"
    assert task["Spec"] == sw.services["svc1"]["Spec"]["TaskTemplate"]
    assert task["SpecVersion"] == {"Index": 1}
    assert task["Status"]["State"] == "assigned" and task["Status"]["Message"] == "scheduler assigned task to node"
    assert taskstates.parse_time(task["CreatedAt"]) == pytest.approx(T0)


def test_up_to_date_follows_the_spec() -> None:
    sw = Swarm(FOUR[:1], [service(replicas=1)])
    sw.settle()
    (task,) = sw.tasks.values()
    assert orchestrator.up_to_date(sw.services["svc1"], task, sw.nodes["n1"])
    sw.update_service("svc1", Replicas=1)
    assert orchestrator.up_to_date(sw.services["svc1"], task, sw.nodes["n1"])
    sw.update_service("svc1", ContainerSpec={"Image": "web:2"})
    assert not orchestrator.up_to_date(sw.services["svc1"], task, sw.nodes["n1"])


def test_wake_at_is_the_restart_delay() -> None:
    sw = Swarm(FOUR[:1], [service(RestartPolicy={"Delay": 7 * S})])
    sw.settle()
    sw.fail(slot_task(sw, 1))
    assert sw.step().wake_at == pytest.approx(sw.now + 7)


NODE_STATES = st.sampled_from(["active", "active", "active", "pause", "drain", "down"])


@settings(max_examples=60)
@given(
    replicas=st.integers(0, 12),
    nodes=st.lists(NODE_STATES, min_size=1, max_size=6),
    events=st.lists(
        st.tuples(st.sampled_from(["fail", "scale", "image", "node", "force"]), st.integers(0, 11)), max_size=8
    ),
)
def test_replicated_converges_to_exactly_n_on_eligible_nodes(replicas: int, nodes: list[str], events: list) -> None:
    """Whatever happens in between, once things settle exactly Replicas tasks are meant to run,
    with the current spec (unless the rollout waits for a task no node accepts), on ready
    nodes, as many running as the nodes accept, and no node holds two host-mode ports."""
    all_nodes = [_node(i, s) for i, s in enumerate(nodes)]
    ports = {"Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 9000, "PublishMode": "host"}]}
    sw = Swarm(all_nodes, [service(replicas=replicas, EndpointSpec=ports if replicas % 2 else {},
                                   RestartPolicy={"Delay": S})])  # fmt: skip
    sw.settle()
    for kind, n in events:
        sw.advance(1)
        running = sw.running()
        if kind == "fail" and running:
            sw.fail(running[n % len(running)]["ID"])
        elif kind == "scale":
            sw.update_service("svc1", Replicas=n)
        elif kind == "image":
            sw.update_service("svc1", ContainerSpec={"Image": f"web:{n}"})
        elif kind == "force":
            sw.update_service("svc1", ForceUpdate=n)
        elif kind == "node":
            i = n % len(all_nodes)
            sw.nodes[f"n{i}"] = _node(i, nodes[(i + n + 1) % len(nodes)])
        sw.settle()
    svc = sw.services["svc1"]
    wanted = svc["Spec"]["Mode"]["Replicated"]["Replicas"]
    ready = [n for n in sw.nodes.values() if n["Status"]["State"] == "ready" and n["Spec"]["Availability"] != "drain"]
    active = [n for n in ready if n["Spec"]["Availability"] == "active"]
    host_mode = bool(svc["Spec"].get("EndpointSpec"))
    live = [t for t in sw.tasks.values() if t["DesiredState"] in ("ready", "running")]
    placed = [t for t in live if taskstates.state(t) == "running"]
    assert len(live) == wanted
    assert len({t["Slot"] for t in live}) == wanted
    current = [t for t in live if t["Spec"] == svc["Spec"]["TaskTemplate"]]
    if len(current) < len(live):  # a rolling update only stops at a new task no node accepts (as Docker's)
        assert any(taskstates.state(t) == "pending" for t in current)
    assert all(t["NodeID"] in {n["ID"] for n in ready} for t in placed)
    if host_mode:
        assert len({t["NodeID"] for t in placed}) == len(placed)
    # every task that could run does (paused nodes keep what they ran, take nothing new)
    capacity = len(active) if host_mode else (len(active) and wanted)
    assert len(placed) >= min(wanted, capacity)
    for t in live:
        if taskstates.state(t) != "running":
            assert t["Status"]["Err"].startswith("no suitable node")


def _node(i: int, availability: str) -> dict:
    if availability == "down":
        return node(f"n{i}", state="down")
    return node(f"n{i}", availability=availability)


@settings(max_examples=40)
@given(nodes=st.lists(NODE_STATES, min_size=1, max_size=6), flips=st.lists(st.integers(0, 5), max_size=5))
def test_global_runs_one_task_per_eligible_node(nodes: list[str], flips: list[int]) -> None:
    all_nodes = [_node(i, s) for i, s in enumerate(nodes)]
    sw = Swarm(all_nodes, [service(replicas=None)])
    sw.settle()
    for n in flips:
        i = n % len(nodes)
        sw.nodes[f"n{i}"] = _node(i, ["active", "drain", "down", "pause"][(n + len(flips)) % 4])
        sw.settle()
    live = [t for t in sw.tasks.values() if t["DesiredState"] in ("ready", "running")]
    by_node = {t["NodeID"] for t in live}
    assert len(by_node) == len(live)  # never two on a node
    active = {
        n["ID"] for n in sw.nodes.values() if n["Status"]["State"] == "ready" and n["Spec"]["Availability"] == "active"
    }
    assert active <= {t["NodeID"] for t in live if taskstates.state(t) == "running"}
    assert by_node <= {n["ID"] for n in sw.nodes.values() if n["Status"]["State"] == "ready"
                       and n["Spec"]["Availability"] != "drain"}  # fmt: skip


def test_stop_first_starts_the_new_task_after_60_s_if_the_old_never_stops() -> None:
    sw = Swarm(FOUR[:1], [service()])
    sw.settle()
    sw.update_service("svc1", ContainerSpec={"Image": "web:2"})
    sw.step()  # the agent never reports the old task stopped
    (new,) = (t for t in sw.tasks.values() if t["Spec"]["ContainerSpec"]["Image"] == "web:2")
    assert new["DesiredState"] == "ready" and sw.last.wake_at == pytest.approx(sw.now + 60)
    sw.advance(60)
    sw.step()
    assert sw.tasks[new["ID"]]["DesiredState"] == "running"


def test_placement_only_change_keeps_tasks_whose_node_still_matches() -> None:
    sw = Swarm([node("n1", labels={"zone": "a"}), node("n2")], [service(replicas=2)])
    sw.settle()
    before = {t["ID"]: t["NodeID"] for t in sw.running()}
    sw.update_service("svc1", Placement={"Constraints": ["node.labels.zone==a"]})
    sw.settle()
    after = {t["ID"]: t["NodeID"] for t in sw.running()}
    kept = [tid for tid, n in before.items() if n == "n1"]
    assert set(kept) <= set(after) and set(after.values()) == {"n1"} and len(after) == 2
    assert sw.services["svc1"]["UpdateStatus"]["State"] == "completed"


def test_max_failure_ratio_pauses_on_the_failure_that_crosses_it() -> None:
    sw = Swarm(FOUR, [service(replicas=4, RestartPolicy={"Condition": "none"},
                              UpdateConfig={"Parallelism": 1, "MaxFailureRatio": 0.3})])  # fmt: skip
    sw.settle()
    sw.advance(100)
    sw.update_service("svc1", ContainerSpec={"Image": "bad:2"})
    sw.settle()
    failed = sorted(
        (t for t in sw.tasks.values() if taskstates.state(t) == "rejected"), key=lambda t: taskstates.created_time(t)
    )
    assert len(failed) == 2  # 1 of 4 slots is within 0.3, 2 of 4 is not
    status = sw.services["svc1"]["UpdateStatus"]
    assert status["State"] == "paused"
    assert status["Message"] == f"update paused due to failure or early termination of task {failed[1]['ID']}"
