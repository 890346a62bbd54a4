"""Swarm mode through the docker CLI against lab hosts, in one module-scoped lab of four
hosts (h1, h3 and h4 end up managers, h2 a worker). The tests run in file order and each
starts from the state the previous one left: init, joins, refused joins, RBAC, leader
failover, quorum loss, a worker leaving."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from tests.integration.checks import lab_docker

from seaway.lab import Lab
from seaway.testing.plugin import lab_session

pytestmark = pytest.mark.netns

NO_LEADER = (
    "The swarm does not have a leader. It's possible that too few managers are online. "
    "Make sure more than half of the managers are online."
)
WORKER_TEXT = "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state."


@pytest.fixture(scope="module")
def cluster() -> Iterator[Lab]:
    topology = {"segments": [{"name": "lan"}], "hosts": [{"name": f"h{i}", "links": ["lan"]} for i in (1, 2, 3, 4)]}
    yield from lab_session(topology, set())


docker = lab_docker


def nodes(lab: Lab, host: str) -> dict[str, dict[str, Any]]:
    """``docker node ls`` as the manager ``host`` sees it: by hostname."""
    out = docker(lab, host, "node", "ls", "--format", "{{json .}}").stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {row["Hostname"]: row for row in rows}


def wait_for(predicate: Any, timeout: float, what: str) -> float:
    """Poll ``predicate`` until true; the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if predicate():
                return time.monotonic() - start
        except AssertionError:
            pass
        time.sleep(0.25)
    raise AssertionError(f"{what} not within {timeout} s")


def info(lab: Lab, host: str) -> dict[str, Any]:
    return json.loads(docker(lab, host, "info", "--format", "{{json .Swarm}}").stdout)


def leader(lab: Lab, host: str) -> str | None:
    return next((name for name, row in nodes(lab, host).items() if row["ManagerStatus"] == "Leader"), None)


def test_init_makes_one_ready_manager(cluster: Lab) -> None:
    h1 = cluster.host("h1")
    out = docker(cluster, "h1", "swarm", "init", "--advertise-addr", h1.address).stdout
    assert "Swarm initialized: current node (" in out and ") is now a manager." in out
    assert "docker swarm join --token SWMTKN-1-" in out and f"{h1.address}:2377" in out
    table = nodes(cluster, "h1")
    assert list(table) == ["h1"]
    assert table["h1"]["Status"] == "Ready" and table["h1"]["ManagerStatus"] == "Leader"
    assert table["h1"]["Self"] is True
    again = docker(cluster, "h1", "swarm", "init", check=False)
    assert again.returncode != 0 and "This node is already part of a swarm." in again.stderr


def test_worker_and_manager_join_and_info_per_role(cluster: Lab) -> None:
    h1 = cluster.host("h1").address
    worker = docker(cluster, "h1", "swarm", "join-token", "-q", "worker").stdout.strip()
    manager = docker(cluster, "h1", "swarm", "join-token", "-q", "manager").stdout.strip()
    out = docker(cluster, "h2", "swarm", "join", "--token", worker, f"{h1}:2377").stdout
    assert "This node joined a swarm as a worker." in out
    out = docker(cluster, "h3", "swarm", "join", "--token", manager, f"{h1}:2377").stdout
    assert "This node joined a swarm as a manager." in out

    table = nodes(cluster, "h1")
    assert sorted(table) == ["h1", "h2", "h3"]
    assert all(row["Status"] == "Ready" for row in table.values())
    assert [row["ManagerStatus"] for row in (table["h1"], table["h2"], table["h3"])] == ["Leader", "", "Reachable"]

    mgr, wkr = info(cluster, "h3"), info(cluster, "h2")
    assert mgr["LocalNodeState"] == "active" and mgr["ControlAvailable"] is True
    assert mgr["Nodes"] == 3 and mgr["Managers"] == 2 and mgr["Cluster"]["ID"]
    assert wkr["LocalNodeState"] == "active" and wkr["ControlAvailable"] is False and "Cluster" not in wkr
    assert wkr["NodeAddr"] == cluster.host("h2").address
    assert sorted(m["Addr"] for m in wkr["RemoteManagers"]) == sorted(
        f"{cluster.host(h).address}:2377" for h in ("h1", "h3")
    )
    refused = docker(cluster, "h2", "node", "ls", check=False)
    assert refused.returncode != 0 and WORKER_TEXT in refused.stderr
    text = docker(cluster, "h2", "info").stdout
    assert "Swarm: active" in text and "Is Manager: false" in text


def test_bad_tokens_fail_with_dockers_text_and_change_nothing(cluster: Lab) -> None:
    h1 = cluster.host("h1").address
    good = docker(cluster, "h1", "swarm", "join-token", "-q", "manager").stdout.strip()
    prefix, version, digest, secret = good.split("-")
    tampered = f"{prefix}-{version}-{'1' + digest[1:] if digest[0] != '1' else '2' + digest[1:]}-{secret}"
    wrong = f"{prefix}-{version}-{digest}-{'0' * 25}"
    before = nodes(cluster, "h1")

    out = docker(cluster, "h4", "swarm", "join", "--token", tampered, f"{h1}:2377", check=False)
    assert out.returncode != 0 and "remote CA does not match fingerprint. Expected: " in out.stderr
    out = docker(cluster, "h4", "swarm", "join", "--token", wrong, f"{h1}:2377", check=False)
    assert out.returncode != 0
    assert "A valid join token is necessary to join this cluster" in out.stderr
    rotated = docker(cluster, "h1", "swarm", "join-token", "--rotate", "manager").stdout
    assert "Successfully rotated manager join token." in rotated
    out = docker(cluster, "h4", "swarm", "join", "--token", good, f"{h1}:2377", check=False)
    assert out.returncode != 0 and "A valid join token is necessary to join this cluster" in out.stderr

    assert info(cluster, "h4")["LocalNodeState"] == "inactive"
    after = nodes(cluster, "h1")
    assert {k: v["Status"] for k, v in after.items()} == {k: v["Status"] for k, v in before.items()}
    assert docker(cluster, "h2", "info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip() == "active"

    fresh = docker(cluster, "h1", "swarm", "join-token", "-q", "manager").stdout.strip()
    assert fresh != good
    docker(cluster, "h4", "swarm", "join", "--token", fresh, f"{h1}:2377")
    assert sorted(nodes(cluster, "h1")) == ["h1", "h2", "h3", "h4"]


ETCDCTL = """
import json, subprocess, sys
certs, endpoint, own = sys.argv[1], sys.argv[2], sys.argv[3]
def ctl(*args):
    cmd = ["etcdctl", "--endpoints", endpoint, "--cacert", certs + "/ca.pem", "--cert", certs + "/node.pem",
           "--key", certs + "/node.key", "--dial-timeout", "5s", "--command-timeout", "5s", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, env={"ETCDCTL_API": "3", "PATH": "/usr/bin:/bin"})
    return {"rc": p.returncode, "out": p.stdout, "err": p.stderr}
print(json.dumps({
    "ca": ctl("get", "/seaway/v1/private/ca"),
    "tokens": ctl("get", "/seaway/v1/private/join-tokens"),
    "other": ctl("put", "/seaway/v1/nodes/someoneelse/desc", "{}"),
    "cluster": ctl("put", "/seaway/v1/cluster", "{}"),
    "own": ctl("put", "/seaway/v1/nodes/" + own + "/probe", "{}"),
    "read": ctl("get", "/seaway/v1/cluster"),
}))
"""


def test_a_workers_etcd_credentials_cannot_read_secrets_or_write_others_keys(cluster: Lab) -> None:
    h2 = cluster.host("h2")
    certs = str(h2.files.data_root / "swarm" / "certificates")
    own = info(cluster, "h2")["NodeID"]
    endpoint = f"https://{cluster.host('h1').address}:2379"
    result = h2.run([sys.executable, "-c", ETCDCTL, certs, endpoint, own], timeout=60)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    for refused in ("ca", "tokens", "other", "cluster"):
        assert outcome[refused]["rc"] != 0 and "permission denied" in outcome[refused]["err"], (refused, outcome)
    assert outcome["own"]["rc"] == 0, outcome["own"]
    assert outcome["read"]["rc"] == 0 and "/seaway/v1/cluster" in outcome["read"]["out"]


RENEW = """
import asyncio, ssl, sys
from pathlib import Path
import aiohttp
from cryptography.hazmat.primitives import serialization
from seaway.cluster import identity, joinapi
c, manager = Path(sys.argv[1]), sys.argv[2]
async def main():
    key = serialization.load_pem_private_key((c / "node.key").read_bytes(), password=None)
    pem = await joinapi.request_renewal(manager, 2377, c / "ca.pem", c / "node.pem", c / "node.key", identity.new_csr(key))
    old, new = identity.read_cert((c / "node.pem").read_bytes()), identity.read_cert(pem)
    ctx = ssl.create_default_context(cafile=str(c / "ca.pem"))
    ctx.check_hostname = False
    async with aiohttp.ClientSession() as s:
        async with s.post(f"https://{manager}:2377{joinapi.RENEW_PATH}", json={"CSR": ""}, ssl=ctx) as r:
            anonymous = r.status
    print(new.node_id == old.node_id, new.role, new.not_after >= old.not_after, anonymous)
asyncio.run(main())
"""


def test_a_worker_renews_its_certificate_with_the_one_it_has(cluster: Lab) -> None:
    h2 = cluster.host("h2")
    certs = str(h2.files.data_root / "swarm" / "certificates")
    result = h2.run([sys.executable, "-c", RENEW, certs, cluster.host("h1").address], timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "worker", "True", "403"]


FENCE = """
import asyncio, sys
from pathlib import Path
from seaway.cluster.store import Credentials, Store
c = Path(sys.argv[1])
async def main():
    s = Store(["127.0.0.1:2379"], Credentials(c / "ca.pem", c / "node.pem", c / "node.key"))
    await s.connect()
    key, out = "/seaway/v1/test/leader", "/seaway/v1/test/term"
    a = await s.grant(30)
    won = await s.create(key, {"NodeID": "a"}, lease=a)
    first = await s.put_fenced(out, {"by": "a"}, key, won)
    await s.revoke(a)  # a is deposed: its lease is gone, and with it the leader key
    b = await s.grant(30)
    won_b = await s.create(key, {"NodeID": "b"}, lease=b)
    deposed = await s.put_fenced(out, {"by": "a, deposed"}, key, won)
    current = await s.put_fenced(out, {"by": "b"}, key, won_b)
    value = (await s.get(out)).value
    await s.revoke(b)
    await s.delete_prefix("/seaway/v1/test/")
    print(first, deposed, current, value["by"])
asyncio.run(main())
"""


def test_a_deposed_leader_cannot_write(cluster: Lab) -> None:
    h1 = cluster.host("h1")
    certs = str(h1.files.data_root / "swarm" / "certificates")
    result = h1.run([sys.executable, "-c", FENCE, certs], timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "False", "True", "b"]


def test_leader_killed_new_leader_within_30s_old_one_rejoins_reachable(cluster: Lab) -> None:
    assert leader(cluster, "h3") == "h1"
    cluster.kill("h1")
    killed = time.monotonic()
    took = wait_for(lambda: leader(cluster, "h3") in ("h3", "h4"), 30, "a new leader")
    print(f"new leader after {took:.1f} s")
    docker(cluster, "h3", "node", "update", "--label-add", "zone=a", "h2")  # management works
    assert "zone" in docker(cluster, "h4", "node", "inspect", "h2", "--format", "{{json .Spec.Labels}}").stdout
    wait_for(lambda: nodes(cluster, "h3")["h1"]["Status"] == "Down", 15 - (time.monotonic() - killed), "h1 Down")
    print(f"h1 Down after {time.monotonic() - killed:.1f} s")
    cluster.start("h1")
    wait_for(
        lambda: (
            nodes(cluster, "h3")["h1"]["Status"] == "Ready"
            and nodes(cluster, "h3")["h1"]["ManagerStatus"] == "Reachable"
        ),
        30,
        "h1 back as Reachable",
    )
    assert sum(1 for row in nodes(cluster, "h1").values() if row["ManagerStatus"] == "Leader") == 1


def test_quorum_loss_gives_dockers_no_leader_text_containers_keep_running(cluster: Lab) -> None:
    docker(cluster, "h1", "run", "-d", "--name", "steady", "busybox", "sleep", "600")
    cluster.kill("h3")
    cluster.kill("h4")
    out = docker(cluster, "h1", "node", "ls", check=False, timeout=30)
    assert out.returncode != 0 and NO_LEADER in out.stderr
    status = cluster.host("h1").run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--unix-socket", str(cluster.host("h1").files.socket),
         "http://seaway/nodes"], timeout=30,
    )  # fmt: skip
    assert status.stdout == "503"
    assert docker(cluster, "h1", "inspect", "steady", "--format", "{{.State.Running}}").stdout.strip() == "true"
    assert docker(cluster, "h1", "info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip() == "active"
    cluster.start("h3")
    cluster.start("h4")
    wait_for(lambda: all(r["Status"] == "Ready" for r in nodes(cluster, "h1").values()), 60, "all nodes Ready again")
    assert docker(cluster, "h1", "inspect", "steady", "--format", "{{.State.Running}}").stdout.strip() == "true"


def test_manager_leave_without_force_is_refused(cluster: Lab) -> None:
    out = docker(cluster, "h4", "swarm", "leave", check=False)
    assert out.returncode != 0
    assert "You are attempting to leave the swarm on a node that is participating as a manager." in out.stderr
    assert "Use `--force` to suppress this message." in out.stderr
    assert info(cluster, "h4")["LocalNodeState"] == "active"


def vxlan_filter(lab: Lab, host: str) -> str:
    """The elements of the host's VXLAN filter sets (docs/overlay.md), as nft lists them."""
    argv = ["nsenter", f"--net=/run/netns/{lab.host(host).netns}", "nft", "list", "set", "inet", "seaway"]
    return "".join(subprocess.run([*argv, name], capture_output=True, text=True, check=True).stdout
                   for name in ("vxlan-ports", "vteps-v4"))  # fmt: skip


def test_worker_leave_keeps_its_containers_running(cluster: Lab) -> None:
    docker(cluster, "h2", "run", "-d", "--name", "standalone", "busybox", "sleep", "600")
    own = cluster.host("h2").address
    wait_for(lambda: "4789" in vxlan_filter(cluster, "h2") and own in vxlan_filter(cluster, "h2"), 10, "VXLAN filter")
    assert "Node left the swarm." in docker(cluster, "h2", "swarm", "leave").stdout
    assert "elements" not in vxlan_filter(cluster, "h2")  # no longer filtered: no port, no members
    assert info(cluster, "h2")["LocalNodeState"] == "inactive"
    assert docker(cluster, "h2", "inspect", "standalone", "--format", "{{.State.Running}}").stdout.strip() == "true"
    wait_for(lambda: nodes(cluster, "h1")["h2"]["Status"] == "Down", 15, "the worker shown Down")
    again = docker(cluster, "h2", "swarm", "leave", check=False)
    assert again.returncode != 0 and "This node is not part of a swarm" in again.stderr
    refused = docker(cluster, "h2", "node", "ls", check=False)
    assert 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join"' in refused.stderr
    ping = cluster.host("h2").run(
        ["curl", "-s", "-I", "--unix-socket", str(cluster.host("h2").files.socket), "http://seaway/_ping"]
    )
    assert "Swarm: inactive" in ping.stdout
    out = docker(cluster, "h1", "node", "rm", "h2")
    assert out.returncode == 0 and "h2" not in nodes(cluster, "h1")


def test_promote_and_demote_move_etcd_membership(cluster: Lab) -> None:
    h1 = cluster.host("h1").address
    worker = docker(cluster, "h1", "swarm", "join-token", "-q", "worker").stdout.strip()
    docker(cluster, "h2", "swarm", "join", "--token", worker, f"{h1}:2377")
    assert "Node h2 promoted to a manager in the swarm." in docker(cluster, "h1", "node", "promote", "h2").stdout
    # (etcd refuses a member add for a while after the previous tests' kills and joins: up to ~30 s on a busy machine;
    # and the new manager may win the leadership, which the previous tests' restarts leave to a race)
    wait_for(lambda: nodes(cluster, "h1")["h2"]["ManagerStatus"] in ("Reachable", "Leader"), 60, "h2 a manager")
    assert info(cluster, "h2")["ControlAvailable"] is True
    assert sorted(nodes(cluster, "h2")) == ["h1", "h2", "h3", "h4"]  # it serves management calls

    assert "Manager h4 demoted in the swarm." in docker(cluster, "h1", "node", "demote", "h4").stdout
    wait_for(lambda: info(cluster, "h4")["ControlAvailable"] is False, 30, "h4 a worker")
    refused = docker(cluster, "h4", "node", "ls", check=False)
    assert refused.returncode != 0 and WORKER_TEXT in refused.stderr
    table = nodes(cluster, "h2")
    assert table["h4"]["ManagerStatus"] == "" and table["h4"]["Status"] == "Ready"
    assert sorted(n for n, row in table.items() if row["ManagerStatus"]) == ["h1", "h2", "h3"]
    assert not (cluster.host("h4").files.data_root / "swarm" / "etcd").exists()


def test_node_update_availability_and_docker_py(cluster: Lab) -> None:
    docker(cluster, "h1", "node", "update", "--availability", "drain", "h4")
    assert (
        docker(cluster, "h1", "node", "inspect", "h4", "--format", "{{.Spec.Availability}}").stdout.strip() == "drain"
    )
    assert "Swarm updated." in docker(cluster, "h1", "swarm", "update", "--task-history-limit", "7").stdout
    limit = "{{.Swarm.Cluster.Spec.Orchestration.TaskHistoryRetentionLimit}}"
    assert docker(cluster, "h3", "info", "--format", limit).stdout.strip() == "7"
    client = cluster.host("h3").docker
    assert client.swarm.attrs["JoinTokens"]["Worker"].startswith("SWMTKN-1-")
    assert sorted(n.attrs["Description"]["Hostname"] for n in client.nodes.list()) == ["h1", "h2", "h3", "h4"]
    assert client.info()["Swarm"]["ControlAvailable"] is True


def test_lab_up_forms_the_swarm_of_its_topology_and_status_shows_roles(_made_here: set[str]) -> None:
    from seaway.lab import status

    topology = {
        "segments": [{"name": "lan"}],
        "hosts": [{"name": n, "links": ["lan"]} for n in ("m1", "w1")],
        "swarm": {"managers": ["m1"], "workers": ["w1"]},
    }
    for lab in lab_session(topology, _made_here):
        table = nodes(lab, "m1")
        assert sorted(table) == ["m1", "w1"] and all(r["Status"] == "Ready" for r in table.values())
        tree = status.tree(lab)
        m1 = next(line for line in tree.splitlines() if "swarm manager" in line)
        w1 = next(line for line in tree.splitlines() if "swarm worker" in line)
        assert "ready" in m1 and "leader" in m1 and "ready" in w1
        lab.kill("w1")
        wait_for(lambda lab=lab: nodes(lab, "m1")["w1"]["Status"] == "Down", 15, "the killed worker Down")
        assert "swarm worker  down" in status.tree(lab)
