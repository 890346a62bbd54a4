"""The cluster control plane in a lab: ``swarm init``, joins, leader failover after a
SIGKILL, Down detection, and memory per node.

One lab of 3 managers and up to 10 workers on one segment (13 hosts; ``--quick``: 3 + 2).
Each figure is wall time seen by a client through the Docker API (docker-py), polling
every 0.1 s where it waits for the cluster to notice something:

* ``init_s``: ``POST /swarm/init`` on h1 until it answers (the node is Ready and leader);
* ``join_manager_s``, ``join_worker_s``: each ``POST /swarm/join`` (it answers once the
  node is Ready), as samples;
* ``rss``: seawayd and etcd resident memory per node, at 3 and at all nodes;
* ``worker_down_s``: SIGKILL a worker until a manager shows it Down;
* ``leader_failover_s`` / ``leader_down_s``: SIGKILL the leader (seawayd and etcd) until
  another manager shows a new leader / the old one Down;
* ``overlay``: endpoint propagation on an attachable overlay: a container started on
  another node (the API's answer) until h1's overlay namespace holds its static FDB
  entry (polled every 2 ms through netlink), as samples in start order (the endpoint
  count grows with them: the last ones cost what the first did if the cost is flat);
* ``many_overlays``: 100 (``--quick``: 10) attachable overlays with a container on h1
  and h2 each: how many pass a ping, and the network creates' times.
"""

from __future__ import annotations

import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seaway.lab import Lab, nodes, state

Log = Callable[[str], None]
POLL = 0.1


def _rss_kib(pid: int | None) -> int:
    if not pid:
        return 0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _rss(lab: Lab, hosts: list[str]) -> dict[str, Any]:
    st = state.read(lab.plan.root)
    seawayd = [_rss_kib(st.pids.get(h)) for h in hosts]
    etcd = [r for r in (_rss_kib(nodes.etcd_pid(lab.plan, h)) for h in hosts) if r]
    return {
        "nodes": len(hosts),
        "seawayd_mib_median": round(statistics.median(seawayd) / 1024, 1),
        "etcd_mib_median": round(statistics.median(etcd) / 1024, 1) if etcd else 0,
        "etcd_members": len(etcd),
    }


def _wait(predicate: Callable[[], bool], timeout: float) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            if predicate():
                return time.perf_counter() - start
        except Exception:  # a manager may refuse while the cluster elects
            pass
        time.sleep(POLL)
    raise RuntimeError(f"not within {timeout} s")


def _state_of(lab: Lab, manager: str, host: str) -> dict[str, Any]:
    address = lab.host(host).address
    for node in lab.host(manager).docker.api.nodes():
        if node["Status"]["Addr"] == address:
            return node
    raise KeyError(host)


def measure(managers: int, workers: int, log: Log, samples: int = 10, overlays: int = 10) -> dict[str, Any]:
    names = [f"h{i}" for i in range(1, managers + workers + 1)]
    topology = {
        "name": "c" + secrets.token_hex(4),
        "segments": [{"name": "lan"}],
        "hosts": [{"name": n, "links": ["lan"]} for n in names],
    }
    run_dir = Path(tempfile.mkdtemp(prefix="swl-"))
    lab = Lab(topology, run_dir=run_dir)
    out: dict[str, Any] = {"managers": managers, "workers": workers}
    try:
        lab.up()
        h1 = lab.host("h1")
        started = time.perf_counter()
        h1.docker.swarm.init(advertise_addr=h1.address, listen_addr=f"{h1.address}:2377")
        out["init_s"] = round(time.perf_counter() - started, 3)
        h1.docker.swarm.reload()
        tokens = h1.docker.swarm.attrs["JoinTokens"]
        log(f"cluster: init {out['init_s']} s")

        def join(host: str, token: str) -> float:
            client = lab.host(host).docker
            own = lab.host(host).address
            t0 = time.perf_counter()
            client.swarm.join(
                remote_addrs=[f"{h1.address}:2377"], join_token=token, listen_addr=f"{own}:2377", advertise_addr=own
            )
            return round(time.perf_counter() - t0, 3)

        out["join_manager_s"] = [join(h, tokens["Manager"]) for h in names[1:managers]]
        out["rss"] = [_rss(lab, names[:managers])]
        out["join_worker_s"] = [join(h, tokens["Worker"]) for h in names[managers:]]
        out["join_worker_p50_s"] = round(statistics.median(out["join_worker_s"]), 3)
        if len(names) > managers:
            out["rss"].append(_rss(lab, names))
        log(f"cluster: manager joins {out['join_manager_s']} s, worker join p50 {out['join_worker_p50_s']} s")

        out["overlay"] = _propagation(lab, names, samples, log)
        out["many_overlays"] = _many_overlays(lab, overlays, log)

        victim = names[-1]
        lab.kill(victim)
        out["worker_down_s"] = round(_wait(lambda: _state_of(lab, "h2", victim)["Status"]["State"] == "down", 60), 2)
        lab.kill("h1")

        def new_leader() -> bool:
            return any(
                (n.get("ManagerStatus") or {}).get("Leader") and n["Status"]["Addr"] != h1.address
                for n in lab.host("h2").docker.api.nodes()
            )

        out["leader_failover_s"] = round(_wait(new_leader, 60), 2)
        out["leader_down_s"] = round(
            out["leader_failover_s"] + _wait(lambda: _state_of(lab, "h2", "h1")["Status"]["State"] == "down", 60), 2
        )
        log(
            f"cluster: worker Down after {out['worker_down_s']} s; leader failover {out['leader_failover_s']} s, "
            f"old leader Down after {out['leader_down_s']} s"
        )
    finally:
        if lab.is_up:
            lab.down()
        shutil.rmtree(run_dir, ignore_errors=True)
    return out


def _fdb_has(path: str, mac: str) -> bool:
    from pyroute2 import IPRoute

    from seaway.kernel import netns

    def body() -> bool:
        with IPRoute() as ipr:
            return any(m.get_attr("NDA_LLADDR") == mac for m in ipr.fdb("dump"))

    return netns.run(path, body)


def _propagation(lab: Lab, names: list[str], samples: int, log: Log) -> dict[str, Any]:
    h1 = lab.host("h1")
    h1.docker.networks.create("bench-ov", driver="overlay", attachable=True)
    h1.docker.containers.run("busybox", ["sleep", "3600"], detach=True, name="ov-observer", network="bench-ov")
    netns_dir = h1.files.exec_root / "netns"
    path = str(next(p for p in netns_dir.iterdir() if p.name.startswith("cluster-ov-")))
    others = names[1:]
    after_api: list[float] = []
    start_s: list[float] = []
    for i in range(samples):
        mac = f"02:42:aa:00:{i // 256:02x}:{i % 256:02x}"
        client = lab.host(others[i % len(others)]).docker
        t0 = time.perf_counter()
        client.containers.run(
            "busybox", ["sleep", "3600"], detach=True, name=f"ov-{i}", network="bench-ov", mac_address=mac
        )
        answered = time.perf_counter()
        while not _fdb_has(path, mac):
            if time.perf_counter() - answered > 30:
                raise RuntimeError(f"endpoint {mac} not programmed on h1 within 30 s")
            time.sleep(0.002)
        after_api.append(round(max(0.0, time.perf_counter() - answered) * 1000, 1))
        start_s.append(round((answered - t0) * 1000, 1))
    ordered = sorted(after_api)
    tenth = max(1, samples // 10)
    out = {
        "nodes": len(names),
        "after_api_ms": after_api,
        "run_ms": start_s,
        "p50_ms": statistics.median(after_api),
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
        "first_tenth_median_ms": statistics.median(after_api[:tenth]),
        "last_tenth_median_ms": statistics.median(after_api[-tenth:]),
    }
    log(
        f"cluster: overlay endpoint propagation p50 {out['p50_ms']} ms, p99 {out['p99_ms']} ms after the API's "
        f"answer (first tenth {out['first_tenth_median_ms']} ms, last tenth {out['last_tenth_median_ms']} ms)"
    )
    return out


def _many_overlays(lab: Lab, count: int, log: Log) -> dict[str, Any]:
    """``count`` attachable overlays with a container on h1 and one on h2 each; every pair
    must pass a ping (the issue's "100 overlays × 2 nodes"). Times the creates and the
    first successful ping of each pair."""
    h1, h2 = lab.host("h1").docker, lab.host("h2").docker
    create_ms: list[float] = []
    for i in range(count):
        t0 = time.perf_counter()
        h1.networks.create(f"many-{i}", driver="overlay", attachable=True)
        create_ms.append(round((time.perf_counter() - t0) * 1000, 1))
    for i in range(count):
        h1.containers.run("busybox", ["sleep", "3600"], detach=True, name=f"m1-{i}", network=f"many-{i}")
        h2.containers.run("busybox", ["sleep", "3600"], detach=True, name=f"m2-{i}", network=f"many-{i}")
    passed, ping_ms = 0, []
    for i in range(count):
        target = h2.containers.get(f"m2-{i}").attrs["NetworkSettings"]["Networks"][f"many-{i}"]["IPAddress"]
        t0 = time.perf_counter()
        for _ in range(20):
            if h1.containers.get(f"m1-{i}").exec_run(["ping", "-c1", "-W1", target]).exit_code == 0:
                passed += 1
                ping_ms.append(round((time.perf_counter() - t0) * 1000, 1))
                break
    out = {
        "overlays": count,
        "passed": passed,
        "create_p50_ms": round(statistics.median(create_ms), 1),
        "create_last_tenth_median_ms": round(statistics.median(create_ms[-max(1, count // 10) :]), 1),
        "first_ping_p50_ms": statistics.median(ping_ms) if ping_ms else None,
    }
    log(f"cluster: {passed}/{count} overlays pass traffic between h1 and h2; create p50 {out['create_p50_ms']} ms")
    return out


def dockerd_init(log: Log) -> dict[str, Any]:
    """Debian's dockerd 20.10 in a fake host: ``swarm init`` time and dockerd's RSS before
    and after (one node only: a lab of dockerd hosts for joins and failover is not built)."""
    from seaway.lab.fakehost import HOST_UPLINK, FakeHost
    from seaway.testing.dockerd import DockerDaemon

    host = FakeHost()
    daemon = DockerDaemon(host)
    try:
        daemon.start()
        assert daemon.proc is not None
        pid = int((host.root / "dockerd.pid").read_text())
        before = _rss_kib(pid)
        started = time.perf_counter()
        daemon.docker("swarm", "init", "--advertise-addr", HOST_UPLINK, check=True, timeout=120)
        init_s = time.perf_counter() - started
        time.sleep(2)
        after = _rss_kib(pid)
        daemon.docker("swarm", "leave", "--force", timeout=60)
    finally:
        daemon.close()
        host.close()
    out = {
        "init_s": round(init_s, 3),
        "rss_mib_before": round(before / 1024, 1),
        "rss_mib_after": round(after / 1024, 1),
    }
    log(
        f"cluster: dockerd 20.10 swarm init {out['init_s']} s, RSS {out['rss_mib_before']} -> {out['rss_mib_after']} MiB"
    )
    return out


def run(quick: bool, log: Log, compare: bool = False) -> dict[str, Any]:
    out = measure(3, 2 if quick else 10, log, samples=10 if quick else 60, overlays=10 if quick else 100)
    if compare:
        out["dockerd"] = dockerd_init(log)
    return out


def summary(results: dict[str, Any]) -> list[str]:
    lines = [f"cluster ({results['managers']} managers, {results['workers']} workers; wall time via the Docker API)"]
    lines.append(f"  swarm init                 {results['init_s']:.2f} s")
    lines.append(f"  join as manager            {', '.join(f'{s:.2f}' for s in results['join_manager_s'])} s")
    lines.append(
        f"  join as worker, p50        {results['join_worker_p50_s']:.2f} s  (n={len(results['join_worker_s'])})"
    )
    if "many_overlays" in results:
        m = results["many_overlays"]
        lines.append(
            f"  {m['overlays']} overlays x 2 nodes: {m['passed']} pass traffic; network create p50 "
            f"{m['create_p50_ms']} ms (last tenth {m['create_last_tenth_median_ms']} ms)"
        )
    if "overlay" in results:
        o = results["overlay"]
        lines.append(
            f"  overlay endpoint -> far FDB p50 {o['p50_ms']} ms, p99 {o['p99_ms']} ms after the API's answer "
            f"(n={len(o['after_api_ms'])}; first/last tenth {o['first_tenth_median_ms']}/{o['last_tenth_median_ms']} ms)"
        )
    lines.append(f"  killed worker Down after   {results['worker_down_s']:.1f} s")
    lines.append(
        f"  killed leader: new leader  {results['leader_failover_s']:.1f} s, Down after {results['leader_down_s']:.1f} s"
    )
    if "dockerd" in results:
        d = results["dockerd"]
        lines.append(
            f"  dockerd 20.10 (one node): swarm init {d['init_s']:.2f} s, "
            f"RSS {d['rss_mib_before']} MiB before, {d['rss_mib_after']} MiB in a swarm"
        )
    for r in results["rss"]:
        lines.append(
            f"  RSS at {r['nodes']:>2} nodes: seawayd {r['seawayd_mib_median']} MiB (median), "
            f"etcd {r['etcd_mib_median']} MiB ({r['etcd_members']} members)"
        )
    return lines
