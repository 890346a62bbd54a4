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
    for lab in lab_session(topology, set()):
        docker(lab, "h1", "network", "create", "-d", "overlay", "--attachable", "--subnet", "10.30.0.0/24", "appnet")
        docker(lab, "h2", "run", "-d", "--name", "probe", "--network", "appnet", "busybox", "sleep", "3600")
        yield lab


def wait_for(predicate: Any, timeout: float, what: str) -> float:
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
    out = lab.host("h1").run(
        ["curl", "-s", "-g", "--unix-socket", str(lab.host("h1").files.socket),
         f'http://seaway/tasks?filters={{"service":["{service}"]}}'], timeout=30,
    )  # fmt: skip
    return json.loads(out.stdout)


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
