"""Swarm services in a lab of one manager and two workers: how long until a service's
replicas run, until a task that died is replaced, and until DNS follows a scale.

Wall time seen by a client through the Docker API (docker-py) on the manager, polling
every 0.1 s:

* ``create_to_running_s``: ``POST /services/create`` until ``GET /tasks`` shows every
  replica ``running`` (3 and 30 replicas; ``--quick``: 3 and 9), busybox ``sleep``;
* ``replacement_s``: a task's container killed (``docker kill`` on its node) until a new
  task of the service runs, as samples;
* ``dns_after_scale_ms``: ``docker service scale`` 3 → 1 until ``tasks.<svc>`` from a
  container on another node answers one address (the lookup itself is an ``exec`` of
  busybox ``nslookup``, some 30-60 ms, included), as samples;
* ``scale_up_to_first_flow_s``: a service of busybox httpd scaled 1 → 2 until one of 10
  requests through its VIP from a container on h2 is answered by the new task (each
  poll an ``exec`` of 10 requests, ~0.1 s, included), as samples.
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

from seaway.lab import Lab

Log = Callable[[str], None]
POLL = 0.1


def _wait(predicate: Callable[[], bool], timeout: float) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if predicate():
            return time.perf_counter() - start
        time.sleep(POLL)
    raise TimeoutError(f"not within {timeout} s")


def _tasks(lab: Lab, service_id: str) -> list[dict[str, Any]]:
    """The service's tasks (also once it is removed: dockerd's ``service`` filter then refuses its ID)."""
    return [t for t in lab.host("h1").docker.api.tasks() if t["ServiceID"] == service_id]


def _running(lab: Lab, service_id: str) -> list[dict[str, Any]]:
    return [t for t in _tasks(lab, service_id) if t["Status"]["State"] == "running" and t["DesiredState"] == "running"]


#: a busybox httpd whose CGI answers with the task's hostname
WHO = (
    "mkdir -p /www/cgi-bin; printf '#!/bin/sh\\necho Content-Type: text/plain\\necho\\necho $HOSTNAME\\n'"
    " > /www/cgi-bin/who; chmod +x /www/cgi-bin/who; exec httpd -f -p 80 -h /www"
)


def _answering(lab: Lab) -> set[str]:
    """The tasks of ``flow`` that answer 10 requests through its VIP from the probe on h2."""
    ask = 'printf "GET /cgi-bin/who HTTP/1.0\\r\\n\\r\\n" | nc -w 2 flow 80 | tail -1'
    loop = f"for i in 1 2 3 4 5 6 7 8 9 10; do {ask}; done"
    out = lab.host("h2").run(["docker", "exec", "probe", "sh", "-c", loop], timeout=60).stdout
    return {line.strip() for line in out.splitlines() if line.strip()}


def _create(
    lab: Lab, name: str, replicas: int, networks: list[str] | None = None, command: list[str] | None = None
) -> tuple[str, float]:
    api = lab.host("h1").docker.api
    spec = {
        "Name": name,
        "TaskTemplate": {
            "ContainerSpec": {
                "Image": "busybox",
                "Command": command or ["sleep", "3600"],
                "StopGracePeriod": 1_000_000_000,
            },
            "Networks": [{"Target": n} for n in networks or []],
        },
        "Mode": {"Replicated": {"Replicas": replicas}},
    }
    started = time.perf_counter()
    service_id = api.post(api._url("/services/create"), json=spec).json()["ID"]
    _wait(lambda: len(_running(lab, service_id)) == replicas, 120)
    return service_id, round(time.perf_counter() - started, 3)


def _remove(lab: Lab, service_id: str) -> None:
    lab.host("h1").docker.api.remove_service(service_id)
    _wait(lambda: not _tasks(lab, service_id), 120)


def _lookup(lab: Lab, name: str) -> int:
    out = lab.host("h2").run(["docker", "exec", "probe", "nslookup", name, "127.0.0.11"], timeout=10).stdout
    answer = out.split(f"Name:\t{name}", 1)
    return sum(1 for line in answer[1].splitlines() if line.startswith("Address")) if len(answer) > 1 else 0


def measure(counts: tuple[int, int], samples: int, log: Log) -> dict[str, Any]:
    topology = {
        "name": "s" + secrets.token_hex(4),
        "segments": [{"name": "lan"}],
        "hosts": [{"name": n, "links": ["lan"]} for n in ("h1", "h2", "h3")],
        "swarm": {"managers": ["h1"], "workers": ["h2", "h3"]},
    }
    run_dir = Path(tempfile.mkdtemp(prefix="swl-"))
    lab = Lab(topology, run_dir=run_dir)
    out: dict[str, Any] = {"nodes": 3}
    try:
        lab.up()
        out["create_to_running_s"] = {}
        for count in counts:
            service_id, took = _create(lab, f"c{count}", count)
            out["create_to_running_s"][str(count)] = took
            log(f"services: {count} replicas running {took} s after the create")
            _remove(lab, service_id)

        service_id, _ = _create(lab, "victim", 3)
        replacements = []
        for _ in range(samples):
            task = next(t for t in _running(lab, service_id) if t.get("NodeID"))
            node = next(n for n in lab.host("h1").docker.api.nodes() if n["ID"] == task["NodeID"])
            host = node["Description"]["Hostname"]
            before = {t["ID"] for t in _running(lab, service_id)}
            started = time.perf_counter()
            lab.host(host).run(["docker", "kill", task["Status"]["ContainerStatus"]["ContainerID"]], timeout=30)
            _wait(
                lambda b=before: (
                    len(_running(lab, service_id)) == 3 and {t["ID"] for t in _running(lab, service_id)} != b
                ),
                60,
            )
            replacements.append(round(time.perf_counter() - started, 3))
        out["replacement_s"] = replacements
        out["replacement_p50_s"] = round(statistics.median(replacements), 3)
        log(f"services: a killed task replaced in p50 {out['replacement_p50_s']} s (restart delay 5 s included)")
        _remove(lab, service_id)

        api = lab.host("h1").docker.api
        api.create_network("benchnet", driver="overlay", attachable=True)
        lab.host("h2").run(
            ["docker", "run", "-d", "--name", "probe", "--network", "benchnet", "busybox", "sleep", "3600"], timeout=60
        )
        service_id, _ = _create(lab, "dnsvc", 3, ["benchnet"])
        dns_ms = []
        for _ in range(samples):
            _wait(lambda: _lookup(lab, "tasks.dnsvc") == 3, 30)
            version = api.inspect_service(service_id)["Version"]["Index"]
            spec = api.inspect_service(service_id)["Spec"]
            spec["Mode"] = {"Replicated": {"Replicas": 1}}
            started = time.perf_counter()
            api.post(api._url(f"/services/{service_id}/update"), params={"version": version}, json=spec)
            _wait(lambda: _lookup(lab, "tasks.dnsvc") == 1, 30)
            dns_ms.append(round((time.perf_counter() - started) * 1000, 1))
            version = api.inspect_service(service_id)["Version"]["Index"]
            spec["Mode"] = {"Replicated": {"Replicas": 3}}
            api.post(api._url(f"/services/{service_id}/update"), params={"version": version}, json=spec)
        out["dns_after_scale_ms"] = dns_ms
        out["dns_after_scale_p50_ms"] = round(statistics.median(dns_ms), 1)
        log(f"services: tasks.<svc> follows a scale 3 -> 1 in p50 {out['dns_after_scale_p50_ms']} ms")
        _remove(lab, service_id)

        service_id, _ = _create(lab, "flow", 1, ["benchnet"], command=["sh", "-c", WHO])
        first_flow = []
        for _ in range(samples):
            _wait(lambda: len(_answering(lab)) == 1, 30)
            old = _answering(lab)
            version = api.inspect_service(service_id)["Version"]["Index"]
            spec = api.inspect_service(service_id)["Spec"]
            spec["Mode"] = {"Replicated": {"Replicas": 2}}
            started = time.perf_counter()
            api.post(api._url(f"/services/{service_id}/update"), params={"version": version}, json=spec)
            _wait(lambda o=old: bool(_answering(lab) - o), 30)
            first_flow.append(round(time.perf_counter() - started, 3))
            version = api.inspect_service(service_id)["Version"]["Index"]
            spec["Mode"] = {"Replicated": {"Replicas": 1}}
            api.post(api._url(f"/services/{service_id}/update"), params={"version": version}, json=spec)
            _wait(lambda: len(_running(lab, service_id)) == 1, 60)
        out["scale_up_to_first_flow_s"] = first_flow
        out["scale_up_to_first_flow_p50_s"] = round(statistics.median(first_flow), 3)
        log(
            f"services: scale 1 -> 2 until the new task serves a flow through the VIP, p50 {out['scale_up_to_first_flow_p50_s']} s"
        )
    finally:
        if lab.is_up:
            lab.down()
        shutil.rmtree(run_dir, ignore_errors=True)
    return out


def run(quick: bool, log: Log) -> dict[str, Any]:
    return measure((3, 9) if quick else (3, 30), 2 if quick else 5, log)


def summary(results: dict[str, Any]) -> list[str]:
    lines = [f"services ({results['nodes']} nodes; wall time via the Docker API)"]
    for count, took in results["create_to_running_s"].items():
        lines.append(f"  create -> {count:>2} replicas running  {took:.2f} s")
    lines.append(f"  killed task -> replacement running p50 {results['replacement_p50_s']:.2f} s (5 s restart delay)")
    lines.append(f"  scale 3 -> 1 -> tasks.<svc> answers 1, p50 {results['dns_after_scale_p50_ms']} ms")
    if "scale_up_to_first_flow_p50_s" in results:
        lines.append(
            f"  scale 1 -> 2 -> the new task serves a flow via the VIP, p50 {results['scale_up_to_first_flow_p50_s']} s"
        )
    return lines
