"""Overlay endpoint propagation across a swarm: from the endpoint record written in etcd
to the static peer programmed on every other node, at 3 and 20 nodes (``--quick``: 3
and 5). Opt-in (``./run bench --suite propagation``): 20 lab hosts each run a seawayd.

One lab per size: h1 the manager, the others workers, on one segment; one attachable
overlay with an observer container on every node (so each node serves the network and
has its overlay namespace). Then ``samples`` containers are started in turn, round-robin
over the nodes, each with a MAC of its own. Timestamps, all taken by this process:

* **written**: ``etcdctl watch`` (inside h1, the cluster's client certificate) prints the
  endpoint record (``nodes/<node>/endpoints/<net>/<ep>``) carrying that MAC;
* **programmed**: the kernel's ``RTM_NEWNEIGH`` for that MAC on ``vx0`` in each other
  node's overlay namespace (one netlink socket bound to the neighbour group per node,
  read with ``select``: an event, not a poll).

Figures: per node and sample ``written -> programmed`` (p50, p99, max), per sample the
slowest node (``all_nodes``), and ``written`` after the API's answer. The endpoint count
grows with the samples (observers plus the samples so far), so the first and last tenth
of the per-change figures show whether one change costs the same at the end (flat).
"""

from __future__ import annotations

import queue
import secrets
import select
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seaway.lab import Lab

Log = Callable[[str], None]
NEIGH_GROUP = 0x4  # RTMGRP_NEIGH
RTM_NEWNEIGH = 28


def _summary(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    return {
        "n": len(values),
        "p50_ms": round(statistics.median(values), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "max_ms": round(ordered[-1], 2),
    }


class _RecordWatch:
    """``etcdctl watch --prefix nodes/`` inside h1: the time each line arrived."""

    def __init__(self, lab: Lab) -> None:
        h1 = lab.host("h1")
        certs = next(h1.files.data_root.rglob("certificates/node.pem")).parent
        argv = [
            "nsenter", f"--net={h1.netns if h1.netns.startswith('/') else '/run/netns/' + h1.netns}", "etcdctl", "--endpoints=https://127.0.0.1:2379",
            f"--cacert={certs / 'ca.pem'}", f"--cert={certs / 'node.pem'}", f"--key={certs / 'node.key'}",
            "watch", "--prefix", "/seaway/v1/nodes/",
        ]  # fmt: skip
        self.errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in close())
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=self.errors, text=True)
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.perf_counter(), line))

    def written(self, mac: str, timeout: float) -> float:
        deadline = time.perf_counter() + timeout
        while True:
            try:
                at, line = self.lines.get(timeout=max(0.01, deadline - time.perf_counter()))
            except queue.Empty:
                self.errors.seek(0)
                raise RuntimeError(f"etcdctl watch showed no record with {mac}: {self.errors.read()[-500:]}") from None
            if f'"{mac}"' in line and '"MAC"' in line:
                return at

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.errors.close()


class _NeighWatch:
    """One rtnetlink socket per node's overlay namespace, bound to the neighbour group."""

    def __init__(self, paths: dict[str, str]) -> None:
        from seaway.kernel import netns

        self.socks = {}
        for host, path in paths.items():
            sock = netns.route_socket(path)
            sock.bind(groups=NEIGH_GROUP)
            self.socks[host] = sock
        self.by_fd = {s.fileno(): h for h, s in self.socks.items()}

    def drain(self) -> None:
        while select.select(list(self.by_fd), [], [], 0)[0]:
            for fd in select.select(list(self.by_fd), [], [], 0)[0]:
                self.socks[self.by_fd[fd]].get()

    def programmed(self, mac: str, hosts: set[str], timeout: float) -> dict[str, float]:
        seen: dict[str, float] = {}
        deadline = time.perf_counter() + timeout
        while not hosts <= set(seen):
            left = deadline - time.perf_counter()
            if left <= 0:
                raise RuntimeError(f"{mac} not programmed on {sorted(hosts - set(seen))} within {timeout} s")
            for fd in select.select(list(self.by_fd), [], [], left)[0]:
                at = time.perf_counter()
                host = self.by_fd[fd]
                for msg in self.socks[host].get():
                    if host in hosts and msg["header"]["type"] == RTM_NEWNEIGH and msg.get_attr("NDA_LLADDR") == mac:
                        seen.setdefault(host, at)  # the origin's own bridge learns it too: not counted
        return {h: seen[h] for h in hosts}

    def close(self) -> None:
        for sock in self.socks.values():
            sock.close()


def measure(nodes: int, samples: int, log: Log) -> dict[str, Any]:
    names = [f"h{i}" for i in range(1, nodes + 1)]
    topology = {
        "name": "p" + secrets.token_hex(4),
        "segments": [{"name": "lan"}],
        "hosts": [{"name": n, "links": ["lan"]} for n in names],
        "swarm": {"managers": ["h1"], "workers": names[1:]},
    }
    run_dir = Path(tempfile.mkdtemp(prefix="swl-"))
    lab = Lab(topology, run_dir=run_dir)
    records: _RecordWatch | None = None
    neigh: _NeighWatch | None = None
    try:
        started = time.perf_counter()
        lab.up()
        log(f"propagation: {nodes} nodes up and in a swarm in {time.perf_counter() - started:.1f} s")
        lab.host("h1").docker.networks.create("prop", driver="overlay", attachable=True)
        paths = {}
        for name in names:
            lab.host(name).docker.containers.run("busybox", ["sleep", "3600"], detach=True, name=f"obs-{name}",
                                                 network="prop")  # fmt: skip
            netns_dir = lab.host(name).files.exec_root / "netns"
            paths[name] = str(next(p for p in netns_dir.iterdir() if p.name.startswith("cluster-ov-")))
        time.sleep(1)  # the observers' own peers settle before the first sample
        records, neigh = _RecordWatch(lab), _NeighWatch(paths)
        neigh.drain()
        per_node: list[float] = []
        slowest: list[float] = []
        after_api: list[float] = []
        for i in range(samples):
            origin = names[i % nodes]
            mac = f"02:42:bb:00:{i // 256:02x}:{i % 256:02x}"
            lab.host(origin).docker.containers.run(
                "busybox", ["sleep", "3600"], detach=True, name=f"p-{i}", network="prop", mac_address=mac
            )
            answered = time.perf_counter()
            seen = neigh.programmed(mac, set(names) - {origin}, 30)
            written = records.written(mac, 30)
            after_api.append((written - answered) * 1000)
            delays = [(t - written) * 1000 for t in seen.values()]
            per_node += delays
            slowest.append(max(delays))
        tenth = max(1, samples // 10)
        out = {
            "nodes": nodes,
            "samples": samples,
            "endpoints_at_end": nodes + samples,
            "written_to_programmed": _summary(per_node),
            "all_nodes": _summary(slowest),
            "written_after_api_answer": _summary(after_api),
            "all_nodes_first_tenth_p50_ms": round(statistics.median(slowest[:tenth]), 2),
            "all_nodes_last_tenth_p50_ms": round(statistics.median(slowest[-tenth:]), 2),
            "all_nodes_ms": [round(s, 2) for s in slowest],
        }
        w = out["written_to_programmed"]
        log(
            f"propagation at {nodes} nodes: record -> peer p50 {w['p50_ms']} ms, p99 {w['p99_ms']} ms; every node "
            f"p50 {out['all_nodes']['p50_ms']} ms, p99 {out['all_nodes']['p99_ms']} ms (first/last tenth "
            f"{out['all_nodes_first_tenth_p50_ms']}/{out['all_nodes_last_tenth_p50_ms']} ms)"
        )
        return out
    finally:
        if neigh is not None:
            neigh.close()
        if records is not None:
            records.close()
        if lab.is_up:
            lab.down()
        shutil.rmtree(run_dir, ignore_errors=True)


def run(quick: bool, log: Log) -> dict[str, Any]:
    sizes = (3, 5) if quick else (3, 20)
    samples = 10 if quick else 60
    return {"sizes": [measure(n, samples, log) for n in sizes]}


def summary(results: dict[str, Any]) -> list[str]:
    lines = ["propagation (endpoint record written in etcd -> static peer programmed on the other nodes)"]
    for r in results["sizes"]:
        w, a = r["written_to_programmed"], r["all_nodes"]
        lines.append(
            f"  {r['nodes']:>2} nodes: per node p50 {w['p50_ms']} ms, p99 {w['p99_ms']} ms; every node p50 "
            f"{a['p50_ms']} ms, p99 {a['p99_ms']} ms; first/last tenth {r['all_nodes_first_tenth_p50_ms']}/"
            f"{r['all_nodes_last_tenth_p50_ms']} ms (n={r['samples']}, {r['endpoints_at_end']} endpoints at the end)"
        )
    return lines
