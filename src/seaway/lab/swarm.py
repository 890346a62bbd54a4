"""Forming a lab's swarm through the hosts' Docker APIs, as an operator would: ``swarm
init`` on the first manager (advertising its underlay address), then the other managers
join one at a time (each becomes an etcd learner, then a voter) and the workers join
concurrently, all over the underlay to the first manager's 2377."""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import docker
import docker.errors

from seaway.errors import InternalError
from seaway.lab.plan import LabPlan
from seaway.lab.topology import Swarm

Progress = Any


def _client(plan: LabPlan, host: str) -> contextlib.closing[docker.DockerClient]:
    return contextlib.closing(docker.DockerClient(base_url=plan.files(host).docker_host, version="1.41", timeout=120))


def _address(plan: LabPlan, host: str) -> str:
    return str(plan.node(host).interfaces[0].address.ip)


def form(plan: LabPlan, spec: Swarm, progress: Progress) -> None:
    first = spec.managers[0]
    addr = _address(plan, first)
    with _client(plan, first) as client:
        try:
            client.swarm.init(advertise_addr=addr, listen_addr=f"{addr}:2377")
            client.swarm.reload()
            tokens = client.swarm.attrs["JoinTokens"]
        except docker.errors.APIError as exc:
            raise InternalError(f"swarm init on {first}: {exc.explanation or exc}") from None
    progress(f"swarm: {first} initialised it ({addr}:2377)")
    for host in spec.managers[1:]:
        _join(plan, host, tokens["Manager"], addr)
        progress(f"swarm: {host} joined as a manager")
    with ThreadPoolExecutor(max_workers=4) as pool:
        for future in [pool.submit(_join, plan, h, tokens["Worker"], addr) for h in spec.workers]:
            future.result()
    if spec.workers:
        progress(f"swarm: {', '.join(spec.workers)} joined as workers")


def _join(plan: LabPlan, host: str, token: str, remote: str) -> None:
    own = _address(plan, host)
    with _client(plan, host) as client:
        try:
            client.swarm.join(
                remote_addrs=[f"{remote}:2377"], join_token=token, listen_addr=f"{own}:2377", advertise_addr=own
            )
        except docker.errors.APIError as exc:
            raise InternalError(f"swarm join of {host}: {exc.explanation or exc}") from None


def summary(plan: LabPlan, spec: Swarm) -> dict[str, str]:
    """Each swarm host's line for ``lab status``: role, state and leadership, as the
    first manager that answers sees them (or why none does)."""
    nodes: list[dict[str, Any]] = []
    why = "no manager answers"
    for host in spec.managers:
        try:
            with _client(plan, host) as client:
                nodes = client.api.nodes()
                break
        except (docker.errors.DockerException, OSError) as exc:
            why = f"{host}: {getattr(exc, 'explanation', None) or exc}"
    by_addr = {n.get("Status", {}).get("Addr"): n for n in nodes}
    out = {}
    for host in (*spec.managers, *spec.workers):
        node = by_addr.get(_address(plan, host))
        if node is None:
            out[host] = f"swarm: not a member ({why})" if not nodes else "swarm: not a member"
            continue
        mgr = node.get("ManagerStatus") or {}
        role = node["Spec"]["Role"]
        extra = "leader" if mgr.get("Leader") else mgr.get("Reachability", "")
        out[host] = (
            f"swarm {role}  {node['Status']['State']}  {node['Spec']['Availability']}"
            + (f"  {extra}" if extra else "")
            + f"  node {node['ID']}"
        )
    return out
