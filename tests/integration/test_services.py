"""Swarm services through the docker CLI, in one module-scoped lab of three hosts on one
LAN (h1 a manager, h2 and h3 workers). The tests run in file order; each removes the
services it made. The attachable network ``appnet`` and the client ``probe`` on h2 are
shared."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.checks import lab_docker

from seaway.lab import Lab
from seaway.testing.plugin import lab_session

pytestmark = pytest.mark.netns

docker = lab_docker


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    topology = {
        "segments": [{"name": "lan"}],
        "hosts": [{"name": f"h{i}", "links": ["lan"]} for i in (1, 2, 3)],
        "swarm": {"managers": ["h1"], "workers": ["h2", "h3"]},
    }
    global _LAB
    for lab in lab_session(topology, set()):
        _LAB = lab
        docker(lab, "h1", "network", "create", "-d", "overlay", "--attachable", "--subnet", "10.30.0.0/24", "appnet")
        docker(lab, "h2", "run", "-d", "--name", "probe", "--network", "appnet", "busybox", "sleep", "3600")
        yield lab


def wait_for(predicate: Any, timeout: float, what: str, service: str = "") -> float:
    """Poll ``predicate`` until true; the seconds it took. With ``service``, a failure
    shows its update status and tasks."""
    try:
        return _wait_for(predicate, timeout, what)
    except AssertionError as exc:
        if not service or _LAB is None:
            raise
        inspect = docker(_LAB, "h1", "service", "inspect", service, check=False).stdout
        status = json.loads(inspect)[0].get("UpdateStatus") if inspect.strip().startswith("[") else None
        rows = [(t.get("Slot"), t["DesiredState"], t["Status"]["State"], t["Status"].get("Err", ""))
                for t in tasks(_LAB, service)]  # fmt: skip
        raise AssertionError(f"{exc}; UpdateStatus {status}; tasks {rows}") from None


_LAB: Lab | None = None


def _wait_for(predicate: Any, timeout: float, what: str) -> float:
    start = time.monotonic()
    last: Any = None
    while time.monotonic() - start < timeout:
        try:
            last = predicate()
            if last:
                return time.monotonic() - start
        except (AssertionError, KeyError, IndexError, ValueError) as exc:
            last = exc
        time.sleep(0.2)
    raise AssertionError(f"{what} not within {timeout} s (last: {last!r})")


def tasks(lab: Lab, service: str) -> list[dict[str, Any]]:
    """The tasks of ``service`` (a name; tasks of a removed service are still found by the
    ID it had: dockerd's ``service`` filter refuses a name it no longer knows)."""
    api = ["curl", "-s", "-g", "--unix-socket", str(lab.host("h1").files.socket)]
    found = lab.host("h1").run([*api, f"http://seaway/services/{service}"], timeout=30)
    if '"ID"' in found.stdout:
        _IDS[service] = json.loads(found.stdout)["ID"]
    out = lab.host("h1").run([*api, "http://seaway/tasks"], timeout=30)
    return [t for t in json.loads(out.stdout) if t["ServiceID"] == _IDS.get(service)]


_IDS: dict[str, str] = {}


def running(lab: Lab, service: str) -> list[dict[str, Any]]:
    return [t for t in tasks(lab, service) if t["Status"]["State"] == "running" and t["DesiredState"] == "running"]


def lookup(lab: Lab, name: str) -> list[str]:
    """The addresses the client on h2 gets for ``name`` from the embedded DNS (none: NXDOMAIN)."""
    out = docker(lab, "h2", "exec", "probe", "nslookup", name, "127.0.0.11", check=False).stdout
    answer = out.split(f"Name:\t{name}", 1)
    if len(answer) < 2:
        return []
    return sorted(line.split()[-1] for line in answer[1].splitlines() if line.startswith("Address"))


def task_addresses(lab: Lab, service: str, network_id: str) -> list[str]:
    out = []
    for t in running(lab, service):
        for att in t.get("NetworksAttachments") or []:
            if att["Network"]["ID"] == network_id:
                out += [a.split("/")[0] for a in att["Addresses"]]
    return sorted(out)


def network_id(lab: Lab, name: str) -> str:
    return docker(lab, "h1", "network", "inspect", "-f", "{{.ID}}", name).stdout.strip()


def test_replicated_service_spreads_and_answers_by_vip_alias_and_tasks(lab: Lab) -> None:
    out = docker(
        lab, "h1", "service", "create", "--detach", "--name", "web", "--replicas", "3",
        "--network", "name=appnet,alias=www", "busybox", "sleep", "3600",
    )  # fmt: skip
    service_id = out.stdout.strip()
    wait_for(lambda: len(running(lab, "web")) == 3, 60, "3 running tasks")
    nodes = {t["NodeID"] for t in running(lab, "web")}
    assert len(nodes) == 3  # one per node: spread
    svc = json.loads(docker(lab, "h1", "service", "inspect", "web").stdout)[0]
    assert svc["ID"] == service_id
    appnet = network_id(lab, "appnet")
    vips = {v["NetworkID"]: v["Addr"].split("/")[0] for v in svc["Endpoint"]["VirtualIPs"]}
    assert vips[appnet].startswith("10.30.0.")
    wait_for(lambda: lookup(lab, "web") == [vips[appnet]], 10, "web → its VIP")
    assert lookup(lab, "www") == [vips[appnet]]
    members = task_addresses(lab, "web", appnet)
    assert len(members) == 3
    wait_for(lambda: lookup(lab, "tasks.web") == members, 10, "tasks.web → the running tasks")
    assert lookup(lab, "tasks.www") == members
    ls = docker(lab, "h1", "service", "ls", "--format", "{{.Name}} {{.Mode}} {{.Replicas}}").stdout
    assert "web replicated 3/3" in ls.splitlines()
    ps = docker(lab, "h1", "service", "ps", "web", "--format", "{{.Name}} {{.CurrentState}}").stdout
    assert sorted(line.split()[0] for line in ps.splitlines()) == ["web.1", "web.2", "web.3"]
    containers = docker(
        lab, "h2", "ps", "--filter", "label=com.docker.swarm.service.name=web", "--format", "{{.Names}}"
    )
    assert containers.stdout.strip().startswith("web.")


def test_scale_down_and_up_answers_follow_then_remove_drops_names(lab: Lab) -> None:
    docker(lab, "h1", "service", "scale", "--detach", "web=1")
    wait_for(lambda: len(running(lab, "web")) == 1, 30, "1 running task")
    appnet = network_id(lab, "appnet")
    took = wait_for(lambda: lookup(lab, "tasks.web") == task_addresses(lab, "web", appnet), 10, "tasks.web → 1")
    assert len(lookup(lab, "tasks.web")) == 1
    assert took < 2.5
    docker(lab, "h1", "service", "scale", "--detach", "web=2")
    wait_for(lambda: len(running(lab, "web")) == 2, 30, "2 running tasks")
    wait_for(lambda: len(lookup(lab, "tasks.web")) == 2, 5, "tasks.web → 2")
    docker(lab, "h1", "service", "rm", "web")
    wait_for(lambda: lookup(lab, "web") == [], 5, "web gone from DNS")
    wait_for(lambda: lookup(lab, "tasks.web") == [], 20, "tasks.web gone from DNS")
    wait_for(lambda: tasks(lab, "web") == [], 30, "no tasks left")
    gone = docker(lab, "h1", "service", "inspect", "web", check=False)
    assert gone.returncode != 0 and "no such service: web" in gone.stderr.lower()


def test_dnsrr_service_has_no_vip_and_answers_with_its_tasks(lab: Lab) -> None:
    docker(
        lab, "h1", "service", "create", "--detach", "--name", "rr", "--replicas", "2", "--endpoint-mode", "dnsrr",
        "--network", "appnet", "busybox", "sleep", "3600",
    )  # fmt: skip
    wait_for(lambda: len(running(lab, "rr")) == 2, 60, "2 running tasks")
    svc = json.loads(docker(lab, "h1", "service", "inspect", "rr").stdout)[0]
    assert "VirtualIPs" not in svc["Endpoint"]
    members = task_addresses(lab, "rr", network_id(lab, "appnet"))
    wait_for(lambda: lookup(lab, "rr") == members, 10, "rr → its tasks")
    docker(lab, "h1", "service", "rm", "rr")
    wait_for(lambda: tasks(lab, "rr") == [], 30, "no tasks left")


def test_service_create_without_detach_returns_once_converged(lab: Lab) -> None:
    out = docker(lab, "h1", "service", "create", "--name", "attached", "--replicas", "2", "busybox", "sleep", "3600",
                 timeout=90)  # fmt: skip
    assert "verify: Service" in out.stdout and "converged" in out.stdout
    assert len(running(lab, "attached")) == 2
    docker(lab, "h1", "service", "rm", "attached")


def node_of(lab: Lab) -> dict[str, str]:
    """Node ID → host name."""
    out = docker(lab, "h1", "node", "ls", "--format", "{{.ID}} {{.Hostname}}").stdout
    return dict(line.split() for line in out.splitlines())


def placement(lab: Lab, service: str) -> list[str]:
    names = node_of(lab)
    return sorted(names[t["NodeID"]] for t in running(lab, service))


def test_spread_global_mode_and_a_role_constraint(lab: Lab) -> None:
    docker(lab, "h1", "service", "create", "--detach", "--name", "six", "--replicas", "6", "busybox", "sleep", "3600")
    docker(lab, "h1", "service", "create", "--detach", "--name", "everywhere", "--mode", "global",
           "busybox", "sleep", "3600")  # fmt: skip
    docker(lab, "h1", "service", "create", "--detach", "--name", "workers", "--replicas", "4",
           "--constraint", "node.role==worker", "busybox", "sleep", "3600")  # fmt: skip
    wait_for(lambda: placement(lab, "six") == ["h1", "h1", "h2", "h2", "h3", "h3"], 60, "6 tasks, 2 per node")
    wait_for(lambda: placement(lab, "everywhere") == ["h1", "h2", "h3"], 60, "one global task per node")
    wait_for(lambda: placement(lab, "workers") == ["h2", "h2", "h3", "h3"], 60, "4 tasks on the workers only")
    for name in ("six", "everywhere", "workers"):
        docker(lab, "h1", "service", "rm", name)
    wait_for(lambda: all(tasks(lab, n) == [] for n in ("six", "everywhere", "workers")), 60, "all tasks gone")


def test_drain_moves_tasks_off_and_pause_stops_new_placement(lab: Lab) -> None:
    docker(lab, "h1", "service", "create", "--detach", "--name", "moved", "--replicas", "3", "busybox", "sleep", "3600")
    wait_for(lambda: placement(lab, "moved") == ["h1", "h2", "h3"], 60, "one task per node")
    docker(lab, "h1", "node", "update", "--availability", "drain", "h3")
    wait_for(
        lambda: len(placement(lab, "moved")) == 3 and "h3" not in placement(lab, "moved"), 60, "off the drained h3"
    )
    docker(lab, "h1", "node", "update", "--availability", "pause", "h2")
    on_h2 = placement(lab, "moved").count("h2")
    docker(lab, "h1", "service", "scale", "--detach", "moved=5")
    wait_for(lambda: len(placement(lab, "moved")) == 5, 60, "5 running")
    assert placement(lab, "moved").count("h2") == on_h2  # the paused node kept its tasks and got no new one
    assert "h3" not in placement(lab, "moved")  # nor the drained one
    for host in ("h2", "h3"):
        docker(lab, "h1", "node", "update", "--availability", "active", host)
    docker(lab, "h1", "service", "rm", "moved")
    wait_for(lambda: tasks(lab, "moved") == [], 60, "all tasks gone")


def test_host_mode_port_one_task_per_node_the_rest_pending_and_the_port_answers(lab: Lab) -> None:
    docker(lab, "h1", "service", "create", "--detach", "--name", "hostport", "--replicas", "4",
           "--publish", "mode=host,published=8080,target=80", "busybox", "httpd", "-f", "-p", "80")  # fmt: skip
    wait_for(lambda: placement(lab, "hostport") == ["h1", "h2", "h3"], 60, "one task per node")
    pending = [t for t in tasks(lab, "hostport") if t["Status"]["State"] == "pending"]
    assert len(pending) == 1
    assert "host-mode port already in use on 3 nodes" in pending[0]["Status"]["Err"]
    for task in running(lab, "hostport"):
        assert task["Status"]["PortStatus"]["Ports"] == [
            {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "host"}
        ]
    for host in ("h1", "h2", "h3"):
        url = f"http://{lab.host(host).address}:8080/"
        code = lab.host("h1").run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", "5", url], timeout=10)
        assert code.stdout == "404", f"{url}: {code.stdout!r}"  # busybox httpd answers (no index.html)
    docker(lab, "h1", "service", "rm", "hostport")
    wait_for(lambda: tasks(lab, "hostport") == [], 60, "all tasks gone")


def test_endpoint_mode_updates_move_the_names_and_rollback_restores_the_spec(lab: Lab) -> None:
    docker(lab, "h1", "service", "create", "--detach", "--name", "flip", "--replicas", "2", "--stop-grace-period", "1s",
           "--network", "appnet", "busybox", "sleep", "3600")  # fmt: skip
    wait_for(lambda: len(running(lab, "flip")) == 2, 60, "2 running tasks")
    appnet = network_id(lab, "appnet")

    def vip() -> list[str]:
        svc = json.loads(docker(lab, "h1", "service", "inspect", "flip").stdout)[0]
        return [v["Addr"].split("/")[0] for v in svc["Endpoint"].get("VirtualIPs", []) if v["NetworkID"] == appnet]

    first = vip()
    wait_for(lambda: lookup(lab, "flip") == first, 10, "flip → its VIP")
    docker(lab, "h1", "service", "update", "--detach", "--endpoint-mode", "dnsrr", "flip")
    wait_for(lambda: vip() == [], 10, "no VIP in dnsrr mode")
    wait_for(lambda: len(running(lab, "flip")) == 2 and lookup(lab, "flip") == task_addresses(lab, "flip", appnet),
             60, "flip → its tasks")  # fmt: skip
    docker(lab, "h1", "service", "update", "--detach", "--endpoint-mode", "vip", "flip")
    wait_for(lambda: len(vip()) == 1, 10, "a VIP again")
    wait_for(lambda: lookup(lab, "flip") == vip(), 60, "flip → the new VIP only")

    docker(lab, "h1", "service", "update", "--detach", "--env-add", "COLOUR=blue", "flip")
    env = "{{json .Spec.TaskTemplate.ContainerSpec.Env}}"
    assert "COLOUR=blue" in docker(lab, "h1", "service", "inspect", "-f", env, "flip").stdout
    wait_for(lambda: len(running(lab, "flip")) == 2
             and all("COLOUR=blue" in (t["Spec"]["ContainerSpec"].get("Env") or []) for t in running(lab, "flip")),
             60, "both tasks on the new spec", "flip")  # fmt: skip
    docker(lab, "h1", "service", "rollback", "--detach", "flip")
    assert "COLOUR=blue" not in docker(lab, "h1", "service", "inspect", "-f", env, "flip").stdout
    state = docker(lab, "h1", "service", "inspect", "-f", "{{.UpdateStatus.State}}", "flip").stdout.strip()
    assert state.startswith("rollback_")
    wait_for(lambda: len(running(lab, "flip")) == 2
             and all(not t["Spec"]["ContainerSpec"].get("Env") for t in running(lab, "flip")),
             60, "both tasks back on the old spec", "flip")  # fmt: skip
    docker(lab, "h1", "service", "rm", "flip")
    wait_for(lambda: tasks(lab, "flip") == [], 60, "all tasks gone")


def test_vips_follow_networks_and_published_ports_and_are_kept_across_updates(lab: Lab) -> None:
    docker(lab, "h1", "network", "create", "-d", "overlay", "--subnet", "10.31.0.0/24", "second")
    docker(lab, "h1", "service", "create", "--detach", "--name", "pub", "--network", "appnet", "--publish", "8081:80",
           "--stop-grace-period", "1s", "busybox", "sleep", "3600")  # fmt: skip
    ids = {name: network_id(lab, name) for name in ("appnet", "second", "ingress")}

    def endpoint() -> dict[str, Any]:
        return json.loads(docker(lab, "h1", "service", "inspect", "pub").stdout)[0]["Endpoint"]

    first = endpoint()
    assert [v["NetworkID"] for v in first["VirtualIPs"]] == [ids["ingress"], ids["appnet"]]  # ingress first
    assert [(p["TargetPort"], p["PublishedPort"]) for p in first["Ports"]] == [(80, 8081)]
    docker(lab, "h1", "service", "update", "--detach", "--network-add", "second", "--publish-add", "8082:82", "pub")
    second = endpoint()
    vips = {v["NetworkID"]: v["Addr"] for v in second["VirtualIPs"]}
    assert vips[ids["appnet"]] == first["VirtualIPs"][1]["Addr"]  # kept across the update
    assert vips[ids["second"]].startswith("10.31.0.")
    assert sorted(p["PublishedPort"] for p in second["Ports"]) == [8081, 8082]
    refused = docker(lab, "h1", "service", "create", "--name", "clash", "--publish", "8082:80", "busybox", "sleep",
                     "60", check=False)  # fmt: skip
    assert refused.returncode != 0 and "port '8082' is already in use by service 'pub'" in refused.stderr
    docker(lab, "h1", "service", "update", "--detach", "--network-rm", "second", "--publish-rm", "80", "pub")
    third = endpoint()
    assert ids["second"] not in {v["NetworkID"] for v in third["VirtualIPs"]}
    assert [p["PublishedPort"] for p in third["Ports"]] == [8082]
    docker(lab, "h1", "service", "rm", "pub")
    wait_for(lambda: tasks(lab, "pub") == [], 60, "all tasks gone")
    docker(lab, "h1", "network", "rm", "second")  # the service's VIP on it was given back


def test_only_healthy_tasks_answer_and_an_unhealthy_one_is_replaced(lab: Lab) -> None:
    docker(lab, "h1", "service", "create", "--detach", "--name", "hc", "--replicas", "2", "--network", "appnet",
           "--constraint", "node.hostname==h2", "--health-cmd", "test -f /tmp/ok", "--health-interval", "1s",
           "--health-retries", "2", "--health-start-period", "60s", "--stop-grace-period", "1s", "busybox", "sleep", "3600")  # fmt: skip
    wait_for(lambda: sum(t["Status"]["State"] == "starting" for t in tasks(lab, "hc")) == 2, 60, "2 tasks starting")
    time.sleep(2.5)  # several probes failed (in the start period): not yet healthy, so in no answer
    assert lookup(lab, "tasks.hc") == [] and running(lab, "hc") == []
    names = docker(lab, "h2", "ps", "--filter", "label=com.docker.swarm.service.name=hc", "--format", "{{.Names}}")
    first = names.stdout.split()[0]
    docker(lab, "h2", "exec", first, "touch", "/tmp/ok")
    wait_for(lambda: len(running(lab, "hc")) == 1, 15, "the healthy task running")
    appnet = network_id(lab, "appnet")
    wait_for(lambda: lookup(lab, "tasks.hc") == task_addresses(lab, "hc", appnet), 10, "tasks.hc → the healthy one")
    healthy = running(lab, "hc")[0]["ID"]
    docker(lab, "h2", "exec", first, "rm", "/tmp/ok")
    wait_for(lambda: lookup(lab, "tasks.hc") == [], 15, "the task turned unhealthy leaves the answers")
    wait_for(lambda: any(t["ID"] == healthy and t["Status"]["State"] == "failed" for t in tasks(lab, "hc")), 15,
             "the unhealthy task failed")  # fmt: skip
    failed = next(t for t in tasks(lab, "hc") if t["ID"] == healthy)
    assert failed["Status"]["Err"] == "task: unhealthy container"
    docker(lab, "h1", "service", "rm", "hc")
    wait_for(lambda: tasks(lab, "hc") == [], 60, "all tasks gone")


def test_a_leaving_node_takes_its_tasks_and_a_global_service_follows_a_node_that_joins(lab: Lab) -> None:
    docker(
        lab, "h1", "service", "create", "--detach", "--name", "before", "--mode", "global", "busybox", "sleep", "600"
    )
    wait_for(lambda: placement(lab, "before") == ["h1", "h2", "h3"], 60, "a task on each node")
    docker(lab, "h3", "run", "-d", "--name", "own", "busybox", "sleep", "600")
    assert "Node left the swarm." in docker(lab, "h3", "swarm", "leave").stdout
    left = docker(lab, "h3", "ps", "-a", "--format", "{{.Names}}").stdout.split()
    assert left == ["own"]  # the tasks' containers went with the swarm, the node's own stays
    docker(lab, "h3", "rm", "-f", "own")
    docker(lab, "h1", "service", "rm", "before")
    wait_for(lambda: node_of(lab) and "h3" in node_of(lab).values() and
             docker(lab, "h1", "node", "inspect", "h3", "-f", "{{.Status.State}}").stdout.strip() == "down",
             30, "h3 Down")  # fmt: skip
    docker(lab, "h1", "node", "rm", "h3")
    docker(lab, "h1", "service", "create", "--detach", "--name", "daemonset", "--mode", "global",
           "--stop-grace-period", "1s", "busybox", "sleep", "3600")  # fmt: skip
    wait_for(lambda: placement(lab, "daemonset") == ["h1", "h2"], 60, "a task on each of the two nodes")
    token = docker(lab, "h1", "swarm", "join-token", "-q", "worker").stdout.strip()
    docker(lab, "h3", "swarm", "join", "--token", token, f"{lab.host('h1').address}:2377")
    wait_for(lambda: placement(lab, "daemonset") == ["h1", "h2", "h3"], 60, "a task on the node that joined")
    docker(lab, "h1", "service", "rm", "daemonset")
    wait_for(lambda: tasks(lab, "daemonset") == [], 60, "all tasks gone")


def test_a_killed_nodes_tasks_are_replaced_elsewhere_and_leave_dns(lab: Lab) -> None:
    docker(lab, "h1", "service", "create", "--detach", "--name", "survivor", "--replicas", "3",
           "--network", "appnet", "busybox", "sleep", "3600")  # fmt: skip
    wait_for(lambda: placement(lab, "survivor") == ["h1", "h2", "h3"], 60, "one task per node")
    appnet = network_id(lab, "appnet")
    lost = [a for t in running(lab, "survivor") if node_of(lab)[t["NodeID"]] == "h3"
            for att in t["NetworksAttachments"] if att["Network"]["ID"] == appnet for a in att["Addresses"]]  # fmt: skip
    lab.kill("h3")
    wait_for(lambda: sorted(placement(lab, "survivor")) in (["h1", "h1", "h2"], ["h1", "h2", "h2"]), 60,
             "the lost task replaced on h1 or h2")  # fmt: skip
    wait_for(lambda: lookup(lab, "tasks.survivor") == task_addresses(lab, "survivor", appnet), 15, "DNS follows")
    assert lost[0].split("/")[0] not in lookup(lab, "tasks.survivor")
