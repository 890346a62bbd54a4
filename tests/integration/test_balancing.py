"""Service VIPs balanced in nftables, through the docker CLI, in one module-scoped lab of
three hosts (h1 the manager, h2 and h3 workers): the service ``who`` runs 3 busybox httpd
tasks on h1 and h2 whose CGI answers ``<hostname> <client address>``; the client
container ``client`` on the attachable overlay ``lbnet`` runs on h3, which has no task.
The routing-mesh tests publish ``mesh`` (2 tasks, on h1 and h2) and ask every node from
the lab's outside world. The tests run in file order and leave ``who`` at 3 replicas."""

from __future__ import annotations

import json
import socket
import subprocess
from collections import Counter
from collections.abc import Iterator

import pytest
from pyroute2.conntrack import Conntrack
from tests.integration.checks import lab_docker
from tests.integration.test_services import running, wait_for

from seaway.kernel import netns
from seaway.lab import Lab
from seaway.testing.plugin import lab_session

pytestmark = pytest.mark.netns

docker = lab_docker
WHO = (
    "mkdir -p /www/cgi-bin; printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $HOSTNAME $REMOTE_ADDR\\n'"
    " > /www/cgi-bin/who; chmod +x /www/cgi-bin/who; exec httpd -f -p 80 -h /www"
)
#: one HTTP request to ``who`` per line of output: "<task hostname> <client address>", or FAIL
ASK = (
    'r=$(printf "GET /cgi-bin/who HTTP/1.0\\r\\n\\r\\n" | nc -w 3 {target} 80 2>&1 | tail -1); '
    'case "$r" in *ffff*) echo "$r";; *) echo "FAIL $r";; esac'
)


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    topology = {
        "segments": [{"name": "lan"}],
        "hosts": [{"name": f"h{i}", "links": ["lan"]} for i in (1, 2, 3)],
        "swarm": {"managers": ["h1"], "workers": ["h2", "h3"]},
        "world": {"segment": "lan"},
    }
    for lab in lab_session(topology, set()):
        set_up(lab)
        yield lab


def set_up(lab: Lab) -> None:
    docker(lab, "h1", "network", "create", "-d", "overlay", "--attachable", "--subnet", "10.40.0.0/24", "lbnet")
    docker(
        lab, "h1", "service", "create", "--detach", "--name", "who", "--replicas", "3",
        "--constraint", "node.hostname!=h3", "--network", "lbnet", "busybox", "sh", "-c", WHO,
    )  # fmt: skip
    docker(lab, "h3", "run", "-d", "--name", "client", "--network", "lbnet", "busybox", "sleep", "3600")
    wait_for(lambda: len(running(lab, "who")) == 3, 60, "3 running tasks of who", "who")
    wait_for(lambda: not ask(lab, 3)[1], 20, "who answers through its VIP")


def ask(lab: Lab, n: int, target: str = "who", host: str = "h3", container: str = "client") -> tuple[list[str], int]:
    """``n`` connections to ``target``:80 one after another: the answers, and how many failed."""
    loop = f"for i in $(seq {n}); do {ASK.format(target=target)}; done"
    out = docker(lab, host, "exec", container, "sh", "-c", loop, timeout=120).stdout.splitlines()
    return [line for line in out if not line.startswith("FAIL")], sum(line.startswith("FAIL") for line in out)


def lb_address(lab: Lab, host: str) -> str:
    containers = json.loads(docker(lab, host, "network", "inspect", "-f", "{{json .Containers}}", "lbnet").stdout)
    return containers["lb-lbnet"]["IPv4Address"].split("/")[0]


def vip(lab: Lab) -> str:
    out = docker(lab, "h1", "service", "inspect", "-f", "{{json .Endpoint.VirtualIPs}}", "who").stdout
    return json.loads(out)[0]["Addr"].split("/")[0]


def test_600_connects_from_a_task_free_node_split_evenly_and_tasks_see_its_lb_address(lab: Lab) -> None:
    answers, failed = ask(lab, 600)
    assert failed == 0
    hosts = Counter(line.split()[0] for line in answers)
    assert len(hosts) == 3, hosts
    # each task's share of 600 random picks is within 3 standard deviations (11.5) of 200
    assert all(165 <= count <= 235 for count in hosts.values()), hosts
    sources = {line.split()[1].strip("[]").removeprefix("::ffff:") for line in answers}
    assert sources == {lb_address(lab, "h3")}  # NAT mode: the client node's LB address
    assert lb_address(lab, "h3") != lb_address(lab, "h1")


def test_a_task_reaches_its_own_vip_and_clients_on_task_nodes_are_balanced_too(lab: Lab) -> None:
    task = docker(lab, "h1", "ps", "-q", "--filter", "label=com.docker.swarm.service.name=who").stdout.split()[0]
    answers, failed = ask(lab, 30, host="h1", container=task)
    assert failed == 0
    assert len({line.split()[0] for line in answers}) > 1  # not only itself
    assert {line.split()[1].strip("[]").removeprefix("::ffff:") for line in answers} == {lb_address(lab, "h1")}


def test_udp_reaches_the_tasks_and_a_vip_without_tasks_is_refused_at_once(lab: Lab) -> None:
    address = vip(lab)
    # UDP to a port no task listens on: balanced to a task, whose port-unreachable comes back
    probe = ["exec", "client", "nslookup", "-port=5353", "who", address]
    assert "Connection refused" in said(docker(lab, "h3", *probe, check=False))
    tasks = {a.split("/")[0] for t in running(lab, "who") for n in t["NetworksAttachments"] for a in n["Addresses"]}
    assert udp_flows(lab) and udp_flows(lab) <= tasks
    docker(lab, "h1", "service", "scale", "--detach", "who=0")
    wait_for(lambda: not running(lab, "who"), 60, "no task of who")

    def refused() -> bool:
        tcp = docker(lab, "h3", "exec", "client", "nc", "-w", "10", address, "80", check=False)
        return "No route to host" in tcp.stderr  # EHOSTUNREACH, not a 10 s timeout

    wait_for(refused, 20, "TCP to the empty VIP refused with host-unreachable")
    assert "Connection refused" in said(docker(lab, "h3", *probe, check=False))  # UDP: port-unreachable
    docker(lab, "h1", "service", "scale", "--detach", "who=3")
    wait_for(lambda: len(running(lab, "who")) == 3, 60, "3 running tasks of who again", "who")
    wait_for(lambda: len({line.split()[0] for line in ask(lab, 30)[0]}) == 3, 20, "3 tasks answering again")


def test_a_start_first_update_and_a_fast_scale_3_8_1_under_load_lose_no_connection(lab: Lab) -> None:
    loop = f"rm -f /tmp/log; for i in $(seq 240); do {ASK.format(target='who')} >> /tmp/log; sleep 0.1; done; echo DONE >> /tmp/log"
    docker(lab, "h3", "exec", "-d", "client", "sh", "-c", loop)
    docker(lab, "h1", "service", "update", "--update-order", "start-first", "--env-add", "ROUND=2", "who", timeout=120)
    docker(lab, "h1", "service", "scale", "who=8", timeout=120)
    docker(lab, "h1", "service", "scale", "who=1", timeout=120)

    def log() -> list[str]:
        return docker(lab, "h3", "exec", "client", "cat", "/tmp/log").stdout.splitlines()

    wait_for(lambda: log()[-1] == "DONE", 90, "the load loop's end")
    lines = log()[:-1]
    assert len(lines) == 240
    assert [line for line in lines if line.startswith("FAIL")] == []
    assert len({line.split()[0] for line in lines}) >= 4  # old, new and scaled tasks all served
    docker(lab, "h1", "service", "scale", "--detach", "who=3")
    wait_for(lambda: len(running(lab, "who")) == 3, 60, "3 running tasks of who again", "who")


def test_the_balancer_rules_stay_fixed_as_services_are_added(lab: Lab) -> None:
    path = balancer_netns(lab, "h3")

    def table() -> dict[str, list[object]]:
        out = subprocess.run(
            ["nsenter", f"--net={path}", "nft", "-j", "list", "table", "ip", "seaway-lb"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        items = json.loads(out)["nftables"]
        rules = [i["rule"]["expr"] for i in items if "rule" in i]
        vips = next(i["set"] for i in items if "set" in i and i["set"]["name"] == "vips").get("elem", [])
        return {"rules": rules, "vips": vips}

    before = table()
    assert len(before["rules"]) == 5 and len(before["vips"]) == 1
    for i in range(4):
        docker(lab, "h1", "service", "create", "--detach", "--name", f"extra{i}", "--replicas", "0",
               "--network", "lbnet", "busybox", "true")  # fmt: skip
    wait_for(lambda: len(table()["vips"]) == 5, 20, "5 VIPs in h3's balancer")
    assert table()["rules"] == before["rules"]
    for i in range(4):
        docker(lab, "h1", "service", "rm", f"extra{i}")
    wait_for(lambda: len(table()["vips"]) == 1, 20, "the extra VIPs gone from h3's balancer")


def balancer_netns(lab: Lab, host: str) -> str:
    return str(lab.host(host).files.exec_root / "netns" / f"cluster-ov-{network_id(lab)[:12]}")


def udp_flows(lab: Lab) -> set[str]:
    """The tasks h3's balancer sent UDP flows to port 5353 to (its conntrack entries)."""

    def body() -> set[str]:
        with Conntrack() as ct:
            return {
                str(e.tuple_reply.saddr)
                for e in ct.dump_entries()
                if e.tuple_orig.proto == socket.IPPROTO_UDP and e.tuple_orig.dport == 5353
            }

    return netns.run(balancer_netns(lab, "h3"), body)


def said(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout + result.stderr


def network_id(lab: Lab) -> str:
    return docker(lab, "h1", "network", "inspect", "-f", "{{.ID}}", "lbnet").stdout.strip()


#: from the outside world: N requests to ADDRESS:PORT, one line each ("<task> <source>" or an error)
OUTSIDE = """
import socket, sys, time
address, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for _ in range(n):
    try:
        s = socket.create_connection((address, port), 3)
        s.sendall(b"GET /cgi-bin/who HTTP/1.0\\r\\n\\r\\n")
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        print(data.decode().strip().splitlines()[-1])
    except OSError as exc:
        print("FAIL", type(exc).__name__)
"""
UDP_OUTSIDE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((sys.argv[1], int(sys.argv[2])))
s.send(b"x")
try:
    s.recv(100)
    print("answered")
except ConnectionRefusedError:
    print("refused")
except TimeoutError:
    print("timeout")
"""


def outside(lab: Lab, host: str, port: int, n: int) -> list[str]:
    address = str(lab.host(host).address)
    out = lab.node_run("world", ["python3", "-c", OUTSIDE, address, str(port), str(n)], timeout=120)
    return out.stdout.splitlines()


def test_the_routing_mesh_answers_on_every_node_from_outside_and_holds_its_ports(lab: Lab) -> None:
    docker(
        lab, "h1", "service", "create", "--detach", "--name", "mesh", "--replicas", "2",
        "--constraint", "node.hostname!=h3", "-p", "8080:80", "-p", "5353:5353/udp", "busybox", "sh", "-c", WHO,
    )  # fmt: skip
    wait_for(lambda: len(running(lab, "mesh")) == 2, 60, "2 running tasks of mesh", "mesh")
    wait_for(lambda: all(not line.startswith("FAIL") for h in ("h1", "h2", "h3") for line in outside(lab, h, 8080, 2)),
             30, "every node answers 8080")  # fmt: skip
    tasks, sources = set(), {}
    for host in ("h1", "h2", "h3"):  # h3 runs no task: the mesh carries its flows to h1 and h2
        lines = outside(lab, host, 8080, 20)
        assert [line for line in lines if line.startswith("FAIL")] == [], (host, lines)
        tasks |= {line.split()[0] for line in lines}
        sources[host] = {line.split()[1].strip("[]").removeprefix("::ffff:") for line in lines}
    assert len(tasks) == 2
    # snat (Docker's mode): the task sees the entry node's ingress address, one per node
    assert all(len(s) == 1 and next(iter(s)).startswith("10.0.0.") for s in sources.values()), sources
    assert len({next(iter(s)) for s in sources.values()}) == 3
    address = str(lab.host("h1").address)
    udp = lab.node_run("world", ["python3", "-c", UDP_OUTSIDE, address, "5353"]).stdout.strip()
    assert udp == "refused"  # balanced to a task, which has no listener: port-unreachable comes back
    assert outside(lab, "h1", 8081, 1) == ["FAIL ConnectionRefusedError"]  # an unpublished port is closed
    run = docker(lab, "h3", "run", "-d", "--name", "clash", "-p", "8080:80", "busybox", "sleep", "60", check=False)
    assert run.returncode != 0 and "port is already allocated" in run.stderr
    docker(lab, "h3", "rm", "-f", "clash")


def test_a_mesh_port_without_tasks_refuses_and_a_removed_service_frees_its_port(lab: Lab) -> None:
    docker(lab, "h1", "service", "scale", "--detach", "mesh=0")
    # no task: the mesh's sandbox answers the SYN with a reset (refused at once, no timeout)
    wait_for(lambda: outside(lab, "h3", 8080, 1) == ["FAIL ConnectionRefusedError"], 30, "8080 refused without tasks")
    docker(lab, "h1", "service", "rm", "mesh")
    # removed: the port is free again on every node (a container may publish it)

    def publishes() -> bool:
        run = docker(lab, "h3", "run", "-d", "--name", "mine", "-p", "8080:80", "busybox", "sleep", "60", check=False)
        if run.returncode != 0:
            docker(lab, "h3", "rm", "-f", "mine", check=False)
        return run.returncode == 0

    wait_for(publishes, 30, "8080 free on h3 for a container")
    docker(lab, "h3", "rm", "-f", "mine")
